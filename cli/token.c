/*
 * nines token new                      a fresh random token and its hashes for the config
 * nines token hash [--plain] [TOKEN]   the salted hash of a token (stdin if absent);
 *                                      --plain: "sha256:..." (a push check's token)
 * nines token check TOKEN HASH         exit 0 when HASH (either form) is the token's
 *
 * Configuration files hold only hashes: API tokens (api.tokens[].hash, salted)
 * and push tokens (token: of a push check, sha256:).
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cli.h"

static int token_read(int argc, char **argv, int first, char *token, size_t len)
{
    if (argc > first) {
        snprintf(token, len, "%s", argv[first]);
    } else if (fgets(token, (int)len, stdin) == NULL) {
        fprintf(stderr, "nines: no token on standard input\n");
        return CLI_USAGE;
    }
    token[strcspn(token, "\r\n")] = '\0';
    if (token[0] == '\0') {
        fprintf(stderr, "nines: the token is empty\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_token(int argc, char **argv)
{
    char token[AUTH_TOKEN_MAX + 2], hash[AUTH_HASH_TEXT_SIZE], plain[AUTH_HASH_TEXT_SIZE];
    int plain_only, rc;

    if (argc == 2 && strcmp(argv[1], "new") == 0) {
        auth_new_token(token);
        if (auth_hash_token_salted(token, hash) != 0 || auth_hash_token(token, plain) != 0)
            return CLI_FAIL;
        printf("token: %s\nhash:  %s\npush:  %s\n", token, hash, plain);
        printf("(api.tokens[].hash takes the salted hash; a push check's token: the push "
               "line)\n");
        return CLI_OK;
    }
    if (argc >= 2 && argc <= 4 && strcmp(argv[1], "hash") == 0) {
        plain_only = argc >= 3 && strcmp(argv[2], "--plain") == 0;
        if (argc == 4 && !plain_only)
            goto usage;
        rc = token_read(argc, argv, 2 + plain_only, token, sizeof(token));
        if (rc != CLI_OK)
            return rc;
        rc = plain_only ? auth_hash_token(token, hash) : auth_hash_token_salted(token, hash);
        if (rc != 0) {
            fprintf(stderr, "nines: a token has 1 to %d characters of A-Z a-z 0-9 - . _ ~ + / "
                    "(then '=')\n", AUTH_TOKEN_MAX);
            return CLI_USAGE;
        }
        printf("%s\n", hash);
        return CLI_OK;
    }
    if (argc == 4 && strcmp(argv[1], "check") == 0) {
        struct auth_table t;
        struct nines_err err = { 0 };
        char header[AUTH_TOKEN_MAX + 16];
        int status = 0;

        auth_table_init(&t);
        if (auth_table_add(&t, "t", argv[3], AUTH_ROLE_VIEWER, &err) != 0) {
            fprintf(stderr, "nines: %s\n", err.msg);
            return CLI_USAGE;
        }
        snprintf(header, sizeof(header), "Bearer %s", argv[2]);
        if (auth_lookup(&t, header, &status) == NULL) {
            printf("no: the hash is not this token's\n");
            return CLI_FAIL;
        }
        printf("yes\n");
        return CLI_OK;
    }
usage:
    fprintf(stderr, "usage: nines token new | nines token hash [--plain] [TOKEN] | "
            "nines token check TOKEN HASH\n");
    return CLI_USAGE;
}
