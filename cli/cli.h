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

#endif
