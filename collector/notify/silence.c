/* Silences; see silence.h. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "silence.h"
#include "regexguard.h"

static const char *const silence_labels[] = { "check", "service", "customer", "team",
                                              "severity", "rule", "location", NULL };

static int silence_label_known(const char *name)
{
    for (size_t i = 0; silence_labels[i] != NULL; i++)
        if (strcmp(silence_labels[i], name) == 0)
            return 1;
    return 0;
}

/* Fills m from its parts and compiles a regex; 0 or NINES_EINVAL. */
static int silence_matcher_set(struct silence_matcher *m, const char *name, size_t nlen,
                               const char *value, int regex, struct nines_err *err)
{
    char why[128];
    int rc;

    memset(m, 0, sizeof(*m));
    if (nlen == 0 || nlen >= sizeof(m->name))
        return nines_err_set(err, NINES_EINVAL, "matcher: a label name is needed before '='");
    memcpy(m->name, name, nlen);
    if (!silence_label_known(m->name))
        return nines_err_set(err, NINES_EINVAL, "matcher: unknown label '%s' (labels: check, "
                             "service, customer, team, severity, rule, location)", m->name);
    if (value[0] == '\0' || strlen(value) >= sizeof(m->value))
        return nines_err_set(err, NINES_EINVAL, "matcher '%s': the value must have 1 to %zu "
                             "bytes", m->name, sizeof(m->value) - 1);
    snprintf(m->value, sizeof(m->value), "%s", value);
    m->regex = regex;
    if (!regex)
        return 0;
    rc = nines_regcomp(&m->re, m->value, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &m->re, why, sizeof(why));
        return nines_err_set(err, NINES_EINVAL, "matcher '%s': '%s' is not a valid regular "
                             "expression: %s", m->name, m->value, why);
    }
    m->compiled = 1;
    return 0;
}

int silence_matcher_parse(const char *text, struct silence_matcher *m, struct nines_err *err)
{
    const char *eq = strchr(text, '=');

    if (eq == NULL)
        return nines_err_set(err, NINES_EINVAL, "matcher '%.60s': use label=value or "
                             "label=~regex", text);
    if (eq[1] == '~')
        return silence_matcher_set(m, text, (size_t)(eq - text), eq + 2, 1, err);
    return silence_matcher_set(m, text, (size_t)(eq - text), eq + 1, 0, err);
}

void silence_clear(struct silence *s)
{
    for (size_t i = 0; i < s->nm; i++) {
        if (s->m[i].compiled)
            regfree(&s->m[i].re);
        s->m[i].compiled = 0;
    }
    s->nm = 0;
}

static void silence_copy(json_t *o, const char *k, char *dst, size_t len)
{
    const char *v = json_string_value(json_object_get(o, k));

    snprintf(dst, len, "%s", v != NULL ? v : "");
}

int silence_from_json(const char *json, size_t len, struct silence *s, struct nines_err *err)
{
    json_error_t jerr;
    json_t *o = json_loadb(json, len, 0, &jerr), *ms;
    size_t i;
    int rc = 0;

    memset(s, 0, sizeof(*s));
    if (!json_is_object(o)) {
        json_decref(o);
        return nines_err_set(err, NINES_EINVAL, "silence: not a JSON object");
    }
    ms = json_object_get(o, "matchers");
    if (!json_is_array(ms) || json_array_size(ms) == 0 ||
        json_array_size(ms) > SILENCE_MAX_MATCHERS) {
        json_decref(o);
        return nines_err_set(err, NINES_EINVAL, "silence: 'matchers' must list 1 to %d "
                             "matchers", SILENCE_MAX_MATCHERS);
    }
    for (i = 0; i < json_array_size(ms) && rc == 0; i++) {
        json_t *m = json_array_get(ms, i);
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *value = json_string_value(json_object_get(m, "value"));

        if (name == NULL || value == NULL) {
            rc = nines_err_set(err, NINES_EINVAL, "silence: matchers[%zu] needs 'name' and "
                               "'value' strings", i);
            break;
        }
        rc = silence_matcher_set(&s->m[i], name, strlen(name), value,
                                 json_is_true(json_object_get(m, "regex")), err);
        if (rc == 0)
            s->nm++;
    }
    silence_copy(o, "id", s->id, sizeof(s->id));
    silence_copy(o, "created_by", s->by, sizeof(s->by));
    silence_copy(o, "comment", s->comment, sizeof(s->comment));
    s->start_ms = json_integer_value(json_object_get(o, "starts_ms"));
    s->end_ms = json_integer_value(json_object_get(o, "ends_ms"));
    s->until_resolved = json_is_true(json_object_get(o, "until_resolved"));
    s->created_ms = json_integer_value(json_object_get(o, "created_ms"));
    s->reminded_ms = json_integer_value(json_object_get(o, "reminded_ms"));
    s->matched = json_is_true(json_object_get(o, "matched"));
    json_decref(o);
    if (rc == 0 && !s->until_resolved && s->end_ms <= s->start_ms)
        rc = nines_err_set(err, NINES_EINVAL, "silence: needs an end after its start, or "
                           "until_resolved");
    if (rc != 0)
        silence_clear(s);
    return rc;
}

char *silence_to_json(const struct silence *s)
{
    json_t *ms = json_array(), *o;
    char *out;

    for (size_t i = 0; ms != NULL && i < s->nm; i++)
        json_array_append_new(ms, json_pack("{s:s,s:s,s:b}", "name", s->m[i].name, "value",
                                            s->m[i].value, "regex", s->m[i].regex));
    o = json_pack("{s:s,s:o,s:I,s:I,s:b,s:s,s:s,s:I,s:I,s:b}", "id", s->id, "matchers", ms,
                  "starts_ms", (json_int_t)s->start_ms, "ends_ms", (json_int_t)s->end_ms,
                  "until_resolved", s->until_resolved, "created_by", s->by, "comment",
                  s->comment, "created_ms", (json_int_t)s->created_ms, "reminded_ms",
                  (json_int_t)s->reminded_ms, "matched", s->matched);
    out = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return out;
}

int silence_expired(const struct silence *s, int64_t now_ms)
{
    return !s->until_resolved && now_ms >= s->end_ms;
}

int silence_matches(const struct silence *s, const struct notification *n, int64_t now_ms)
{
    if (s->nm == 0 || now_ms < s->start_ms || silence_expired(s, now_ms))
        return 0;
    for (size_t i = 0; i < s->nm; i++) {
        const struct silence_matcher *m = &s->m[i];
        const char *v = alert_label(n, m->name);

        if (v == NULL)
            return 0;
        if (m->regex ? !m->compiled || regexec(&m->re, v, 0, NULL, 0) != 0
                     : strcmp(v, m->value) != 0)
            return 0;
    }
    return 1;
}
