/* The nines command-line tool: one file per subcommand. */
#ifndef NINES_CLI_H
#define NINES_CLI_H

#include <hiredis/hiredis.h>

#include "nines/config.h"
#include "nines/wire.h"

/* Exit codes shared by every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_UNREACHABLE = 3 };

int cli_validate(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_incidents(int argc, char **argv);
int cli_ack(int argc, char **argv);
int cli_resolve(int argc, char **argv);
int cli_silence(int argc, char **argv);
int cli_drill(int argc, char **argv);
int cli_maintenance(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_alerts(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_evidence(int argc, char **argv);
int cli_kpi(int argc, char **argv);
/* Appends the CLI's own action to the audit log (actor: by, else $USER); warns on failure. */
int cli_audit_record(redisContext *rc, const char *by, const char *action, const char *target,
                     const char *detail);
/* Times on the command line: ISO 8601 (UTC), a date, ms, or now-DURATION. */
int cli_parse_time(const char *s, int64_t *ms);

/*
 * Where Redis is, from (in order) --redis URL, the config file's
 * collector.redis, or the embedded server's socket in its data_dir.
 * Prints the reason and returns CLI_USAGE on failure.
 */
int cli_redis_addr(const char *url, const char *config_path, struct nines_redis_addr *a);
/* A synchronous connection (AUTH and SELECT done), or NULL with a message. */
redisContext *cli_redis_connect(const struct nines_redis_addr *a);
/* Prints every error of a failed load as FILE:LINE:COLUMN: message. */
void cli_print_errors(const struct nines_errlist *errs);
/* The config file: path if given, else $NINES_CONFIG, else /etc/nines/nines.yaml. */
const char *cli_config_path(const char *path);
/* Loads the config file at path (already resolved), or prints its errors and returns NULL. */
struct nines_config *cli_config_load(const char *path);
/*
 * As cli_redis_addr, from the config the caller has already loaded (not read
 * again); url still comes first.
 */
int cli_redis_addr_cfg(const char *url, const struct nines_config *cfg,
                       struct nines_redis_addr *a);
/*
 * cli_redis_addr (or cli_redis_addr_cfg when cfg is not NULL) then
 * cli_redis_connect: 0 with the connection in *rc, else the exit code
 * (CLI_USAGE: no address; CLI_UNREACHABLE: no connection), the reason already printed.
 */
int cli_redis_open(const char *url, const char *config_path, const struct nines_config *cfg,
                   redisContext **rc);
/* The customer id of cfg, or NULL. */
const struct nines_customer_cfg *cli_customer(const struct nines_config *cfg, const char *id);
/* "YYYY-MM" (1971 or later) into *y and *m: 0, or -1. */
int cli_parse_month(const char *s, int *y, int *m);
/* This month in the time zone tzname (NULL: UTC): 0, or -1 if the zone cannot be loaded. */
int cli_month_now(const char *tzname, int *y, int *m);
/*
 * 1 if value is one of choices (NULL-terminated); else prints
 * "CMD: FLAG 'value': expected a, b or c" and returns 0.
 */
int cli_one_of(const char *cmd, const char *flag, const char *value, const char *const choices[]);
/*
 * The exit code for a failed computation over Redis data (report, KPIs): NINES_EIO or
 * NINES_EPROTO mean Redis failed under it (CLI_UNREACHABLE); anything else is the request.
 */
int cli_compute_exit(int nines_rc);

#endif
