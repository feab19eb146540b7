/* Redis URLs: tables of good and bad addresses, and log text without secrets. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "nines/wire.h"

/* Inline arrays only: Criterion copies parameters into the test process. */
struct url_good {
    char url[128];
    char host[64];
    int port;
    char path[64];
    char user[32];
    char password[32];
    int db;
};

static struct url_good url_good_cases[] = {
    { "redis://127.0.0.1", "127.0.0.1", 6379, "", "", "", 0 },
    { "redis://localhost:6380", "localhost", 6380, "", "", "", 0 },
    { "redis://redis-1.internal_x.example:1", "redis-1.internal_x.example", 1, "", "", "", 0 },
    { "redis://h:65535", "h", 65535, "", "", "", 0 },
    { "redis://:secret@10.0.0.1:7000", "10.0.0.1", 7000, "", "", "secret", 0 },
    { "redis://user:secret@host:6379/2", "host", 6379, "", "user", "secret", 2 },
    { "redis://secret@host", "host", 6379, "", "", "secret", 0 },
    { "redis://user:@host", "host", 6379, "", "user", "", 0 },
    { "redis://:p@ss@h", "h", 6379, "", "", "p@ss", 0 },
    { "redis://u%40x:p%3Ass%2F%25@h/15", "h", 6379, "", "u@x", "p:ss/%", 15 },
    { "redis://[::1]:6380", "::1", 6380, "", "", "", 0 },
    { "redis://[::1]", "::1", 6379, "", "", "", 0 },
    { "redis://:pw@[fe80::1:2]:9/3", "fe80::1:2", 9, "", "", "pw", 3 },
    { "redis://h/", "h", 6379, "", "", "", 0 },
    { "redis://h:6379/0", "h", 6379, "", "", "", 0 },
    { "REDIS://H:10", "H", 10, "", "", "", 0 },
    { "unix:///tmp/redis.sock", "", 0, "/tmp/redis.sock", "", "", 0 },
    { "unix:///var/run/r.sock?password=x&db=3", "", 0, "/var/run/r.sock", "", "x", 3 },
    { "unix:///s?db=0&password=a%26b%3D", "", 0, "/s", "", "a&b=", 0 },
    { "unix:///s?user=bob&password=pw", "", 0, "/s", "bob", "pw", 0 },
    { "unix:///s?", "", 0, "/s", "", "", 0 },
    { "unix:///s?&db=7&", "", 0, "/s", "", "", 7 },
};

ParameterizedTestParameters(redis_url, good)
{
    return cr_make_param_array(struct url_good, url_good_cases,
                               sizeof(url_good_cases) / sizeof(url_good_cases[0]));
}

ParameterizedTest(struct url_good *c, redis_url, good)
{
    struct nines_redis_addr a;
    struct nines_err err = { 0 };
    int rc = nines_redis_url_parse(c->url, &a, &err);

    cr_assert(eq(int, rc, 0), "%s: %s", c->url, err.msg);
    cr_expect(eq(str, a.host, c->host), "%s", c->url);
    cr_expect(eq(int, a.port, c->port), "%s", c->url);
    cr_expect(eq(str, a.path, c->path), "%s", c->url);
    cr_expect(eq(str, a.user, c->user), "%s", c->url);
    cr_expect(eq(str, a.password, c->password), "%s", c->url);
    cr_expect(eq(int, a.db, c->db), "%s", c->url);
}

struct url_bad {
    char url[96];
    char want[64];          /* substring of the error message */
};

static struct url_bad url_bad_cases[] = {
    { "", "no scheme" },
    { "localhost:6379", "no scheme" },
    { "/tmp/redis.sock", "no scheme" },
    { "http://h:6379", "unknown scheme 'http'" },
    { "redis:/h", "no scheme" },
    { "rediss://h", "TLS" },
    { "redis://", "empty host" },
    { "redis://:pw@", "empty host" },
    { "redis://:6379", "empty host" },
    { "redis:///2", "empty host" },
    { "redis://h:0", "bad port '0'" },
    { "redis://h:65536", "bad port '65536'" },
    { "redis://h:abc", "bad port 'abc'" },
    { "redis://h:", "bad port ''" },
    { "redis://h:-1", "bad port '-1'" },
    { "redis://h:+80", "bad port '+80'" },
    { "redis://h:99999999999", "bad port" },
    { "redis://h/x", "bad db 'x'" },
    { "redis://h/-1", "bad db '-1'" },
    { "redis://h/2x", "bad db '2x'" },
    { "redis://h/99999999999", "bad db" },
    { "redis://h/1/2", "trailing junk '/2'" },
    { "redis://h?db=1", "trailing junk '?db=1'" },
    { "redis://h/1#frag", "trailing junk '#frag'" },
    { "redis://[::1", "unterminated IPv6" },
    { "redis://[::1]x", "trailing junk after IPv6" },
    { "redis://[::1]]:1", "trailing junk after IPv6" },
    { "redis://[]:1", "empty host" },
    { "redis://[::g]", "bad character in host" },
    { "redis://h st", "bad character in host" },
    { "redis://::1:6379", "empty host" },
    { "redis://:%zz@h", "bad percent-encoding in password" },
    { "redis://:%4@h", "bad percent-encoding in password" },
    { "redis://:%00@h", "bad percent-encoding in password" },
    { "redis://u%g1:p@h", "bad percent-encoding in user" },
    { "unix://relative.sock", "must be absolute" },
    { "unix://", "must be absolute" },
    { "unix:///", "empty unix socket path" },
    { "unix:///s?foo=1", "unknown parameter 'foo'" },
    { "unix:///s?db=x", "bad db 'x'" },
    { "unix:///s?db=", "bad db ''" },
    { "unix:///s?password", "parameter without a value" },
    { "unix:///s?password=%zz", "bad percent-encoding" },
    { "unix:///s#x", "trailing junk '#x'" },
};

ParameterizedTestParameters(redis_url, bad)
{
    return cr_make_param_array(struct url_bad, url_bad_cases,
                               sizeof(url_bad_cases) / sizeof(url_bad_cases[0]));
}

ParameterizedTest(struct url_bad *c, redis_url, bad)
{
    struct nines_redis_addr a, before;
    struct nines_err err = { 0 };
    int rc;

    memset(&a, 0x5a, sizeof(a));
    before = a;
    rc = nines_redis_url_parse(c->url, &a, &err);
    cr_assert(eq(int, rc, NINES_EINVAL), "'%s' was accepted", c->url);
    cr_expect(eq(int, err.code, NINES_EINVAL));
    cr_expect(strstr(err.msg, c->want) != NULL, "'%s': got '%s', want '%s'", c->url, err.msg,
              c->want);
    cr_expect(memcmp(&a, &before, sizeof(a)) == 0, "'%s': output touched on failure", c->url);
}

/* Values that fit exactly are kept; one byte more is an error, never truncation. */
Test(redis_url, length_limits)
{
    struct nines_redis_addr a;
    struct nines_err err = { 0 };
    char url[1024];
    char user[64], path[256];

    memset(user, 'u', 63);
    user[63] = '\0';
    snprintf(url, sizeof(url), "redis://%s:pw@h", user);
    cr_assert(eq(int, nines_redis_url_parse(url, &a, &err), 0), "%s", err.msg);
    cr_expect(eq(str, a.user, user));
    snprintf(url, sizeof(url), "redis://%su:pw@h", user);
    cr_expect(eq(int, nines_redis_url_parse(url, &a, &err), NINES_EINVAL));
    cr_expect(strstr(err.msg, "user too long") != NULL, "%s", err.msg);

    path[0] = '/';
    memset(path + 1, 'p', 254);
    path[255] = '\0';
    snprintf(url, sizeof(url), "unix://%s", path);
    cr_assert(eq(int, nines_redis_url_parse(url, &a, &err), 0), "%s", err.msg);
    cr_expect(eq(str, a.path, path));
    snprintf(url, sizeof(url), "unix://%sp?db=1", path);
    cr_expect(eq(int, nines_redis_url_parse(url, &a, &err), NINES_EINVAL));
    cr_expect(strstr(err.msg, "path too long") != NULL, "%s", err.msg);

    memset(url, 0, sizeof(url));
    memcpy(url, "redis://", 8);
    memset(url + 8, 'h', 256);
    cr_expect(eq(int, nines_redis_url_parse(url, &a, &err), NINES_EINVAL));
    cr_expect(strstr(err.msg, "host too long") != NULL, "%s", err.msg);
}

Test(redis_url, null_url_is_an_error)
{
    struct nines_redis_addr a;
    struct nines_err err = { 0 };

    cr_expect(eq(int, nines_redis_url_parse(NULL, &a, &err), NINES_EINVAL));
    cr_expect(eq(int, nines_redis_url_parse("redis://h", &a, NULL), 0));
    cr_expect(eq(int, nines_redis_url_parse("redis://h:x", &a, NULL), NINES_EINVAL));
}

struct url_str {
    char url[96];
    char want[96];
    char secret[16];        /* must not appear; "" = none in the URL */
};

static struct url_str url_str_cases[] = {
    { "redis://127.0.0.1", "redis://127.0.0.1:6379/0", "" },
    { "redis://:hunter2@127.0.0.1:6380/4", "redis://127.0.0.1:6380/4", "hunter2" },
    { "redis://ops:hunter2@db.example/1", "redis://ops@db.example:6379/1", "hunter2" },
    { "redis://hunter2@h", "redis://h:6379/0", "hunter2" },
    { "redis://:hunter2@[::1]:6380", "redis://[::1]:6380/0", "hunter2" },
    { "unix:///run/nines/redis.sock", "unix:///run/nines/redis.sock", "" },
    { "unix:///p?password=hunter2", "unix:///p", "hunter2" },
    { "unix:///p?password=hunter2&db=3", "unix:///p?db=3", "hunter2" },
};

ParameterizedTestParameters(redis_url, addr_str)
{
    return cr_make_param_array(struct url_str, url_str_cases,
                               sizeof(url_str_cases) / sizeof(url_str_cases[0]));
}

ParameterizedTest(struct url_str *c, redis_url, addr_str)
{
    struct nines_redis_addr a;
    struct nines_err err = { 0 };
    char buf[512];

    cr_assert(eq(int, nines_redis_url_parse(c->url, &a, &err), 0), "%s", err.msg);
    cr_expect(eq(str, a.password, c->secret));
    cr_assert(eq(ptr, (void *)nines_redis_addr_str(&a, buf, sizeof(buf)), (void *)buf));
    cr_expect(eq(str, buf, c->want));
    if (c->secret[0] != '\0')
        cr_expect(strstr(buf, c->secret) == NULL, "password leaked: %s", buf);
}

Test(redis_url, addr_str_small_buffer_is_terminated)
{
    struct nines_redis_addr a;
    char buf[12];

    cr_assert(eq(int, nines_redis_url_parse("redis://:pw@127.0.0.1:6379/0", &a, NULL), 0));
    memset(buf, 'x', sizeof(buf));
    nines_redis_addr_str(&a, buf, 10);
    cr_expect(eq(str, buf, "redis://1"));
    cr_expect(eq(chr, buf[10], 'x'), "wrote past len");
}
