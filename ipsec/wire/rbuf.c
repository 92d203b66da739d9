#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rbuf.h"

ips_res
rbuf_view(struct rbuf *rb, size_t n, const uint8_t **p)
{
	ENSURE(n <= rbuf_left(rb), SHORT);
	*p = rb->p + rb->off;
	rb->off += n;
	return IPS_OK;
}

ips_res
rbuf_u8(struct rbuf *rb, uint8_t *v)
{
	const uint8_t *p;

	GUARD(rbuf_view(rb, 1, &p));
	*v = p[0];
	return IPS_OK;
}

ips_res
rbuf_u16(struct rbuf *rb, uint16_t *v)
{
	const uint8_t *p;

	GUARD(rbuf_view(rb, 2, &p));
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return IPS_OK;
}

ips_res
rbuf_u32(struct rbuf *rb, uint32_t *v)
{
	const uint8_t *p;

	GUARD(rbuf_view(rb, 4, &p));
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    p[3];
	return IPS_OK;
}

ips_res
rbuf_bytes(struct rbuf *rb, void *dst, size_t n)
{
	const uint8_t *p;

	GUARD(rbuf_view(rb, n, &p));
	if (n > 0)
		memcpy(dst, p, n);
	return IPS_OK;
}

ips_res
rbuf_skip(struct rbuf *rb, size_t n)
{
	const uint8_t *p;

	return rbuf_view(rb, n, &p);
}

ips_res
rbuf_sub(struct rbuf *rb, size_t n, struct rbuf *child)
{
	const uint8_t *p;

	GUARD(rbuf_view(rb, n, &p));
	rbuf_init(child, p, n);
	return IPS_OK;
}

void
wbuf_init(struct wbuf *wb, size_t max)
{
	wb->p = NULL;
	wb->len = 0;
	wb->cap = 0;
	wb->max = max;
	wb->borrowed = false;
}

void
wbuf_init_on(struct wbuf *wb, uint8_t *storage, size_t cap)
{
	wb->p = storage;
	wb->len = 0;
	wb->cap = wb->max = cap; /* so wbuf_reserve never grows it */
	wb->borrowed = true;
}

void
wbuf_free(struct wbuf *wb)
{
	if (wb->borrowed) {
		wb->len = 0;
		return;
	}
	if (wb->p != NULL) {
		OPENSSL_cleanse(wb->p, wb->cap);
		free(wb->p);
	}
	wb->p = NULL;
	wb->len = wb->cap = 0;
}

ips_res
wbuf_reserve(struct wbuf *wb, size_t n, uint8_t **out)
{
	ENSURE(n <= wb->max && wb->len <= wb->max - n, TOOBIG);
	if (wb->len + n > wb->cap) {
		size_t ncap = wb->cap ? wb->cap : 64;
		uint8_t *np;

		while (ncap < wb->len + n)
			ncap *= 2;
		if (ncap > wb->max)
			ncap = wb->max;
		np = malloc(ncap);
		ENSURE(np != NULL, NOMEM);
		if (wb->len > 0)
			memcpy(np, wb->p, wb->len);
		if (wb->p != NULL) {
			OPENSSL_cleanse(wb->p, wb->cap);
			free(wb->p);
		}
		wb->p = np;
		wb->cap = ncap;
	}
	*out = wb->p + wb->len;
	wb->len += n;
	return IPS_OK;
}

ips_res
wbuf_bytes(struct wbuf *wb, const void *src, size_t n)
{
	uint8_t *p;

	GUARD(wbuf_reserve(wb, n, &p));
	if (n > 0)
		memcpy(p, src, n);
	return IPS_OK;
}

ips_res
wbuf_u8(struct wbuf *wb, uint8_t v)
{
	return wbuf_bytes(wb, &v, 1);
}

ips_res
wbuf_u16(struct wbuf *wb, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return wbuf_bytes(wb, b, sizeof(b));
}

ips_res
wbuf_u32(struct wbuf *wb, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v};

	return wbuf_bytes(wb, b, sizeof(b));
}

ips_res
wbuf_put_u8_at(struct wbuf *wb, size_t off, uint8_t v)
{
	ENSURE(off < wb->len, INVAL);
	wb->p[off] = v;
	return IPS_OK;
}

ips_res
wbuf_put_u16_at(struct wbuf *wb, size_t off, uint16_t v)
{
	ENSURE(off <= wb->len && wb->len - off >= 2, INVAL);
	wb->p[off] = (uint8_t)(v >> 8);
	wb->p[off + 1] = (uint8_t)v;
	return IPS_OK;
}

ips_res
wbuf_put_u32_at(struct wbuf *wb, size_t off, uint32_t v)
{
	ENSURE(off <= wb->len && wb->len - off >= 4, INVAL);
	wb->p[off] = (uint8_t)(v >> 24);
	wb->p[off + 1] = (uint8_t)(v >> 16);
	wb->p[off + 2] = (uint8_t)(v >> 8);
	wb->p[off + 3] = (uint8_t)v;
	return IPS_OK;
}
