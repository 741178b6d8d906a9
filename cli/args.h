/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Command-line parsing for the fgsd subcommands.  Each command declares its
 * options in a table (name, type, destination, allowed range), the way a
 * GEGL operation declares its properties; the parser checks types and
 * ranges and prints one usage-error line naming the allowed range.
 *
 * Options take their value as "--name VALUE" or "--name=VALUE".  Only exact
 * names match (no abbreviations): scripts depend on this interface, and an
 * abbreviation that works today would break when an option is added.
 */
#ifndef FGSD_CLI_ARGS_H
#define FGSD_CLI_ARGS_H

#include <stdint.h>

#define ARG_LIST_MAX 64

typedef enum arg_type {
    ARG_FLAG,    /* int *: set to 1 */
    ARG_STRING,  /* const char **: the last occurrence wins */
    ARG_STRINGS, /* arg_strings *: every occurrence, in order */
    ARG_FLOAT,   /* float *: finite, in the range */
    ARG_FLOATS,  /* arg_floats *: every occurrence, each in the range */
    ARG_INT,     /* int *: in the range */
    ARG_U64,     /* uint64_t *: 0 .. 2^64 - 1 */
    ARG_SIZE,    /* int[2]: "WxH" or "N" (square), each side in the range */
    ARG_CHOICE,  /* int *: index into choices */
} arg_type;

/* Range ends that are excluded, for ARG_FLOAT(S): (0, 1) is LO|HI. */
enum { ARG_OPEN_LO = 1, ARG_OPEN_HI = 2 };

typedef struct arg_strings {
    int n;
    const char *v[ARG_LIST_MAX];
} arg_strings;

typedef struct arg_floats {
    int n;
    float v[ARG_LIST_MAX];
} arg_floats;

typedef struct arg_spec {
    const char *name;  /* "--seed" */
    const char *alias; /* "-o", or NULL */
    arg_type type;
    void *dest;
    double lo, hi;                /* range of numbers and sizes */
    int open;                     /* ARG_OPEN_* bits */
    const char *const *choices;   /* ARG_CHOICE: NULL-terminated */
    int *given;                   /* set to 1 when the option appears; may be NULL */
} arg_spec;

typedef enum args_result {
    ARGS_OK = 0,
    ARGS_HELP,  /* -h or --help: the caller prints its help */
    ARGS_USAGE, /* an error line was printed; exit 2 */
} args_result;

/* Parses argv[0..argc) (the words after the command name) against specs
 * (terminated by an entry with name NULL).  Words that are not options go
 * to positional[0..max_positional) and their count to *npositional; more
 * than max_positional is a usage error.  "--" ends the options. */
args_result args_parse(const char *command, int argc, char **argv, const arg_spec *specs,
                       const char **positional, int max_positional, int *npositional);

/* Prints "fgsd: error: <message> (see 'fgsd COMMAND --help')" and returns
 * the usage exit code. */
int args_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
