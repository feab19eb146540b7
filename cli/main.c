/* nines: the operator's command-line tool. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nines/version.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nines COMMAND [options]\n"
            "\n"
            "Commands:\n"
            "  status [-c FILE | --redis URL] [--json]   every check's state\n"
            "  incidents [--check ID] [--from T] [--to T] [--open] [--json]\n"
            "                                            incidents, exact to the ms\n"
            "  ack INCIDENT|ALERT [--by NAME]            acknowledge: stops repeats and escalation\n"
            "  resolve INCIDENT|ALERT [--by NAME]        resolve an alert by hand\n"
            "  silence add|list|expire                   hold notifications back by label\n"
            "  drill start|stop|list|show                DR drills: measured RTO and RPO\n"
            "  maintenance add|list|rm                   maintenance windows\n"
            "  token new | token hash [TOKEN]            tokens and their hashes for the config\n"
            "  alerts [--json] | alerts log ID           notifications and their delivery log\n"
            "  report --customer ID [--month M] [--send] monthly SLA report (html|pdf|csv|json)\n"
            "  check TARGET [options] | --id ID -c FILE  run one check now (Nagios plugin)\n"
            "  import FILE | export --check|--service|--customer ID  history in and out\n"
            "  audit verify|export [--from T] [--to T]   the hash-chained audit log\n"
            "  evidence --from D --to D -o F | verify F  signed SOC 2 evidence pack\n"
            "  kpi --month YYYY-MM|current [--team T]    KPIs per service and team (table|json|csv)\n"
            "  validate -c FILE                          check a configuration file\n"
            "  version                                   print the version\n"
            "\n"
            "Run 'nines COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "status") == 0)
        return cli_status(argc - 1, argv + 1);
    if (strcmp(argv[1], "incidents") == 0)
        return cli_incidents(argc - 1, argv + 1);
    if (strcmp(argv[1], "alerts") == 0)
        return cli_alerts(argc - 1, argv + 1);
    if (strcmp(argv[1], "report") == 0)
        return cli_report(argc - 1, argv + 1);
    if (strcmp(argv[1], "token") == 0)
        return cli_token(argc - 1, argv + 1);
    if (strcmp(argv[1], "maintenance") == 0)
        return cli_maintenance(argc - 1, argv + 1);
    if (strcmp(argv[1], "ack") == 0)
        return cli_ack(argc - 1, argv + 1);
    if (strcmp(argv[1], "resolve") == 0)
        return cli_resolve(argc - 1, argv + 1);
    if (strcmp(argv[1], "silence") == 0)
        return cli_silence(argc - 1, argv + 1);
    if (strcmp(argv[1], "drill") == 0)
        return cli_drill(argc - 1, argv + 1);
    if (strcmp(argv[1], "import") == 0 || strcmp(argv[1], "export") == 0)
        return (argv[1][0] == 'i' ? cli_import : cli_export)(argc - 1, argv + 1);
    if (strcmp(argv[1], "audit") == 0)
        return cli_audit(argc - 1, argv + 1);
    if (strcmp(argv[1], "evidence") == 0)
        return cli_evidence(argc - 1, argv + 1);
    if (strcmp(argv[1], "kpi") == 0)
        return cli_kpi(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0)
        return cli_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "validate") == 0)
        return cli_validate(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("nines %s\n", NINES_VERSION);
        return CLI_OK;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    fprintf(stderr, "nines: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
