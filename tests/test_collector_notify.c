/*
 * Notification requests (collector/notify/payload.c and one file per
 * receiver): every body is parsed back (jansson, or a small MIME reader for
 * email) and checked field by field against the receiving API's documented
 * names and limits; the webhook signature is recomputed with OpenSSL's
 * EVP_MAC, independently of the code under test.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nines/err.h"
#include "notify.h"

#define START_MS INT64_C(1795889593790)
#define START_ISO "2026-11-28T18:13:13.790Z"
#define END_MS INT64_C(1795889893913)
#define END_ISO "2026-11-28T18:18:13.913Z"
#define NOW_MS INT64_C(1795889900456)
#define NOW_DATE "Sat, 28 Nov 2026 18:18:20 +0000"
#define CREATED_MS INT64_C(1795889900000)
#define KEY "check_down/web@1795889593790"
#define KEY_ENC "check_down%2Fweb%401795889593790"
#define SUMMARY "web is DOWN: HTTP 503 (eu,us)"
#define DETAILS "eu: HTTP 503 after 120 ms\nus: HTTP 503 after 98 ms"
#define INCIDENT_URL "https://nines.example.com/incidents/42"
#define SECRET "s3cr3t-hmac-key-do-not-leak"

static const enum notify_state all_states[] = { NOTIFY_FIRING, NOTIFY_RESOLVED,
                                                NOTIFY_ACKNOWLEDGED };

static struct notification sample(enum notify_state st)
{
    struct notification n;

    memset(&n, 0, sizeof(n));
    strcpy(n.key, KEY);
    n.state = st;
    strcpy(n.rule, "check_down");
    strcpy(n.severity, "page");
    strcpy(n.check, "web");
    strcpy(n.service, "shop");
    strcpy(n.team, "ops");
    strcpy(n.location, "eu,us");
    n.start_ms = START_MS;
    n.end_ms = st == NOTIFY_RESOLVED ? END_MS : 0;
    n.created_ms = CREATED_MS;
    strcpy(n.reason, "http_5xx");
    strcpy(n.summary, SUMMARY);
    strcpy(n.details, DETAILS);
    strcpy(n.url, INCIDENT_URL);
    return n;
}

static struct receiver_cfg cfg(enum receiver_kind k)
{
    struct receiver_cfg c;

    memset(&c, 0, sizeof(c));
    strcpy(c.name, "test");
    c.kind = k;
    switch (k) {
    case RECEIVER_WEBHOOK:
        strcpy(c.url, "http://127.0.0.1:8080/hook");
        strcpy(c.secret, SECRET);
        break;
    case RECEIVER_SLACK:
        strcpy(c.url, "http://127.0.0.1:8080/services/T000/B000/XXXX");
        break;
    case RECEIVER_PAGERDUTY:
        strcpy(c.secret, "R0UT1NGKEY0123456789abcdef012345");
        break;
    case RECEIVER_OPSGENIE:
        strcpy(c.secret, "genie-0000-1111-2222");
        break;
    case RECEIVER_ALERTMANAGER:
        strcpy(c.url, "http://127.0.0.1:9093");
        break;
    case RECEIVER_EMAIL:
        strcpy(c.url, "smtp://127.0.0.1:2525");
        strcpy(c.secret, "smtp-pa55word");
        strcpy(c.user, "nines");
        strcpy(c.from, "alerts@example.com");
        strcpy(c.to, " ops@example.com ,  oncall@example.org");
        c.starttls = 1;
        break;
    }
    return c;
}

static void build_ok(const struct receiver_cfg *c, const struct notification *n,
                     struct notify_request *r)
{
    int rc = notify_build(c, n, NOW_MS, r);

    cr_assert(eq(int, rc, 0), "notify_build(%s) = %d", receiver_kind_name(c->kind), rc);
    cr_assert(not(eq(ptr, r->body, NULL)));
    cr_assert(eq(sz, strlen(r->body), r->body_len));
}

static json_t *body_json(const struct notify_request *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);

    cr_assert(not(eq(ptr, j, NULL)), "body is not JSON: %s in %s", e.text, r->body);
    return j;
}

/* The value of the first "Name: value" header, or NULL. */
static const char *header(const struct notify_request *r, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < r->nheaders; i++) {
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':' &&
            r->headers[i][n + 1] == ' ')
            return r->headers[i] + n + 2;
    }
    return NULL;
}

static int jis_type(const json_t *v, json_type t)
{
    return v != NULL && json_typeof(v) == t;
}

static int jis_string(const json_t *v)
{
    return jis_type(v, JSON_STRING);
}

static int jis_integer(const json_t *v)
{
    return jis_type(v, JSON_INTEGER);
}

static int jis_null(const json_t *v)
{
    return jis_type(v, JSON_NULL);
}

static int jis_array(const json_t *v)
{
    return jis_type(v, JSON_ARRAY);
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    cr_assert(jis_string(v), "\"%s\" is not a string", key);
    return json_string_value(v);
}

static json_int_t jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    cr_assert(jis_integer(v), "\"%s\" is not an integer", key);
    return json_integer_value(v);
}

/* No header and no body byte holds the secret. */
static void assert_secret_absent(const struct notify_request *r, const char *secret,
                                 int allow_header)
{
    cr_assert(eq(ptr, strstr(r->body, secret), NULL), "secret leaked into the body");
    for (size_t i = 0; i < r->nheaders && !allow_header; i++)
        cr_assert(eq(ptr, strstr(r->headers[i], secret), NULL), "secret in %s", r->headers[i]);
}

static int utf8_valid(const char *s)
{
    json_t *j = json_string(s); /* jansson validates UTF-8 */
    int ok = j != NULL;

    json_decref(j);
    return ok;
}

/* ---------------------------------------------------------------- names */

Test(notify_names, kinds_round_trip)
{
    enum receiver_kind k;

    for (int i = RECEIVER_WEBHOOK; i <= RECEIVER_EMAIL; i++) {
        cr_assert(eq(int, receiver_kind_parse(receiver_kind_name((enum receiver_kind)i), &k),
                     0));
        cr_assert(eq(int, (int)k, i));
    }
    cr_assert(eq(str, (char *)receiver_kind_name(RECEIVER_ALERTMANAGER), "alertmanager"));
    cr_assert(eq(int, receiver_kind_parse("PagerDuty", &k), 0));
    cr_assert(eq(int, (int)k, RECEIVER_PAGERDUTY));
    cr_assert(eq(int, receiver_kind_parse("sms", &k), NINES_EINVAL));
    cr_assert(eq(int, receiver_kind_parse("", &k), NINES_EINVAL));
    cr_assert(eq(int, receiver_kind_parse(NULL, &k), NINES_EINVAL));
    cr_assert(eq(str, (char *)receiver_kind_name((enum receiver_kind)42), "unknown"));
    cr_assert(eq(str, (char *)notify_state_name(NOTIFY_FIRING), "firing"));
    cr_assert(eq(str, (char *)notify_state_name(NOTIFY_RESOLVED), "resolved"));
    cr_assert(eq(str, (char *)notify_state_name(NOTIFY_ACKNOWLEDGED), "acknowledged"));
    cr_assert(eq(str, (char *)notify_state_name((enum notify_state)9), "unknown"));
}

Test(notify_build, rejects_bad_input_and_leaves_request_clear)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;

    memset(&r, 0x5a, sizeof(r)); /* garbage in: build must not free it */
    c.kind = (enum receiver_kind)99;
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
    cr_assert(eq(ptr, r.body, NULL));
    cr_assert(eq(sz, r.nheaders, 0));
    c = cfg(RECEIVER_WEBHOOK);
    n.state = (enum notify_state)7;
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
    n = sample(NOTIFY_FIRING);
    n.key[0] = '\0';
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
    cr_assert(eq(int, notify_build(NULL, &n, NOW_MS, &r), NINES_EINVAL));
    cr_assert(eq(int, notify_build(&c, NULL, NOW_MS, &r), NINES_EINVAL));
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, NULL), NINES_EINVAL));
    notify_request_clear(&r);
    notify_request_clear(NULL);
}

Test(notify_build, clear_frees_and_can_repeat)
{
    struct receiver_cfg c = cfg(RECEIVER_EMAIL);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;

    build_ok(&c, &n, &r);
    notify_request_clear(&r);
    cr_assert(eq(ptr, r.body, NULL));
    cr_assert(eq(sz, r.nrcpt, 0));
    cr_assert(eq(str, r.password, ""));
    notify_request_clear(&r);
}

Test(notify_build, unterminated_fields_are_bounded)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j;

    memset(n.summary, 'S', sizeof(n.summary)); /* no NUL anywhere */
    memset(n.check, 'C', sizeof(n.check));
    build_ok(&c, &n, &r);
    j = body_json(&r);
    cr_assert(eq(sz, strlen(jstr(j, "summary")), sizeof(n.summary) - 1));
    cr_assert(eq(sz, strlen(jstr(json_object_get(j, "labels"), "check")), sizeof(n.check) - 1));
    json_decref(j);
    notify_request_clear(&r);
}

/* -------------------------------------------------------------- webhook */

static void hmac_hex(const char *key, const char *ts, const char *body, size_t blen,
                     char *hex)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                            OSSL_PARAM_construct_end() };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;

    cr_assert(not(eq(ptr, ctx, NULL)));
    cr_assert(eq(int, EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), params), 1));
    EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts));
    EVP_MAC_update(ctx, (const unsigned char *)".", 1);
    EVP_MAC_update(ctx, (const unsigned char *)body, blen);
    cr_assert(eq(int, EVP_MAC_final(ctx, md, &mdlen, sizeof(md)), 1));
    cr_assert(eq(sz, mdlen, 32));
    for (size_t i = 0; i < mdlen; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

Test(webhook, body_and_headers_in_every_state)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);

    for (size_t s = 0; s < 3; s++) {
        struct notification n = sample(all_states[s]);
        struct notify_request r;
        json_t *j, *labels;
        char idem[256];

        build_ok(&c, &n, &r);
        cr_assert(eq(int, r.smtp, 0));
        cr_assert(eq(str, r.method, "POST"));
        cr_assert(eq(str, r.url, "http://127.0.0.1:8080/hook"));
        j = body_json(&r);
        cr_assert(eq(i64, jint(j, "version"), 1));
        cr_assert(eq(str, (char *)jstr(j, "key"), KEY));
        cr_assert(eq(str, (char *)jstr(j, "state"), (char *)notify_state_name(all_states[s])));
        cr_assert(eq(str, (char *)jstr(j, "rule"), "check_down"));
        cr_assert(eq(str, (char *)jstr(j, "severity"), "page"));
        labels = json_object_get(j, "labels");
        cr_assert(eq(sz, json_object_size(labels), 4), "only non-empty labels");
        cr_assert(eq(str, (char *)jstr(labels, "check"), "web"));
        cr_assert(eq(str, (char *)jstr(labels, "service"), "shop"));
        cr_assert(eq(str, (char *)jstr(labels, "team"), "ops"));
        cr_assert(eq(str, (char *)jstr(labels, "location"), "eu,us"));
        cr_assert(eq(ptr, json_object_get(labels, "customer"), NULL));
        cr_assert(eq(str, (char *)jstr(j, "start"), START_ISO));
        cr_assert(eq(i64, jint(j, "start_ms"), START_MS));
        if (all_states[s] == NOTIFY_RESOLVED) {
            cr_assert(eq(str, (char *)jstr(j, "end"), END_ISO));
            cr_assert(eq(i64, jint(j, "end_ms"), END_MS));
        } else {
            cr_assert(jis_null(json_object_get(j, "end")));
            cr_assert(jis_null(json_object_get(j, "end_ms")));
        }
        cr_assert(eq(str, (char *)jstr(j, "reason"), "http_5xx"));
        cr_assert(eq(str, (char *)jstr(j, "summary"), SUMMARY));
        cr_assert(eq(str, (char *)jstr(j, "details"), DETAILS));
        cr_assert(eq(str, (char *)jstr(j, "url"), INCIDENT_URL));
        cr_assert(eq(i64, jint(j, "sent_ms"), NOW_MS));
        cr_assert(eq(sz, json_object_size(j), 15));
        cr_assert(eq(str, (char *)header(&r, "Content-Type"), "application/json"));
        cr_assert(eq(str, (char *)header(&r, "X-Nines-Timestamp"), "1795889900"));
        snprintf(idem, sizeof(idem), "%s:%s:%lld", KEY, notify_state_name(all_states[s]),
                 (long long)CREATED_MS);
        cr_assert(eq(str, (char *)header(&r, "Idempotency-Key"), idem));
        assert_secret_absent(&r, SECRET, 0);
        json_decref(j);
        notify_request_clear(&r);
    }
}

Test(webhook, signature_verifies_and_tampering_fails)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    char hex[65], want[80], *copy;
    const char *sig, *ts;

    build_ok(&c, &n, &r);
    sig = header(&r, "X-Nines-Signature");
    ts = header(&r, "X-Nines-Timestamp");
    cr_assert(not(eq(ptr, (void *)sig, NULL)));
    hmac_hex(SECRET, ts, r.body, r.body_len, hex);
    snprintf(want, sizeof(want), "sha256=%s", hex);
    cr_assert(eq(str, (char *)sig, want));

    copy = strdup(r.body);
    copy[10] ^= 1; /* one bit of the body */
    hmac_hex(SECRET, ts, copy, r.body_len, hex);
    snprintf(want, sizeof(want), "sha256=%s", hex);
    cr_assert(not(eq(str, (char *)sig, want)));
    hmac_hex(SECRET, "1795889901", r.body, r.body_len, hex); /* another timestamp */
    snprintf(want, sizeof(want), "sha256=%s", hex);
    cr_assert(not(eq(str, (char *)sig, want)));
    hmac_hex("wrong key", ts, r.body, r.body_len, hex);
    snprintf(want, sizeof(want), "sha256=%s", hex);
    cr_assert(not(eq(str, (char *)sig, want)));
    free(copy);
    notify_request_clear(&r);
}

Test(webhook, retries_keep_idempotency_key_and_no_secret_no_signature)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request a, b;

    build_ok(&c, &n, &a);
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS + 60000, &b), 0));
    cr_assert(eq(str, (char *)header(&a, "Idempotency-Key"),
                 (char *)header(&b, "Idempotency-Key")));
    cr_assert(not(eq(str, (char *)header(&a, "X-Nines-Timestamp"),
                     (char *)header(&b, "X-Nines-Timestamp"))));
    notify_request_clear(&a);
    notify_request_clear(&b);

    c.secret[0] = '\0';
    build_ok(&c, &n, &a);
    cr_assert(eq(ptr, (void *)header(&a, "X-Nines-Signature"), NULL));
    cr_assert(not(eq(ptr, (void *)header(&a, "X-Nines-Timestamp"), NULL)));
    notify_request_clear(&a);
}

Test(webhook, bad_urls_are_einval)
{
    static const char bad[][40] = { "", "ftp://127.0.0.1/x", "127.0.0.1:80/x",
                                    "http://a b/x", "http://a\r\nHost: x/" };
    struct notification n = sample(NOTIFY_FIRING);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
        struct notify_request r;

        strcpy(c.url, bad[i]);
        cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL), "url %s", bad[i]);
        cr_assert(eq(ptr, r.body, NULL));
    }
}

/* ---------------------------------------------------------------- slack */

static json_t *block_of_type(json_t *blocks, const char *type, size_t nth)
{
    for (size_t i = 0; i < json_array_size(blocks); i++) {
        json_t *b = json_array_get(blocks, i);

        if (strcmp(jstr(b, "type"), type) == 0 && nth-- == 0)
            return b;
    }
    return NULL;
}

static int has_field(json_t *fields, const char *text)
{
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);

        if (strcmp(jstr(f, "type"), "mrkdwn") == 0 && strcmp(jstr(f, "text"), text) == 0)
            return 1;
    }
    return 0;
}

static int field_starts(json_t *fields, const char *prefix)
{
    for (size_t i = 0; i < json_array_size(fields); i++) {
        if (strncmp(jstr(json_array_get(fields, i), "text"), prefix, strlen(prefix)) == 0)
            return 1;
    }
    return 0;
}

Test(slack, block_kit_message_in_every_state)
{
    struct receiver_cfg c = cfg(RECEIVER_SLACK);

    for (size_t s = 0; s < 3; s++) {
        struct notification n = sample(all_states[s]);
        struct notify_request r;
        json_t *j, *blocks, *head, *sec, *fields, *ctx, *act, *btn;
        char want[256];

        build_ok(&c, &n, &r);
        cr_assert(eq(str, r.url, c.url));
        cr_assert(eq(str, r.method, "POST"));
        cr_assert(eq(str, (char *)header(&r, "Content-Type"), "application/json"));
        j = body_json(&r);
        snprintf(want, sizeof(want), "[%s] %s", notify_state_name(all_states[s]), SUMMARY);
        cr_assert(eq(str, (char *)jstr(j, "text"), want));
        blocks = json_object_get(j, "blocks");
        cr_assert(jis_array(blocks));

        head = block_of_type(blocks, "header", 0);
        cr_assert(not(eq(ptr, head, NULL)));
        cr_assert(eq(str, (char *)jstr(json_object_get(head, "text"), "type"), "plain_text"));
        cr_assert(not(eq(ptr, strstr(jstr(json_object_get(head, "text"), "text"), SUMMARY),
                         NULL)));
        cr_assert(le(sz, strlen(jstr(json_object_get(head, "text"), "text")), 150));

        sec = block_of_type(blocks, "section", 0);
        cr_assert(eq(str, (char *)jstr(json_object_get(sec, "text"), "type"), "mrkdwn"));
        cr_assert(eq(str, (char *)jstr(json_object_get(sec, "text"), "text"),
                     SUMMARY "\n" DETAILS));

        fields = json_object_get(block_of_type(blocks, "section", 1), "fields");
        cr_assert(jis_array(fields));
        cr_assert(le(sz, json_array_size(fields), 10));
        snprintf(want, sizeof(want), "*State*\n%s", notify_state_name(all_states[s]));
        cr_assert(has_field(fields, want));
        cr_assert(has_field(fields, "*Check*\nweb"));
        cr_assert(has_field(fields, "*Service*\nshop"));
        cr_assert(has_field(fields, "*Reason*\nhttp_5xx"));
        cr_assert(has_field(fields, "*Started*\n<!date^1795889593^{date_num} {time_secs}|"
                                    START_ISO ">"));
        cr_assert(eq(int, field_starts(fields, "*Resolved*"),
                     all_states[s] == NOTIFY_RESOLVED));
        cr_assert(eq(int, field_starts(fields, "*Customer*"), 0));

        ctx = block_of_type(blocks, "context", 0);
        cr_assert(not(eq(ptr, strstr(jstr(json_array_get(json_object_get(ctx, "elements"), 0),
                                          "text"),
                                     KEY),
                         NULL)));
        act = block_of_type(blocks, "actions", 0);
        btn = json_array_get(json_object_get(act, "elements"), 0);
        cr_assert(eq(str, (char *)jstr(btn, "type"), "button"));
        cr_assert(eq(str, (char *)jstr(btn, "url"), INCIDENT_URL));
        cr_assert(eq(str, (char *)jstr(json_object_get(btn, "text"), "type"), "plain_text"));
        cr_assert(le(sz, json_array_size(blocks), 50));
        json_decref(j);
        notify_request_clear(&r);
    }
}

Test(slack, mrkdwn_is_escaped_and_limits_hold)
{
    struct receiver_cfg c = cfg(RECEIVER_SLACK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j, *blocks;
    const char *sec, *head;

    strcpy(n.summary, "<!channel> & <http://evil.example|click> \"q\"");
    n.url[0] = '\0';
    build_ok(&c, &n, &r);
    j = body_json(&r);
    blocks = json_object_get(j, "blocks");
    sec = jstr(json_object_get(block_of_type(blocks, "section", 0), "text"), "text");
    cr_assert(eq(ptr, strstr(sec, "<!channel>"), NULL));
    cr_assert(not(eq(ptr, strstr(sec, "&lt;!channel&gt; &amp; &lt;http://evil.example|click"
                                      "&gt; \"q\""),
                     NULL)));
    cr_assert(eq(ptr, strstr(jstr(j, "text"), "<!channel>"), NULL));
    head = jstr(json_object_get(block_of_type(blocks, "header", 0), "text"), "text");
    cr_assert(not(eq(ptr, strstr(head, "<!channel> & <http"), NULL)), "plain_text is literal");
    cr_assert(eq(ptr, block_of_type(blocks, "actions", 0), NULL), "no link, no button");
    json_decref(j);
    notify_request_clear(&r);

    /* Long: 8 x 255 ampersands render to 2040 bytes and escape to 10200. */
    memset(n.summary, '&', 255);
    n.summary[255] = '\0';
    strcpy(c.template_summary, "{summary}{summary}{summary}{summary}{summary}{summary}"
                               "{summary}{summary}");
    build_ok(&c, &n, &r);
    j = body_json(&r);
    blocks = json_object_get(j, "blocks");
    head = jstr(json_object_get(block_of_type(blocks, "header", 0), "text"), "text");
    sec = jstr(json_object_get(block_of_type(blocks, "section", 0), "text"), "text");
    cr_assert(le(sz, strlen(head), 150));
    cr_assert(le(sz, strlen(sec), 3000));
    cr_assert(gt(sz, strlen(sec), 2900));
    cr_assert(not(eq(ptr, strstr(sec, "\xe2\x80\xa6"), NULL)), "cut text ends in an ellipsis");
    cr_assert(eq(ptr, strstr(sec, "&&"), NULL), "no raw ampersand, no split entity");
    json_decref(j);
    notify_request_clear(&r);
}

/* ------------------------------------------------------------ pagerduty */

Test(pagerduty, trigger_event)
{
    struct receiver_cfg c = cfg(RECEIVER_PAGERDUTY);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j, *p, *cd, *links;

    build_ok(&c, &n, &r);
    cr_assert(eq(str, r.url, "https://events.pagerduty.com/v2/enqueue"));
    cr_assert(eq(str, r.method, "POST"));
    cr_assert(eq(str, (char *)header(&r, "Content-Type"), "application/json"));
    for (size_t i = 0; i < r.nheaders; i++)
        cr_assert(eq(ptr, strstr(r.headers[i], c.secret), NULL));
    j = body_json(&r);
    cr_assert(eq(str, (char *)jstr(j, "routing_key"), c.secret));
    cr_assert(eq(str, (char *)jstr(j, "event_action"), "trigger"));
    cr_assert(eq(str, (char *)jstr(j, "dedup_key"), KEY));
    p = json_object_get(j, "payload");
    cr_assert(eq(str, (char *)jstr(p, "summary"), SUMMARY));
    cr_assert(eq(str, (char *)jstr(p, "source"), "web"));
    cr_assert(eq(str, (char *)jstr(p, "severity"), "critical"));
    cr_assert(eq(str, (char *)jstr(p, "timestamp"), START_ISO));
    cr_assert(eq(str, (char *)jstr(p, "component"), "web"));
    cr_assert(eq(str, (char *)jstr(p, "group"), "shop"));
    cr_assert(eq(str, (char *)jstr(p, "class"), "check_down"));
    cd = json_object_get(p, "custom_details");
    cr_assert(eq(str, (char *)jstr(cd, "reason"), "http_5xx"));
    cr_assert(eq(str, (char *)jstr(cd, "details"), DETAILS));
    cr_assert(eq(str, (char *)jstr(cd, "location"), "eu,us"));
    cr_assert(eq(str, (char *)jstr(cd, "team"), "ops"));
    cr_assert(eq(i64, jint(cd, "start_ms"), START_MS));
    links = json_object_get(j, "links");
    cr_assert(eq(sz, json_array_size(links), 1));
    cr_assert(eq(str, (char *)jstr(json_array_get(links, 0), "href"), INCIDENT_URL));
    cr_assert(eq(str, (char *)jstr(json_array_get(links, 0), "text"), "nines incident"));
    json_decref(j);
    notify_request_clear(&r);

    /* Loopback endpoint from config; no url, no links. */
    strcpy(c.url, "http://127.0.0.1:18080/v2/enqueue");
    n.url[0] = '\0';
    build_ok(&c, &n, &r);
    cr_assert(eq(str, r.url, "http://127.0.0.1:18080/v2/enqueue"));
    j = body_json(&r);
    cr_assert(eq(ptr, json_object_get(j, "links"), NULL));
    json_decref(j);
    notify_request_clear(&r);
}

Test(pagerduty, acknowledge_and_resolve_carry_no_payload)
{
    struct receiver_cfg c = cfg(RECEIVER_PAGERDUTY);
    static const char actions[][16] = { "trigger", "resolve", "acknowledge" };

    for (size_t s = 1; s < 3; s++) {
        struct notification n = sample(all_states[s]);
        struct notify_request r;
        json_t *j;

        build_ok(&c, &n, &r);
        j = body_json(&r);
        cr_assert(eq(str, (char *)jstr(j, "event_action"), (char *)actions[s]));
        cr_assert(eq(str, (char *)jstr(j, "dedup_key"), KEY));
        cr_assert(eq(str, (char *)jstr(j, "routing_key"), c.secret));
        cr_assert(eq(ptr, json_object_get(j, "payload"), NULL));
        json_decref(j);
        notify_request_clear(&r);
    }
}

Test(pagerduty, severity_source_and_limits)
{
    static const char sev[][2][16] = { { "page", "critical" }, { "ticket", "warning" },
                                       { "info", "info" },     { "weird", "error" } };
    struct receiver_cfg c = cfg(RECEIVER_PAGERDUTY);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j;
    const char *sum;

    for (size_t i = 0; i < 4; i++) {
        strcpy(n.severity, sev[i][0]);
        build_ok(&c, &n, &r);
        j = body_json(&r);
        cr_assert(eq(str, (char *)jstr(json_object_get(j, "payload"), "severity"),
                     (char *)sev[i][1]));
        json_decref(j);
        notify_request_clear(&r);
    }
    n.check[0] = '\0';
    build_ok(&c, &n, &r);
    j = body_json(&r);
    cr_assert(eq(str, (char *)jstr(json_object_get(j, "payload"), "source"), "shop"));
    cr_assert(eq(ptr, json_object_get(json_object_get(j, "payload"), "component"), NULL));
    json_decref(j);
    notify_request_clear(&r);
    n.service[0] = '\0';
    build_ok(&c, &n, &r);
    j = body_json(&r);
    cr_assert(eq(str, (char *)jstr(json_object_get(j, "payload"), "source"), "nines"));
    json_decref(j);
    notify_request_clear(&r);

    /* 5 x 255 bytes through the template: cut to 1024. */
    memset(n.summary, 'x', 255);
    n.summary[255] = '\0';
    strcpy(c.template_summary, "{summary}{summary}{summary}{summary}{summary}");
    build_ok(&c, &n, &r);
    j = body_json(&r);
    sum = jstr(json_object_get(j, "payload"), "summary");
    cr_assert(le(sz, strlen(sum), 1024));
    cr_assert(ge(sz, strlen(sum), 1015));
    cr_assert(eq(str, (char *)sum + strlen(sum) - 3, "\xe2\x80\xa6"));
    json_decref(j);
    notify_request_clear(&r);

    /* Multi-byte characters are never split. */
    for (size_t i = 0; i + 2 < 255; i += 2)
        memcpy(n.summary + i, "\xc3\xa9", 2);
    n.summary[254] = '\0';
    build_ok(&c, &n, &r);
    j = body_json(&r); /* jansson rejects invalid UTF-8 */
    cr_assert(le(sz, strlen(jstr(json_object_get(j, "payload"), "summary")), 1024));
    json_decref(j);
    notify_request_clear(&r);

    c.secret[0] = '\0';
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
}

/* ------------------------------------------------------------- opsgenie */

Test(opsgenie, create_alert_when_firing)
{
    struct receiver_cfg c = cfg(RECEIVER_OPSGENIE);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j, *tags, *d, *v;
    const char *key;
    char auth[300];

    build_ok(&c, &n, &r);
    cr_assert(eq(str, r.url, "https://api.opsgenie.com/v2/alerts"));
    cr_assert(eq(str, r.method, "POST"));
    snprintf(auth, sizeof(auth), "GenieKey %s", c.secret);
    cr_assert(eq(str, (char *)header(&r, "Authorization"), auth));
    cr_assert(eq(str, (char *)header(&r, "Content-Type"), "application/json"));
    assert_secret_absent(&r, c.secret, 1);
    j = body_json(&r);
    cr_assert(eq(str, (char *)jstr(j, "message"), SUMMARY));
    cr_assert(eq(str, (char *)jstr(j, "alias"), KEY));
    cr_assert(eq(str, (char *)jstr(j, "description"), DETAILS));
    cr_assert(eq(str, (char *)jstr(j, "priority"), "P1"));
    cr_assert(eq(str, (char *)jstr(j, "source"), "nines"));
    tags = json_object_get(j, "tags");
    cr_assert(eq(sz, json_array_size(tags), 2));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(tags, 0)), "check_down"));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(tags, 1)), "page"));
    d = json_object_get(j, "details");
    cr_assert(eq(str, (char *)jstr(d, "check"), "web"));
    cr_assert(eq(str, (char *)jstr(d, "service"), "shop"));
    cr_assert(eq(str, (char *)jstr(d, "team"), "ops"));
    cr_assert(eq(str, (char *)jstr(d, "location"), "eu,us"));
    cr_assert(eq(str, (char *)jstr(d, "reason"), "http_5xx"));
    cr_assert(eq(str, (char *)jstr(d, "url"), INCIDENT_URL));
    cr_assert(eq(ptr, json_object_get(d, "customer"), NULL));
    json_object_foreach(d, key, v)
        cr_assert(jis_string(v), "details must be a string map (%s)", key);
    json_decref(j);
    notify_request_clear(&r);
}

Test(opsgenie, priority_and_message_limit)
{
    static const char pri[][2][16] = { { "page", "P1" }, { "ticket", "P3" }, { "info", "P5" } };
    struct receiver_cfg c = cfg(RECEIVER_OPSGENIE);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j;
    const char *msg;

    for (size_t i = 0; i < 3; i++) {
        strcpy(n.severity, pri[i][0]);
        build_ok(&c, &n, &r);
        j = body_json(&r);
        cr_assert(eq(str, (char *)jstr(j, "priority"), (char *)pri[i][1]));
        json_decref(j);
        notify_request_clear(&r);
    }
    memset(n.summary, 'm', 255);
    n.summary[255] = '\0';
    memset(n.rule, 'r', 63);
    n.rule[63] = '\0';
    build_ok(&c, &n, &r);
    j = body_json(&r);
    msg = jstr(j, "message");
    cr_assert(le(sz, strlen(msg), 130));
    cr_assert(ge(sz, strlen(msg), 125));
    cr_assert(eq(str, (char *)msg + strlen(msg) - 3, "\xe2\x80\xa6"));
    cr_assert(le(sz, strlen(json_string_value(json_array_get(json_object_get(j, "tags"), 0))),
                 50));
    json_decref(j);
    notify_request_clear(&r);
}

Test(opsgenie, close_and_acknowledge_by_alias)
{
    struct receiver_cfg c = cfg(RECEIVER_OPSGENIE);
    static const char paths[][16] = { "", "close", "acknowledge" };

    strcpy(c.url, "http://127.0.0.1:18081//");
    for (size_t s = 1; s < 3; s++) {
        struct notification n = sample(all_states[s]);
        struct notify_request r;
        json_t *j;
        char want[512];

        build_ok(&c, &n, &r);
        snprintf(want, sizeof(want),
                 "http://127.0.0.1:18081/v2/alerts/%s/%s?identifierType=alias", KEY_ENC,
                 paths[s]);
        cr_assert(eq(str, r.url, want));
        cr_assert(eq(str, r.method, "POST"));
        assert_secret_absent(&r, c.secret, 1);
        j = body_json(&r);
        cr_assert(eq(str, (char *)jstr(j, "source"), "nines"));
        cr_assert(not(eq(ptr, strstr(jstr(j, "note"), SUMMARY), NULL)));
        if (all_states[s] == NOTIFY_RESOLVED)
            cr_assert(not(eq(ptr, strstr(jstr(j, "note"), END_ISO), NULL)));
        cr_assert(eq(ptr, json_object_get(j, "message"), NULL));
        json_decref(j);
        notify_request_clear(&r);
    }
}

Test(opsgenie, missing_key_is_einval)
{
    struct receiver_cfg c = cfg(RECEIVER_OPSGENIE);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;

    c.secret[0] = '\0';
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
    c = cfg(RECEIVER_OPSGENIE);
    strcpy(c.url, "file:///etc/passwd");
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
}

/* --------------------------------------------------------- alertmanager */

Test(alertmanager, one_postable_alert_in_every_state)
{
    struct receiver_cfg c = cfg(RECEIVER_ALERTMANAGER);
    char *labels0 = NULL;

    strcat(c.url, "/");
    for (size_t s = 0; s < 3; s++) {
        struct notification n = sample(all_states[s]);
        struct notify_request r;
        json_t *j, *a, *l, *an;
        char *ls;

        build_ok(&c, &n, &r);
        cr_assert(eq(str, r.url, "http://127.0.0.1:9093/api/v2/alerts"));
        cr_assert(eq(str, r.method, "POST"));
        cr_assert(eq(str, (char *)header(&r, "Content-Type"), "application/json"));
        j = body_json(&r);
        cr_assert(jis_array(j));
        cr_assert(eq(sz, json_array_size(j), 1));
        a = json_array_get(j, 0);
        l = json_object_get(a, "labels");
        cr_assert(eq(str, (char *)jstr(l, "alertname"), "check_down"));
        cr_assert(eq(str, (char *)jstr(l, "severity"), "page"));
        cr_assert(eq(str, (char *)jstr(l, "check"), "web"));
        cr_assert(eq(str, (char *)jstr(l, "service"), "shop"));
        cr_assert(eq(str, (char *)jstr(l, "team"), "ops"));
        cr_assert(eq(str, (char *)jstr(l, "location"), "eu,us"));
        cr_assert(eq(str, (char *)jstr(l, "nines_key"), KEY));
        cr_assert(eq(ptr, json_object_get(l, "customer"), NULL));
        ls = json_dumps(l, JSON_SORT_KEYS | JSON_COMPACT);
        if (labels0 == NULL)
            labels0 = ls;
        else {
            cr_assert(eq(str, ls, labels0), "labels are the alert's identity");
            free(ls);
        }
        an = json_object_get(a, "annotations");
        cr_assert(eq(str, (char *)jstr(an, "summary"), SUMMARY));
        cr_assert(eq(str, (char *)jstr(an, "description"), DETAILS));
        cr_assert(eq(str, (char *)jstr(an, "reason"), "http_5xx"));
        cr_assert(eq(str, (char *)jstr(a, "startsAt"), START_ISO));
        cr_assert(eq(str, (char *)jstr(a, "generatorURL"), INCIDENT_URL));
        if (all_states[s] == NOTIFY_RESOLVED)
            cr_assert(eq(str, (char *)jstr(a, "endsAt"), END_ISO));
        else
            cr_assert(eq(ptr, json_object_get(a, "endsAt"), NULL));
        json_decref(j);
        notify_request_clear(&r);
    }
    free(labels0);
}

Test(alertmanager, needs_an_http_url)
{
    struct receiver_cfg c = cfg(RECEIVER_ALERTMANAGER);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;

    c.url[0] = '\0';
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
    strcpy(c.url, "gopher://127.0.0.1:9093");
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
}

/* ---------------------------------------------------------------- email */

struct mail_part {
    char *headers; /* the part's header block, CRLF-separated */
    char *content; /* decoded */
};

/* Header block of a message or part: up to the first empty line. */
static char *mail_head(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");

    cr_assert(not(eq(ptr, (void *)end, NULL)), "no end of headers");
    return strndup(msg, (size_t)(end - msg) + 2);
}

/* Unfolded value of the first header called name in head, or NULL. */
static char *mail_header(const char *head, const char *name)
{
    size_t nl = strlen(name);

    for (const char *line = head; *line != '\0';) {
        const char *eol = strstr(line, "\r\n");

        cr_assert(not(eq(ptr, (void *)eol, NULL)));
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            char *v = malloc(strlen(line) + 1);
            size_t o = 0;
            const char *p = line + nl + 1;

            while (*p == ' ')
                p++;
            for (; *p != '\0'; p++) {
                if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
                    p++;
                    continue;
                }
                if (p[0] == '\r' && p[1] == '\n')
                    break;
                v[o++] = *p;
            }
            v[o] = '\0';
            return v;
        }
        line = eol + 2;
    }
    return NULL;
}

/* Every line of head starts a known header or continues one. */
static void mail_assert_header_names(const char *head, const char *const *allowed, size_t n)
{
    for (const char *line = head; *line != '\0';) {
        const char *eol = strstr(line, "\r\n");
        const char *colon = strchr(line, ':');
        int ok = line[0] == ' ' || line[0] == '\t';

        for (size_t i = 0; i < n && !ok && colon != NULL && colon < eol; i++)
            ok = (size_t)(colon - line) == strlen(allowed[i]) &&
                 strncasecmp(line, allowed[i], strlen(allowed[i])) == 0;
        cr_assert(ok, "unexpected header line: %.*s", (int)(eol - line), line);
        line = eol + 2;
    }
}

static char *qp_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=' && i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=') {
            unsigned v;

            cr_assert(i + 2 < len && sscanf(s + i + 1, "%2X", &v) == 1,
                      "bad quoted-printable at %zu", i);
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Splits a multipart body at "--boundary" lines; returns the part count. */
static size_t mail_parts(const char *body, const char *boundary, struct mail_part *parts,
                         size_t max)
{
    char delim[128], close[128];
    const char *p;
    size_t n = 0;

    snprintf(delim, sizeof(delim), "\r\n--%s\r\n", boundary);
    snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
    p = strstr(body, delim);
    cr_assert(not(eq(ptr, (void *)p, NULL)), "no first boundary");
    while (p != NULL && n < max) {
        const char *start = p + strlen(delim), *next = strstr(start, delim);
        const char *last = strstr(start, close), *end, *cstart;
        char *head;

        end = next != NULL && (last == NULL || next < last) ? next : last;
        cr_assert(not(eq(ptr, (void *)end, NULL)), "part not closed");
        head = mail_head(start);
        cstart = start + strlen(head) + 2;
        parts[n].headers = head;
        parts[n].content = qp_decode(cstart, (size_t)(end - cstart));
        n++;
        p = end == next ? next : NULL;
    }
    return n;
}

/* CRLF only, no line over 998 characters (RFC 5322 2.1.1). */
static void mail_assert_lines(const char *msg, size_t len)
{
    size_t col = 0;

    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\r') {
            cr_assert(eq(chr, msg[i + 1], '\n'), "bare CR at %zu", i);
            i++;
            col = 0;
            continue;
        }
        cr_assert(not(eq(chr, msg[i], '\n')), "bare LF at %zu", i);
        cr_assert(lt(sz, ++col, 999), "line over 998 at %zu", i);
    }
    cr_assert(eq(int, len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n', 1));
}

static char *mail_boundary(const char *ctype)
{
    const char *b = strstr(ctype, "boundary=\"");
    const char *e;

    cr_assert(not(eq(ptr, (void *)b, NULL)));
    b += strlen("boundary=\"");
    e = strchr(b, '"');
    cr_assert(not(eq(ptr, (void *)e, NULL)));
    return strndup(b, (size_t)(e - b));
}

static const char *const mail_top_headers[] = { "Date",         "From",
                                                "To",           "Subject",
                                                "Message-ID",   "MIME-Version",
                                                "Content-Type", "Auto-Submitted" };
static const char *const mail_part_headers[] = { "Content-Type", "Content-Transfer-Encoding" };

struct mail {
    char *head;
    char *boundary;
    struct mail_part part[4];
    size_t nparts;
};

static void mail_parse(const struct notify_request *r, struct mail *m)
{
    char *ctype;

    mail_assert_lines(r->body, r->body_len);
    m->head = mail_head(r->body);
    mail_assert_header_names(m->head, mail_top_headers, 8);
    ctype = mail_header(m->head, "Content-Type");
    cr_assert(eq(int, strncmp(ctype, "multipart/alternative;", 22), 0), "%s", ctype);
    m->boundary = mail_boundary(ctype);
    free(ctype);
    m->nparts = mail_parts(r->body + strlen(m->head), m->boundary, m->part, 4);
    for (size_t i = 0; i < m->nparts; i++)
        mail_assert_header_names(m->part[i].headers, mail_part_headers, 2);
}

static void mail_free(struct mail *m)
{
    free(m->head);
    free(m->boundary);
    for (size_t i = 0; i < m->nparts; i++) {
        free(m->part[i].headers);
        free(m->part[i].content);
    }
}

static void assert_header_eq(const char *head, const char *name, const char *want)
{
    char *v = mail_header(head, name);

    cr_assert(not(eq(ptr, v, NULL)), "no %s header", name);
    cr_assert(eq(str, v, (char *)want), "%s", name);
    free(v);
}

static void assert_part_type(const struct mail_part *p, const char *type)
{
    char *ct = mail_header(p->headers, "Content-Type");
    char *te = mail_header(p->headers, "Content-Transfer-Encoding");
    char want[64];

    snprintf(want, sizeof(want), "%s; charset=utf-8", type);
    cr_assert(eq(str, ct, want));
    cr_assert(eq(str, te, "quoted-printable"));
    free(ct);
    free(te);
}

Test(email, smtp_request_and_mime_message_in_every_state)
{
    struct receiver_cfg c = cfg(RECEIVER_EMAIL);

    for (size_t s = 0; s < 3; s++) {
        struct notification n = sample(all_states[s]);
        struct notify_request r;
        struct mail m = { 0 };
        char want[512], *id;

        build_ok(&c, &n, &r);
        cr_assert(eq(int, r.smtp, 1));
        cr_assert(eq(str, r.url, "smtp://127.0.0.1:2525"));
        cr_assert(eq(str, r.user, "nines"));
        cr_assert(eq(str, r.password, "smtp-pa55word"));
        cr_assert(eq(str, r.mail_from, "alerts@example.com"));
        cr_assert(eq(int, r.starttls, 1));
        cr_assert(eq(sz, r.nrcpt, 2));
        cr_assert(eq(str, r.rcpt[0], "ops@example.com"));
        cr_assert(eq(str, r.rcpt[1], "oncall@example.org"));
        cr_assert(eq(sz, r.nheaders, 0));
        assert_secret_absent(&r, "smtp-pa55word", 0);

        mail_parse(&r, &m);
        assert_header_eq(m.head, "Date", NOW_DATE);
        assert_header_eq(m.head, "From", "alerts@example.com");
        assert_header_eq(m.head, "To", "ops@example.com, oncall@example.org");
        assert_header_eq(m.head, "MIME-Version", "1.0");
        snprintf(want, sizeof(want), "[nines] %s: %s",
                 all_states[s] == NOTIFY_FIRING     ? "FIRING"
                 : all_states[s] == NOTIFY_RESOLVED ? "RESOLVED"
                                                    : "ACKNOWLEDGED",
                 SUMMARY);
        assert_header_eq(m.head, "Subject", want);
        id = mail_header(m.head, "Message-ID");
        cr_assert(eq(chr, id[0], '<'));
        cr_assert(eq(str, id + strlen(id) - 7, "@nines>"));
        cr_assert(eq(int, strncmp(id, "<check_down_web_1795889593790.", 30), 0), "%s", id);
        cr_assert(eq(ptr, strchr(id + 1, '<'), NULL));
        free(id);

        cr_assert(eq(sz, m.nparts, 2));
        assert_part_type(&m.part[0], "text/plain");
        assert_part_type(&m.part[1], "text/html");
        cr_assert(not(eq(ptr, strstr(m.part[0].content, SUMMARY), NULL)));
        cr_assert(not(eq(ptr, strstr(m.part[0].content, "eu: HTTP 503 after 120 ms\r\n"
                                                        "us: HTTP 503 after 98 ms"),
                         NULL)));
        cr_assert(not(eq(ptr, strstr(m.part[0].content, "Started:  " START_ISO), NULL)));
        cr_assert(not(eq(ptr, strstr(m.part[0].content, "Check:    web"), NULL)));
        cr_assert(not(eq(ptr, strstr(m.part[0].content, "Reason:   http_5xx"), NULL)));
        cr_assert(not(eq(ptr, strstr(m.part[0].content, INCIDENT_URL), NULL)));
        cr_assert(eq(int, strstr(m.part[0].content, "Resolved: " END_ISO) != NULL,
                     all_states[s] == NOTIFY_RESOLVED));
        cr_assert(not(eq(ptr, strstr(m.part[1].content, "<a href=\"" INCIDENT_URL "\">"),
                         NULL)));
        cr_assert(not(eq(ptr, strstr(m.part[1].content, "<td>web</td>"), NULL)));
        cr_assert(not(eq(ptr, strstr(m.part[1].content, START_ISO), NULL)));
        for (size_t i = 0; i < 2; i++)
            cr_assert(eq(ptr, strstr(m.part[i].content, m.boundary), NULL));
        mail_free(&m);
        notify_request_clear(&r);
    }
}

Test(email, hostile_data_cannot_inject_headers)
{
    struct receiver_cfg c = cfg(RECEIVER_EMAIL);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    struct mail m = { 0 };
    char *subject;
    const char *html;

    strcpy(n.summary, "web down\r\nBcc: evil@x\r\n\r\n<script>alert(\"x\")</script>");
    strcpy(n.details, "line1\rline2\nline3\r\n.\r\n--=_nines_\r\n<b>&'\"</b>\x01\x7f");
    strcpy(n.check, "we\nb");
    build_ok(&c, &n, &r);
    mail_parse(&r, &m); /* also: every header line is one of ours */
    cr_assert(eq(ptr, mail_header(m.head, "Bcc"), NULL));
    subject = mail_header(m.head, "Subject");
    cr_assert(eq(str, subject,
                 "[nines] FIRING: web down  Bcc: evil@x    <script>alert(\"x\")</script>"));
    free(subject);
    cr_assert(eq(sz, m.nparts, 2));
    html = m.part[1].content;
    cr_assert(eq(ptr, strstr(html, "<script>"), NULL));
    cr_assert(not(eq(ptr, strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
                     NULL)));
    cr_assert(not(eq(ptr, strstr(html, "&lt;b&gt;&amp;&#39;&quot;&lt;/b&gt;"), NULL)));
    cr_assert(not(eq(ptr, strstr(html, "line1<br>\r\nline2<br>\r\nline3"), NULL)));
    cr_assert(not(eq(ptr, strstr(m.part[0].content, "line1\r\nline2\r\nline3\r\n.\r\n"),
                     NULL)));
    /* The raw message: a lone "." line would end the SMTP DATA early. */
    cr_assert(eq(ptr, strstr(r.body, "\r\n.\r\n"), NULL));
    mail_free(&m);
    notify_request_clear(&r);
}

/* RFC 2047 "=?UTF-8?B?...?=" words (folded) back to text. */
static char *decode_words(const char *v)
{
    char *out = calloc(1, strlen(v) + 1);
    size_t o = 0;

    for (const char *p = strstr(v, "=?UTF-8?B?"); p != NULL; p = strstr(p, "=?UTF-8?B?")) {
        const char *b = p + 10, *e = strstr(b, "?=");
        unsigned char buf[128];
        int n, pad = 0;

        cr_assert(not(eq(ptr, (void *)e, NULL)));
        cr_assert(le(sz, (size_t)(e - p) + 2, 75), "encoded-word over 75 characters");
        n = EVP_DecodeBlock(buf, (const unsigned char *)b, (int)(e - b));
        cr_assert(ge(int, n, 0));
        pad = (e[-1] == '=') + (e[-2] == '=');
        memcpy(out + o, buf, (size_t)(n - pad));
        o += (size_t)(n - pad);
        p = e + 2;
    }
    out[o] = '\0';
    return out;
}

Test(email, non_ascii_subject_is_encoded)
{
    struct receiver_cfg c = cfg(RECEIVER_EMAIL);
    struct notification n = sample(NOTIFY_RESOLVED);
    struct notify_request r;
    struct mail m = { 0 };
    char *subject, *text;
    const char *ue = "Caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
                     "\xf0\x9f\x94\xa5 is back, all regions responding normally again";

    strcpy(n.summary, ue);
    build_ok(&c, &n, &r);
    mail_parse(&r, &m);
    subject = mail_header(m.head, "Subject");
    for (const char *p = subject; *p != '\0'; p++)
        cr_assert(lt(int, (unsigned char)*p, 0x80), "raw 8-bit in Subject");
    text = decode_words(subject);
    cr_assert(eq(int, strncmp(text, "[nines] RESOLVED: ", 18), 0), "%s", text);
    cr_assert(eq(str, text + 18, (char *)ue));
    cr_assert(not(eq(ptr, strstr(m.part[0].content, ue), NULL)));
    free(subject);
    free(text);
    mail_free(&m);
    notify_request_clear(&r);
}

Test(email, display_name_and_recipient_limits)
{
    struct receiver_cfg c = cfg(RECEIVER_EMAIL);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    struct mail m = { 0 };
    char *to;
    size_t len = 0;

    strcpy(c.from, "\"Nines Alerts\" <alerts@example.com>");
    c.to[0] = '\0';
    for (int i = 0; i < 16; i++)
        len += (size_t)snprintf(c.to + len, sizeof(c.to) - len, "%srecipient%02d@example.com",
                                i ? ", " : "", i);
    build_ok(&c, &n, &r);
    cr_assert(eq(str, r.mail_from, "alerts@example.com"));
    cr_assert(eq(sz, r.nrcpt, 16));
    cr_assert(eq(str, r.rcpt[15], "recipient15@example.com"));
    mail_parse(&r, &m);
    assert_header_eq(m.head, "From", "\"Nines Alerts\" <alerts@example.com>");
    to = mail_header(m.head, "To");
    cr_assert(not(eq(ptr, strstr(to, "recipient00@example.com, recipient01@example.com"),
                     NULL)));
    cr_assert(not(eq(ptr, strstr(to, "recipient15@example.com"), NULL)));
    free(to);
    mail_free(&m);
    notify_request_clear(&r);

    strcat(c.to, ",x@example.com"); /* 17 */
    cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL));
    cr_assert(eq(sz, r.nrcpt, 0), "nothing left behind");
}

Test(email, bad_configs_are_einval)
{
    static const char bad_to[][64] = { "",          " , ",         "ops",
                                       "@example.com", "ops@",       "ops@@example.com",
                                       "o ps@example.com", "<ops@example.com>",
                                       "ops@example.com\r\nRCPT TO:<x@y>", "ops@.example.com",
                                       "ops@example..com", "ok@example.com, bad" };
    static const char bad_from[][64] = { "", "alerts", "Evil\r\nBcc: x <a@example.com>",
                                         "Q\"x <a@example.com>", "Name <a@example.com",
                                         "Name <a@example.com> trailing" };
    static const char bad_url[][40] = { "", "http://127.0.0.1:25", "smtp://host name:25" };
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;

    for (size_t i = 0; i < sizeof(bad_to) / sizeof(bad_to[0]); i++) {
        struct receiver_cfg c = cfg(RECEIVER_EMAIL);

        strcpy(c.to, bad_to[i]);
        cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL), "to=%s", bad_to[i]);
        cr_assert(eq(sz, r.nrcpt, 0));
    }
    for (size_t i = 0; i < sizeof(bad_from) / sizeof(bad_from[0]); i++) {
        struct receiver_cfg c = cfg(RECEIVER_EMAIL);

        strcpy(c.from, bad_from[i]);
        cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL), "from=%s",
                  bad_from[i]);
    }
    for (size_t i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
        struct receiver_cfg c = cfg(RECEIVER_EMAIL);

        strcpy(c.url, bad_url[i]);
        cr_assert(eq(int, notify_build(&c, &n, NOW_MS, &r), NINES_EINVAL), "url=%s",
                  bad_url[i]);
    }
}

Test(email, long_details_keep_lines_short)
{
    struct receiver_cfg c = cfg(RECEIVER_EMAIL);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    struct mail m = { 0 };
    size_t col = 0;

    memset(n.details, 'd', sizeof(n.details) - 1); /* one 1023-character line */
    n.details[sizeof(n.details) - 1] = '\0';
    strcpy(c.template_summary, "{summary}{summary}{summary}{summary}{summary}{summary}");
    build_ok(&c, &n, &r);
    mail_parse(&r, &m);
    cr_assert(not(eq(ptr, strstr(m.part[0].content, n.details), NULL)));
    for (const char *p = r.body + strlen(m.head); *p != '\0'; p++) {
        col = *p == '\n' ? 0 : col + 1;
        cr_assert(le(sz, col, 77), "body line over 76 characters");
    }
    mail_free(&m);
    notify_request_clear(&r);
}

/* ------------------------------------------------------------ templates */

Test(template, placeholders_render_and_unknown_stay)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j;

    strcpy(c.template_summary, "{state} {check}/{service} {reason} {start} {url} [{summary}] "
                               "{unknown} {check {}");
    build_ok(&c, &n, &r);
    j = body_json(&r);
    cr_assert(eq(str, (char *)jstr(j, "summary"),
                 "firing web/shop http_5xx " START_ISO " " INCIDENT_URL " [" SUMMARY "] "
                 "{unknown} {check {}"));
    json_decref(j);
    notify_request_clear(&r);
}

Test(template, output_is_bounded_and_valid_utf8)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;
    json_t *j;
    size_t len = 0;

    for (size_t i = 0; i + 2 < 255; i += 2)
        memcpy(n.summary + i, "\xc3\xa9", 2);
    n.summary[254] = '\0';
    while (len + 9 < sizeof(c.template_summary))
        len += (size_t)snprintf(c.template_summary + len, sizeof(c.template_summary) - len,
                                "{summary}");
    build_ok(&c, &n, &r);
    j = body_json(&r);
    cr_assert(lt(sz, strlen(jstr(j, "summary")), 2048));
    cr_assert(gt(sz, strlen(jstr(j, "summary")), 2000));
    cr_assert(utf8_valid(jstr(j, "summary")));
    json_decref(j);
    notify_request_clear(&r);
}

/* Quotes, backslashes, control characters and invalid UTF-8 in every field:
 * every JSON receiver still sends valid JSON that reads back the same. */
Test(template, hostile_data_gives_valid_json_everywhere)
{
    static const enum receiver_kind kinds[] = { RECEIVER_WEBHOOK, RECEIVER_SLACK,
                                                RECEIVER_PAGERDUTY, RECEIVER_OPSGENIE,
                                                RECEIVER_ALERTMANAGER };
    const char *hostile = "\"}],\"x\":1,{\\ \x01\x1f\r\n\t</script> \xff\xfe \xed\xa0\x80 ok";

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        struct receiver_cfg c = cfg(kinds[k]);
        struct notification n = sample(NOTIFY_FIRING);
        struct notify_request r;
        json_t *j;

        strcpy(n.summary, hostile);
        strcpy(n.details, hostile);
        strcpy(n.check, hostile);
        strcpy(n.reason, "\"\\\n");
        strcpy(c.template_summary, "{summary} \"{check}\"");
        build_ok(&c, &n, &r);
        j = body_json(&r);
        if (kinds[k] == RECEIVER_WEBHOOK) {
            cr_assert(eq(str, (char *)jstr(j, "summary"),
                         "\"}],\"x\":1,{\\ \x01\x1f\r\n\t</script> ?? ??? ok "
                         "\"\"}],\"x\":1,{\\ \x01\x1f\r\n\t</script> ?? ??? ok\""));
            cr_assert(eq(str, (char *)jstr(j, "reason"), "\"\\\n"));
        }
        for (size_t i = 0; i < r.nheaders; i++) {
            cr_assert(eq(ptr, strchr(r.headers[i], '\r'), NULL));
            cr_assert(eq(ptr, strchr(r.headers[i], '\n'), NULL));
        }
        json_decref(j);
        notify_request_clear(&r);
    }
}

Test(template, header_values_from_data_are_sanitised)
{
    struct receiver_cfg c = cfg(RECEIVER_WEBHOOK);
    struct notification n = sample(NOTIFY_FIRING);
    struct notify_request r;

    strcpy(n.key, "k\r\nX-Evil: 1");
    build_ok(&c, &n, &r);
    for (size_t i = 0; i < r.nheaders; i++) {
        cr_assert(eq(ptr, strchr(r.headers[i], '\r'), NULL));
        cr_assert(eq(ptr, strchr(r.headers[i], '\n'), NULL));
        cr_assert(not(eq(int, strncasecmp(r.headers[i], "X-Evil", 6), 0)));
    }
    cr_assert(eq(int, strncmp(header(&r, "Idempotency-Key"), "k  X-Evil: 1:firing:", 20), 0));
    notify_request_clear(&r);
}
