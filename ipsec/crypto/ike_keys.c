#include <string.h>

#include <openssl/crypto.h>

#include "ike_keys.h"

#define NCHUNK(a) (sizeof(a) / sizeof((a)[0]))

ips_res
ike_skeyid_psk(struct ike_crypto *cx, unsigned prf, const uint8_t *psk,
    size_t psklen, const uint8_t *ni, size_t nilen, const uint8_t *nr,
    size_t nrlen, uint8_t *skeyid)
{
	const struct ike_chunk in[] = {{ni, nilen}, {nr, nrlen}};

	return ike_prf(cx, prf, psk, psklen, in, NCHUNK(in), skeyid);
}

ips_res
ike_skeyid_sig(struct ike_crypto *cx, unsigned prf, const uint8_t *ni,
    size_t nilen, const uint8_t *nr, size_t nrlen, const uint8_t *gxy,
    size_t gxylen, uint8_t *skeyid)
{
	uint8_t key[2 * 256];
	const struct ike_chunk in[] = {{gxy, gxylen}};
	ips_res r;

	ENSURE(nilen <= 256 && nrlen <= 256, INVAL);
	memcpy(key, ni, nilen);
	memcpy(key + nilen, nr, nrlen);
	r = ike_prf(cx, prf, key, nilen + nrlen, in, NCHUNK(in), skeyid);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

ips_res
ike_skeyid_derive(struct ike_crypto *cx, unsigned prf, const uint8_t *skeyid,
    const uint8_t *gxy, size_t gxylen, const uint8_t cky_i[static 8],
    const uint8_t cky_r[static 8], struct ike_skeyids *out)
{
	static const uint8_t zero = 0, one = 1, two = 2;
	size_t len = ike_hash_len(prf);
	struct ike_skeyids t;
	ips_res r;

	ENSURE(len != 0, INVAL);
	t.len = len;
	{
		const struct ike_chunk d[] = {
		    {gxy, gxylen}, {cky_i, 8}, {cky_r, 8}, {&zero, 1}};

		r = ike_prf(cx, prf, skeyid, len, d, NCHUNK(d), t.d);
	}
	if (ips_ok(r)) {
		const struct ike_chunk a[] = {{t.d, len}, {gxy, gxylen},
		    {cky_i, 8}, {cky_r, 8}, {&one, 1}};

		r = ike_prf(cx, prf, skeyid, len, a, NCHUNK(a), t.a);
	}
	if (ips_ok(r)) {
		const struct ike_chunk e[] = {{t.a, len}, {gxy, gxylen},
		    {cky_i, 8}, {cky_r, 8}, {&two, 1}};

		r = ike_prf(cx, prf, skeyid, len, e, NCHUNK(e), t.e);
	}
	if (ips_ok(r))
		*out = t;
	OPENSSL_cleanse(&t, sizeof(t));
	return r;
}

ips_res
ike_enc_key(struct ike_crypto *cx, unsigned prf, const struct ike_skeyids *s,
    size_t keylen, uint8_t *key)
{
	static const uint8_t zero = 0;
	uint8_t k[IKE_HASH_MAX];
	size_t have = 0;
	ips_res r = IPS_OK;

	ENSURE(keylen <= IKE_KEY_MAX, INVAL);
	if (s->len >= keylen) {
		memcpy(key, s->e, keylen);
		return IPS_OK;
	}
	/* K1 = prf(SKEYID_e, 0); Kn = prf(SKEYID_e, Kn-1) */
	{
		const struct ike_chunk in[] = {{&zero, 1}};

		r = ike_prf(cx, prf, s->e, s->len, in, 1, k);
	}
	while (ips_ok(r)) {
		size_t n = keylen - have < s->len ? keylen - have : s->len;
		const struct ike_chunk in[] = {{k, s->len}};

		memcpy(key + have, k, n);
		have += n;
		if (have == keylen)
			break;
		r = ike_prf(cx, prf, s->e, s->len, in, 1, k);
	}
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}

ips_res
ike_iv_phase1(struct ike_crypto *cx, unsigned hash, const uint8_t *gxi,
    size_t gxilen, const uint8_t *gxr, size_t gxrlen, size_t block, uint8_t *iv)
{
	const struct ike_chunk in[] = {{gxi, gxilen}, {gxr, gxrlen}};
	uint8_t h[IKE_HASH_MAX];

	ENSURE(block <= ike_hash_len(hash), INVAL);
	GUARD(ike_hash(cx, hash, in, NCHUNK(in), h));
	memcpy(iv, h, block);
	return IPS_OK;
}

ips_res
ike_iv_phase2(struct ike_crypto *cx, unsigned hash, const uint8_t *last,
    size_t block, uint32_t msgid, uint8_t *iv)
{
	const uint8_t mid[4] = {(uint8_t)(msgid >> 24), (uint8_t)(msgid >> 16),
	    (uint8_t)(msgid >> 8), (uint8_t)msgid};
	const struct ike_chunk in[] = {{last, block}, {mid, 4}};
	uint8_t h[IKE_HASH_MAX];

	ENSURE(block <= ike_hash_len(hash), INVAL);
	GUARD(ike_hash(cx, hash, in, NCHUNK(in), h));
	memcpy(iv, h, block);
	return IPS_OK;
}

ips_res
ike_hash_auth(struct ike_crypto *cx, unsigned prf, const uint8_t *skeyid,
    size_t slen, const uint8_t *gx_own, const uint8_t *gx_peer, size_t gxlen,
    const uint8_t cky_own[static 8], const uint8_t cky_peer[static 8],
    const uint8_t *sai_b, size_t salen, const uint8_t *id_b, size_t idlen,
    uint8_t *out)
{
	const struct ike_chunk in[] = {{gx_own, gxlen}, {gx_peer, gxlen},
	    {cky_own, 8}, {cky_peer, 8}, {sai_b, salen}, {id_b, idlen}};

	return ike_prf(cx, prf, skeyid, slen, in, NCHUNK(in), out);
}

ips_res
ike_keymat(struct ike_crypto *cx, unsigned prf, const struct ike_skeyids *s,
    const uint8_t *gqm, size_t gqmlen, uint8_t proto,
    const uint8_t spi[static 4], const uint8_t *ni, size_t nilen,
    const uint8_t *nr, size_t nrlen, size_t need, uint8_t *out)
{
	uint8_t k[IKE_HASH_MAX];
	size_t have = 0;
	bool first = true;
	ips_res r = IPS_OK;

	while (have < need && ips_ok(r)) {
		/* K1 has no previous block; the parts list skips it. */
		const struct ike_chunk in[] = {{k, first ? 0 : s->len},
		    {gqm, gqmlen}, {&proto, 1}, {spi, 4}, {ni, nilen},
		    {nr, nrlen}};
		size_t n;

		r = ike_prf(cx, prf, s->d, s->len, in, NCHUNK(in), k);
		n = need - have < s->len ? need - have : s->len;
		if (ips_ok(r))
			memcpy(out + have, k, n);
		have += n;
		first = false;
	}
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}
