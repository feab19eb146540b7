/*
 * The YAML config loader, nines_config_load, on arbitrary file contents.
 * The loader takes a path, so each input goes into one memfd (memory, no
 * disk; rewritten per run) read through /proc/self/fd/N. Relative paths in
 * the config resolve against /proc/self/fd, which the loader only joins,
 * never opens.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "nines/config.h"

static int config_fd = -1;
static char config_path[64];

static int fuzz_config_setup(void)
{
    config_fd = memfd_create("nines-fuzz.yaml", MFD_CLOEXEC);
    if (config_fd < 0) {
        perror("fuzz_config: memfd_create");
        abort();
    }
    snprintf(config_path, sizeof(config_path), "/proc/self/fd/%d", config_fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nines_errlist errs = { 0 };
    struct nines_config *cfg = NULL;
    size_t off = 0;
    int rc;

    if (config_fd < 0)
        fuzz_config_setup();
    if (ftruncate(config_fd, 0) != 0)
        abort();
    while (off < size) {
        ssize_t n = pwrite(config_fd, data + off, size - off, (off_t)off);

        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    rc = nines_config_load(config_path, &cfg, &errs);
    /* The contract: a config on success, errors (and no config) otherwise. */
    if ((rc == 0) != (cfg != NULL) || (rc == NINES_ECONFIG && errs.count == 0))
        abort();
    for (size_t i = 0; i < errs.count; i++) {
        char buf[600];

        if (errs.item[i].msg[0] == '\0')
            abort();
        nines_err_format(&errs.item[i], buf, sizeof(buf));
    }
    nines_config_free(cfg);
    return 0;
}
