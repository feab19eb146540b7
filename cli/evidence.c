/*
 * nines evidence --from DATE --to DATE [--customer ID] -o FILE.tar.gz
 * nines evidence verify FILE.tar.gz [--pubkey PEM]
 *
 * The SOC 2 availability evidence pack: one gzip'd ustar archive holding
 *   reports/CUSTOMER-YYYY-MM.{json,pdf}   each month of the period
 *   incidents/ID.json                     incident, notifications, delivery log, ack
 *   drills/ID.{json,html}                 DR drills with T0 in the period
 *   maintenance.json                      windows the reports counted
 *   audit/audit.json                      audit extract with its hash chain
 *   config-history.json                   the config_reload entries of it
 *   kpi.json, kpi.csv                     collector/kpi.h, per customer/service/month
 *   MANIFEST.json                         every file above with its SHA-256
 *   MANIFEST.sig                          hex Ed25519 signature of MANIFEST.json
 *   PUBKEY.pem                            the signer's public key
 * The key is evidence.signing_key_file of the config. verify checks the
 * signature, every hash, that no file is missing or added, and the audit chain.
 *
 * With --customer, audit entries that mention another customer (its id, or a
 * service or check only it has) keep only seq, prev and hash ("redacted"):
 * the chain still links, their content is not shown.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "compute.h"
#include "drill.h"
#include "kpi.h"
#include "kpigather.h"
#include "nines/auditchain.h"
#include "nines/clock.h"
#include "report.h"
#include "outbox.h"
#include "store.h"

#define EV_MAX_FILES 100000
#define EV_MAX_ARCHIVE (INT64_C(512) << 20)   /* bytes after gunzip */
#define EV_NAME_MAX 100                        /* ustar name field */

struct ev_file {
    char name[EV_NAME_MAX];
    unsigned char *data;
    size_t len;
};

struct ev_pack {
    struct ev_file *files;
    size_t n, cap;
};

static void ev_pack_free(struct ev_pack *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->files[i].data);
    free(p->files);
    memset(p, 0, sizeof(*p));
}

/* Takes data (malloc'd) whether or not it succeeds. */
static int ev_add_take(struct ev_pack *p, const char *name, void *data, size_t len)
{
    if (strlen(name) >= EV_NAME_MAX || p->n >= EV_MAX_FILES) {
        fprintf(stderr, "nines evidence: %s: name too long or too many files\n", name);
        free(data);
        return -1;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct ev_file *f = realloc(p->files, cap * sizeof(*f));

        if (f == NULL) {
            free(data);
            return -1;
        }
        p->files = f;
        p->cap = cap;
    }
    snprintf(p->files[p->n].name, EV_NAME_MAX, "%s", name);
    p->files[p->n].data = data;
    p->files[p->n].len = len;
    p->n++;
    return 0;
}

static int ev_add_copy(struct ev_pack *p, const char *name, const void *data, size_t len)
{
    void *c = malloc(len + 1);

    if (c == NULL)
        return -1;
    memcpy(c, data, len);
    return ev_add_take(p, name, c, len);
}

/* Takes j. */
static int ev_add_json(struct ev_pack *p, const char *name, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;

    json_decref(j);
    if (s == NULL) {
        fprintf(stderr, "nines evidence: %s: out of memory\n", name);
        return -1;
    }
    return ev_add_take(p, name, s, strlen(s));
}

static const struct ev_file *ev_find(const struct ev_pack *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->files[i].name, name) == 0)
            return &p->files[i];
    return NULL;
}

static void ev_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- ustar + gzip ---- */

static void ev_octal(char *field, size_t width, uint64_t v)
{
    snprintf(field, width, "%0*" PRIo64, (int)width - 1, v);
}

static unsigned ev_tar_sum(const unsigned char h[512])
{
    unsigned s = 0;

    for (int i = 0; i < 512; i++)
        s += (i >= 148 && i < 156) ? ' ' : h[i];
    return s;
}

static int ev_tar_write(const struct ev_pack *p, const char *path, int64_t mtime_ms)
{
    static const unsigned char zero[1024];
    gzFile gz = gzopen(path, "wb9");
    int ok = gz != NULL;

    for (size_t i = 0; ok && i < p->n; i++) {
        unsigned char h[512];
        size_t pad = (512 - p->files[i].len % 512) % 512;

        memset(h, 0, sizeof(h));
        memcpy(h, p->files[i].name, strlen(p->files[i].name));
        ev_octal((char *)h + 100, 8, 0644);
        ev_octal((char *)h + 108, 8, 0);
        ev_octal((char *)h + 116, 8, 0);
        ev_octal((char *)h + 124, 12, p->files[i].len);
        ev_octal((char *)h + 136, 12, (uint64_t)(mtime_ms / 1000));
        h[156] = '0';
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memcpy(h + 265, "nines", 5);
        memcpy(h + 297, "nines", 5);
        snprintf((char *)h + 148, 8, "%06o", ev_tar_sum(h));
        h[155] = ' ';
        ok = gzwrite(gz, h, 512) == 512;
        if (ok && p->files[i].len > 0)
            ok = gzwrite(gz, p->files[i].data, (unsigned)p->files[i].len) ==
                 (int)p->files[i].len;
        if (ok && pad > 0)
            ok = gzwrite(gz, zero, (unsigned)pad) == (int)pad;
    }
    if (ok)
        ok = gzwrite(gz, zero, sizeof(zero)) == (int)sizeof(zero);
    if (gz != NULL && gzclose(gz) != Z_OK)
        ok = 0;
    if (!ok)
        fprintf(stderr, "nines evidence: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

static int ev_parse_octal(const unsigned char *f, size_t width, uint64_t *v)
{
    size_t i = 0;

    *v = 0;
    while (i < width && f[i] == ' ')
        i++;
    if (i == width || f[i] < '0' || f[i] > '7')
        return -1;
    for (; i < width && f[i] >= '0' && f[i] <= '7'; i++)
        *v = *v * 8 + (uint64_t)(f[i] - '0');
    return (i == width || f[i] == ' ' || f[i] == '\0') ? 0 : -1;
}

/* The archive at path gunzipped into memory (capped). */
static unsigned char *ev_gunzip(const char *path, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, used = 0;
    int n = 1;

    if (gz == NULL) {
        fprintf(stderr, "nines evidence: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    while (n > 0) {
        if (used == cap) {
            unsigned char *b = (int64_t)cap >= EV_MAX_ARCHIVE ? NULL
                                                              : realloc(buf, cap ? cap * 2 : 65536);

            if (b == NULL) {
                fprintf(stderr, "nines evidence: %s: larger than %" PRId64 " bytes\n", path,
                        EV_MAX_ARCHIVE);
                n = -1;
                break;
            }
            buf = b;
            cap = cap ? cap * 2 : 65536;
        }
        n = gzread(gz, buf + used, (unsigned)(cap - used));
        if (n > 0)
            used += (size_t)n;
    }
    if (n < 0) {
        int e;
        const char *m = gzerror(gz, &e);

        if (e != Z_OK)
            fprintf(stderr, "nines evidence: %s: not a gzip file (%s)\n", path, m);
        free(buf);
        buf = NULL;
    }
    gzclose(gz);
    *len = used;
    return buf;
}

/* Reads the ustar archive into p: regular files only, names checked. */
static int ev_tar_read(const char *path, struct ev_pack *p)
{
    size_t len = 0, off = 0;
    unsigned char *buf = ev_gunzip(path, &len);
    int ret = -1;

    if (buf == NULL)
        return -1;
    while (off + 512 <= len) {
        const unsigned char *h = buf + off;
        uint64_t size, sum;
        char name[EV_NAME_MAX + 1];

        if (h[0] == '\0') {
            ret = 0;                    /* the end-of-archive block */
            break;
        }
        if (ev_parse_octal(h + 148, 8, &sum) != 0 || sum != ev_tar_sum(h) ||
            ev_parse_octal(h + 124, 12, &size) != 0 || memcmp(h + 257, "ustar", 5) != 0) {
            fprintf(stderr, "nines evidence: %s: bad tar header at byte %zu\n", path, off);
            ret = -2;                   /* reported */
            break;
        }
        memcpy(name, h, EV_NAME_MAX);
        name[EV_NAME_MAX] = '\0';
        off += 512;
        if (size > len - off) {
            fprintf(stderr, "nines evidence: %s: %s is cut short\n", path, name);
            ret = -2;                   /* reported */
            break;
        }
        if (h[345] != '\0') {
            fprintf(stderr, "nines evidence: %s: %s has a name prefix (names over 100 bytes "
                            "are not written by nines)\n", path, name);
            ret = -2;                   /* reported */
            break;
        }
        if (h[156] == '0' || h[156] == '\0') {
            const char *n = strncmp(name, "./", 2) == 0 ? name + 2 : name;

            if (ev_find(p, n) != NULL) {
                fprintf(stderr, "nines evidence: %s: %s appears twice\n", path, n);
                ret = -2;               /* reported */
                break;
            }
            if (ev_add_copy(p, n, buf + off, (size_t)size) != 0) {
                fprintf(stderr, "nines evidence: %s: out of memory\n", path);
                ret = -2;
                break;
            }
        } else if (h[156] != '5') {
            fprintf(stderr, "nines evidence: %s: %s is not a regular file\n", path, name);
            ret = -2;                   /* reported */
            break;
        }
        off += (size_t)((size + 511) / 512 * 512);
    }
    if (ret == -1 && off + 512 > len)
        fprintf(stderr, "nines evidence: %s: the archive has no end\n", path);
    free(buf);
    return ret == 0 ? 0 : -1;
}

/* ---- building the pack ---- */

struct ev_opts {
    const char *from, *to, *customer, *out, *config, *url;
    int64_t ack_target_ms;
};

struct ev_ctx {
    const struct ev_opts *o;
    const struct nines_config *cfg;
    redisContext *rc;
    int64_t from_ms, to_ms;              /* [from 00:00Z, to + 1 day 00:00Z) */
    struct ev_pack pack;
    json_t *maint;                       /* array */
    struct kpigather *g;
    struct kpi_table kpis;               /* service rows, then team rows */
    char tmpdir[256];
};

static int ev_parse_date(const char *s, int64_t *ms)
{
    struct tm tm;
    char tail;
    int y, m, d;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    *ms = (int64_t)timegm(&tm) * 1000;
    return tm.tm_mday == d ? 0 : -1;     /* 2026-02-30 normalises: refused */
}

static const struct nines_service_cfg *ev_service(const struct nines_config *cfg,
                                                  const char *id)
{
    for (size_t i = 0; i < cfg->services_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

static int ev_customer_has_service(const struct nines_customer_cfg *cu, const char *svc)
{
    for (size_t i = 0; i < cu->services_count; i++)
        if (strcmp(cu->services[i], svc) == 0)
            return 1;
    return 0;
}

/* Adds incidents/ID.json, once per incident (kpigather hook). */
static int ev_incident_doc(void *arg, const char *id, json_t *doc)
{
    struct ev_ctx *x = arg;
    char name[EV_NAME_MAX + 20];

    snprintf(name, sizeof(name), "incidents/%s.json", id);
    if (ev_find(&x->pack, name) != NULL)
        return 0;
    return ev_add_json(&x->pack, name, json_incref(doc));
}

/* Adds drills/ID.{json,html} of a drill with T0 in the period (kpigather hook). */
static int ev_drill_doc(void *arg, const char *id, json_t *doc)
{
    struct ev_ctx *x = arg;
    int64_t t0 = json_integer_value(json_object_get(doc, "t0_ms"));
    char name[EV_NAME_MAX + 40], *html;
    int ret;

    snprintf(name, sizeof(name), "drills/%s.json", id);
    if (t0 < x->from_ms || t0 >= x->to_ms || ev_find(&x->pack, name) != NULL)
        return 0;
    html = drill_report_html(doc);
    ret = ev_add_json(&x->pack, name, json_incref(doc));
    snprintf(name, sizeof(name), "drills/%s.html", id);
    if (ret == 0 && html != NULL)
        ret = ev_add_take(&x->pack, name, html, strlen(html));
    else
        free(html);
    return ret;
}

static int ev_report_month(struct ev_ctx *x, const char *customer, int y, int m)
{
    struct nines_err err = { 0 };
    struct report r;
    char name[EV_NAME_MAX], pdf[400], *json = NULL;
    size_t len = 0;
    int ret;

    if (report_compute(x->rc, x->cfg, customer, y, m, &r, &err) != 0) {
        fprintf(stderr, "nines evidence: report %s %04d-%02d: %s\n", customer, y, m, err.msg);
        return -1;
    }
    ret = report_json(&r, &json, &len, &err);
    snprintf(name, sizeof(name), "reports/%.40s-%s.json", customer, r.month);
    if (ret == 0)
        ret = ev_add_take(&x->pack, name, json, len);
    snprintf(pdf, sizeof(pdf), "%s/report.pdf", x->tmpdir);
    if (ret == 0 && (ret = report_pdf(&r, pdf, &err)) == 0) {
        FILE *f = fopen(pdf, "rb");
        char *buf = NULL;
        long n = -1;

        if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
            fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
            fread(buf, 1, (size_t)n, f) == (size_t)n) {
            snprintf(name, sizeof(name), "reports/%.40s-%s.pdf", customer, r.month);
            ret = ev_add_take(&x->pack, name, buf, (size_t)n);
        } else {
            free(buf);
            ret = nines_err_set(&err, NINES_EIO, "cannot read back %s", pdf);
        }
        if (f != NULL)
            fclose(f);
        unlink(pdf);
    }
    if (ret != 0 && err.msg[0] != '\0')
        fprintf(stderr, "nines evidence: report %s %s: %s\n", customer, r.month, err.msg);
    for (size_t i = 0; ret == 0 && i < r.maintenance_count; i++) {
        const struct report_maint *w = &r.maintenance[i];

        ret = json_array_append_new(x->maint, json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "customer",
                                                        customer, "id", w->id, "reason",
                                                        w->reason, "start_ms",
                                                        (json_int_t)w->start_ms, "end_ms",
                                                        (json_int_t)w->end_ms, "services",
                                                        w->services));
    }
    if (ret == 0 && (ret = kpigather_report(x->g, &r, &x->kpis, &err)) != 0)
        fprintf(stderr, "nines evidence: KPIs %s %s: %s\n", customer, r.month, err.msg);
    report_compute_free(&r);
    return ret;
}

/* ---- the audit extract ---- */

struct ev_audit {
    json_t *entries;
    json_t *history;
    json_t *foreign;          /* strings of other customers (array), or NULL */
};

static int ev_mentions(const json_t *foreign, const struct auditchain_entry *e)
{
    size_t i;
    json_t *v;

    json_array_foreach(foreign, i, v) {
        const char *s = json_string_value(v);

        if (strstr(e->target, s) != NULL || strstr(e->detail, s) != NULL ||
            strstr(e->actor, s) != NULL)
            return 1;
    }
    return 0;
}

static int ev_audit_entry(const struct auditchain_entry *e, int ok, void *arg)
{
    struct ev_audit *a = arg;
    json_t *j;

    if (a->foreign != NULL && ev_mentions(a->foreign, e))
        j = json_pack("{s:I,s:s,s:s,s:b}", "seq", (json_int_t)e->seq, "prev", e->prev, "hash",
                      e->hash, "redacted", 1);
    else
        j = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", e->id, "seq",
                      (json_int_t)e->seq, "ts_ms", (json_int_t)e->ts_ms, "actor", e->actor,
                      "source", e->source, "action", e->action, "target", e->target, "detail",
                      e->detail, "prev", e->prev, "hash", e->hash);
    if (j == NULL)
        return -1;
    if (strcmp(e->action, "config_reload") == 0 && json_object_get(j, "redacted") == NULL)
        json_array_append(a->history, j);
    return json_array_append_new(a->entries, j);
}

/* Strings that belong only to customers other than cu. */
static json_t *ev_foreign(const struct nines_config *cfg, const struct nines_customer_cfg *cu)
{
    json_t *f = json_array();

    for (size_t i = 0; f != NULL && i < cfg->customers_count; i++) {
        const struct nines_customer_cfg *o = &cfg->customers[i];

        if (o == cu)
            continue;
        json_array_append_new(f, json_string(o->id));
        for (size_t k = 0; k < o->services_count; k++) {
            const struct nines_service_cfg *s = ev_service(cfg, o->services[k]);

            if (ev_customer_has_service(cu, o->services[k]) || s == NULL)
                continue;
            json_array_append_new(f, json_string(s->id));
            for (size_t c = 0; c < s->checks_count; c++) {
                int mine = 0;

                for (size_t m = 0; m < cu->services_count && !mine; m++) {
                    const struct nines_service_cfg *ms = ev_service(cfg, cu->services[m]);

                    for (size_t q = 0; ms != NULL && q < ms->checks_count; q++)
                        mine |= strcmp(ms->checks[q], s->checks[c]) == 0;
                }
                if (!mine)
                    json_array_append_new(f, json_string(s->checks[c]));
            }
        }
    }
    return f;
}

static int ev_audit(struct ev_ctx *x, const struct nines_customer_cfg *cu)
{
    struct ev_audit a = { json_array(), json_array(), cu != NULL ? ev_foreign(x->cfg, cu) : NULL };
    struct auditchain_verifier v;
    struct nines_err err = { 0 };
    char from[32], to[32];
    int ret;

    snprintf(from, sizeof(from), "%" PRId64, x->from_ms);
    snprintf(to, sizeof(to), "%" PRId64, x->to_ms - 1);
    ret = auditchain_walk(x->rc, from, to, &v, ev_audit_entry, &a, &err);
    if (ret != 0)
        fprintf(stderr, "nines evidence: the audit log does not verify: %s\n", err.msg);
    if (ret == 0)
        ret = ev_add_json(&x->pack, "audit/audit.json",
                          json_pack("{s:s,s:s,s:o}", "first_prev",
                                    v.count > 0 ? v.first_prev : AUDITCHAIN_GENESIS,
                                    "format", "nines-audit-extract/1", "entries", a.entries));
    else
        json_decref(a.entries);
    if (ret == 0)
        ret = ev_add_json(&x->pack, "config-history.json", json_pack("{s:o}", "reloads",
                                                                       a.history));
    else
        json_decref(a.history);
    json_decref(a.foreign);
    return ret;
}

/* ---- manifest and signature ---- */

static int ev_cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct ev_file *)a)->name, ((const struct ev_file *)b)->name);
}

static EVP_PKEY *ev_load_key(const char *path, int private_key)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = NULL;

    if (f == NULL) {
        fprintf(stderr, "nines evidence: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    k = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                    : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (k != NULL && EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    if (k == NULL)
        fprintf(stderr, "nines evidence: %s: not a PEM Ed25519 %s key\n", path,
                private_key ? "private" : "public");
    return k;
}

/* Adds MANIFEST.json, MANIFEST.sig and PUBKEY.pem. */
static int ev_sign(struct ev_ctx *x, EVP_PKEY *key)
{
    json_t *files = json_array(), *man;
    unsigned char sig[64];
    size_t siglen = sizeof(sig);
    char hex[129], *text;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    BIO *bio = BIO_new(BIO_s_mem());
    const struct ev_file *mf;
    char *pem;
    long pemlen;
    int ok;

    qsort(x->pack.files, x->pack.n, sizeof(*x->pack.files), ev_cmp_file);
    for (size_t i = 0; i < x->pack.n; i++) {
        char h[65];

        ev_sha256_hex(x->pack.files[i].data, x->pack.files[i].len, h);
        json_array_append_new(files, json_pack("{s:s,s:s,s:I}", "path", x->pack.files[i].name,
                                               "sha256", h, "size",
                                               (json_int_t)x->pack.files[i].len));
    }
    man = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "format", "nines-evidence/1", "from", x->o->from,
                    "to", x->o->to, "customer", x->o->customer ? x->o->customer : "",
                    "generated_ms", (json_int_t)nines_wall_ms(), "files", files);
    ok = md != NULL && bio != NULL && ev_add_json(&x->pack, "MANIFEST.json", man) == 0;
    mf = ok ? ev_find(&x->pack, "MANIFEST.json") : NULL;
    ok = mf != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
         EVP_DigestSign(md, sig, &siglen, mf->data, mf->len) == 1 && siglen == 64;
    if (ok) {
        for (size_t i = 0; i < 64; i++)
            snprintf(hex + 2 * i, 3, "%02x", sig[i]);
        text = malloc(130);
        ok = text != NULL && snprintf(text, 130, "%s\n", hex) == 129 &&
             ev_add_take(&x->pack, "MANIFEST.sig", text, 129) == 0;
    }
    ok = ok && PEM_write_bio_PUBKEY(bio, key) == 1 && (pemlen = BIO_get_mem_data(bio, &pem)) > 0 &&
         ev_add_copy(&x->pack, "PUBKEY.pem", pem, (size_t)pemlen) == 0;
    if (!ok)
        fprintf(stderr, "nines evidence: cannot sign the manifest\n");
    EVP_MD_CTX_free(md);
    BIO_free(bio);
    return ok ? 0 : -1;
}

/*
 * One month: every customer's (or only's) report and service KPI rows, then
 * the month's team rows, from one gatherer (its pool is the month's).
 */
static int ev_month(struct ev_ctx *x, const struct nines_customer_cfg *only, int y, int m)
{
    struct kpigather_hooks hooks = { ev_incident_doc, ev_drill_doc, x };
    struct kpi_table teams = { 0 };
    size_t first = x->kpis.n;
    char label[16];
    int ret = 0;

    x->g = kpigather_new(x->rc, x->cfg, x->o->ack_target_ms, &hooks);
    if (x->g == NULL)
        return -1;
    for (size_t c = 0; ret == 0 && c < x->cfg->customers_count; c++)
        if (only == NULL || &x->cfg->customers[c] == only)
            ret = ev_report_month(x, x->cfg->customers[c].id, y, m);
    snprintf(label, sizeof(label), "%04d-%02d", y % 10000, m % 100);
    if (ret == 0) {
        struct nines_err err = { 0 };
        struct kpi_table month = { x->kpis.rows + first, x->kpis.n - first, 0 };

        if ((ret = kpigather_teams(x->g, &month, NULL, label, &teams, &err)) != 0)
            fprintf(stderr, "nines evidence: team KPIs %s: %s\n", label, err.msg);
    }
    for (size_t i = 0; ret == 0 && i < teams.n; i++)
        ret = kpi_table_add_take(&x->kpis, &teams.rows[i]);
    kpi_table_free(&teams);
    kpigather_free(x->g);
    x->g = NULL;
    return ret;
}

static int ev_build(struct ev_ctx *x, const struct nines_customer_cfg *only)
{
    int ret = 0;
    int64_t y0, m0, y1, m1;
    struct tm a, b;
    time_t ta = (time_t)(x->from_ms / 1000), tb = (time_t)((x->to_ms - 1) / 1000);
    char *csv = NULL;
    size_t csvlen = 0;
    json_t *rows = json_array();

    gmtime_r(&ta, &a);
    gmtime_r(&tb, &b);
    y0 = a.tm_year + 1900, m0 = a.tm_mon + 1, y1 = b.tm_year + 1900, m1 = b.tm_mon + 1;
    for (int64_t y = y0, m = m0; ret == 0 && (y < y1 || (y == y1 && m <= m1));) {
        ret = ev_month(x, only, (int)y, (int)m);
        if (++m == 13)
            m = 1, y++;
    }
    if (ret == 0)
        ret = ev_add_json(&x->pack, "maintenance.json",
                          json_pack("{s:O}", "windows", x->maint));
    if (ret == 0)
        ret = ev_audit(x, only);
    for (size_t i = 0; ret == 0 && i < x->kpis.n; i++)
        ret = json_array_append_new(rows, kpi_row_json(&x->kpis.rows[i]));
    if (ret == 0)
        ret = ev_add_json(&x->pack, "kpi.json", json_pack("{s:I,s:O}", "ack_target_ms",
                                                          (json_int_t)x->o->ack_target_ms,
                                                          "rows", rows));
    if (ret == 0 && (ret = kpi_csv(x->kpis.rows, x->kpis.n, &csv, &csvlen)) == 0)
        ret = ev_add_take(&x->pack, "kpi.csv", csv, csvlen);
    json_decref(rows);
    return ret;
}

static int ev_make(const struct ev_opts *o)
{
    struct nines_config *cfg = NULL;
    const struct nines_customer_cfg *only = NULL;
    struct nines_redis_addr addr;
    struct ev_ctx x;
    EVP_PKEY *key = NULL;
    int ret = CLI_USAGE;

    memset(&x, 0, sizeof(x));
    x.o = o;
    if (ev_parse_date(o->from, &x.from_ms) != 0 || ev_parse_date(o->to, &x.to_ms) != 0 ||
        x.to_ms < x.from_ms) {
        fprintf(stderr, "nines evidence: --from '%s' --to '%s': expected YYYY-MM-DD, from <= to\n",
                o->from, o->to);
        return CLI_USAGE;
    }
    x.to_ms += 86400000;                      /* --to is inclusive */
    if ((cfg = cli_config_load(o->config)) == NULL)
        return CLI_USAGE;
    x.cfg = cfg;
    if (o->customer != NULL && (only = cli_customer(cfg, o->customer)) == NULL)
        fprintf(stderr, "nines evidence: unknown customer '%s' (not in %s)\n", o->customer,
                cfg->path);
    else if (cfg->evidence.signing_key_file == NULL)
        fprintf(stderr, "nines evidence: %s: evidence.signing_key_file is not set\n", cfg->path);
    else if ((key = ev_load_key(cfg->evidence.signing_key_file, 1)) != NULL &&
             (ret = cli_redis_addr_cfg(o->url, cfg, &addr)) == 0) {
        ret = CLI_UNREACHABLE;
        snprintf(x.tmpdir, sizeof(x.tmpdir), "%s/nines-evidence-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(x.tmpdir) == NULL)
            fprintf(stderr, "nines evidence: %s: %s\n", x.tmpdir, strerror(errno));
        else if ((x.rc = cli_redis_connect(&addr)) != NULL) {
            x.maint = json_array();
            ret = ev_build(&x, only) == 0 && ev_sign(&x, key) == 0 &&
                  ev_tar_write(&x.pack, o->out, nines_wall_ms()) == 0 ? CLI_OK : CLI_FAIL;
            if (ret == CLI_OK)
                fprintf(stderr, "nines evidence: %s: %zu files, signed\n", o->out, x.pack.n);
            redisFree(x.rc);
        }
        rmdir(x.tmpdir);
    } else if (key == NULL) {
        ret = CLI_USAGE;
    }
    EVP_PKEY_free(key);
    json_decref(x.maint);
    kpi_table_free(&x.kpis);
    ev_pack_free(&x.pack);
    nines_config_free(cfg);
    return ret;
}

/* ---- verify ---- */

static int ev_hex_to_bytes(const char *hex, size_t hexlen, unsigned char *out, size_t n)
{
    if (hexlen < 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

static int ev_verify_sig(const struct ev_pack *p, const char *pubkey)
{
    const struct ev_file *man = ev_find(p, "MANIFEST.json"), *sig = ev_find(p, "MANIFEST.sig");
    const struct ev_file *pem = ev_find(p, "PUBKEY.pem");
    unsigned char s[64];
    EVP_PKEY *k = NULL;
    EVP_MD_CTX *md;
    int ok;

    if (man == NULL || sig == NULL || (pem == NULL && pubkey == NULL)) {
        fprintf(stderr, "nines evidence: %s: missing\n",
                man == NULL ? "MANIFEST.json" : sig == NULL ? "MANIFEST.sig" : "PUBKEY.pem");
        return -1;
    }
    if (pubkey != NULL) {
        k = ev_load_key(pubkey, 0);
    } else {
        BIO *b = BIO_new_mem_buf(pem->data, (int)pem->len);

        k = b != NULL ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
            fprintf(stderr, "nines evidence: PUBKEY.pem: not an Ed25519 public key\n");
    }
    if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        return -1;
    }
    md = EVP_MD_CTX_new();
    ok = ev_hex_to_bytes((const char *)sig->data, sig->len, s, 64) == 0 && md != NULL &&
         EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 &&
         EVP_DigestVerify(md, s, 64, man->data, man->len) == 1;
    if (!ok)
        fprintf(stderr, "nines evidence: MANIFEST.sig: the signature does not match "
                        "MANIFEST.json and %s\n", pubkey != NULL ? pubkey : "PUBKEY.pem");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

/* Every file in the manifest present with its hash; none added. */
static int ev_verify_files(const struct ev_pack *p, json_t *man, size_t *count)
{
    json_t *files = json_object_get(man, "files"), *f, *listed = json_object();
    size_t i;
    int bad = 0;

    if (!json_is_array(files)) {
        fprintf(stderr, "nines evidence: MANIFEST.json: no \"files\" array\n");
        json_decref(listed);
        return -1;
    }
    json_array_foreach(files, i, f) {
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *want = json_string_value(json_object_get(f, "sha256"));
        const struct ev_file *e = path != NULL ? ev_find(p, path) : NULL;
        char got[65];

        if (path == NULL || want == NULL) {
            fprintf(stderr, "nines evidence: MANIFEST.json: files[%zu] lacks path or sha256\n", i);
            bad = 1;
            continue;
        }
        json_object_set_new(listed, path, json_true());
        if (e == NULL) {
            fprintf(stderr, "nines evidence: %s: missing\n", path);
            bad = 1;
            continue;
        }
        ev_sha256_hex(e->data, e->len, got);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "nines evidence: %s: altered (sha256 %s, manifest %s)\n", path, got,
                    want);
            bad = 1;
        }
    }
    for (i = 0; i < p->n; i++) {
        const char *n = p->files[i].name;

        if (json_object_get(listed, n) == NULL && strcmp(n, "MANIFEST.json") != 0 &&
            strcmp(n, "MANIFEST.sig") != 0 && strcmp(n, "PUBKEY.pem") != 0) {
            fprintf(stderr, "nines evidence: %s: not in the manifest\n", n);
            bad = 1;
        }
    }
    *count = json_array_size(files);
    json_decref(listed);
    return bad ? -1 : 0;
}

static void ev_copy_field(json_t *o, const char *k, char *dst, size_t n)
{
    const char *s = json_string_value(json_object_get(o, k));

    snprintf(dst, n, "%s", s != NULL ? s : "");
}

/*
 * The audit extract: full entries must hash to their hash; every entry
 * (redacted ones too) must link to the one before through prev and seq.
 */
static int ev_verify_audit(const struct ev_pack *p)
{
    const struct ev_file *f = ev_find(p, "audit/audit.json");
    json_t *doc = f != NULL ? json_loadb((const char *)f->data, f->len, 0, NULL) : NULL;
    json_t *entries = json_object_get(doc, "entries"), *j;
    const char *first = json_string_value(json_object_get(doc, "first_prev"));
    char last[AUDITCHAIN_HASH_HEX];
    int64_t last_seq = -1;
    size_t i;
    int bad = 0;

    if (doc == NULL || !json_is_array(entries) || first == NULL) {
        fprintf(stderr, "nines evidence: audit/audit.json: %s\n",
                f == NULL ? "missing" : "not an audit extract");
        json_decref(doc);
        return -1;
    }
    snprintf(last, sizeof(last), "%s", first);
    json_array_foreach(entries, i, j) {
        struct auditchain_entry *e = calloc(1, sizeof(*e));
        char h[AUDITCHAIN_HASH_HEX];

        if (e == NULL)
            break;
        e->seq = json_integer_value(json_object_get(j, "seq"));
        e->ts_ms = json_integer_value(json_object_get(j, "ts_ms"));
        ev_copy_field(j, "id", e->id, sizeof(e->id));
        ev_copy_field(j, "actor", e->actor, sizeof(e->actor));
        ev_copy_field(j, "source", e->source, sizeof(e->source));
        ev_copy_field(j, "action", e->action, sizeof(e->action));
        ev_copy_field(j, "target", e->target, sizeof(e->target));
        ev_copy_field(j, "detail", e->detail, sizeof(e->detail));
        ev_copy_field(j, "prev", e->prev, sizeof(e->prev));
        ev_copy_field(j, "hash", e->hash, sizeof(e->hash));
        if (strcmp(e->prev, last) != 0 || (last_seq >= 0 && e->seq != last_seq + 1)) {
            fprintf(stderr, "nines evidence: audit/audit.json: entry seq %" PRId64 " (%s) does "
                            "not follow the entry before: one deleted, inserted or reordered\n",
                    e->seq, e->id[0] ? e->id : "redacted");
            bad = 1;
        }
        if (!json_is_true(json_object_get(j, "redacted")) &&
            (auditchain_hash(e, h) != 0 || strcmp(h, e->hash) != 0)) {
            fprintf(stderr, "nines evidence: audit/audit.json: entry seq %" PRId64 " (%s) is "
                            "altered: its fields do not hash to its hash\n", e->seq, e->id);
            bad = 1;
        }
        snprintf(last, sizeof(last), "%s", e->hash);
        last_seq = e->seq;
        free(e);
    }
    json_decref(doc);
    return bad ? -1 : 0;
}

static int ev_verify(const char *path, const char *pubkey)
{
    struct ev_pack p = { 0 };
    const struct ev_file *mf;
    json_t *man = NULL;
    size_t count = 0;
    int bad = 0;

    if (ev_tar_read(path, &p) != 0) {
        ev_pack_free(&p);
        return CLI_FAIL;
    }
    bad |= ev_verify_sig(&p, pubkey) != 0;
    mf = ev_find(&p, "MANIFEST.json");
    if (mf != NULL && (man = json_loadb((const char *)mf->data, mf->len, 0, NULL)) == NULL)
        fprintf(stderr, "nines evidence: MANIFEST.json: not JSON\n");
    bad |= man == NULL || ev_verify_files(&p, man, &count) != 0;
    bad |= ev_verify_audit(&p) != 0;
    if (!bad)
        printf("evidence pack verified: %zu files, signature and audit chain good%s\n", count,
               pubkey == NULL ? " (key: the pack's own PUBKEY.pem; pass --pubkey to pin it)"
                              : "");
    else
        fprintf(stderr, "nines evidence: %s does NOT verify\n", path);
    json_decref(man);
    ev_pack_free(&p);
    return bad ? CLI_FAIL : CLI_OK;
}

static int ev_usage(FILE *f)
{
    fprintf(f, "usage: nines evidence --from YYYY-MM-DD --to YYYY-MM-DD [--customer ID]\n"
               "                      [--ack-target MINUTES] -o FILE.tar.gz [-c CONFIG]\n"
               "                      [--redis URL]\n"
               "       nines evidence verify FILE.tar.gz [--pubkey PEM]\n"
               "The pack is signed with evidence.signing_key_file (Ed25519 PEM) of the config.\n"
               "verify exits 0 when the signature, every file's hash and the audit chain hold,\n"
               "else 1, naming what is altered or missing.\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

int cli_evidence(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "from", required_argument, NULL, 'f' },       { "to", required_argument, NULL, 't' },
        { "customer", required_argument, NULL, 'C' },   { "output", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' },     { "redis", required_argument, NULL, 'r' },
        { "ack-target", required_argument, NULL, 'a' }, { "pubkey", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },             { NULL, 0, NULL, 0 },
    };
    struct ev_opts o = { .ack_target_ms = KPI_ACK_TARGET_MS_DEFAULT };
    const char *pubkey = NULL;
    int verify = argc > 1 && strcmp(argv[1], "verify") == 0, c;
    char *end;

    optind = 1;
    if (verify) {
        argc--;
        argv++;
    }
    while ((c = getopt_long(argc, argv, "o:c:r:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.from = optarg; break;
        case 't': o.to = optarg; break;
        case 'C': o.customer = optarg; break;
        case 'o': o.out = optarg; break;
        case 'c': o.config = optarg; break;
        case 'r': o.url = optarg; break;
        case 'p': pubkey = optarg; break;
        case 'a':
            errno = 0;
            o.ack_target_ms = strtoll(optarg, &end, 10) * 60000;
            if (errno != 0 || *end != '\0' || o.ack_target_ms <= 0 ||
                o.ack_target_ms > INT64_C(7) * 86400000) {
                fprintf(stderr, "nines evidence: --ack-target '%s': minutes, 1 to 10080\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case 'h': return ev_usage(stdout);
        default: return ev_usage(stderr);
        }
    }
    if (verify) {
        if (optind != argc - 1) {
            fprintf(stderr, "nines evidence verify: expected one FILE.tar.gz\n");
            return ev_usage(stderr);
        }
        return ev_verify(argv[optind], pubkey);
    }
    if (optind < argc || o.from == NULL || o.to == NULL || o.out == NULL) {
        fprintf(stderr, "nines evidence: --from, --to and -o are required\n");
        return ev_usage(stderr);
    }
    o.config = cli_config_path(o.config);
    return ev_make(&o);
}
