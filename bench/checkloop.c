/*
 * checkloop: runs a fixed number of checks of one kind through the check
 * engines on one libuv loop, CONC at a time, and exits. Made for counting
 * instructions per check with callgrind (figure 6): the count does not move
 * with machine load, unlike CPU time.
 *
 *   checkloop tcp  COUNT CONC HOST PORT
 *   checkloop dns  COUNT CONC NAME SERVER[:PORT]
 *   checkloop http COUNT CONC URL
 *
 * Every run is a real check (a fresh connection, a real query, full timing).
 * Prints "checkloop kind=... checks=N ok=N failed=N"; exits 1 if any run
 * was not OK, 2 on bad arguments.
 */
#include <ares.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nines/check.h"

struct checkloop {
    struct check_env env;
    struct nines_check spec;
    long count;      /* runs to start */
    long started;
    long done;
    long ok;
    int failed_shown;
};

static void checkloop_next(struct checkloop *cl);

static void checkloop_on_done(struct nines_result *r, void *arg)
{
    struct checkloop *cl = arg;

    cl->done++;
    if (r->outcome == NINES_OUTCOME_OK) {
        cl->ok++;
    } else if (!cl->failed_shown) {
        cl->failed_shown = 1;
        fprintf(stderr, "checkloop: %s %s: %s\n", nines_outcome_name(r->outcome), r->reason,
                r->message);
    }
    checkloop_next(cl);
}

static void checkloop_next(struct checkloop *cl)
{
    if (cl->started >= cl->count)
        return;
    cl->started++;
    if (check_start(&cl->env, &cl->spec, checkloop_on_done, cl) != 0) {
        fprintf(stderr, "checkloop: check_start failed\n");
        cl->done++;
    }
}

static char *checkloop_dup(const char *s)
{
    char *d = strdup(s);

    if (!d) {
        fprintf(stderr, "checkloop: out of memory\n");
        exit(2);
    }
    return d;
}

/* Fills cl->spec from the command line; 0, or -1 on bad arguments. */
static int checkloop_spec(struct checkloop *cl, int argc, char **argv)
{
    struct nines_check *c = &cl->spec;
    const char *kind = argv[1];

    nines_check_defaults(c);
    c->id = checkloop_dup("checkloop");
    c->interval_ms = 1000;
    c->timeout_ms = 5000;
    if (strcmp(kind, "tcp") == 0 && argc == 6) {
        c->kind = NINES_KIND_TCP;
        c->tcp.host = checkloop_dup(argv[4]);
        c->tcp.port = atoi(argv[5]);
    } else if (strcmp(kind, "dns") == 0 && argc == 6) {
        c->kind = NINES_KIND_DNS;
        c->dns.name = checkloop_dup(argv[4]);
        c->dns.servers = calloc(1, sizeof(*c->dns.servers));
        if (!c->dns.servers)
            return -1;
        c->dns.servers[0] = checkloop_dup(argv[5]);
        c->dns.servers_count = 1;
    } else if (strcmp(kind, "http") == 0 && argc == 5) {
        c->kind = NINES_KIND_HTTP;
        c->http.url = checkloop_dup(argv[4]);
    } else {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct checkloop cl = {0};
    uv_loop_t loop;
    long conc;

    if (argc < 5 || checkloop_spec(&cl, argc, argv) != 0) {
        fprintf(stderr, "usage: checkloop tcp COUNT CONC HOST PORT\n"
                        "       checkloop dns COUNT CONC NAME SERVER[:PORT]\n"
                        "       checkloop http COUNT CONC URL\n");
        return 2;
    }
    cl.count = atol(argv[2]);
    conc = atol(argv[3]);
    if (cl.count < 1 || conc < 1 || conc > 10000) {
        fprintf(stderr, "checkloop: COUNT and CONC must be positive (CONC <= 10000)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ares_library_init(ARES_LIB_INIT_ALL);
    uv_loop_init(&loop);
    if (check_env_init(&cl.env, &loop) != 0) {
        fprintf(stderr, "checkloop: check engines failed to start\n");
        return 2;
    }
    for (long i = 0; i < conc; i++)
        checkloop_next(&cl);
    uv_run(&loop, UV_RUN_DEFAULT);
    check_env_close(&cl.env);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    nines_check_clear(&cl.spec);
    ares_library_cleanup();
    curl_global_cleanup();
    printf("checkloop kind=%s checks=%ld ok=%ld failed=%ld\n", argv[1], cl.done, cl.ok,
           cl.done - cl.ok);
    return cl.ok == cl.count ? 0 : 1;
}
