/*
 * nines evidence end to end: October 2026 imported for two customers, acks and
 * notifications written into Redis as the collector would, drills, audit
 * entries; then the pack's contents, its KPIs against figures computed by
 * hand, verification of an untouched and of tampered packs, and a pack for
 * one customer holding nothing of the other.
 *
 * Check api (customer acme, service shop), a result every 5 min, UTC:
 *   I1 10-05 10:00 .. 10:30  notified +2 min (delivered 3 s later), acked +12 min
 *   I2 10-20 08:00 .. 09:00  notified +1 min (delivered 5 s later), acked +31 min
 * MTTD = (2 + 1) / 2 min = 90,000 ms; MTTA = (10 + 30) / 2 min = 1,200,000 ms;
 * MTTR = (30 + 60) / 2 min = 2,700,000 ms; ack within 15 min: 1 of 2 = 50 %;
 * delivery p95 (nearest rank of 3 s, 5 s) = 5,000 ms.
 * Check www (customer globex, service web): I3 10-12 12:00 .. 12:10.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nines/auditchain.h"
#include "e2eworld.h"
#include "redis_fixture.h"
#include "testutil.h"

#define MIN_MS INT64_C(60000)
/* 2026-10-01T00:00Z */
#define T_1001 INT64_C(1790812800000)
#define AT(d, h, m) (T_1001 + (int64_t)((d) - 1) * 86400000 + (int64_t)(h) * 3600000 + (m) * MIN_MS)

static char out[1 << 20], err[1 << 16];

struct world {
    struct redis_fixture rf;
    char dir[256], cfg[400], today[16];
};

static int down_api(int64_t t)
{
    return (t >= AT(5, 10, 0) && t < AT(5, 10, 30)) || (t >= AT(20, 8, 0) && t < AT(20, 9, 0));
}

static int down_www(int64_t t)
{
    return t >= AT(12, 12, 0) && t < AT(12, 12, 10);
}

static void notification(redisContext *c, const char *inc, int64_t created, int64_t lat)
{
    char id[200];

    snprintf(id, sizeof(id), "pager/check_down/%s/firing", inc);
    e2e_redis_do(c, "HSET nines:outbox:item:%s state delivered receiver pager created_ms %" PRId64
                " delivered_ms %" PRId64 " attempts 1 request {\"secret\":\"s3cr3t\"}", id,
             created, created + lat);
    e2e_redis_do(c, "LPUSH nines:outbox:log:%s {\"attempt\":1,\"status\":200,\"outcome\":\"delivered\"}",
             id);
}

static void write_key(const char *path)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE *f = fopen(path, "w");

    cr_assert(ne(ptr, k, NULL));
    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(int, PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1));
    fclose(f);
    EVP_PKEY_free(k);
}

static void setup(struct world *w)
{
    char yaml[2048], data[400], key[400];
    struct nines_err e = { 0 };
    redisContext *c;
    time_t now = time(NULL);
    struct tm tm;
    FILE *f;

    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->rf, 0), 0));
    gmtime_r(&now, &tm);
    strftime(w->today, sizeof(w->today), "%Y-%m-%d", &tm);
    snprintf(key, sizeof(key), "%s/sign.pem", w->dir);
    write_key(key);
    snprintf(w->cfg, sizeof(w->cfg), "%s/nines.yaml", w->dir);
    snprintf(yaml, sizeof(yaml),
             "collector: {data_dir: '%s', redis: '%s'}\n"
             "evidence: {signing_key_file: '%s'}\n"
             "checks:\n"
             "  - {id: api, kind: http, url: 'http://a.test/', interval: 300s, timeout: 10s,\n"
             "     locations: [eu], failures_to_down: 1, team: ops}\n"
             "  - {id: www, kind: http, url: 'http://w.test/', interval: 300s, timeout: 10s,\n"
             "     locations: [eu], failures_to_down: 1}\n"
             "services:\n"
             "  - {id: shop, checks: [api], target: 99.9, rto: 30m, drill_every: 90d}\n"
             "  - {id: web, checks: [www], target: 99.5}\n"
             "customers:\n"
             "  - {id: acme, timezone: UTC, services: [shop], slas: [{name: std, target: 99.9}]}\n"
             "  - {id: globex, timezone: UTC, services: [web], slas: [{name: std, target: 99.5}]}\n",
             w->dir, w->rf.url, key);
    cr_assert(eq(int, test_write_file(w->cfg, yaml), 0));
    snprintf(data, sizeof(data), "%s/oct.jsonl", w->dir);
    f = fopen(data, "w");
    cr_assert(ne(ptr, f, NULL));
    for (int64_t t = AT(1, 0, 0); t <= AT(32, 0, 0); t += 5 * MIN_MS) {
        fprintf(f, "{\"check\":\"api\",\"location\":\"eu\",\"timestamp\":%" PRId64
                   ",\"ok\":%s,\"latency\":%s}\n", t, down_api(t) ? "false" : "true",
                down_api(t) ? "null" : "100");
        fprintf(f, "{\"check\":\"www\",\"location\":\"eu\",\"timestamp\":%" PRId64
                   ",\"ok\":%s,\"latency\":%s}\n", t, down_www(t) ? "false" : "true",
                down_www(t) ? "null" : "100");
    }
    cr_assert(eq(int, fclose(f), 0));
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "import", data, "-c", w->cfg, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 120000), 0),
                  "import: %s", err);
    }
    c = redis_fixture_connect(&w->rf);
    cr_assert(ne(ptr, c, NULL));
    e2e_redis_do(c, "HSET nines:incident:api@%" PRId64 " ack_by alice ack_ms %" PRId64, AT(5, 10, 0),
             AT(5, 10, 12));
    e2e_redis_do(c, "HSET nines:incident:api@%" PRId64 " ack_by bob ack_ms %" PRId64, AT(20, 8, 0),
             AT(20, 8, 31));
    {
        char i1[64], i2[64], i3[64];

        snprintf(i1, sizeof(i1), "api@%" PRId64, AT(5, 10, 0));
        snprintf(i2, sizeof(i2), "api@%" PRId64, AT(20, 8, 0));
        snprintf(i3, sizeof(i3), "www@%" PRId64, AT(12, 12, 0));
        notification(c, i1, AT(5, 10, 2), 3000);
        notification(c, i2, AT(20, 8, 1), 5000);
        notification(c, i3, AT(12, 12, 1), 1000);
    }
    e2e_redis_do(c, "SET nines:drill:shop@%" PRId64 " {\"id\":\"shop@%" PRId64 "\",\"service\":"
                "\"shop\",\"scenario\":\"failover\",\"t0_ms\":%" PRId64 ",\"state\":\"passed\","
                "\"rto_ms\":600000,\"rpo_ms\":2000}", AT(15, 9, 0), AT(15, 9, 0), AT(15, 9, 0));
    e2e_redis_do(c, "ZADD nines:drills %" PRId64 " shop@%" PRId64, AT(15, 9, 0), AT(15, 9, 0));
    e2e_redis_do(c, "SET nines:drill:web@%" PRId64 " {\"id\":\"web@%" PRId64 "\",\"service\":"
                "\"web\",\"scenario\":\"restore\",\"t0_ms\":%" PRId64 ",\"state\":\"failed\","
                "\"rto_ms\":5400000,\"rpo_ms\":0}", AT(16, 9, 0), AT(16, 9, 0), AT(16, 9, 0));
    e2e_redis_do(c, "ZADD nines:drills %" PRId64 " web@%" PRId64, AT(16, 9, 0), AT(16, 9, 0));
    cr_assert(eq(int, auditchain_append_sync(c, "collector", "collector", "config_reload",
                                             w->cfg, "{\"checks\":{\"added\":[\"api\"]}}",
                                             NULL, &e), 0), "%s", e.msg);
    cr_assert(eq(int, auditchain_append_sync(c, "alice", "cli", "ack", "api", "{}", NULL, &e),
                 0), "%s", e.msg);
    cr_assert(eq(int, auditchain_append_sync(c, "carol", "cli", "ack", "www", "{}", NULL, &e),
                 0), "%s", e.msg);
    cr_assert(eq(int, auditchain_append_sync(c, "collector", "collector", "config_reload",
                                             w->cfg, "{\"checks\":{\"changed\":[\"api\"]}}",
                                             NULL, &e), 0), "%s", e.msg);
    redisFree(c);
}

static void teardown(struct world *w)
{
    redis_fixture_stop(&w->rf);
    test_rmtree(w->dir);
}

static void make_pack(struct world *w, const char *customer, const char *path)
{
    const char *argv[] = { NINES_BIN_DIR "/nines", "evidence", "--from", "2026-10-01", "--to",
                           w->today, "-o", path, "-c", w->cfg,
                           customer ? "--customer" : NULL, customer, NULL };

    cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 120000), 0),
              "evidence: %s", err);
}

static int verify(const char *path)
{
    const char *argv[] = { NINES_BIN_DIR "/nines", "evidence", "verify", path, NULL };

    return e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 60000);
}

/* The months from October to this one, as "YYYY-MM". */
static size_t months(char m[][12], size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    int y = 2026, mo = 10, ny, nm;
    size_t n = 0;

    gmtime_r(&now, &tm);
    ny = tm.tm_year + 1900, nm = tm.tm_mon + 1;
    while (n < cap && (y < ny || (y == ny && mo <= nm))) {
        snprintf(m[n++], 12, "%04d-%02d", (y % 10000 + 10000) % 10000, (mo % 100 + 100) % 100);
        if (++mo == 13)
            mo = 1, y++;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(e2e_evidence, the_pack_holds_the_expected_files_and_kpis, .timeout = 300)
{
    struct world w;
    char pack[400], path[600], m[24][12], *want[200], *got[200];
    size_t nm, nw = 0, ng = 0;
    json_t *kpi, *row, *inc;
    char *text;

    setup(&w);
    snprintf(pack, sizeof(pack), "%s/pack.tar.gz", w.dir);
    make_pack(&w, NULL, pack);
    nm = months(m, 24);
    cr_assert(ge(sz, nm, 2));
    for (size_t i = 0; i < nm; i++)
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof(path), "reports/%s-%s.%s", c ? "globex" : "acme", m[i],
                         k ? "pdf" : "json");
                want[nw++] = strdup(path);
            }
    snprintf(path, sizeof(path), "incidents/api@%" PRId64 ".json", AT(5, 10, 0));
    want[nw++] = strdup(path);
    snprintf(path, sizeof(path), "incidents/api@%" PRId64 ".json", AT(20, 8, 0));
    want[nw++] = strdup(path);
    snprintf(path, sizeof(path), "incidents/www@%" PRId64 ".json", AT(12, 12, 0));
    want[nw++] = strdup(path);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "drills/shop@%" PRId64 ".%s", AT(15, 9, 0), k ? "html" : "json");
        want[nw++] = strdup(path);
        snprintf(path, sizeof(path), "drills/web@%" PRId64 ".%s", AT(16, 9, 0), k ? "html" : "json");
        want[nw++] = strdup(path);
    }
    {
        const char *fixed[] = { "maintenance.json", "audit/audit.json", "config-history.json",
                                "kpi.json", "kpi.csv", "MANIFEST.json", "MANIFEST.sig",
                                "PUBKEY.pem" };

        for (size_t i = 0; i < 8; i++)
            want[nw++] = strdup(fixed[i]);
    }
    {
        const char *argv[] = { "tar", "-tzf", pack, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 30000), 0),
                  "tar: %s", err);
    }
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l != NULL && ng < 200;
         l = strtok_r(NULL, "\n", &save))
        got[ng++] = strdup(l);
    qsort(want, nw, sizeof(*want), cmp_str);
    qsort(got, ng, sizeof(*got), cmp_str);
    cr_expect(eq(sz, ng, nw));
    for (size_t i = 0; i < nw && i < ng; i++)
        cr_expect(eq(str, got[i], want[i]));
    /* the KPIs of acme/shop in October, computed by hand above */
    {
        const char *argv[] = { "tar", "-xzf", pack, "-C", w.dir, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 30000), 0),
                  "tar: %s", err);
    }
    snprintf(path, sizeof(path), "%s/kpi.json", w.dir);
    kpi = json_load_file(path, 0, NULL);
    cr_assert(ne(ptr, kpi, NULL));
    row = NULL;
    for (size_t i = 0; i < json_array_size(json_object_get(kpi, "rows")); i++) {
        json_t *r = json_array_get(json_object_get(kpi, "rows"), i);

        if (strcmp(json_string_value(json_object_get(r, "service")), "shop") == 0 &&
            strcmp(json_string_value(json_object_get(r, "month")), "2026-10") == 0)
            row = r;
    }
    cr_assert(ne(ptr, row, NULL));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "incidents")), 2));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "mttd_ms")), 90000));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "mtta_ms")), 1200000));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "mttr_ms")), 2700000));
    cr_expect(eq(dbl, json_real_value(json_object_get(row, "ack_within_target_pct")), 50.0));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "notifications_sent")), 2));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "notifications_delivered")), 2));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "delivery_p95_ms")), 5000));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "drills_held")), 1));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "drills_passed")), 1));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "rto_ms")), 600000));
    cr_expect(eq(dbl, json_real_value(json_object_get(row, "availability_pct")),
                 100.0 * (1.0 - 5400000.0 / (31.0 * 86400000.0))));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(row, "team")), "ops"));
    /* the team row of October: api is ops's only check, so shop's figures */
    row = NULL;
    for (size_t i = 0; i < json_array_size(json_object_get(kpi, "rows")); i++) {
        json_t *r = json_array_get(json_object_get(kpi, "rows"), i);

        if (strcmp(json_string_value(json_object_get(r, "scope")), "team") == 0 &&
            strcmp(json_string_value(json_object_get(r, "month")), "2026-10") == 0)
            row = r;
    }
    cr_assert(ne(ptr, row, NULL));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(row, "team")), "ops"));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "incidents")), 2));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "mttr_ms")), 2700000));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "downtime_ms")), 5400000));
    json_decref(kpi);
    /* an incident file: its notification with the delivery log and the ack, no secret */
    snprintf(path, sizeof(path), "%s/incidents/api@%" PRId64 ".json", w.dir, AT(5, 10, 0));
    text = test_read_file(path);
    cr_assert(ne(ptr, text, NULL));
    cr_expect(eq(ptr, strstr(text, "s3cr3t"), NULL));
    inc = json_loads(text, 0, NULL);
    free(text);
    cr_assert(ne(ptr, inc, NULL));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(json_object_get(inc, "ack"), "by")),
                 "alice"));
    cr_expect(eq(sz, json_array_size(json_object_get(json_array_get(
                         json_object_get(inc, "notifications"), 0), "delivery_log")), 1));
    json_decref(inc);
    /* config history: the two reloads */
    snprintf(path, sizeof(path), "%s/config-history.json", w.dir);
    inc = json_load_file(path, 0, NULL);
    cr_expect(eq(sz, json_array_size(json_object_get(inc, "reloads")), 2));
    json_decref(inc);
    cr_expect(eq(int, verify(pack), 0), "verify: %s", err);
    for (size_t i = 0; i < nw; i++)
        free(want[i]);
    for (size_t i = 0; i < ng; i++)
        free(got[i]);
    teardown(&w);
}

/* Unpacks pack into dir/x, lets edit change it, packs dir/x again as out. */
static void repack(const struct world *w, const char *pack, const char *outp,
                   void (*edit)(const char *root))
{
    char root[400], list[600], cmd[2400];

    snprintf(root, sizeof(root), "%s/x", w->dir);
    test_rmtree(root);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && tar -xzf '%s' -C '%s'", root, pack, root);
    cr_assert(eq(int, system(cmd), 0));
    edit(root);
    snprintf(list, sizeof(list), "%s/list", w->dir);
    snprintf(cmd, sizeof(cmd), "cd '%s' && find . -type f | sed 's|^\\./||' | sort > '%s' && "
                               "tar --format=ustar -czf '%s' -T '%s'", root, list, outp, list);
    cr_assert(eq(int, system(cmd), 0));
}

static void edit_nothing(const char *root)
{
    (void)root;
}

static void edit_kpi_byte(const char *root)
{
    char p[500];
    FILE *f;

    snprintf(p, sizeof(p), "%s/kpi.csv", root);
    f = fopen(p, "r+");
    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(int, fseek(f, 3, SEEK_SET), 0));
    fputc('X', f);
    fclose(f);
}

static void edit_remove_maint(const char *root)
{
    char p[500];

    snprintf(p, sizeof(p), "%s/maintenance.json", root);
    cr_assert(eq(int, remove(p), 0));
}

static char alice_id[64];

/* The ack by alice now reads mallory: the entry's hash no longer matches. */
static void edit_audit(const char *root)
{
    char p[500];
    json_t *doc, *e;
    size_t i;

    snprintf(p, sizeof(p), "%s/audit/audit.json", root);
    doc = json_load_file(p, 0, NULL);
    cr_assert(ne(ptr, doc, NULL));
    json_array_foreach(json_object_get(doc, "entries"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "actor")), "alice") == 0) {
            snprintf(alice_id, sizeof(alice_id), "%s", json_string_value(json_object_get(e, "id")));
            json_object_set_new(e, "actor", json_string("mallory"));
        }
    }
    cr_assert(ne(str, alice_id, ""));
    cr_assert(eq(int, json_dump_file(doc, p, JSON_INDENT(1) | JSON_SORT_KEYS), 0));
    json_decref(doc);
}

Test(e2e_evidence, verify_names_what_was_altered_or_removed, .timeout = 300)
{
    struct world w;
    char pack[400], bad[400];

    setup(&w);
    snprintf(pack, sizeof(pack), "%s/pack.tar.gz", w.dir);
    snprintf(bad, sizeof(bad), "%s/bad.tar.gz", w.dir);
    make_pack(&w, NULL, pack);
    cr_expect(eq(int, verify(pack), 0), "%s", err);
    repack(&w, pack, bad, edit_nothing);       /* GNU tar's ustar reads the same */
    cr_expect(eq(int, verify(bad), 0), "untouched: %s", err);
    repack(&w, pack, bad, edit_kpi_byte);
    cr_expect(eq(int, verify(bad), 1));
    cr_expect(ne(ptr, strstr(err, "kpi.csv: altered"), NULL), "%s", err);
    repack(&w, pack, bad, edit_remove_maint);
    cr_expect(eq(int, verify(bad), 1));
    cr_expect(ne(ptr, strstr(err, "maintenance.json: missing"), NULL), "%s", err);
    repack(&w, pack, bad, edit_audit);
    cr_expect(eq(int, verify(bad), 1));
    cr_expect(ne(ptr, strstr(err, "audit/audit.json: altered"), NULL), "%s", err);
    cr_expect(ne(ptr, strstr(err, alice_id), NULL), "%s", err);
    cr_expect(ne(ptr, strstr(err, "do not hash to its hash"), NULL), "%s", err);
    {
        /* a pack signed by another key is refused when the verifier pins its key */
        char other[400], pub[400];
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        FILE *f;

        snprintf(pub, sizeof(pub), "%s/other.pub", w.dir);
        f = fopen(pub, "w");
        cr_assert(ne(ptr, f, NULL));
        PEM_write_PUBKEY(f, k);
        fclose(f);
        EVP_PKEY_free(k);
        snprintf(other, sizeof(other), "%s", pack);
        {
            const char *argv[] = { NINES_BIN_DIR "/nines", "evidence", "verify", other,
                                   "--pubkey", pub, NULL };

            cr_expect(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 60000), 1));
            cr_expect(ne(ptr, strstr(err, "MANIFEST.sig: the signature does not match"), NULL),
                      "%s", err);
        }
    }
    teardown(&w);
}

Test(e2e_evidence, a_customer_pack_holds_nothing_of_another, .timeout = 300)
{
    struct world w;
    char pack[400], root[400], cmd[2400];

    setup(&w);
    snprintf(pack, sizeof(pack), "%s/acme.tar.gz", w.dir);
    make_pack(&w, "acme", pack);
    cr_expect(eq(int, verify(pack), 0), "%s", err);
    {
        const char *argv[] = { "tar", "-tzf", pack, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 30000), 0));
    }
    cr_expect(eq(ptr, strstr(out, "globex"), NULL), "%s", out);
    cr_expect(eq(ptr, strstr(out, "www@"), NULL), "%s", out);
    cr_expect(eq(ptr, strstr(out, "web@"), NULL), "%s", out);
    cr_expect(ne(ptr, strstr(out, "reports/acme-2026-10.pdf"), NULL), "%s", out);
    snprintf(root, sizeof(root), "%s/acme", w.dir);
    /* no file (PDFs aside: compressed) names the other customer, its service or check */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && tar -xzf '%s' -C '%s' && "
                               "! grep -rlE --exclude='*.pdf' 'globex|www|\"web\"|carol' '%s'",
             root, pack, root, root);
    cr_expect(eq(int, system(cmd), 0));
    /* the audit chain still links across the redacted entry */
    snprintf(cmd, sizeof(cmd), "grep -q '\"redacted\": true' '%s/audit/audit.json'", root);
    cr_expect(eq(int, system(cmd), 0));
    teardown(&w);
}
