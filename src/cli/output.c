/* What the CLI writes: one envelope per result on stdout, as a JSON line
 * (docs/cli-envelope.schema.json) or, on a terminal without --json, as the
 * same facts in readable lines; progress on stderr, as a live bar on a
 * terminal or one JSON line per update otherwise. */
#include "fmacros.h"

#include "cli/cli_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *cli_error_type(int status)
{
    switch (status) {
    case CLI_EXIT_USAGE:
        return "usage";
    case CLI_EXIT_CONFIG:
        return "configuration";
    case CLI_EXIT_TIMEOUT:
        return "timeout";
    case CLI_EXIT_JOB_FAILED:
        return "job_failed";
    case CLI_EXIT_INTERRUPTED:
        return "interrupted";
    default:
        return "runtime";
    }
}

void cli_shell_quote(const char *value, char *out, size_t outlen)
{
    size_t used = 0;
    bool safe = value[0] != '\0';

    for (const char *c = value; *c != '\0'; c++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%",
                   *c) == NULL)
            safe = false;
    if (safe) {
        snprintf(out, outlen, "%s", value);
        return;
    }
    if (outlen < 3) {
        out[0] = '\0';
        return;
    }
    out[used++] = '\'';
    for (const char *c = value; *c != '\0' && used + 5 < outlen; c++) {
        if (*c == '\'') { /* close, an escaped quote, reopen */
            memcpy(out + used, "'\\''", 4);
            used += 4;
        } else {
            out[used++] = *c;
        }
    }
    out[used++] = '\'';
    out[used] = '\0';
}

/* ---- readable lines ----------------------------------------------------------- */

static void human_scalar(FILE *out, const json_t *v)
{
    if (json_is_string(v)) {
        fputs(json_string_value(v), out);
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs(s != NULL ? s : "?", out);
        free(s);
    }
}

/* "a: 1, b: x" for an array item. */
static void human_inline(FILE *out, const json_t *obj)
{
    const char *key;
    json_t *v;
    bool first = true;

    json_object_foreach(cli_mut(obj), key, v)
    {
        if (json_is_null(v))
            continue;
        fprintf(out, "%s%s: ", first ? "" : ", ", key);
        human_scalar(out, v);
        first = false;
    }
}

static void human_value(FILE *out, const char *prefix, const json_t *v, int depth);

static void human_array(FILE *out, const char *prefix, const json_t *a, int depth)
{
    size_t i;
    json_t *item;
    bool scalars = true;

    json_array_foreach(a, i, item) scalars = scalars && !json_is_object(item);
    if (scalars) {
        fprintf(out, "  %s: ", prefix);
        json_array_foreach(a, i, item)
        {
            if (i)
                fputs(", ", out);
            human_scalar(out, item);
        }
        fputc('\n', out);
        return;
    }
    fprintf(out, "  %s:\n", prefix);
    json_array_foreach(a, i, item)
    {
        fputs("    - ", out);
        if (json_is_object(item))
            human_inline(out, item);
        else
            human_scalar(out, item);
        fputc('\n', out);
    }
    (void)depth;
}

static void human_value(FILE *out, const char *prefix, const json_t *v, int depth)
{
    if (json_is_object(v) && depth < 3) {
        const char *key;
        json_t *sub;
        json_object_foreach(cli_mut(v), key, sub)
        {
            char name[256];
            snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", key);
            human_value(out, name, sub, depth + 1);
        }
    } else if (json_is_array(v)) {
        human_array(out, prefix, v, depth);
    } else if (json_is_string(v) && strchr(json_string_value(v), '\n') != NULL) {
        fprintf(out, "  %s:\n", prefix);
        for (const char *line = json_string_value(v); *line != '\0';) {
            size_t n = strcspn(line, "\n");
            fprintf(out, "    %.*s\n", (int)n, line);
            line += n + (line[n] == '\n');
        }
    } else if (!json_is_null(v)) {
        fprintf(out, "  %s: ", prefix);
        human_scalar(out, v);
        fputc('\n', out);
    }
}

static void emit_human(struct cli_out *o, const char *command, const json_t *result, int status,
                       const char *message, const json_t *extra)
{
    const char *id = json_string_value(json_object_get(extra, "id"));
    const char *resume = json_string_value(json_object_get(extra, "resume"));

    fprintf(o->out, "%s%s%s: ", command, id ? " " : "", id ? id : "");
    if (status == CLI_EXIT_OK) {
        fputs("ok\n", o->out);
        human_value(o->out, "", result, 0);
    } else {
        fprintf(o->out, "%s: %s\n", cli_error_type(status), message);
        if (resume != NULL)
            fprintf(o->out, "  resume: %s\n", resume);
    }
    fflush(o->out);
}

/* ---- envelopes ---------------------------------------------------------------- */

void cli_emit(struct cli_out *o, const char *command, const json_t *result, int status,
              const char *message, const json_t *extra)
{
    json_t *env;
    char *text;
    const char *key;
    json_t *v;

    cli_clear_progress(o);
    if (o->human) {
        emit_human(o, command, result, status, message, extra);
        return;
    }
    env = json_pack("{s:i, s:b, s:s}", "v", 1, "ok", status == CLI_EXIT_OK, "command", command);
    if (env == NULL)
        return;
    /* index and id before the result, the rest after it: a reader sees what a
     * line is about first. */
    if (json_object_get(extra, "index") != NULL)
        json_object_set(env, "index", json_object_get(extra, "index"));
    if (json_object_get(extra, "id") != NULL)
        json_object_set(env, "id", json_object_get(extra, "id"));
    if (status == CLI_EXIT_OK)
        json_object_set(env, "result", result != NULL ? cli_mut(result) : json_null());
    else
        json_object_set_new(env, "error",
                            json_pack("{s:s, s:s}", "type", cli_error_type(status), "message",
                                      message != NULL ? message : ""));
    json_object_foreach(cli_mut(extra), key, v)
    {
        if (json_object_get(env, key) == NULL)
            json_object_set(env, key, v);
    }
    text = json_dumps(env, JSON_COMPACT);
    if (text != NULL)
        fprintf(o->out, "%s\n", text);
    fflush(o->out);
    free(text);
    json_decref(env);
}

/* ---- progress ----------------------------------------------------------------- */

static void human_bytes(double n, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;

    while (n >= 1024 && u < 4) {
        n /= 1024;
        u++;
    }
    snprintf(out, outlen, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
}

static void human_time(double secs, char *out, size_t outlen)
{
    long s = secs > 0 ? (long)(secs + 0.5) : 0;

    if (s >= 3600)
        snprintf(out, outlen, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, outlen, "%ld:%02ld", s / 60, s % 60);
}

static void show_bar(struct cli_out *o, const struct cli_progress *p)
{
    char bar[21], a[32], b[32], c[32], d[32];
    int fill = p->percent >= 0 ? (int)(p->percent / 5.0) : 0;

    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[20] = '\0';
    fprintf(o->err, "\r\033[K%s %s [%s]", p->label, p->status ? p->status : p->phase, bar);
    if (p->percent >= 0)
        fprintf(o->err, " %3.0f%%", p->percent);
    if (p->bytes > 0) {
        human_bytes(p->bytes, a, sizeof(a));
        human_bytes(p->total, b, sizeof(b));
        human_bytes(p->rate, c, sizeof(c));
        fprintf(o->err, "  %s%s%s  %s/s", a, p->total > 0 ? " / " : "", p->total > 0 ? b : "", c);
        if (p->eta_s >= 0) {
            human_time(p->eta_s, d, sizeof(d));
            fprintf(o->err, "  ETA %s", d);
        }
    } else {
        human_time(p->elapsed_s, d, sizeof(d));
        fprintf(o->err, "  %s", d);
        if (p->eta_s >= 0) {
            human_time(p->eta_s, c, sizeof(c));
            fprintf(o->err, "  ETA %s", c);
        }
    }
    fflush(o->err);
    o->bar_shown = true;
}

static void show_json(struct cli_out *o, const struct cli_progress *p)
{
    json_t *line = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "event", "progress", "command",
                             p->command, "id", p->label, "phase", p->phase);
    char *text;

    if (line == NULL)
        return;
    if (p->status != NULL)
        json_object_set_new(line, "status", json_string(p->status));
    json_object_set_new(line, "percent",
                        p->percent >= 0 ? json_real(round(p->percent * 10) / 10) : json_null());
    json_object_set_new(line, "elapsed_s", json_real(round(p->elapsed_s * 10) / 10));
    if (strcmp(p->phase, "download") == 0) {
        json_object_set_new(line, "bytes", json_integer((json_int_t)p->bytes));
        json_object_set_new(line, "total",
                            p->total > 0 ? json_integer((json_int_t)p->total) : json_null());
        json_object_set_new(line, "rate", json_integer((json_int_t)p->rate));
    }
    json_object_set_new(line, "eta_s",
                        p->eta_s >= 0 ? json_real(round(p->eta_s * 10) / 10) : json_null());
    text = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (text != NULL)
        fprintf(o->err, "%s\n", text);
    free(text);
    json_decref(line);
}

void cli_show_progress(struct cli_out *o, const struct cli_progress *p)
{
    if (!o->progress)
        return;
    if (o->bar)
        show_bar(o, p);
    else
        show_json(o, p);
}

void cli_clear_progress(struct cli_out *o)
{
    if (o->bar_shown) {
        fputs("\r\033[K", o->err);
        fflush(o->err);
        o->bar_shown = false;
    }
}
