/*
 * nines token new            a fresh random token and its hash for the config
 * nines token hash [TOKEN]   the "sha256:..." form of a token (stdin if absent)
 *
 * Configuration files hold only hashes: API tokens (api.tokens[].hash) and
 * push tokens (token: of a push check).
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cli.h"

int cli_token(int argc, char **argv)
{
    char token[256], hash[72];

    if (argc == 2 && strcmp(argv[1], "new") == 0) {
        auth_new_token(token);
        auth_hash_token(token, hash);
        printf("token: %s\nhash:  %s\n", token, hash);
        return CLI_OK;
    }
    if (argc >= 2 && argc <= 3 && strcmp(argv[1], "hash") == 0) {
        if (argc == 3) {
            snprintf(token, sizeof(token), "%s", argv[2]);
        } else if (fgets(token, sizeof(token), stdin) == NULL) {
            fprintf(stderr, "nines: no token on standard input\n");
            return CLI_USAGE;
        }
        token[strcspn(token, "\r\n")] = '\0';
        if (token[0] == '\0') {
            fprintf(stderr, "nines: the token is empty\n");
            return CLI_USAGE;
        }
        auth_hash_token(token, hash);
        printf("%s\n", hash);
        return CLI_OK;
    }
    fprintf(stderr, "usage: nines token new | nines token hash [TOKEN]\n");
    return CLI_USAGE;
}
