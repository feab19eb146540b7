/* Drives the hookfix fixture. See hookfix_client.h. */
#include "hookfix_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpfix_client.h"
#include "proc.h"
#include "testutil.h"

#ifndef NINES_FIXTURE_DIR
#error "NINES_FIXTURE_DIR must be defined (the directory holding the hookfix binary)"
#endif

#define HOOKFIX_READY_MS 5000
#define HOOKFIX_STOP_MS 2000
#define HOOKFIX_CONTROL_MS 2000
#define HOOKFIX_RESP_MAX (4 * 1024 * 1024)

static int hookfix_settled(void *arg)
{
    struct hookfix *f = arg;
    char path[300];

    snprintf(path, sizeof(path), "%s/port", f->dir);
    return test_path_exists(path) || !proc_alive(f->pid);
}

static int hookfix_read_port(const struct hookfix *f)
{
    char path[300];
    char *text;
    long port = -1;

    snprintf(path, sizeof(path), "%s/port", f->dir);
    text = test_read_file(path);
    if (text != NULL)
        port = strtol(text, NULL, 10);
    free(text);
    return port > 0 && port < 65536 ? (int)port : -1;
}

int hookfix_start(struct hookfix *f, const char *secret)
{
    char port_file[300], log_path[300];
    const char *argv[] = { NINES_FIXTURE_DIR "/hookfix", "--port-file", port_file,
                           secret != NULL ? "--secret" : NULL, secret, NULL };

    memset(f, 0, sizeof(*f));
    if (test_tmpdir(f->dir, sizeof(f->dir)) < 0)
        return -1;
    snprintf(port_file, sizeof(port_file), "%s/port", f->dir);
    snprintf(log_path, sizeof(log_path), "%s/hookfix.log", f->dir);
    f->pid = proc_spawn(argv, log_path);
    if (f->pid > 0 && test_wait_until(hookfix_settled, f, HOOKFIX_READY_MS) == 0 &&
        proc_alive(f->pid))
        f->port = hookfix_read_port(f);
    if (f->pid <= 0 || f->port <= 0) {
        if (f->pid <= 0)
            f->pid = 0;
        hookfix_stop(f);
        return -1;
    }
    snprintf(f->base_url, sizeof(f->base_url), "http://127.0.0.1:%d", f->port);
    return 0;
}

/* GET path; the body of a 200 answer (malloc'd), or NULL. */
static char *hookfix_control(struct hookfix *f, const char *path)
{
    char *resp = malloc(HOOKFIX_RESP_MAX);
    const char *body;
    char *out = NULL;

    if (resp == NULL)
        return NULL;
    if (httpfix_get(f->port, path, resp, HOOKFIX_RESP_MAX, HOOKFIX_CONTROL_MS) >= 0 &&
        httpfix_response_status(resp) == 200 && (body = httpfix_response_body(resp)) != NULL)
        out = strdup(body);
    free(resp);
    return out;
}

int hookfix_set_mode(struct hookfix *f, const char *query)
{
    char path[512];
    char *body;
    int n = snprintf(path, sizeof(path), "/__hook/mode?%s", query);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    body = hookfix_control(f, path);
    free(body);
    return body != NULL ? 0 : -1;
}

static long hookfix_num(const json_t *o, const char *name)
{
    return (long)json_integer_value(json_object_get(o, name));
}

int hookfix_get_stats(struct hookfix *f, struct hookfix_stats *st)
{
    char *body = hookfix_control(f, "/__hook/stats");
    json_t *o = body != NULL ? json_loads(body, 0, NULL) : NULL;

    memset(st, 0, sizeof(*st));
    free(body);
    if (o == NULL || !json_is_object(json_object_get(o, "by_key"))) {
        json_decref(o);
        return -1;
    }
    st->total = hookfix_num(o, "total");
    st->accepted = hookfix_num(o, "accepted");
    st->bad_signature = hookfix_num(o, "bad_signature");
    st->active = hookfix_num(o, "active");
    st->max_concurrent = hookfix_num(o, "max_concurrent");
    st->by_key = json_incref(json_object_get(o, "by_key"));
    json_decref(o);
    return 0;
}

long hookfix_key_count(const struct hookfix_stats *st, const char *key)
{
    return st->by_key != NULL ? (long)json_integer_value(json_object_get(st->by_key, key)) : 0;
}

void hookfix_stats_clear(struct hookfix_stats *st)
{
    json_decref(st->by_key);
    memset(st, 0, sizeof(*st));
}

char *hookfix_last_request(struct hookfix *f)
{
    return hookfix_control(f, "/__hook/last");
}

void hookfix_stop(struct hookfix *f)
{
    if (f->pid > 0)
        proc_stop(f->pid, HOOKFIX_STOP_MS);
    if (f->dir[0] != '\0')
        test_rmtree(f->dir);
    memset(f, 0, sizeof(*f));
}
