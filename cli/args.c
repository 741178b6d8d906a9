/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Table-driven option parsing (see args.h).
 */
#include "args.h"

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_usage_error(const char *command, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (command)
        cli_error("%s (see 'fgsd %s --help')", msg, command);
    else
        cli_error("%s (see 'fgsd --help')", msg);
    return CLI_EXIT_USAGE;
}

/* "[0, 1]", "(0, 1)", ... for messages. */
static void format_range(const arg_spec *s, char *buf, size_t len)
{
    snprintf(buf, len, "%c%g, %g%c", (s->open & ARG_OPEN_LO) ? '(' : '[', s->lo, s->hi,
             (s->open & ARG_OPEN_HI) ? ')' : ']');
}

static int in_range(const arg_spec *s, double v)
{
    if ((s->open & ARG_OPEN_LO) ? !(v > s->lo) : !(v >= s->lo))
        return 0;
    if ((s->open & ARG_OPEN_HI) ? !(v < s->hi) : !(v <= s->hi))
        return 0;
    return 1;
}

static int parse_float(const char *cmd, const arg_spec *s, const char *text, float *out)
{
    char range[64];
    char *end;
    double v;

    format_range(s, range, sizeof range);
    errno = 0;
    v = strtod(text, &end);
    /* isfinite also rejects "nan" and "inf", which strtod accepts. */
    if (end == text || *end || errno == ERANGE || !isfinite(v)) {
        args_usage_error(cmd, "%s must be a number in %s, got '%s'", s->name, range, text);
        return -1;
    }
    if (!in_range(s, v)) {
        args_usage_error(cmd, "%s must be in %s, got %s", s->name, range, text);
        return -1;
    }
    *out = (float)v;
    return 0;
}

static int parse_int(const char *cmd, const char *name, const char *text, double lo, double hi,
                     int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (end == text || *end || errno == ERANGE || (double)v < lo || (double)v > hi) {
        args_usage_error(cmd, "%s must be an integer in [%.0f, %.0f], got '%s'", name, lo, hi,
                         text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *cmd, const char *name, const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;

    /* strtoull silently negates "-1"; a seed is never negative. */
    errno = 0;
    v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno == ERANGE) {
        args_usage_error(cmd, "%s must be an integer in [0, 18446744073709551615], got '%s'",
                         name, text);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* One side of a size: digits only, in [lo, hi]. */
static int parse_side(const char *text, size_t len, double lo, double hi, int *out)
{
    long v = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    if ((double)v < lo || (double)v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_size(const char *cmd, const arg_spec *s, const char *text, int *wh)
{
    const char *x = strpbrk(text, "xX");
    size_t wl = x ? (size_t)(x - text) : strlen(text);

    if (parse_side(text, wl, s->lo, s->hi, &wh[0]) < 0)
        goto bad;
    if (!x) {
        wh[1] = wh[0];
        return 0;
    }
    if (parse_side(x + 1, strlen(x + 1), s->lo, s->hi, &wh[1]) < 0)
        goto bad;
    return 0;
bad:
    args_usage_error(cmd, "%s must be WIDTHxHEIGHT or N, each side %.0f..%.0f, got '%s'",
                     s->name, s->lo, s->hi, text);
    return -1;
}

static int parse_choice(const char *cmd, const arg_spec *s, const char *text, int *out)
{
    char list[256] = "";

    for (int i = 0; s->choices[i]; i++) {
        if (strcmp(s->choices[i], text) == 0) {
            *out = i;
            return 0;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", s->choices[i]);
    }
    args_usage_error(cmd, "%s must be one of %s, got '%s'", s->name, list, text);
    return -1;
}

static int store(const char *cmd, const arg_spec *s, const char *text)
{
    switch (s->type) {
    case ARG_FLAG:
        *(int *)s->dest = 1;
        return 0;
    case ARG_STRING:
        *(const char **)s->dest = text;
        return 0;
    case ARG_STRINGS: {
        arg_strings *l = s->dest;
        if (l->n == ARG_LIST_MAX) {
            args_usage_error(cmd, "at most %d %s options", ARG_LIST_MAX, s->name);
            return -1;
        }
        l->v[l->n++] = text;
        return 0;
    }
    case ARG_FLOAT:
        return parse_float(cmd, s, text, s->dest);
    case ARG_FLOATS: {
        arg_floats *l = s->dest;
        if (l->n == ARG_LIST_MAX) {
            args_usage_error(cmd, "at most %d %s options", ARG_LIST_MAX, s->name);
            return -1;
        }
        if (parse_float(cmd, s, text, &l->v[l->n]) < 0)
            return -1;
        l->n++;
        return 0;
    }
    case ARG_INT:
        return parse_int(cmd, s->name, text, s->lo, s->hi, s->dest);
    case ARG_U64:
        return parse_u64(cmd, s->name, text, s->dest);
    case ARG_SIZE:
        return parse_size(cmd, s, text, s->dest);
    case ARG_CHOICE:
        return parse_choice(cmd, s, text, s->dest);
    }
    return -1;
}

/* The spec whose name or alias is word (up to '=' when eq is set). */
static const arg_spec *find(const arg_spec *specs, const char *word, size_t len)
{
    for (const arg_spec *s = specs; s->name; s++) {
        if (strlen(s->name) == len && strncmp(s->name, word, len) == 0)
            return s;
        if (s->alias && strlen(s->alias) == len && strncmp(s->alias, word, len) == 0)
            return s;
    }
    return NULL;
}

args_result args_parse(const char *command, int argc, char **argv, const arg_spec *specs,
                       const char **positional, int max_positional, int *npositional)
{
    int options_done = 0;

    *npositional = 0;
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        const char *eq, *value;
        const arg_spec *s;

        if (options_done || word[0] != '-' || word[1] == '\0') {
            if (*npositional == max_positional) {
                args_usage_error(command, "unexpected argument '%s'", word);
                return ARGS_USAGE;
            }
            positional[(*npositional)++] = word;
            continue;
        }
        if (strcmp(word, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0)
            return ARGS_HELP;
        eq = word[1] == '-' ? strchr(word, '=') : NULL;
        s = find(specs, word, eq ? (size_t)(eq - word) : strlen(word));
        if (!s) {
            args_usage_error(command, "unknown option '%.*s'",
                             eq ? (int)(eq - word) : (int)strlen(word), word);
            return ARGS_USAGE;
        }
        if (s->type == ARG_FLAG) {
            if (eq) {
                args_usage_error(command, "%s takes no value", s->name);
                return ARGS_USAGE;
            }
            value = NULL;
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            args_usage_error(command, "%s needs a value", s->name);
            return ARGS_USAGE;
        }
        if (store(command, s, value) < 0)
            return ARGS_USAGE;
        if (s->given)
            *s->given = 1;
    }
    return ARGS_OK;
}
