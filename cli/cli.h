/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Shared pieces of the fgsd command line: exit codes, messages, and the
 * entry points of the subcommands (one file each).
 */
#ifndef FGSD_CLI_CLI_H
#define FGSD_CLI_CLI_H

/* Exit codes: part of the stable interface that scripts rely on. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,       /* bad input file, engine failure, I/O error */
    CLI_EXIT_USAGE = 2,       /* bad option, value out of range */
    CLI_EXIT_CANCELLED = 130, /* SIGINT/SIGTERM: the shell's 128 + SIGINT */
};

/* "fgsd: error: ..." on stderr, one line (newlines in the text become
 * spaces). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "fgsd: ..." on stderr: notices, the seed, verbose details. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "fgsd: warning: ..." on stderr. */
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Checks, before any long computation, that path names a known output
 * format in an existing, writable folder.  Prints the error; returns the
 * exit code (CLI_EXIT_OK when usable). */
int cli_check_output(const char *path);

int cmd_info(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_interpolate(int argc, char **argv);
int cmd_denoise(int argc, char **argv);
int cmd_restyle(int argc, char **argv);
int cmd_heal(int argc, char **argv);

#endif
