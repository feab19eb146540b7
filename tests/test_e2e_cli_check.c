/*
 * `nines check` as a Nagios plugin: the binary against the HTTP fixture,
 * asserting the one-line output and the exit codes 0/1/2/3.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2eworld.h"
#include "httpfix_client.h"
#include "redis_fixture.h"

#define NINES NINES_BIN_DIR "/nines"

static char out[16384];

static int run_check(const char *const argv[])
{
    return e2e_run(argv, NULL, out, sizeof(out), NULL, 0, 10000);
}

Test(cli_check, ok_line_with_perfdata_and_exit_0, .timeout = 20)
{
    struct httpfix f;
    char url[128];

    cr_assert(eq(int, httpfix_start(&f), 0));
    snprintf(url, sizeof(url), "%s/", f.base_url);
    {
        const char *argv[] = { NINES, "check", url, NULL };

        cr_assert(eq(int, run_check(argv), 0), "%s", out);
    }
    cr_expect(strncmp(out, "HTTP OK - 200 in ", 17) == 0, "%s", out);
    cr_expect(strstr(out, " | time=") != NULL, "%s", out);
    cr_expect(eq(int, (int)(strchr(out, '\n') - out + 1), (int)strlen(out)), "one line");
    httpfix_stop(&f);
}

Test(cli_check, failing_target_is_critical_exit_2, .timeout = 20)
{
    struct httpfix f;
    char url[128];

    cr_assert(eq(int, httpfix_start(&f), 0));
    snprintf(url, sizeof(url), "%s/status/503", f.base_url);
    {
        const char *argv[] = { NINES, "check", url, NULL };

        cr_assert(eq(int, run_check(argv), 2), "%s", out);
    }
    cr_expect(strncmp(out, "HTTP CRITICAL - http_status: HTTP 503", 37) == 0, "%s", out);
    snprintf(url, sizeof(url), "%s/hang", f.base_url);
    {
        const char *argv[] = { NINES, "check", url, "--timeout", "300ms", NULL };

        cr_assert(eq(int, run_check(argv), 2), "%s", out);
    }
    cr_expect(strncmp(out, "HTTP CRITICAL - timeout: ", 25) == 0, "%s", out);
    httpfix_stop(&f);
}

Test(cli_check, over_latency_objective_is_warning_exit_1, .timeout = 20)
{
    struct httpfix f;
    char url[128];

    cr_assert(eq(int, httpfix_start(&f), 0));
    snprintf(url, sizeof(url), "%s/delay/200", f.base_url);
    {
        const char *argv[] = { NINES, "check", url, "--latency-objective", "50ms", NULL };

        cr_assert(eq(int, run_check(argv), 1), "%s", out);
    }
    cr_expect(strncmp(out, "HTTP WARNING - latency_over_objective: ", 39) == 0, "%s", out);
    /* the objective is the perfdata warning threshold */
    cr_expect(strstr(out, "s;0.050000;") != NULL, "%s", out);
    httpfix_stop(&f);
}

Test(cli_check, bad_arguments_are_unknown_exit_3, .timeout = 20)
{
    const char *no_target[] = { NINES, "check", NULL };
    const char *bad_target[] = { NINES, "check", "gopher://x", NULL };
    const char *bad_timeout[] = { NINES, "check", "http://127.0.0.1:1/", "-t", "soon", NULL };
    const char *bad_option[] = { NINES, "check", "http://127.0.0.1:1/", "--frobnicate", NULL };
    const char *bad_tcp[] = { NINES, "check", "tcp:localhost", NULL };
    const char *no_id[] = { NINES, "check", "--id", "nope", "-c", "/nonexistent.yaml", NULL };

    cr_expect(eq(int, run_check(no_target), 3));
    cr_expect(eq(int, run_check(bad_target), 3));
    cr_expect(strstr(out, "UNKNOWN - unrecognised target 'gopher://x'") != NULL, "%s", out);
    cr_expect(eq(int, run_check(bad_timeout), 3));
    cr_expect(strstr(out, "--timeout: 'soon'") != NULL, "%s", out);
    cr_expect(eq(int, run_check(bad_option), 3));
    cr_expect(eq(int, run_check(bad_tcp), 3));
    cr_expect(eq(int, run_check(no_id), 3));
}

Test(cli_check, json_prints_the_whole_result, .timeout = 20)
{
    struct httpfix f;
    char url[128];
    json_t *j;

    cr_assert(eq(int, httpfix_start(&f), 0));
    snprintf(url, sizeof(url), "%s/status/404", f.base_url);
    {
        const char *argv[] = { NINES, "check", url, "--json", "-e", "404", NULL };

        cr_assert(eq(int, run_check(argv), 0), "%s", out);
    }
    j = json_loads(out, 0, NULL);
    cr_assert(j != NULL, "not JSON: %s", out);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(j, "status")), "OK"));
    cr_expect(eq(int, (int)json_integer_value(json_object_get(j, "code")), 404));
    cr_expect(ge(i64, json_integer_value(json_object_get(j, "total_us")), 0));
    json_decref(j);
    httpfix_stop(&f);
}

Test(cli_check, runs_a_check_from_the_configuration_by_id, .timeout = 20)
{
    struct httpfix f;
    char dir[] = "/tmp/nines-test-XXXXXX", path[300], yaml[512];
    FILE *fp;

    cr_assert(mkdtemp(dir) != NULL);
    cr_assert(eq(int, httpfix_start(&f), 0));
    snprintf(path, sizeof(path), "%s/n.yaml", dir);
    snprintf(yaml, sizeof(yaml),
             "checks:\n  - id: web\n    kind: http\n    url: %s/status/500\n"
             "    expect_status: \"500\"\n",
             f.base_url);
    fp = fopen(path, "w");
    fputs(yaml, fp);
    fclose(fp);
    {
        const char *argv[] = { NINES, "check", "--id", "web", "-c", path, NULL };

        cr_assert(eq(int, run_check(argv), 0), "%s", out);
    }
    cr_expect(strncmp(out, "HTTP OK - 500 in ", 17) == 0, "%s", out);
    remove(path);
    rmdir(dir);
    httpfix_stop(&f);
}

Test(cli_token, hashes_are_salted_or_plain_and_new_tokens_verify, .timeout = 20)
{
    const char *plain[] = { NINES, "token", "hash", "--plain", "abc", NULL };
    const char *salted[] = { NINES, "token", "hash", "abc", NULL };
    const char *fresh[] = { NINES, "token", "new", NULL };
    const char *bad[] = { NINES, "token", "hash", "", NULL };
    char token[128] = "", want[200] = "", first[200] = "";
    const char *p;

    cr_assert(eq(int, run_check(plain), 0));
    cr_expect(eq(str, out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"));
    /* salted: a new salt each time, and each verifies */
    cr_assert(eq(int, run_check(salted), 0));
    cr_expect(eq(int, strncmp(out, "sha256-salted:", 14), 0), "%s", out);
    sscanf(out, "%199s", first);
    cr_assert(eq(int, run_check(salted), 0));
    cr_expect(ne(str, out, first), "the same salt twice");
    {
        const char *ok[] = { NINES, "token", "check", "abc", first, NULL };
        const char *no[] = { NINES, "token", "check", "abd", first, NULL };

        cr_expect(eq(int, run_check(ok), 0), "%s", out);
        cr_expect(eq(int, run_check(no), 1), "%s", out);
    }
    cr_assert(eq(int, run_check(fresh), 0));
    p = strstr(out, "token: ");
    cr_assert(p != NULL, "%s", out);
    sscanf(p + 7, "%127s", token);
    p = strstr(out, "hash:  ");
    cr_assert(p != NULL, "%s", out);
    sscanf(p + 7, "%199s", want);
    {
        const char *again[] = { NINES, "token", "check", token, want, NULL };

        cr_expect(eq(int, run_check(again), 0), "the printed hash belongs to the printed token");
    }
    cr_expect(eq(int, run_check(bad), 2));
}

Test(cli_maintenance, add_list_and_remove_against_redis, .timeout = 20)
{
    struct redis_fixture f;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    {
        const char *add[] = { NINES, "maintenance", "add", "db-upgrade", "--check", "db",
                              "--start", "2026-12-01T22:00:00Z", "--end",
                              "2026-12-02T01:00:00Z", "--reason", "PostgreSQL 16", "--redis",
                              f.url, NULL };

        cr_assert(eq(int, run_check(add), 0), "%s", out);
    }
    {
        const char *weekly[] = { NINES, "maintenance", "add", "weekly", "--recurring",
                                 "sun 02:00 2h Europe/Berlin", "--redis", f.url, NULL };

        cr_assert(eq(int, run_check(weekly), 0), "%s", out);
    }
    {
        const char *bad[] = { NINES, "maintenance", "add", "x", "--recurring", "funday 25:00 2h",
                              "--redis", f.url, NULL };

        cr_expect(eq(int, run_check(bad), 2), "a bad window is refused");
    }
    {
        const char *list[] = { NINES, "maintenance", "list", "--json", "--redis", f.url, NULL };

        cr_assert(eq(int, run_check(list), 0));
        cr_expect(strstr(out, "\"db-upgrade\"") != NULL, "%s", out);
        cr_expect(strstr(out, "1796162400000") != NULL, "start in ms: %s", out);
        cr_expect(strstr(out, "Europe/Berlin") != NULL, "%s", out);
        cr_expect(strstr(out, "\"x\"") == NULL, "%s", out);
    }
    {
        const char *rm[] = { NINES, "maintenance", "rm", "weekly", "--redis", f.url, NULL };
        const char *again[] = { NINES, "maintenance", "rm", "weekly", "--redis", f.url, NULL };

        cr_expect(eq(int, run_check(rm), 0));
        cr_expect(eq(int, run_check(again), 1));
    }
    redis_fixture_stop(&f);
}
