/*
 * Audit entries from the collector. The append is the chain's Lua script sent
 * on the state connection: hiredis keeps commands in order, and the script
 * reads the head and appends in one step, so the CLI appending at the same
 * time cannot fork the chain.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "httpd.h"
#include "nines/auditchain.h"
#include "nines/log.h"
#include "nines/wire.h"

#define AUDIT_DIFF_IDS 20       /* ids listed per kind of change; the rest counted */

static void audit_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *r = reply;
    char *what = privdata;

    if (r == NULL)
        log_warn("audit_lost", "%s reason=\"redis connection lost\"", what);
    else if (r->type == REDIS_REPLY_ERROR)
        log_error("audit_lost", "%s reason=\"%.200s\"", what, r->str);
    free(what);
}

void audit_record(struct collector *c, const char *actor, const char *source,
                  const char *action, const char *target, const char *detail)
{
    const char *argv[10] = { "EVAL", auditchain_script(), "2", AUDITCHAIN_KEY,
                             AUDITCHAIN_KEY_HEAD, actor, source, action,
                             target ? target : "", detail ? detail : "" };
    redisAsyncContext *ac = c != NULL ? collector_redis(c) : NULL;
    struct nines_err err = { 0 };
    char what[AUDITCHAIN_ACTOR_MAX + AUDITCHAIN_ACTION_MAX + 96], *copy;

    if (detail != NULL && strlen(detail) >= AUDITCHAIN_DETAIL_MAX)
        detail = "{\"truncated\":true}";      /* a cut JSON text would not parse */
    argv[9] = detail != NULL ? detail : "";
    snprintf(what, sizeof(what), "action=%s actor=%s source=%s", action ? action : "?",
             actor ? actor : "?", source ? source : "?");
    if (auditchain_check_fields(actor, source, action, target, detail, &err) < 0) {
        log_error("audit_lost", "%s reason=\"%s\"", what, err.msg);
        return;
    }
    log_info("audit", "%s target=%.80s", what, target ? target : "");
    copy = strdup(what);
    if (ac == NULL || copy == NULL ||
        redisAsyncCommandArgv(ac, audit_on_reply, copy, 10, argv, NULL) != REDIS_OK) {
        log_warn("audit_lost", "%s reason=\"%s\"", what,
                 ac == NULL ? "redis unreachable" : "cannot queue the command");
        free(copy);
    }
}

void audit_api(struct collector *c, struct httpd_req *r, const char *action,
               const char *target, const char *by)
{
    const char *actor = httpd_token_name(r);
    json_t *d = json_pack("{s:s}", "ip", httpd_client_ip(r));
    char *detail;

    if (d != NULL && by != NULL && by[0] != '\0')
        json_object_set_new(d, "by", json_string(by));
    detail = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    audit_record(c, actor != NULL && actor[0] != '\0' ? actor : "anonymous", "api", action,
                 target, detail);
    free(detail);
}

/* ---- reload diff ---- */

static int audit_diff_add(json_t *list, size_t *count, const char *id)
{
    (*count)++;
    if (json_array_size(list) >= AUDIT_DIFF_IDS)
        return 0;
    return json_array_append_new(list, json_string(id));
}

static const struct nines_check *audit_find_check(const struct nines_config *cfg,
                                                  const char *id)
{
    for (size_t i = 0; i < cfg->checks_count; i++) {
        if (strcmp(cfg->checks[i].id, id) == 0)
            return &cfg->checks[i];
    }
    return NULL;
}

/* 1 if the two checks publish differently (their catalogue encodings differ). */
static int audit_check_changed(const struct nines_check *a, const struct nines_check *b)
{
    char *ea = nines_catalogue_encode(a, 1), *eb = nines_catalogue_encode(b, 1);
    int changed = ea == NULL || eb == NULL || strcmp(ea, eb) != 0;

    free(ea);
    free(eb);
    return changed;
}

static json_t *audit_checks_diff(const struct nines_config *was, const struct nines_config *now)
{
    json_t *add = json_array(), *rm = json_array(), *chg = json_array();
    size_t n_add = 0, n_rm = 0, n_chg = 0;

    for (size_t i = 0; i < now->checks_count && add != NULL && chg != NULL; i++) {
        const struct nines_check *old = audit_find_check(was, now->checks[i].id);

        if (old == NULL)
            audit_diff_add(add, &n_add, now->checks[i].id);
        else if (audit_check_changed(old, &now->checks[i]))
            audit_diff_add(chg, &n_chg, now->checks[i].id);
    }
    for (size_t i = 0; i < was->checks_count && rm != NULL; i++) {
        if (audit_find_check(now, was->checks[i].id) == NULL)
            audit_diff_add(rm, &n_rm, was->checks[i].id);
    }
    return json_pack("{s:o,s:o,s:o,s:I,s:I,s:I}", "added", add, "removed", rm, "changed", chg,
                     "added_count", (json_int_t)n_add, "removed_count", (json_int_t)n_rm,
                     "changed_count", (json_int_t)n_chg);
}

static int audit_str_differs(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") != 0;
}

/* Sections compared by their ids (and what identifies them); 1 if any differs. */
static int audit_services_differ(const struct nines_config *a, const struct nines_config *b)
{
    if (a->services_count != b->services_count)
        return 1;
    for (size_t i = 0; i < a->services_count; i++) {
        const struct nines_service_cfg *x = &a->services[i], *y = &b->services[i];

        if (audit_str_differs(x->id, y->id) || x->checks_count != y->checks_count ||
            x->critical_count != y->critical_count)
            return 1;
        for (size_t k = 0; k < x->checks_count; k++) {
            if (audit_str_differs(x->checks[k], y->checks[k]))
                return 1;
        }
    }
    return 0;
}

static int audit_receivers_differ(const struct nines_config *a, const struct nines_config *b)
{
    if (a->receivers_count != b->receivers_count)
        return 1;
    for (size_t i = 0; i < a->receivers_count; i++) {
        const struct nines_receiver_cfg *x = &a->receivers[i], *y = &b->receivers[i];

        if (audit_str_differs(x->name, y->name) || audit_str_differs(x->kind, y->kind) ||
            audit_str_differs(x->url, y->url) || audit_str_differs(x->secret_env, y->secret_env) ||
            audit_str_differs(x->secret_file, y->secret_file))
            return 1;
    }
    return 0;
}

static int audit_tokens_differ(const struct nines_api_cfg *a, const struct nines_api_cfg *b)
{
    if (a->tokens_count != b->tokens_count)
        return 1;
    for (size_t i = 0; i < a->tokens_count; i++) {
        if (audit_str_differs(a->tokens[i].name, b->tokens[i].name) ||
            a->tokens[i].role != b->tokens[i].role ||
            memcmp(a->tokens[i].sha256, b->tokens[i].sha256, sizeof(a->tokens[i].sha256)) != 0)
            return 1;
    }
    return 0;
}

static int audit_customers_differ(const struct nines_config *a, const struct nines_config *b)
{
    if (a->customers_count != b->customers_count)
        return 1;
    for (size_t i = 0; i < a->customers_count; i++) {
        if (audit_str_differs(a->customers[i].id, b->customers[i].id) ||
            a->customers[i].services_count != b->customers[i].services_count)
            return 1;
    }
    return 0;
}

static int audit_maint_differ(const struct nines_config *a, const struct nines_config *b)
{
    if (a->maintenance_count != b->maintenance_count)
        return 1;
    for (size_t i = 0; i < a->maintenance_count; i++) {
        if (audit_str_differs(a->maintenance[i].id, b->maintenance[i].id))
            return 1;
    }
    return 0;
}

char *audit_config_diff(const struct nines_config *was, const struct nines_config *now)
{
    json_t *sections = json_array(), *j;
    char *text;

    if (sections == NULL)
        return NULL;
    if (audit_services_differ(was, now))
        json_array_append_new(sections, json_string("services"));
    if (audit_customers_differ(was, now))
        json_array_append_new(sections, json_string("customers"));
    if (audit_receivers_differ(was, now))
        json_array_append_new(sections, json_string("receivers"));
    if (was->routes_count != now->routes_count)
        json_array_append_new(sections, json_string("routes"));
    if (audit_maint_differ(was, now))
        json_array_append_new(sections, json_string("maintenance"));
    if (audit_tokens_differ(&was->api, &now->api))
        json_array_append_new(sections, json_string("api.tokens"));
    j = json_pack("{s:o,s:o}", "checks", audit_checks_diff(was, now), "sections", sections);
    text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text != NULL && strlen(text) >= AUDITCHAIN_DETAIL_MAX / 2) {
        /* long ids: keep the counts and the sections, drop the lists */
        json_t *ch = json_object_get(j, "checks");

        json_object_del(ch, "added");
        json_object_del(ch, "removed");
        json_object_del(ch, "changed");
        free(text);
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    }
    json_decref(j);
    return text;
}

void audit_reload(struct collector *c, const struct nines_config *was,
                  const struct nines_config *now)
{
    char *diff = audit_config_diff(was, now);

    audit_record(c, "collector", "collector", "config_reload", now->path ? now->path : "",
                 diff != NULL ? diff : "{\"error\":\"out of memory\"}");
    free(diff);
}
