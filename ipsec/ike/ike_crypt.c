/* Phase 1 message encryption, with the CBC IV chain of RFC 2409 App B. */
#include <string.h>

#include <openssl/crypto.h>

#include "ike_int.h"

ips_res
ike_crypt_encrypt(struct ike_sa *sa, struct wbuf *wb, uint8_t *iv)
{
	size_t body = wb->len - ISAKMP_HDR_LEN;
	size_t pad = (sa->block - body % sa->block) % sa->block;
	uint8_t *p;

	ENSURE(sa->keyed && wb->len >= ISAKMP_HDR_LEN, INVAL);
	ike_trace_message(
	    sa->ike, "payloads, before encryption", wb->p, wb->len, false);
	/* RFC 2409 5.3: pad the body to the block; zeros, which every
	 * peer's payload chain ends before. */
	if (pad > 0) {
		GUARD(wbuf_reserve(wb, pad, &p));
		memset(p, 0, pad);
	}
	body += pad;
	GUARD(ike_cbc(sa->ike->cx, sa->chosen.encr, true, sa->ka, sa->kalen, iv,
	    wb->p + ISAKMP_HDR_LEN, body, wb->p + ISAKMP_HDR_LEN));
	memcpy(iv, wb->p + wb->len - sa->block, sa->block);
	wb->p[19] |= ISAKMP_FLAG_E;
	return wbuf_put_u32_at(wb, 24, (uint32_t)wb->len);
}

ips_res
ike_crypt_decrypt(const struct ike_sa *sa, const uint8_t *iv,
    const uint8_t *body, size_t len, uint8_t *out, uint8_t *next_iv)
{
	ENSURE(sa->keyed && len > 0 && len % sa->block == 0, IKE_DECRYPT);
	memcpy(next_iv, body + len - sa->block, sa->block);
	if (!ips_ok(ike_cbc(sa->ike->cx, sa->chosen.encr, false, sa->ka,
		sa->kalen, iv, body, len, out)))
		BAIL(IKE_DECRYPT);
	return IPS_OK;
}
