/*
 * The JSON body condition: nines_json_cond_parse on the first line of the
 * input, then nines_json_cond_eval against the rest parsed as a JSON
 * document (when it is one). A parsed condition must evaluate to one of the
 * documented results, and its lookup must agree with eval's "not found".
 */
#include <jansson.h>

#include "fuzz.h"
#include "nines/err.h"
#include "jsoncond.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nines_json_cond c;
    char errbuf[200];
    json_error_t jerr;
    json_t *doc;
    char *text;
    int rc;

    text = fuzz_take(&data, &size, '\n', NULL);
    if (text == NULL)
        return 0;
    errbuf[0] = '\0';
    rc = nines_json_cond_parse(text, &c, errbuf, sizeof(errbuf));
    free(text);
    if (rc != 0) {
        if (rc != NINES_EINVAL || errbuf[0] == '\0')
            abort();
        return 0;
    }
    if (c.nseg == 0 || c.nseg > NINES_JSON_PATH_DEPTH || c.op > NINES_JSON_GE
        || c.lit > NINES_JSON_LIT_NULL)
        abort();
    doc = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (doc == NULL)
        return 0;
    rc = nines_json_cond_eval(&c, doc);
    if (rc != 0 && rc != 1 && rc != NINES_ENOTFOUND && rc != NINES_EINVAL)
        abort();
    if ((rc == NINES_ENOTFOUND) != (nines_json_cond_lookup(&c, doc) == NULL))
        abort();
    (void)nines_json_op_name(c.op);
    json_decref(doc);
    return 0;
}
