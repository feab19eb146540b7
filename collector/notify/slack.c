/*
 * Slack incoming webhook: a Block Kit message.
 *
 *   {"text": "<fallback for notifications>",
 *    "blocks": [
 *      {"type":"header","text":{"type":"plain_text","text":":red_circle: FIRING: ..."}},
 *      {"type":"section","text":{"type":"mrkdwn","text":"<summary>\n<details>"}},
 *      {"type":"section","fields":[{"type":"mrkdwn","text":"*State*\nfiring"}, ...]},
 *      {"type":"context","elements":[{"type":"mrkdwn","text":"rule ... key ..."}]},
 *      {"type":"actions","elements":[{"type":"button","url":"<incident>",...}]}]}
 *
 * Slack's limits (Block Kit reference): header text 150 characters, section
 * text 3000, at most 10 fields of 2000 each, button text 75, button url 3000.
 * Limits are applied in bytes, which is never more than the characters.
 * mrkdwn text has &, < and > escaped as Slack asks, so data cannot form links
 * or mentions (<!channel>); plain_text is shown literally and needs none.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "receivers.h"

#define SLACK_HEADER_MAX 150
#define SLACK_TEXT_MAX 3000
#define SLACK_FIELD_MAX 2000

static const char *slack_escape_unit(const char *p, size_t *n)
{
    const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;

    if (rep != NULL) {
        *n = strlen(rep);
        return rep;
    }
    *n = 1;
    while ((((unsigned char)p[*n]) & 0xc0) == 0x80)
        (*n)++;
    return p;
}

/*
 * Appends in to out (holding *len bytes, at most max), escaping for mrkdwn.
 * Never splits an entity or a character; when in does not fit, ends out with
 * an ellipsis and returns 1.
 */
static int slack_escape_cat(char *out, size_t *len, size_t max, const char *in)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    size_t need = 0, n, limit;
    const char *p, *unit;
    int cut;

    for (p = in; *p != '\0'; p += unit == p ? n : 1) {
        unit = slack_escape_unit(p, &n);
        need += n;
    }
    cut = *len + need > max;
    limit = cut ? max - (sizeof(ellipsis) - 1) : max;
    for (p = in; *p != '\0'; p += unit == p ? n : 1) {
        unit = slack_escape_unit(p, &n);
        if (*len + n > limit)
            break;
        memcpy(out + *len, unit, n);
        *len += n;
    }
    if (cut && *len + sizeof(ellipsis) - 1 <= max) {
        memcpy(out + *len, ellipsis, sizeof(ellipsis) - 1);
        *len += sizeof(ellipsis) - 1;
    }
    out[*len] = '\0';
    return cut;
}

static json_t *slack_text(const char *type, const char *text, int *err)
{
    json_t *t = json_object();

    notify_json_put_str(t, "type", type, err);
    notify_json_put_str(t, "text", text, err);
    return t;
}

static json_t *slack_block(const char *type, const char *key, json_t *v, int *err)
{
    json_t *b = json_object();

    notify_json_put_str(b, "type", type, err);
    notify_json_put(b, key, v, err);
    return b;
}

/* "*Title*\nvalue", value escaped; nothing when value is empty. */
static void slack_field(json_t *fields, const char *title, const char *value, int escape,
                        int *err)
{
    char buf[SLACK_FIELD_MAX + 1];
    size_t len;

    if (value[0] == '\0')
        return;
    len = (size_t)snprintf(buf, sizeof(buf), "*%s*\n", title);
    if (escape)
        slack_escape_cat(buf, &len, SLACK_FIELD_MAX, value);
    else
        snprintf(buf + len, sizeof(buf) - len, "%s", value);
    notify_json_append(fields, slack_text("mrkdwn", buf, err), err);
}

/* Slack's date token shows the time in the reader's zone; ISO is the fallback. */
static const char *slack_date(int64_t ms, char *buf, size_t len)
{
    char iso[40];

    snprintf(buf, len, "<!date^%" PRId64 "^{date_num} {time_secs}|%s>", ms / 1000,
             nines_iso8601_ms(ms, iso, sizeof(iso)));
    return buf;
}

static json_t *slack_fields(const struct notification *n, int *err)
{
    json_t *f = json_array();
    char when[96];

    slack_field(f, "State", notify_state_name(n->state), 1, err);
    slack_field(f, "Severity", n->severity, 1, err);
    slack_field(f, "Check", n->check, 1, err);
    slack_field(f, "Service", n->service, 1, err);
    slack_field(f, "Started", slack_date(n->start_ms, when, sizeof(when)), 0, err);
    if (n->state != NOTIFY_FIRING && n->end_ms > 0)
        slack_field(f, "Resolved", slack_date(n->end_ms, when, sizeof(when)), 0, err);
    slack_field(f, "Reason", n->reason, 1, err);
    slack_field(f, "Location", n->location, 1, err);
    slack_field(f, "Customer", n->customer, 1, err);
    slack_field(f, "Team", n->team, 1, err);
    return f;
}

static json_t *slack_button(const struct notification *n, int *err)
{
    json_t *b = json_object();

    notify_json_put_str(b, "type", "button", err);
    notify_json_put(b, "text", slack_text("plain_text", "Open incident", err), err);
    notify_json_put_str(b, "url", n->url, err);
    notify_json_put_str(b, "action_id", "nines_open_incident", err);
    if (n->state == NOTIFY_FIRING)
        notify_json_put_str(b, "style", "danger", err);
    return b;
}

static const char *slack_emoji(enum notify_state s)
{
    return s == NOTIFY_FIRING      ? ":red_circle:"
           : s == NOTIFY_RESOLVED ? ":large_green_circle:"
                                  : ":large_yellow_circle:";
}

static json_t *slack_blocks(const struct notification *n, const char *summary, int *err)
{
    json_t *blocks = json_array(), *ctx = json_array(), *actions;
    char head[NOTIFY_SUMMARY_MAX + 64], text[SLACK_TEXT_MAX + 1];
    size_t len = 0;

    snprintf(head, sizeof(head), "%s %s: %s", slack_emoji(n->state),
             notify_state_upper(n->state), summary);
    notify_utf8_clip(head, SLACK_HEADER_MAX);
    notify_json_append(blocks, slack_block("header", "text", slack_text("plain_text", head, err),
                                           err), err);
    text[0] = '\0';
    if (!slack_escape_cat(text, &len, SLACK_TEXT_MAX, summary) && n->details[0] != '\0') {
        slack_escape_cat(text, &len, SLACK_TEXT_MAX, "\n");
        slack_escape_cat(text, &len, SLACK_TEXT_MAX, n->details);
    }
    notify_json_append(blocks, slack_block("section", "text", slack_text("mrkdwn", text, err),
                                           err), err);
    notify_json_append(blocks, slack_block("section", "fields", slack_fields(n, err), err), err);
    len = (size_t)snprintf(text, sizeof(text), "nines · rule ");
    slack_escape_cat(text, &len, 1000, n->rule);
    len += (size_t)snprintf(text + len, sizeof(text) - len, " · key ");
    slack_escape_cat(text, &len, 2000, n->key);
    notify_json_append(ctx, slack_text("mrkdwn", text, err), err);
    notify_json_append(blocks, slack_block("context", "elements", ctx, err), err);
    if (strncasecmp(n->url, "http://", 7) == 0 || strncasecmp(n->url, "https://", 8) == 0) {
        actions = json_array();
        notify_json_append(actions, slack_button(n, err), err);
        notify_json_append(blocks, slack_block("actions", "elements", actions, err), err);
    }
    return blocks;
}

int notify_slack_build(const struct receiver_cfg *rc, const struct notification *n,
                       int64_t now_ms, struct notify_request *out)
{
    char summary[NOTIFY_SUMMARY_MAX], text[SLACK_TEXT_MAX + 1];
    json_t *doc = json_object();
    size_t len;
    int err = 0;

    (void)now_ms;
    if (rc->url[0] == '\0' || notify_url_set(out, "%s", rc->url) != 0) {
        json_decref(doc);
        return NINES_EINVAL;
    }
    snprintf(out->method, sizeof(out->method), "POST");
    notify_summary_render(rc, n, summary, sizeof(summary));
    len = (size_t)snprintf(text, sizeof(text), "[%s] ", notify_state_name(n->state));
    slack_escape_cat(text, &len, SLACK_TEXT_MAX, summary);
    notify_json_put_str(doc, "text", text, &err);
    notify_json_put(doc, "blocks", slack_blocks(n, summary, &err), &err);
    if (err != 0) {
        json_decref(doc);
        return err;
    }
    if ((err = notify_body_take_json(out, doc)) != 0)
        return err;
    return notify_header_add(out, "Content-Type", "application/json");
}
