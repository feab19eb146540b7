/*
 * The monthly report by email: an RFC 5322 MIME message (a text part, the
 * PDF and the canonical JSON as base64 attachments in 76-column lines) sent
 * with libcurl's SMTP, synchronously (the CLI sends; the collector only
 * spawns the CLI).
 *
 * SMTP settings come from the configuration's FIRST receiver of kind email
 * (url smtp[s]://host:port, user, secret_env/secret_file for the password,
 * from, starttls); the recipients are the customer's contacts. Nothing is
 * added to the configuration schema.
 */
#ifndef NINES_REPORT_MAIL_H
#define NINES_REPORT_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "nines/config.h"
#include "nines/err.h"
#include "report.h"

struct report_attachment {
    const char *name;         /* "acme-2026-10.pdf" */
    const char *content_type; /* "application/pdf" */
    const char *data;
    size_t len;
};

/*
 * Builds the message (CRLF lines) into *out (malloc'd, caller frees).
 * from: "Name <addr>" or "addr"; to: "a@x, b@y". 0 or NINES_EINVAL (a header
 * value with CR/LF) / NINES_ENOMEM.
 */
int report_mail_build(const struct report *r, const char *from, const char *to, int64_t now_ms,
                      const struct report_attachment *att, size_t natt, char **out,
                      size_t *len, struct nines_err *err);
/* The first email receiver of cfg, or NULL. */
const struct nines_receiver_cfg *report_mail_receiver(const struct nines_config *cfg);
/*
 * Sends msg to every address of to ("a@x, b@y") through receiver rcv.
 * ca_file: a PEM bundle for STARTTLS/SMTPS ("" or NULL = system store).
 * 0, or NINES_EINVAL (no password in its variable/file, bad address) /
 * NINES_EIO with curl's reason in err.
 */
int report_mail_send(const struct nines_receiver_cfg *rcv, const char *to, const char *msg,
                     size_t len, const char *ca_file, struct nines_err *err);

#endif
