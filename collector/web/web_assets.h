/* The files of collector/web/assets/, embedded by CMake (collector/web/embed.cmake). */
#ifndef NINES_WEB_ASSETS_H
#define NINES_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name;              /* "dashboard.js" */
    const char *type;              /* Content-Type */
    const unsigned char *data;
    size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

#endif
