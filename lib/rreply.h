/*
 * hiredis 0.14 reply objects carved out of a few large blocks that belong
 * to the reply itself, for connections whose replies hold thousands of
 * objects (the collector's XREAD batches: 10,000 entries of about 6
 * objects each in the packed wire form, 22 in the older one). hiredis's own functions make two mallocs per string and one per
 * array, and freeReplyObject walks the whole tree; here a reply of N objects
 * costs a handful of mallocs and is freed block by block.
 *
 * The objects are ordinary redisReply structs (same layout, same fields),
 * so code reading replies does not change. Only the whole reply can be
 * freed, and only by the reader's freeObject (hiredis's async API does
 * exactly that after the callback) or, once kept, by rreply_release: never
 * call freeReplyObject on one.
 */
#ifndef NINES_RREPLY_H
#define NINES_RREPLY_H

#include <hiredis/hiredis.h>

/*
 * Makes reader r build its replies in blocks. Call it before the reader
 * has parsed anything (right after the context is created): a reply
 * started with hiredis's functions must not be freed with these.
 */
void rreply_use_blocks(redisReader *r);
/*
 * Keeps a whole reply (the root hiredis handed to a callback) past the
 * callback: hiredis's free after the callback leaves it alone, and the
 * caller frees it with rreply_release, once. The memory is the reply's own,
 * so it outlives the connection and the reader.
 */
void rreply_keep(redisReply *root);
void rreply_release(redisReply *root);

#endif
