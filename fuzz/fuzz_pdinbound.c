/*
 * PagerDuty's inbound webhooks: pdinbound_verify and pdinbound_parse. The
 * input is "secret\nX-PagerDuty-Signature value\nbody". The body is verified
 * as received, then parsed whether or not the signature matched (the fuzzer
 * cannot forge an HMAC, and the parser must be safe on any bytes).
 */
#include "fuzz.h"
#include "pdinbound.h"

static void fuzz_pd_check_event(const struct pdinbound_event *ev)
{
    /* every text field NUL-terminated inside its array */
    if (memchr(ev->event_type, 0, sizeof(ev->event_type)) == NULL
        || memchr(ev->event_id, 0, sizeof(ev->event_id)) == NULL
        || memchr(ev->key, 0, sizeof(ev->key)) == NULL
        || memchr(ev->incident_id, 0, sizeof(ev->incident_id)) == NULL
        || memchr(ev->html_url, 0, sizeof(ev->html_url)) == NULL
        || memchr(ev->agent, 0, sizeof(ev->agent)) == NULL
        || memchr(ev->agent_type, 0, sizeof(ev->agent_type)) == NULL
        || memchr(ev->agent_id, 0, sizeof(ev->agent_id)) == NULL
        || ev->type > PDINBOUND_UNACKNOWLEDGED || ev->event_type[0] == '\0'
        || ev->event_id[0] == '\0')
        abort();
    (void)pdinbound_type_name(ev->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pdinbound_event ev;
    struct nines_err err = { 0 };
    char *secret, *header;
    int rc;

    secret = fuzz_take(&data, &size, '\n', NULL);
    header = fuzz_take(&data, &size, '\n', NULL);
    if (secret == NULL || header == NULL)
        goto out;
    rc = pdinbound_verify(secret[0] ? secret : NULL, data, size, header[0] ? header : NULL);
    if (rc != 0 && rc != NINES_EINVAL)
        abort();
    rc = pdinbound_parse((const char *)data, size, &ev, &err);
    if (rc == 0)
        fuzz_pd_check_event(&ev);
    else if ((rc != NINES_EPROTO && rc != NINES_EINVAL) || err.msg[0] == '\0')
        abort();
out:
    free(secret);
    free(header);
    return 0;
}
