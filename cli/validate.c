/* nines validate -c FILE: load and check a configuration, touch nothing. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

int cli_validate(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL;
    struct nines_config *cfg = NULL;
    struct nines_errlist errs = { 0 };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            printf("usage: nines validate -c FILE\n\n"
                   "Checks FILE and prints every problem as FILE:LINE:COLUMN: message.\n"
                   "Exits 0 when the file is valid, 2 when it is not.\n");
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if (path == NULL && optind < argc)
        path = argv[optind++];
    if (path == NULL || optind < argc) {
        fprintf(stderr, "usage: nines validate -c FILE\n");
        return CLI_USAGE;
    }
    if (nines_config_load(path, &cfg, &errs) != 0) {
        cli_print_errors(&errs);
        return CLI_USAGE;
    }
    printf("%s: ok (%zu checks)\n", path, cfg->checks_count);
    nines_config_free(cfg);
    return CLI_OK;
}
