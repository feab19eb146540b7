/*
 * Email through the real outbox and a real SMTP server: Debian's aiosmtpd
 * (python3-aiosmtpd 1.4), started as a child process that writes every
 * message it accepts into a Maildir. The notification is built by
 * notify_build() for a RECEIVER_EMAIL receiver, queued in a real
 * redis-server and sent by the outbox; the message that arrives is then
 * read back with Python's own email parser (policy.default), so "it
 * parses" is judged by an implementation that is not ours.
 *
 *   - plain SMTP (aiosmtpd's command line, -c aiosmtpd.handlers.Mailbox):
 *     arrives once, with From, To, Subject, Date and Message-ID, and is
 *     multipart/alternative with text/plain and text/html parts that name
 *     the check and the state;
 *   - a server that is not running at first: the outbox retries and
 *     delivers once it is started;
 *   - STARTTLS and AUTH both required: aiosmtpd's command line has no
 *     AUTH, so a small handler script is written into the temp dir. The
 *     certificate is a throw-away one made with `openssl req -x509`, and
 *     the request trusts it through notify_request.ca_file (verification
 *     stays on: a bundle without it is refused). A wrong password and a
 *     client without STARTTLS are refused and nothing arrives.
 *
 * Every process is a proc.c child (dies with the test) and every file lives
 * in test_tmpdir() directories (removed even when an assertion fails).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "nines/wire.h"
#include "notify.h"
#include "outbox.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"
#include "looputil.h"

#define SMTP_USER "nines-mailer"
#define SMTP_PASSWORD "correct horse battery"

/* ---- the SMTP server ---------------------------------------------------- */

struct smtpd {
    char dir[256];              /* test_tmpdir: maildir, certificate, script, log */
    char maildir[300];
    char log[300];
    char cert[300];
    char key[300];
    int port;
    int secure;                 /* STARTTLS + AUTH required (the script) */
    pid_t pid;
};

/* The first python3 that can import aiosmtpd (PATH may hold another Python). */
static const char *smtpd_python(void)
{
    static const char *const candidates[] = { "python3", "/usr/bin/python3" };
    static const char *found;

    for (size_t i = 0; found == NULL && i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        const char *argv[] = { candidates[i], "-c", "import aiosmtpd", NULL };
        int code = -1;

        if (proc_run(argv, NULL, 0, 10000, &code) == 0 && code == 0)
            found = candidates[i];
    }
    cr_assert(found != NULL,
              "no python3 with aiosmtpd: install python3-aiosmtpd (scripts/deps.sh test)");
    return found;
}

/* STARTTLS and AUTH (PLAIN/LOGIN) required; messages go to a Maildir. */
static const char smtpd_script[] =
    "import asyncio, ssl, sys\n"
    "from aiosmtpd.handlers import Mailbox\n"
    "from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword\n"
    "host, port, maildir, cert, key, user, password = sys.argv[1:8]\n"
    "def check(server, session, envelope, mechanism, data):\n"
    "    ok = (isinstance(data, LoginPassword) and data.login == user.encode()\n"
    "          and data.password == password.encode())\n"
    "    return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535\n"
    "async def main():\n"
    "    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
    "    ctx.load_cert_chain(cert, key)\n"
    "    handler = Mailbox(maildir)\n"
    "    server = await asyncio.get_running_loop().create_server(\n"
    "        lambda: SMTP(handler, tls_context=ctx, require_starttls=True,\n"
    "                     authenticator=check, auth_required=True,\n"
    "                     auth_require_tls=True), host, int(port))\n"
    "    async with server:\n"
    "        await server.serve_forever()\n"
    "asyncio.run(main())\n";

/* A throw-away self-signed certificate for 127.0.0.1 into path_cert/path_key. */
static void make_cert(const char *path_cert, const char *path_key)
{
    const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                           "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", path_key, "-out", path_cert, NULL };
    int code = -1;

    cr_assert(eq(int, proc_run(argv, NULL, 0, 20000, &code), 0), "openssl req ran");
    cr_assert(eq(int, code, 0), "openssl req made %s", path_cert);
}

/* Prepares the directory (and, when secure, the certificate and script); not started. */
static void smtpd_init(struct smtpd *s, int port, int secure)
{
    char script[320];

    memset(s, 0, sizeof(*s));
    cr_assert(eq(int, test_tmpdir(s->dir, sizeof(s->dir)), 0));
    snprintf(s->maildir, sizeof(s->maildir), "%s/mail", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/smtpd.log", s->dir);
    snprintf(s->cert, sizeof(s->cert), "%s/cert.pem", s->dir);
    snprintf(s->key, sizeof(s->key), "%s/key.pem", s->dir);
    s->port = port > 0 ? port : test_unused_port();
    cr_assert(gt(int, s->port, 0));
    s->secure = secure;
    if (secure) {
        make_cert(s->cert, s->key);
        snprintf(script, sizeof(script), "%s/smtpd.py", s->dir);
        cr_assert(eq(int, test_write_file(script, smtpd_script), 0));
    }
}

/* 1 once the server greets with 220 on its port. */
static int smtpd_greets(void *arg)
{
    const struct smtpd *s = arg;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
    struct pollfd pfd;
    char buf[64] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;

    if (fd < 0)
        return 0;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        pfd.fd = fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 1000) == 1 && read(fd, buf, sizeof(buf) - 1) > 3)
            ok = strncmp(buf, "220", 3) == 0;
    }
    close(fd);
    return ok || !proc_alive(s->pid);      /* a dead server stops the wait too */
}

static void smtpd_start(struct smtpd *s)
{
    const char *py = smtpd_python();
    char listen[32], port[16], script[320];
    char *log;

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(script, sizeof(script), "%s/smtpd.py", s->dir);
    if (s->secure) {
        const char *argv[] = { py, script, "127.0.0.1", port, s->maildir, s->cert, s->key,
                               SMTP_USER, SMTP_PASSWORD, NULL };

        s->pid = proc_spawn(argv, s->log);
    } else {
        const char *argv[] = { py, "-m", "aiosmtpd", "-n", "-l", listen,
                               "-c", "aiosmtpd.handlers.Mailbox", s->maildir, NULL };

        s->pid = proc_spawn(argv, s->log);
    }
    cr_assert(gt(int, s->pid, 0), "aiosmtpd started");
    test_wait_until(smtpd_greets, s, 15000);
    log = test_read_file(s->log);
    cr_assert(proc_alive(s->pid), "aiosmtpd is running: %s", log != NULL ? log : "(no log)");
    free(log);
    cr_assert(smtpd_greets(s), "aiosmtpd greets on port %d", s->port);
}

static void smtpd_stop(struct smtpd *s)
{
    if (s->pid > 0)
        proc_stop(s->pid, 3000);
    s->pid = 0;
    test_rmtree(s->dir);
}

/* Messages in the Maildir (new/), and the path of the first one. */
static int smtpd_messages(const struct smtpd *s, char *first, size_t len)
{
    char dir[320];
    struct dirent *de;
    DIR *d;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/new", s->maildir);
    if ((d = opendir(dir)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n++ == 0 && first != NULL)
            snprintf(first, len, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    return n;
}

/*
 * The message as Python's email package reads it: headers (and how often
 * each occurs), the envelope aiosmtpd recorded (X-MailFrom, X-RcptTo), the
 * Date as epoch seconds, the parts with their decoded text, and every
 * defect the parser found. Caller decrefs.
 */
static json_t *parse_message(const char *path)
{
    static const char script[] =
        "import sys, json, email\n"
        "from email import policy\n"
        "from email.utils import getaddresses, parsedate_to_datetime\n"
        "m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)\n"
        "hs = ['From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version']\n"
        "out = {'count': {h: len(m.get_all(h, [])) for h in hs},\n"
        "  'from': [a for _, a in getaddresses([str(m['From'])])],\n"
        "  'to': [a for _, a in getaddresses([str(v) for v in m.get_all('To', [])])],\n"
        "  'subject': str(m['Subject']), 'message_id': str(m['Message-ID']),\n"
        "  'date': parsedate_to_datetime(str(m['Date'])).timestamp(),\n"
        "  'mail_from': str(m['X-MailFrom']), 'rcpt_to': str(m['X-RcptTo']),\n"
        "  'type': m.get_content_type(), 'defects': [repr(d) for d in m.defects],\n"
        "  'parts': [{'type': p.get_content_type(), 'charset': p.get_content_charset(),\n"
        "             'text': p.get_content(), 'defects': [repr(d) for d in p.defects]}\n"
        "            for p in m.iter_parts()]}\n"
        "print(json.dumps(out))\n";
    const char *argv[] = { smtpd_python(), "-c", script, path, NULL };
    static char out[256 * 1024];
    json_error_t jerr;
    json_t *doc;
    int code = -1;

    cr_assert(eq(int, proc_run(argv, out, sizeof(out), 20000, &code), 0));
    cr_assert(eq(int, code, 0), "Python's email parser read %s", path);
    doc = json_loads(out, 0, &jerr);
    cr_assert(doc != NULL, "%s: %s", jerr.text, out);
    return doc;
}

static const char *jstr(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));

    return s != NULL ? s : "(none)";
}

/* ---- outbox on a loop (the patterns of test_collector_outbox.c) --------- */

struct run {
    uv_loop_t loop;
    uv_timer_t tick;
    struct nines_redis_addr addr;
    struct outbox *ob;
    int (*cond)(struct run *r);
    int closed;
    int enq_done, enq_status;
    uint64_t want;
    struct smtpd *smtpd;
};

static int run_cond(void *arg)
{
    struct run *r = arg;

    return r->cond(r);
}

/* Runs the loop until cond(r) holds (returns 1) or timeout_ms passes (0). */
static int run_until(struct run *r, int (*cond)(struct run *r), int timeout_ms)
{
    r->cond = cond;
    return test_loop_until(&r->loop, &r->tick, run_cond, r, timeout_ms);
}

static struct outbox_stats stats_of(struct run *r)
{
    struct outbox_stats st;

    outbox_stats(r->ob, &st);
    return st;
}

static int cond_never(struct run *r)
{
    (void)r;
    return 0;
}

static int cond_up(struct run *r)
{
    return stats_of(r).redis_up;
}

static int cond_delivered(struct run *r)
{
    struct outbox_stats st = stats_of(r);

    return st.delivered >= r->want && st.inflight == 0;
}

static int cond_failed(struct run *r)
{
    return stats_of(r).failed >= r->want;
}

static int cond_retried(struct run *r)
{
    struct outbox_stats st = stats_of(r);

    return st.retried >= r->want && st.inflight == 0;
}

static int cond_closed(struct run *r)
{
    return r->closed;
}

static int cond_enq_done(struct run *r)
{
    return r->enq_done > 0;
}

static void on_closed(void *arg)
{
    ((struct run *)arg)->closed = 1;
}

static void on_enqueued(int status, void *arg)
{
    struct run *r = arg;

    r->enq_done++;
    r->enq_status = status;
}

static void run_open(struct run *r, struct redis_fixture *f, const struct outbox_opts *o)
{
    struct nines_err err = { 0 };

    signal(SIGPIPE, SIG_IGN);
    memset(r, 0, sizeof(*r));
    cr_assert(eq(int, curl_global_init(CURL_GLOBAL_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_init(&r->loop), 0));
    uv_timer_init(&r->loop, &r->tick);
    r->tick.data = r;
    cr_assert(eq(int, nines_redis_url_parse(f->url, &r->addr, &err), 0), "%s", err.msg);
    r->ob = outbox_new(&r->loop, &r->addr, o);
    cr_assert(r->ob != NULL);
    cr_assert(run_until(r, cond_up, 5000), "the outbox reaches Redis");
}

static void run_fini(struct run *r)
{
    outbox_close(r->ob, on_closed, r);
    cr_assert(run_until(r, cond_closed, 5000), "outbox_close finishes");
    r->ob = NULL;
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&r->loop), 0), "nothing left open");
    curl_global_cleanup();
}

static void enqueue(struct run *r, const char *id, const struct notify_request *rq)
{
    r->enq_done = 0;
    r->enq_status = -100;
    cr_assert(eq(int, outbox_enqueue(r->ob, id, "mail", rq, on_enqueued, r), 0), "%s", id);
    cr_assert(run_until(r, cond_enq_done, 5000), "enqueue of %s answered", id);
    cr_assert(eq(int, r->enq_status, 0), "%s is new", id);
}

struct got {
    int done, status;
    json_t *item;
};

static struct got *got_target;

static void on_got(int status, json_t *item, void *arg)
{
    struct got *g = arg;

    g->done = 1;
    g->status = status;
    g->item = item != NULL ? json_incref(item) : NULL;
}

static int cond_got(struct run *r)
{
    (void)r;
    return got_target->done;
}

/* The outbox's view of an item (caller decrefs). */
static json_t *get_item(struct run *r, const char *id)
{
    struct got g = { 0, -100, NULL };

    cr_assert(eq(int, outbox_get(r->ob, id, on_got, &g), 0));
    got_target = &g;
    cr_assert(run_until(r, cond_got, 5000));
    cr_assert(eq(int, g.status, 0), "%s found", id);
    return g.item;
}

/* ---- the notification --------------------------------------------------- */

static void receiver_for(struct receiver_cfg *rc, const struct smtpd *s, int starttls,
                         const char *password)
{
    memset(rc, 0, sizeof(*rc));
    snprintf(rc->name, sizeof(rc->name), "mail");
    rc->kind = RECEIVER_EMAIL;
    snprintf(rc->url, sizeof(rc->url), "smtp://127.0.0.1:%d", s->port);
    snprintf(rc->from, sizeof(rc->from), "nines alerts <nines@example.test>");
    snprintf(rc->to, sizeof(rc->to), "ops@example.test, oncall@example.test");
    rc->starttls = starttls;
    if (password != NULL) {
        snprintf(rc->user, sizeof(rc->user), "%s", SMTP_USER);
        snprintf(rc->secret, sizeof(rc->secret), "%s", password);
    }
}

static void notification_for(struct notification *n, const char *check, int64_t now_ms)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->key, sizeof(n->key), "check_down/%s@%lld", check, (long long)now_ms - 60000);
    n->state = NOTIFY_FIRING;
    snprintf(n->rule, sizeof(n->rule), "check_down");
    snprintf(n->severity, sizeof(n->severity), "page");
    snprintf(n->check, sizeof(n->check), "%s", check);
    snprintf(n->service, sizeof(n->service), "shop");
    snprintf(n->location, sizeof(n->location), "eu-west");
    n->start_ms = now_ms - 60000;
    n->created_ms = now_ms;
    snprintf(n->reason, sizeof(n->reason), "http_status");
    snprintf(n->summary, sizeof(n->summary), "%s is DOWN: HTTP 503 (eu-west,us-east)", check);
    snprintf(n->url, sizeof(n->url), "https://nines.example.test/incidents/42");
}

/* notify_build for the receiver, then queued under "mail/<key>/firing" into id. */
static void send_mail(struct run *r, const struct receiver_cfg *rc, const char *check,
                      const char *ca_file, char *id, size_t idlen, int64_t *built_ms)
{
    struct notification n;
    struct notify_request rq;
    int64_t now = nines_wall_ms();

    notification_for(&n, check, now);
    memset(&rq, 0, sizeof(rq));
    cr_assert(eq(int, notify_build(rc, &n, now, &rq), 0));
    cr_assert(eq(int, rq.smtp, 1));
    if (ca_file != NULL)
        snprintf(rq.ca_file, sizeof(rq.ca_file), "%s", ca_file);
    snprintf(id, idlen, "mail/%s/firing", n.key);
    enqueue(r, id, &rq);
    notify_request_clear(&rq);
    if (built_ms != NULL)
        *built_ms = now;
}

/* The one message in the Maildir, checked header by header and part by part. */
static void assert_the_message(const struct smtpd *s, const char *check, int64_t built_ms)
{
    char path[700];     /* the Maildir path + a file name of up to 255 bytes */
    json_t *m, *parts, *count;
    const char *mid;

    cr_assert(eq(int, smtpd_messages(s, path, sizeof(path)), 1), "exactly one message");
    m = parse_message(path);
    cr_assert(eq(sz, json_array_size(json_object_get(m, "defects")), 0), "no defects: %s",
              json_string_value(json_array_get(json_object_get(m, "defects"), 0)));
    count = json_object_get(m, "count");
    cr_assert(eq(i64, json_integer_value(json_object_get(count, "From")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(count, "To")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(count, "Subject")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(count, "Date")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(count, "Message-ID")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(count, "MIME-Version")), 1));

    cr_assert(eq(str, (char *)json_string_value(json_array_get(json_object_get(m, "from"), 0)),
                 "nines@example.test"));
    cr_assert(eq(sz, json_array_size(json_object_get(m, "to")), 2));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(json_object_get(m, "to"), 0)),
                 "ops@example.test"));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(json_object_get(m, "to"), 1)),
                 "oncall@example.test"));
    cr_assert(eq(str, (char *)jstr(m, "mail_from"), "nines@example.test"), "envelope");
    cr_assert(eq(str, (char *)jstr(m, "rcpt_to"), "ops@example.test, oncall@example.test"));
    cr_assert(strstr(jstr(m, "subject"), "FIRING") != NULL, "%s", jstr(m, "subject"));
    cr_assert(strstr(jstr(m, "subject"), check) != NULL, "%s", jstr(m, "subject"));
    /* Date has whole seconds: the second notify_build was given */
    cr_assert(eq(i64, (int64_t)json_real_value(json_object_get(m, "date")), built_ms / 1000));
    mid = jstr(m, "message_id");
    cr_assert(mid[0] == '<' && strlen(mid) > 8 && strcmp(mid + strlen(mid) - 7, "@nines>") == 0,
              "%s", mid);

    cr_assert(eq(str, (char *)jstr(m, "type"), "multipart/alternative"));
    parts = json_object_get(m, "parts");
    cr_assert(eq(sz, json_array_size(parts), 2));
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_array_get(parts, i);
        const char *text = jstr(p, "text");

        cr_assert(eq(str, (char *)jstr(p, "type"), i == 0 ? "text/plain" : "text/html"));
        cr_assert(eq(str, (char *)jstr(p, "charset"), "utf-8"));
        cr_assert(eq(sz, json_array_size(json_object_get(p, "defects")), 0));
        cr_assert(strstr(text, check) != NULL, "part %zu names the check: %s", i, text);
        cr_assert(strstr(text, "FIRING") != NULL, "part %zu gives the state: %s", i, text);
        cr_assert(strstr(text, "firing") != NULL, "part %zu has the State row", i);
    }
    cr_assert(strstr(jstr(json_array_get(parts, 1), "text"), "<table>") != NULL);
    json_decref(m);
}

/* ---- tests -------------------------------------------------------------- */

Test(smtp, a_notification_arrives_once_and_parses, .timeout = 60)
{
    struct redis_fixture f;
    struct smtpd s;
    struct run r;
    struct receiver_cfg rc;
    char id[OUTBOX_ID_MAX];
    int64_t built;
    json_t *item;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    smtpd_init(&s, 0, 0);
    smtpd_start(&s);
    run_open(&r, &f, NULL);
    receiver_for(&rc, &s, 0, NULL);
    send_mail(&r, &rc, "web-frontend", NULL, id, sizeof(id), &built);
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 15000), "delivered");
    run_until(&r, cond_never, 500);                 /* nothing more is sent */
    cr_assert(eq(u64, stats_of(&r).attempts, 1));
    assert_the_message(&s, "web-frontend", built);
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "delivered"));
    cr_assert(eq(i64, json_integer_value(json_object_get(item, "last_status")), 250));
    json_decref(item);
    run_fini(&r);
    smtpd_stop(&s);
    redis_fixture_stop(&f);
}

Test(smtp, a_server_started_late_gets_the_message_once, .timeout = 60)
{
    struct outbox_opts o = { .backoff_min_ms = 200, .backoff_max_ms = 800 };
    struct redis_fixture f;
    struct smtpd s;
    struct run r;
    struct receiver_cfg rc;
    char id[OUTBOX_ID_MAX];
    int64_t built;
    json_t *item;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    smtpd_init(&s, 0, 0);                           /* a port, nobody listening yet */
    run_open(&r, &f, &o);
    receiver_for(&rc, &s, 0, NULL);
    send_mail(&r, &rc, "checkout-api", NULL, id, sizeof(id), &built);
    r.want = 2;
    cr_assert(run_until(&r, cond_retried, 10000), "refused twice, retried");
    cr_assert(eq(u64, stats_of(&r).delivered, 0));
    cr_assert(eq(int, smtpd_messages(&s, NULL, 0), 0));

    smtpd_start(&s);
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 15000), "delivered once the server is up");
    run_until(&r, cond_never, 500);
    assert_the_message(&s, "checkout-api", built);
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "delivered"));
    cr_assert(ge(i64, json_integer_value(json_object_get(item, "attempts")), 3));
    json_decref(item);
    run_fini(&r);
    smtpd_stop(&s);
    redis_fixture_stop(&f);
}

Test(smtp, starttls_and_auth_required_still_deliver, .timeout = 90)
{
    struct outbox_opts o = { .backoff_min_ms = 200, .backoff_max_ms = 800 };
    struct redis_fixture f;
    struct smtpd s, other;
    struct run r;
    struct receiver_cfg rc;
    char id[OUTBOX_ID_MAX];
    int64_t built;
    json_t *item;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    smtpd_init(&s, 0, 1);
    smtpd_start(&s);
    run_open(&r, &f, &o);

    /* STARTTLS against the throw-away certificate, with the password */
    receiver_for(&rc, &s, 1, SMTP_PASSWORD);
    send_mail(&r, &rc, "payments", s.cert, id, sizeof(id), &built);
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 20000), "delivered over STARTTLS with AUTH");
    assert_the_message(&s, "payments", built);

    /* a wrong password: 535, failed for good, nothing arrives */
    receiver_for(&rc, &s, 1, "wrong password");
    send_mail(&r, &rc, "ledger", s.cert, id, sizeof(id), NULL);
    r.want = 1;
    cr_assert(run_until(&r, cond_failed, 20000), "a refused login is permanent");
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "failed"));
    cr_assert(eq(i64, json_integer_value(json_object_get(item, "last_status")), 535));
    json_decref(item);

    /* no STARTTLS: the server refuses the mail (530), failed, nothing arrives */
    receiver_for(&rc, &s, 0, SMTP_PASSWORD);
    send_mail(&r, &rc, "search", s.cert, id, sizeof(id), NULL);
    r.want = 2;
    cr_assert(run_until(&r, cond_failed, 20000), "plain text is refused");
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "failed"));
    cr_assert(eq(i64, json_integer_value(json_object_get(item, "last_status")), 530));
    json_decref(item);

    /* a certificate nobody vouches for: verification fails, retried, never sent */
    smtpd_init(&other, 0, 1);                       /* only for its own certificate */
    receiver_for(&rc, &s, 1, SMTP_PASSWORD);
    send_mail(&r, &rc, "catalog", other.cert, id, sizeof(id), NULL);
    r.want = 1;
    cr_assert(run_until(&r, cond_retried, 20000), "an unverified server is retried");
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "pending"));
    cr_assert(strstr(jstr(item, "last_error"), "certificate") != NULL, "%s",
              jstr(item, "last_error"));
    json_decref(item);

    cr_assert(eq(int, smtpd_messages(&s, NULL, 0), 1), "only the good one arrived");
    cr_assert(eq(u64, stats_of(&r).delivered, 1));
    run_fini(&r);
    smtpd_stop(&other);
    smtpd_stop(&s);
    redis_fixture_stop(&f);
}
