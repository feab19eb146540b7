/*
 * PagerDuty V3 webhooks in: signatures (good, bad, rotated, absent, garbled)
 * and payloads of every event type we act on, plus hostile bodies.
 *
 * The payloads are built field by field after PagerDuty's "Webhooks
 * Overview" page (developer.pagerduty.com/docs/webhooks, the V3 "Webhook
 * Payload" table, its incident.priority_updated example and the "incident"
 * event data type; PagerDuty/developer-docs docs/webhooks/01-Overview.md).
 * The signature scheme follows its "Verifying Signatures" page
 * (docs/webhooks/04-Signatures.md): X-PagerDuty-Signature carries
 * comma-separated "v1=<hex HMAC-SHA256 of the raw body>" items.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nines/err.h"
#include "pdinbound.h"

/* ---- helpers ------------------------------------------------------------ */

/* "v1=" + lowercase hex HMAC-SHA256(secret, body), computed here on its own. */
static void sign(const char *secret, const char *body, char out[68])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    cr_assert(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body,
                   strlen(body), md, &mdlen) != NULL);
    cr_assert(eq(u32, mdlen, 32));
    memcpy(out, "v1=", 3);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(out + 3 + 2 * i, 3, "%02x", md[i]);
}

static int verify(const char *secret, const char *body, const char *header)
{
    return pdinbound_verify(secret, (const unsigned char *)body, strlen(body), header);
}

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * 1000;
}

/* A reference object as PagerDuty writes them ({html_url, id, self, summary, type}). */
static json_t *ref(const char *kind, const char *id, const char *summary, const char *type)
{
    json_t *o = json_object();
    char url[256];

    snprintf(url, sizeof(url), "https://acme.pagerduty.com/%s/%s", kind, id);
    json_object_set_new(o, "html_url", json_string(url));
    json_object_set_new(o, "id", json_string(id));
    snprintf(url, sizeof(url), "https://api.pagerduty.com/%s/%s", kind, id);
    json_object_set_new(o, "self", json_string(url));
    json_object_set_new(o, "summary", json_string(summary));
    json_object_set_new(o, "type", json_string(type));
    return o;
}

/* event.data for an incident, as the "incident" event data type shows it. */
static json_t *incident_data(const char *status, const char *incident_key)
{
    json_t *d = json_object(), *arr;

    json_object_set_new(d, "id", json_string("PGR0VU2"));
    json_object_set_new(d, "type", json_string("incident"));
    json_object_set_new(d, "self", json_string("https://api.pagerduty.com/incidents/PGR0VU2"));
    json_object_set_new(d, "html_url",
                        json_string("https://acme.pagerduty.com/incidents/PGR0VU2"));
    json_object_set_new(d, "number", json_integer(2));
    json_object_set_new(d, "status", json_string(status));
    json_object_set_new(d, "incident_key", json_string(incident_key));
    json_object_set_new(d, "created_at", json_string("2020-04-09T15:16:27Z"));
    json_object_set_new(d, "title", json_string("web is DOWN: HTTP 503 (eu,us)"));
    json_object_set_new(d, "service",
                        ref("services", "PF9KMXH", "API Service", "service_reference"));
    arr = json_array();
    json_array_append_new(arr, ref("users", "PTUXL6G", "User 123", "user_reference"));
    json_object_set_new(d, "assignees", arr);
    json_object_set_new(d, "escalation_policy", ref("escalation_policies", "PUS0KTE", "Default",
                                                    "escalation_policy_reference"));
    arr = json_array();
    json_array_append_new(arr, ref("teams", "PFCVPS0", "Engineering", "team_reference"));
    json_object_set_new(d, "teams", arr);
    json_object_set_new(d, "priority", ref("priorities", "PSO75BM", "P1", "priority_reference"));
    json_object_set_new(d, "urgency", json_string("high"));
    json_object_set_new(d, "conference_bridge",
                        json_pack("{s:s, s:s}", "conference_number", "+1 1234123412,,987654321#",
                                  "conference_url", "https://example.com"));
    json_object_set_new(d, "resolve_reason", json_null());
    return d;
}

/* The whole webhook: {"event": {...}} for event_type, with data. */
static json_t *webhook(const char *event_type, json_t *agent, json_t *data)
{
    json_t *e = json_object();

    json_object_set_new(e, "id", json_string("5ac64822-4adc-4fda-ade0-410becf0de4f"));
    json_object_set_new(e, "event_type", json_string(event_type));
    json_object_set_new(e, "resource_type", json_string("incident"));
    json_object_set_new(e, "occurred_at", json_string("2020-10-02T18:45:22.169Z"));
    json_object_set_new(e, "agent", agent != NULL ? agent : json_null());
    json_object_set_new(e, "client", json_pack("{s:s}", "name", "PagerDuty"));
    json_object_set_new(e, "data", data);
    return json_pack("{s:o}", "event", e);
}

static json_t *user_agent(void)
{
    return ref("users", "PLH1HKV", "Tenex Engineer", "user_reference");
}

#define OUR_KEY "check_down/web@1795889593790"

static json_t *ack_doc(void)
{
    return webhook("incident.acknowledged", user_agent(), incident_data("acknowledged", OUR_KEY));
}

static char *dump(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);

    cr_assert(s != NULL);
    json_decref(doc);
    return s;
}

/* The object at a dotted path ("event.data"), which must exist. */
static json_t *at(json_t *doc, const char *path)
{
    char buf[128], *save = NULL;
    json_t *o = doc;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = strtok_r(buf, ".", &save); p != NULL; p = strtok_r(NULL, ".", &save))
        o = json_object_get(o, p);
    cr_assert(o != NULL, "%s exists", path);
    return o;
}

/* The acknowledged body with parent.name set to v (stolen), or removed when v is NULL. */
static char *ack_with(const char *parent, const char *name, json_t *v)
{
    json_t *doc = ack_doc();
    json_t *obj = at(doc, parent);

    if (v == NULL)
        json_object_del(obj, name);
    else
        json_object_set_new(obj, name, v);
    return dump(doc);
}

static int parse_str(const char *body, struct pdinbound_event *ev, struct nines_err *err)
{
    memset(err, 0, sizeof(*err));
    return pdinbound_parse(body, strlen(body), ev, err);
}

/* Parsing body fails with NINES_EPROTO and a message containing want. */
static void parse_fails(const char *body, const char *want)
{
    struct pdinbound_event ev;
    struct nines_err err;
    int rc = parse_str(body, &ev, &err);

    cr_expect(eq(int, rc, NINES_EPROTO), "rc %d for %.200s", rc, body);
    cr_expect(strstr(err.msg, want) != NULL, "message \"%s\" names \"%s\"", err.msg, want);
    cr_expect(eq(str, ev.key, ""), "nothing half-filled");
    cr_expect(eq(str, ev.event_type, ""));
}

/* ---- signatures --------------------------------------------------------- */

Test(pdinbound_verify, a_good_signature_passes_and_any_change_fails)
{
    char *body = dump(ack_doc()), sig[68], bad[68];

    sign("s3cret", body, sig);
    cr_assert(eq(int, verify("s3cret", body, sig), 0));

    snprintf(bad, sizeof(bad), "%s", sig);
    bad[10] = bad[10] == '0' ? '1' : '0';           /* one hex digit off */
    cr_assert(eq(int, verify("s3cret", body, bad), NINES_EINVAL));
    cr_assert(eq(int, verify("s3creT", body, sig), NINES_EINVAL), "another secret");
    body[strlen(body) - 3] ^= 1;                   /* one bit of the body */
    cr_assert(eq(int, verify("s3cret", body, sig), NINES_EINVAL));
    body[strlen(body) - 3] ^= 1;
    cr_assert(eq(int, pdinbound_verify("s3cret", (const unsigned char *)body, strlen(body) - 1,
                                       sig),
                     NINES_EINVAL), "a body cut short");
    free(body);
}

/* RFC 4231 test case 2: HMAC-SHA256 with key "Jefe", published digest; hex in either case. */
Test(pdinbound_verify, matches_the_rfc_4231_vector)
{
    static const char body[] = "what do ya want for nothing?";
    static const char hex[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    char header[80], upper[80];

    snprintf(header, sizeof(header), "v1=%s", hex);
    cr_assert(eq(int, verify("Jefe", body, header), 0));
    snprintf(upper, sizeof(upper), "%s", header);
    for (char *p = upper + 3; *p != '\0'; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    cr_assert(eq(int, verify("Jefe", body, upper), 0));
    cr_assert(eq(int, verify("jefe", body, header), NINES_EINVAL));
}

Test(pdinbound_verify, during_a_rotation_either_secret_passes)
{
    char *body = dump(ack_doc()), old_sig[68], new_sig[68], other[68], h[400];

    sign("old-secret", body, old_sig);
    sign("new-secret", body, new_sig);
    sign("someone-else", body, other);
    snprintf(h, sizeof(h), "%s,%s", old_sig, new_sig);
    cr_assert(eq(int, verify("old-secret", body, h), 0));
    cr_assert(eq(int, verify("new-secret", body, h), 0));
    cr_assert(eq(int, verify("someone-else", body, h), NINES_EINVAL));
    snprintf(h, sizeof(h), "%s, %s ,%s", other, old_sig, new_sig);   /* spaces, third item */
    cr_assert(eq(int, verify("new-secret", body, h), 0));
    cr_assert(eq(int, verify("old-secret", body, h), 0));
    /* a future version is skipped; a garbled item does not spoil a good one */
    snprintf(h, sizeof(h), "v2=%s,v1=zz,%s", old_sig + 3, new_sig);
    cr_assert(eq(int, verify("new-secret", body, h), 0));
    cr_assert(eq(int, verify("old-secret", body, h), NINES_EINVAL), "v2= is not v1=");
    free(body);
}

Test(pdinbound_verify, absent_or_garbled_headers_are_rejected)
{
    char *body = dump(ack_doc()), sig[68], h[PDINBOUND_HEADER_MAX + 200];
    const char *garbled[] = {
        "", ",", ",,,", " ", "v1=", "v1", "sha256=", "V1=", "v1 =",
        "t=1,v1=", "v1=nothex", "v1=0123456789abcdef",
    };

    sign("k", body, sig);
    cr_assert(eq(int, verify("k", body, NULL), NINES_EINVAL));
    for (size_t i = 0; i < sizeof(garbled) / sizeof(garbled[0]); i++)
        cr_expect(eq(int, verify("k", body, garbled[i]), NINES_EINVAL), "\"%s\"", garbled[i]);
    snprintf(h, sizeof(h), "%.66s", sig);                  /* 63 hex digits */
    cr_assert(eq(int, verify("k", body, h), NINES_EINVAL));
    snprintf(h, sizeof(h), "%s0", sig);                    /* 65 */
    cr_assert(eq(int, verify("k", body, h), NINES_EINVAL));
    snprintf(h, sizeof(h), "sha256=%s", sig + 3);          /* another provider's prefix */
    cr_assert(eq(int, verify("k", body, h), NINES_EINVAL));
    snprintf(h, sizeof(h), "%s;%s", sig, sig);             /* not comma-separated */
    cr_assert(eq(int, verify("k", body, h), NINES_EINVAL));

    /* an oversized header is not even read, good signature or not */
    memset(h, ',', PDINBOUND_HEADER_MAX);
    snprintf(h + PDINBOUND_HEADER_MAX - 67, sizeof(h) - (PDINBOUND_HEADER_MAX - 67), "%s", sig);
    cr_assert(eq(sz, strlen(h), (size_t)PDINBOUND_HEADER_MAX));
    cr_assert(eq(int, verify("k", body, h), 0), "exactly at the cap");
    snprintf(h + PDINBOUND_HEADER_MAX - 67, sizeof(h) - (PDINBOUND_HEADER_MAX - 67), ",%s", sig);
    cr_assert(eq(int, verify("k", body, h), NINES_EINVAL), "one byte over");
    free(body);
}

Test(pdinbound_verify, needs_a_secret_and_a_body)
{
    char sig[68];

    sign("k", "{}", sig);
    cr_assert(eq(int, verify("k", "{}", sig), 0));
    cr_assert(eq(int, verify(NULL, "{}", sig), NINES_EINVAL));
    cr_assert(eq(int, verify("", "{}", sig), NINES_EINVAL));
    cr_assert(eq(int, pdinbound_verify("k", NULL, 2, sig), NINES_EINVAL));
    sign("k", "", sig);
    cr_assert(eq(int, verify("k", "", sig), NINES_EINVAL), "an empty body");
}

/* ---- the events we act on ----------------------------------------------- */

Test(pdinbound_parse, acknowledged_gives_key_agent_time_and_incident)
{
    char *body = dump(ack_doc());
    struct pdinbound_event ev;
    struct nines_err err;

    cr_assert(eq(int, parse_str(body, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(int, ev.type, PDINBOUND_ACKNOWLEDGED));
    cr_assert(eq(str, (char *)pdinbound_type_name(ev.type), "acknowledged"));
    cr_assert(eq(str, ev.event_type, "incident.acknowledged"));
    cr_assert(eq(str, ev.event_id, "5ac64822-4adc-4fda-ade0-410becf0de4f"));
    cr_assert(eq(i64, ev.occurred_ms, utc_ms(2020, 10, 2, 18, 45, 22) + 169));
    cr_assert(eq(str, ev.key, OUR_KEY));
    cr_assert(eq(str, ev.incident_id, "PGR0VU2"));
    cr_assert(eq(str, ev.html_url, "https://acme.pagerduty.com/incidents/PGR0VU2"));
    cr_assert(eq(str, ev.agent, "Tenex Engineer"));
    cr_assert(eq(str, ev.agent_type, "user_reference"));
    cr_assert(eq(str, ev.agent_id, "PLH1HKV"));
    free(body);
}

Test(pdinbound_parse, resolved_and_unacknowledged)
{
    char *resolved = dump(webhook("incident.resolved", user_agent(),
                                  incident_data("resolved", OUR_KEY)));
    /* an acknowledgement that timed out: PagerDuty acted, agent is null */
    char *unack = dump(webhook("incident.unacknowledged", NULL,
                               incident_data("triggered", "svc_down/api@17")));
    struct pdinbound_event ev;
    struct nines_err err;

    cr_assert(eq(int, parse_str(resolved, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(int, ev.type, PDINBOUND_RESOLVED));
    cr_assert(eq(str, (char *)pdinbound_type_name(ev.type), "resolved"));
    cr_assert(eq(str, ev.key, OUR_KEY));
    cr_assert(eq(str, ev.agent, "Tenex Engineer"));

    cr_assert(eq(int, parse_str(unack, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(int, ev.type, PDINBOUND_UNACKNOWLEDGED));
    cr_assert(eq(str, (char *)pdinbound_type_name(ev.type), "unacknowledged"));
    cr_assert(eq(str, ev.key, "svc_down/api@17"));
    cr_assert(eq(str, ev.agent, ""), "no agent");
    cr_assert(eq(str, ev.agent_type, ""));
    cr_assert(eq(str, ev.incident_id, "PGR0VU2"));
    free(resolved);
    free(unack);
}

Test(pdinbound_parse, other_event_types_are_other_and_their_data_is_not_read)
{
    /* incident.annotated carries an incident_note, service.updated a service:
     * neither has an incident_key, and neither must be an error */
    json_t *note = json_object();
    char *bodies[4];
    struct pdinbound_event ev;
    struct nines_err err;

    json_object_set_new(note, "incident", ref("incidents", "PGR0VU2", "web is DOWN",
                                              "incident_reference"));
    json_object_set_new(note, "id", json_string("P2LA89X"));
    json_object_set_new(note, "content", json_string("looking into it"));
    json_object_set_new(note, "type", json_string("incident_note"));
    bodies[0] = dump(webhook("incident.annotated", user_agent(), note));
    bodies[1] = dump(webhook("incident.triggered", NULL, incident_data("triggered", OUR_KEY)));
    bodies[2] = dump(webhook("service.updated", NULL,
                             ref("services", "PF9KMXH", "API Service", "service")));
    bodies[3] = dump(webhook("incident.reopened", user_agent(), json_string("odd")));
    for (size_t i = 0; i < 4; i++) {
        cr_assert(eq(int, parse_str(bodies[i], &ev, &err), 0), "%zu: %s", i, err.msg);
        cr_assert(eq(int, ev.type, PDINBOUND_OTHER), "%zu", i);
        cr_assert(eq(str, (char *)pdinbound_type_name(ev.type), "other"));
        cr_assert(eq(str, ev.key, ""), "%zu: nothing to match", i);
        cr_assert(eq(i64, ev.occurred_ms, utc_ms(2020, 10, 2, 18, 45, 22) + 169));
        free(bodies[i]);
    }
    cr_assert(eq(int, parse_str("{\"event\":{\"event_type\":\"pagey.new_thing\",\"id\":\"x\","
                                "\"occurred_at\":\"2031-01-01T00:00:00Z\"}}",
                                &ev, &err),
                 0), "%s", err.msg);
    cr_assert(eq(str, ev.event_type, "pagey.new_thing"));
}

Test(pdinbound_parse, an_incident_without_incident_key_has_no_key)
{
    char *absent = ack_with("event.data", "incident_key", NULL);
    char *null = ack_with("event.data", "incident_key", json_null());
    char *empty = ack_with("event.data", "incident_key", json_string(""));
    char *bodies[] = { absent, null, empty };
    struct pdinbound_event ev;
    struct nines_err err;

    for (size_t i = 0; i < 3; i++) {
        cr_assert(eq(int, parse_str(bodies[i], &ev, &err), 0), "%zu: %s", i, err.msg);
        cr_assert(eq(int, ev.type, PDINBOUND_ACKNOWLEDGED));
        cr_assert(eq(str, ev.key, ""), "%zu", i);
        cr_assert(eq(str, ev.incident_id, "PGR0VU2"), "still identified");
        free(bodies[i]);
    }
}

Test(pdinbound_parse, occurred_at_forms)
{
    static const struct {
        char when[40];
        int64_t delta_ms;           /* from 2020-10-02T18:45:22Z */
    } ok[] = {
        { "2020-10-02T18:45:22Z", 0 },
        { "2020-10-02T18:45:22.1Z", 100 },
        { "2020-10-02T18:45:22.169Z", 169 },
        { "2020-10-02T18:45:22.169999Z", 169 },       /* beyond ms: dropped */
        { "2020-10-02T20:45:22.169+02:00", 169 },
        { "2020-10-02T13:15:22-05:30", 0 },
        { "2020-10-02T18:45:22+00:00", 0 },
    };
    static const char bad[][40] = {
        "2020-10-02 18:45:22Z", "2020-10-02T18:45:22", "2020-13-02T18:45:22Z",
        "2021-02-29T00:00:00Z", "2020-10-02T24:00:00Z", "2020-10-02T18:45:22.Z",
        "2020-10-02T18:45:22+0200", "2020-10-02T18:45:22Zjunk", "yesterday", "",
        "2020-1-02T18:45:22Z", "2020-10-02T18:45:22+25:00",
    };
    struct pdinbound_event ev;
    struct nines_err err;
    int64_t base = utc_ms(2020, 10, 2, 18, 45, 22);

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *body = ack_with("event", "occurred_at", json_string(ok[i].when));

        cr_expect(eq(int, parse_str(body, &ev, &err), 0), "%s: %s", ok[i].when, err.msg);
        cr_expect(eq(i64, ev.occurred_ms, base + ok[i].delta_ms), "%s", ok[i].when);
        free(body);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *body = ack_with("event", "occurred_at", json_string(bad[i]));

        parse_fails(body, "event.occurred_at");
        free(body);
    }
    {
        char *leap = ack_with("event", "occurred_at", json_string("2024-02-29T00:00:00Z"));

        cr_assert(eq(int, parse_str(leap, &ev, &err), 0), "%s", err.msg);
        cr_assert(eq(i64, ev.occurred_ms, utc_ms(2024, 2, 29, 0, 0, 0)));
        free(leap);
    }
}

/* ---- hostile and broken bodies ------------------------------------------ */

Test(pdinbound_parse, missing_fields_and_wrong_types_name_the_field)
{
    static const struct {
        char parent[16];
        char name[16];
        int kind;                   /* 0 delete, 1 number, 2 array, 3 string "x", 4 null */
        char want[64];
    } cases[] = {
        { "", "event", 0, "event: missing" },
        { "", "event", 2, "event: expected an object" },
        { "event", "event_type", 0, "event.event_type: missing" },
        { "event", "event_type", 1, "event.event_type: expected a string" },
        { "event", "id", 0, "event.id: missing" },
        { "event", "id", 4, "event.id: missing" },
        { "event", "occurred_at", 0, "event.occurred_at: missing" },
        { "event", "occurred_at", 1, "event.occurred_at: expected a string" },
        { "event", "agent", 3, "event.agent: expected an object or null" },
        { "event", "data", 0, "event.data: missing" },
        { "event", "data", 2, "event.data: expected an object" },
        { "event.data", "type", 0, "event.data.type: missing" },
        { "event.data", "type", 3, "event.data.type: \"x\" for incident.acknowledged" },
        { "event.data", "id", 0, "event.data.id: missing" },
        { "event.data", "id", 1, "event.data.id: expected a string" },
        { "event.data", "incident_key", 1, "event.data.incident_key: expected a string" },
        { "event.data", "incident_key", 2, "event.data.incident_key: expected a string" },
        { "event.data", "html_url", 1, "event.data.html_url: expected a string" },
        { "event.agent", "summary", 2, "event.agent.summary: expected a string" },
        { "event.agent", "id", 1, "event.agent.id: expected a string" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = ack_doc();
        json_t *obj = cases[i].parent[0] != '\0' ? at(doc, cases[i].parent) : doc;
        json_t *v = cases[i].kind == 1   ? json_integer(42)
                    : cases[i].kind == 2 ? json_array()
                    : cases[i].kind == 3 ? json_string("x")
                    : cases[i].kind == 4 ? json_null()
                                         : NULL;
        char *body;

        if (v == NULL)
            json_object_del(obj, cases[i].name);
        else
            json_object_set_new(obj, cases[i].name, v);
        body = dump(doc);
        parse_fails(body, cases[i].want);
        free(body);
    }
}

Test(pdinbound_parse, values_that_cannot_be_ours_or_do_not_fit)
{
    char long_key[300], long_id[100], *body;
    struct pdinbound_event ev;
    struct nines_err err;

    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    body = ack_with("event.data", "incident_key", json_string(long_key));
    parse_fails(body, "event.data.incident_key: 299 bytes, at most 255 allowed");
    free(body);
    long_key[255] = '\0';                                  /* 255 fits exactly */
    body = ack_with("event.data", "incident_key", json_string(long_key));
    cr_assert(eq(int, parse_str(body, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, strlen(ev.key), (size_t)255));
    free(body);

    body = ack_with("event.data", "incident_key", json_string("check_down/web 1"));
    parse_fails(body, "event.data.incident_key: spaces or non-ASCII");
    free(body);
    body = ack_with("event.data", "incident_key", json_string("check\ndown"));
    parse_fails(body, "event.data.incident_key");
    free(body);
    body = ack_with("event.data", "incident_key", json_string("caf\xc3\xa9"));
    parse_fails(body, "event.data.incident_key");
    free(body);

    memset(long_id, 'P', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    body = ack_with("event.data", "id", json_string(long_id));
    parse_fails(body, "event.data.id: 99 bytes");
    free(body);
    body = ack_with("event", "event_type", json_string(""));
    parse_fails(body, "event.event_type: empty");
    free(body);
}

Test(pdinbound_parse, an_unsafe_html_url_is_dropped_and_a_long_name_is_cut)
{
    /* 300 x "é" (2 bytes each): cut to at most 255 bytes, never inside a character */
    char name[701], *body;
    struct pdinbound_event ev;
    struct nines_err err;
    json_t *doc;

    body = ack_with("event.data", "html_url", json_string("javascript:alert(1)"));
    cr_assert(eq(int, parse_str(body, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(str, ev.html_url, ""));
    cr_assert(eq(str, ev.key, OUR_KEY), "the rest still counts");
    free(body);
    body = ack_with("event.data", "html_url", json_string("https://x.test/a b"));
    cr_assert(eq(int, parse_str(body, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(str, ev.html_url, ""));
    free(body);

    for (size_t i = 0; i < 300; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 2);
    name[600] = '\0';
    doc = ack_doc();
    json_object_set_new(at(doc, "event.agent"), "summary", json_string(name));
    body = dump(doc);
    cr_assert(eq(int, parse_str(body, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, strlen(ev.agent), (size_t)254), "127 whole characters");
    cr_assert(eq(int, strncmp(ev.agent, name, 254), 0));
    free(body);
}

Test(pdinbound_parse, malformed_json_gives_line_and_column)
{
    struct pdinbound_event ev;
    struct nines_err err;

    cr_assert(eq(int, parse_str("{\"event\": {\n  \"id\": }", &ev, &err), NINES_EPROTO));
    cr_assert(strstr(err.msg, "body: line 2, column") != NULL, "%s", err.msg);
    parse_fails("", "body:");
    parse_fails("[]", "body: expected a JSON object");
    parse_fails("\"event\"", "body:");
    parse_fails("42", "body:");
    parse_fails("{\"event\":{},\"event\":{}}", "duplicate");
    parse_fails("{\"event\":{\"event_type\":\"incident.acknowledged\",\"id\":\"a\\u0000b\"}}",
                "body:");
    parse_fails("{\"event\":{\"event_type\":\"\xff\xfe\"}}", "body:");
}

Test(pdinbound_parse, every_truncation_of_a_good_body_is_an_error)
{
    char *body = dump(ack_doc());
    size_t len = strlen(body);
    struct pdinbound_event ev;
    struct nines_err err;

    for (size_t cut = 0; cut < len; cut++) {
        int rc = pdinbound_parse(body, cut, &ev, &err);

        cr_assert(eq(int, rc, NINES_EPROTO), "cut at %zu", cut);
        cr_assert(eq(str, ev.key, ""));
    }
    cr_assert(eq(int, pdinbound_parse(body, len, &ev, &err), 0));
    free(body);
}

Test(pdinbound_parse, huge_and_deep_bodies)
{
    size_t big = PDINBOUND_BODY_MAX + 1;
    char *body = malloc(big + 1), *pad;
    struct pdinbound_event ev;
    struct nines_err err;
    json_t *doc;
    size_t n;

    cr_assert(body != NULL);
    memset(body, ' ', big);
    body[big] = '\0';
    cr_assert(eq(int, pdinbound_parse(body, big, &ev, &err), NINES_EPROTO));
    cr_assert(strstr(err.msg, "262145 bytes, more than the 262144 allowed") != NULL, "%s",
              err.msg);

    /* 100000 nested arrays: jansson's depth limit answers, no stack overflow */
    memset(body, '[', 100000);
    memset(body + 100000, ']', 100000);
    body[200000] = '\0';
    parse_fails(body, "body:");
    free(body);

    /* just under the cap, padded with a big field PagerDuty might add: fine */
    doc = ack_doc();
    n = PDINBOUND_BODY_MAX - 4096;
    pad = malloc(n + 1);
    cr_assert(pad != NULL);
    memset(pad, 'x', n);
    pad[n] = '\0';
    json_object_set_new(at(doc, "event.data"), "description", json_string(pad));
    free(pad);
    body = dump(doc);
    cr_assert(lt(sz, strlen(body), (size_t)PDINBOUND_BODY_MAX));
    cr_assert(eq(int, parse_str(body, &ev, &err), 0), "%s", err.msg);
    cr_assert(eq(str, ev.key, OUR_KEY));
    free(body);
}

Test(pdinbound_parse, bad_arguments)
{
    struct pdinbound_event ev;
    struct nines_err err = { 0 };

    cr_assert(eq(int, pdinbound_parse("{}", 2, NULL, &err), NINES_EINVAL));
    cr_assert(eq(int, pdinbound_parse(NULL, 5, &ev, &err), NINES_EINVAL));
    cr_assert(eq(int, pdinbound_parse("{}", 2, &ev, NULL), NINES_EPROTO), "err may be NULL");
}
