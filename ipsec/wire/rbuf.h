/*
 * rbuf/wbuf: the one bounded cursor every wire format is read and written
 * through (IKE, ESP and the control protocol's frames alike).
 *
 * Contract: a failed read consumes nothing and writes nothing to its output;
 * the cursor is exactly where it was.  Views (struct rbuf, const pointers
 * returned by rbuf_view) borrow the underlying bytes and are never freed.
 */
#ifndef IPS_RBUF_H
#define IPS_RBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "base/ips_err.h"

struct rbuf {
	const uint8_t *p; /* borrowed */
	size_t len;
	size_t off;
};

static inline void
rbuf_init(struct rbuf *rb, const void *p, size_t len)
{
	rb->p = p;
	rb->len = len;
	rb->off = 0;
}

static inline size_t
rbuf_left(const struct rbuf *rb)
{
	return rb->len - rb->off;
}

/* Fixed-width reads in network byte order; IPS_E_SHORT if not enough left. */
IPS_MUST_USE ips_res rbuf_u8(struct rbuf *rb, uint8_t *v);
IPS_MUST_USE ips_res rbuf_u16(struct rbuf *rb, uint16_t *v);
IPS_MUST_USE ips_res rbuf_u32(struct rbuf *rb, uint32_t *v);
/* Copy n bytes into dst (copied). */
IPS_MUST_USE ips_res rbuf_bytes(struct rbuf *rb, void *dst, size_t n);
/* Point *p at the next n bytes (borrowed) and consume them. */
IPS_MUST_USE ips_res rbuf_view(struct rbuf *rb, size_t n, const uint8_t **p);
IPS_MUST_USE ips_res rbuf_skip(struct rbuf *rb, size_t n);
/*
 * Consume the next n bytes as a child cursor (borrowed view), for a
 * length-prefixed substructure.
 */
IPS_MUST_USE ips_res rbuf_sub(struct rbuf *rb, size_t n, struct rbuf *child);

/*
 * A 32-bit big-endian field of a fixed-size array rather than a cursor:
 * the message IDs and SPIs hashed into IKE's HASH and KEYMAT inputs.
 */
static inline void
wire_put_be32(uint8_t out[static 4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static inline uint32_t
wire_get_be32(const uint8_t in[static 4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
	    (uint32_t)in[2] << 8 | in[3];
}

/*
 * A growable output buffer with a hard cap.  Writes past the cap fail with
 * IPS_E_TOOBIG and leave the buffer unchanged.
 */
struct wbuf {
	uint8_t *p; /* owned, unless borrowed */
	size_t len;
	size_t cap;
	size_t max;
	bool borrowed; /* the caller's storage: never grown nor freed */
};

void wbuf_init(struct wbuf *wb, size_t max);
/* Over the caller's storage of cap bytes: for per-packet paths, which may
 * not allocate.  Writes past cap fail like writes past max. */
void wbuf_init_on(struct wbuf *wb, uint8_t *storage, size_t cap);
/* Release the storage; wiping first, since a wbuf may have held keys. */
void wbuf_free(struct wbuf *wb);
IPS_MUST_USE ips_res wbuf_u8(struct wbuf *wb, uint8_t v);
IPS_MUST_USE ips_res wbuf_u16(struct wbuf *wb, uint16_t v);
IPS_MUST_USE ips_res wbuf_u32(struct wbuf *wb, uint32_t v);
IPS_MUST_USE ips_res wbuf_bytes(struct wbuf *wb, const void *src, size_t n);
/* Reserve n bytes at the end and return them for the caller to fill. */
IPS_MUST_USE ips_res wbuf_reserve(struct wbuf *wb, size_t n, uint8_t **out);
/* Overwrite already-written bytes at off (a length or next-payload field
 * filled in after what follows it); IPS_E_INVAL if they are not there. */
IPS_MUST_USE ips_res wbuf_put_u8_at(struct wbuf *wb, size_t off, uint8_t v);
IPS_MUST_USE ips_res wbuf_put_u16_at(struct wbuf *wb, size_t off, uint16_t v);
IPS_MUST_USE ips_res wbuf_put_u32_at(struct wbuf *wb, size_t off, uint32_t v);

#endif
