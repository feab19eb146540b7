/* The version of every nines program, and of the data it stores. */
#ifndef NINES_VERSION_H
#define NINES_VERSION_H

#define NINES_VERSION "0.2.0"
/* Stored formats: result wire "v", state doc "v", catalogue "v". A newer
 * program reads older data; see the README's upgrade notes. */
#define NINES_DATA_VERSION 1

#endif
