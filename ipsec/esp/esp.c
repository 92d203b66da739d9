#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "esp.h"
#include "wire/ike_wire.h"

#define OSSL(call) ((call) == 1)
#define GCM_SALT 4 /* RFC 4106 8.1 */
#define GCM_IV 8
#define GCM_ICV 16

struct esp_sa {
	struct esp_alg alg;
	uint32_t spi;
	bool aead;
	int enc; /* 1 outbound (seal), 0 inbound (open): the key schedule's */
	EVP_CIPHER_CTX *cipher; /* keyed once; NULL for NULL encryption */
	EVP_CIPHER_CTX *ivgen; /* CBC outbound: AES-ECB under a random key */
	EVP_MAC_CTX *mac; /* keyed once; NULL for GCM */
	uint8_t salt[GCM_SALT];
	size_t iv_len, block, icv_len;
};

/* Encryption key bytes (GCM: with its salt) and integrity key bytes. */
static size_t
enc_key_len(const struct esp_alg *a)
{
	switch (a->transform) {
	case ESP_TRANSFORM_AES_GCM_16:
		return a->keybits == 128 || a->keybits == 256
		    ? a->keybits / 8 + GCM_SALT
		    : 0;
	case ESP_TRANSFORM_AES_CBC:
		return a->keybits == 128 || a->keybits == 192 ||
			a->keybits == 256
		    ? a->keybits / 8
		    : 0;
	case ESP_TRANSFORM_3DES:
		return 24;
	default:
		return 0;
	}
}

size_t
esp_auth_key_len(unsigned auth)
{
	switch (auth) {
	case IPSEC_AUTH_HMAC_SHA:
		return 20;
	case IPSEC_AUTH_HMAC_SHA2_256:
		return 32;
	default:
		return 0;
	}
}

size_t
esp_hmac_icv_len(unsigned auth)
{
	return auth == IPSEC_AUTH_HMAC_SHA ? 12 : 16;
}

size_t
esp_key_len(const struct esp_alg *a)
{
	size_t e = enc_key_len(a), m = esp_auth_key_len(a->auth);

	if (a->transform == ESP_TRANSFORM_AES_GCM_16)
		return a->auth == 0 ? e : 0; /* its integrity is its own */
	if (m == 0) /* ESP without integrity is not offered */
		return 0;
	if (a->transform == ESP_TRANSFORM_NULL)
		return m;
	return e != 0 ? e + m : 0;
}

static const char *
cipher_name(const struct esp_alg *a)
{
	switch (a->transform) {
	case ESP_TRANSFORM_AES_GCM_16:
		return a->keybits == 128 ? "AES-128-GCM" : "AES-256-GCM";
	case ESP_TRANSFORM_AES_CBC:
		return a->keybits == 128 ? "AES-128-CBC"
		    : a->keybits == 192	 ? "AES-192-CBC"
					 : "AES-256-CBC";
	case ESP_TRANSFORM_3DES:
		return "DES-EDE3-CBC";
	default:
		return NULL;
	}
}

/* The cipher context, keyed once for the SA's direction (a CBC key
 * schedule is one way); each packet sets only its IV. */
static bool
cipher_setup(struct esp_sa *sa, const uint8_t *key, size_t klen)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher_name(&sa->alg), NULL);
	bool ok = c != NULL && (sa->cipher = EVP_CIPHER_CTX_new()) != NULL &&
	    OSSL(EVP_CipherInit_ex2(sa->cipher, c, key, NULL, sa->enc, NULL)) &&
	    OSSL(EVP_CIPHER_CTX_set_padding(sa->cipher, 0));

	if (ok && sa->aead)
		memcpy(sa->salt, key + klen - GCM_SALT, GCM_SALT);
	EVP_CIPHER_free(c);
	return ok;
}

EVP_MAC_CTX *
esp_hmac_new(unsigned auth, const uint8_t *key, size_t klen)
{
	const char *md = auth == IPSEC_AUTH_HMAC_SHA ? "SHA1" : "SHA256";
	OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(
				    OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
	    OSSL_PARAM_construct_end()};
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = m != NULL ? EVP_MAC_CTX_new(m) : NULL;

	if (ctx != NULL && !OSSL(EVP_MAC_init(ctx, key, klen, params))) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	EVP_MAC_free(m);
	return ctx;
}

/*
 * CBC IVs must be unpredictable (RFC 3602 2.3).  Rather than ask the DRBG
 * for 16 bytes per packet (most of a small packet's cost), each outbound
 * CBC SA encrypts its sequence number under a random key of its own: a
 * block cipher under a secret key is a pseudorandom permutation, so the
 * IVs are unpredictable and never repeat (NIST SP 800-38A, Appendix C).
 */
static bool
ivgen_setup(struct esp_sa *sa)
{
	uint8_t k[16];
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	bool ok = c != NULL && OSSL(RAND_bytes(k, sizeof(k))) &&
	    (sa->ivgen = EVP_CIPHER_CTX_new()) != NULL &&
	    OSSL(EVP_EncryptInit_ex2(sa->ivgen, c, k, NULL, NULL)) &&
	    OSSL(EVP_CIPHER_CTX_set_padding(sa->ivgen, 0));

	OPENSSL_cleanse(k, sizeof(k));
	EVP_CIPHER_free(c);
	return ok;
}

static bool
cbc_iv(struct esp_sa *sa, uint64_t seq, uint8_t *iv)
{
	uint8_t in[16] = {0}, out[16];
	int n = 0;

	wire_put_be32(in, (uint32_t)(seq >> 32));
	wire_put_be32(in + 4, (uint32_t)seq);
	if (!OSSL(EVP_EncryptUpdate(sa->ivgen, out, &n, in, 16)) || n != 16)
		return false;
	memcpy(iv, out, sa->iv_len);
	return true;
}

ips_res
esp_sa_new(const struct esp_alg *alg, bool outbound, uint32_t spi,
    const uint8_t *key, size_t klen, struct esp_sa **out)
{
	struct esp_sa *sa;
	size_t ek = enc_key_len(alg);
	bool ok;

	ENSURE(esp_key_len(alg) != 0 && klen == esp_key_len(alg), INVAL);
	ENSURE((sa = calloc(1, sizeof(*sa))) != NULL, NOMEM);
	sa->alg = *alg;
	sa->spi = spi;
	sa->aead = alg->transform == ESP_TRANSFORM_AES_GCM_16;
	sa->enc = outbound ? 1 : 0;
	switch (alg->transform) {
	case ESP_TRANSFORM_AES_GCM_16:
		sa->iv_len = GCM_IV;
		sa->block = 4; /* a stream: ESP's own 4-byte alignment */
		sa->icv_len = GCM_ICV;
		break;
	case ESP_TRANSFORM_NULL:
		sa->block = 4;
		break;
	default:
		sa->iv_len = sa->block =
		    alg->transform == ESP_TRANSFORM_3DES ? 8 : 16;
		break;
	}
	if (!sa->aead) /* RFC 2404 2, RFC 4868 2.3: truncated HMACs */
		sa->icv_len = esp_hmac_icv_len(alg->auth);
	ok = alg->transform == ESP_TRANSFORM_NULL ||
	    (cipher_setup(sa, key, ek) &&
		(sa->aead || !outbound || ivgen_setup(sa)));
	if (ok && !sa->aead)
		ok = (sa->mac = esp_hmac_new(alg->auth,
			  key + (alg->transform == ESP_TRANSFORM_NULL ? 0 : ek),
			  esp_auth_key_len(alg->auth))) != NULL;
	if (!ok) {
		esp_sa_free(sa);
		BAIL(NOMEM);
	}
	*out = sa;
	return IPS_OK;
}

void
esp_sa_free(struct esp_sa *sa)
{
	if (sa == NULL)
		return;
	EVP_CIPHER_CTX_free(sa->cipher);
	EVP_CIPHER_CTX_free(sa->ivgen);
	EVP_MAC_CTX_free(sa->mac);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

size_t
esp_overhead(const struct esp_sa *sa)
{
	/* the most padding is block - 1, then pad length and next header */
	return ESP_HDR_LEN + sa->iv_len + sa->block - 1 + 2 + sa->icv_len;
}

bool
esp_encrypts(const struct esp_sa *sa)
{
	return sa->alg.transform != ESP_TRANSFORM_NULL;
}

ips_res
esp_peek(const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq_lo)
{
	/*= rfc4303#section-2
	 *# SPI (4) | Sequence Number (4) | Payload Data ... */
	ENSURE(len >= ESP_HDR_LEN, SHORT);
	*spi = wire_get_be32(pkt);
	*seq_lo = wire_get_be32(pkt + 4);
	return IPS_OK;
}

/* GCM's 12-byte nonce: salt | the packet's explicit IV (RFC 4106 4). */
static void
gcm_nonce(const struct esp_sa *sa, const uint8_t *iv, uint8_t nonce[12])
{
	memcpy(nonce, sa->salt, GCM_SALT);
	memcpy(nonce + GCM_SALT, iv, GCM_IV);
}

/* GCM's AAD: the packet's SPI and sequence number as on the wire, with
 * ESN the high half between them (RFC 4106 5). */
static size_t
gcm_aad(
    const struct esp_sa *sa, const uint8_t *hdr, uint64_t seq, uint8_t aad[12])
{
	memcpy(aad, hdr, 4);
	if (!sa->alg.esn) {
		memcpy(aad + 4, hdr + 4, 4);
		return 8;
	}
	wire_put_be32(aad + 4, (uint32_t)(seq >> 32));
	memcpy(aad + 8, hdr + 4, 4);
	return 12;
}

/*
 * The HMAC ICV over the packet so far (SPI to the end of the ciphertext)
 * and, with ESN, the high half of the sequence number appended
 * (RFC 4303 3.3.2.1), truncated to icv_len.
 */
static bool
hmac_icv(const struct esp_sa *sa, const uint8_t *p, size_t len, uint64_t seq,
    uint8_t *icv)
{
	uint8_t full[32], hi[4];
	size_t n = 0;
	bool ok;

	wire_put_be32(hi, (uint32_t)(seq >> 32));
	/* NULL key: the one given at setup, its pads precomputed */
	ok = OSSL(EVP_MAC_init(sa->mac, NULL, 0, NULL)) &&
	    OSSL(EVP_MAC_update(sa->mac, p, len)) &&
	    (!sa->alg.esn || OSSL(EVP_MAC_update(sa->mac, hi, 4))) &&
	    OSSL(EVP_MAC_final(sa->mac, full, &n, sizeof(full))) &&
	    n >= sa->icv_len;
	if (ok)
		memcpy(icv, full, sa->icv_len);
	OPENSSL_cleanse(full, sizeof(full));
	return ok;
}

ips_res
esp_seal(struct esp_sa *sa, uint64_t seq, uint8_t next_header,
    const uint8_t *payload, size_t len, struct wbuf *out)
{
	size_t start = out->len, padlen, ctlen;
	uint8_t trailer[16 + 2], nonce[12], aad[12], *iv, *ct, *icv;
	int n = 0, fin = 0;
	bool ok = true;

	ENSURE(sa->enc == 1 && seq != 0 && len <= 65535, INVAL);
	/*= rfc4303#section-2.4
	 *# padding 1, 2, 3, ... so that the trailer ends on the block */
	padlen = (sa->block - (len + 2) % sa->block) % sa->block;
	for (size_t i = 0; i < padlen; i++)
		trailer[i] = (uint8_t)(i + 1);
	trailer[padlen] = (uint8_t)padlen;
	trailer[padlen + 1] = next_header;
	ctlen = len + padlen + 2;
	/* one reservation: a growing wbuf may move, pointers into it must
	 * come from the last one */
	GUARD(wbuf_reserve(
	    out, ESP_HDR_LEN + sa->iv_len + ctlen + sa->icv_len, &iv));
	wire_put_be32(iv, sa->spi);
	wire_put_be32(iv + 4, (uint32_t)seq);
	iv += ESP_HDR_LEN;
	ct = iv + sa->iv_len;
	icv = ct + ctlen;
	if (sa->aead) {
		/* RFC 4106 3.1: the IV only has to be unique per key; the
		 * sequence number is, and costs nothing */
		wire_put_be32(iv, (uint32_t)(seq >> 32));
		wire_put_be32(iv + 4, (uint32_t)seq);
		gcm_nonce(sa, iv, nonce);
		ok = OSSL(EVP_CipherInit_ex2(
			 sa->cipher, NULL, NULL, nonce, 1, NULL)) &&
		    OSSL(EVP_CipherUpdate(sa->cipher, NULL, &n, aad,
			(int)gcm_aad(sa, out->p + start, seq, aad)));
	} else if (sa->cipher != NULL) {
		ok = cbc_iv(sa, seq, iv) &&
		    OSSL(EVP_CipherInit_ex2(
			sa->cipher, NULL, NULL, iv, 1, NULL));
	}
	if (ok && sa->cipher != NULL) {
		int m = 0;

		ok = OSSL(EVP_CipherUpdate(
			 sa->cipher, ct, &n, payload, (int)len)) &&
		    OSSL(EVP_CipherUpdate(
			sa->cipher, ct + n, &m, trailer, (int)(padlen + 2))) &&
		    OSSL(EVP_CipherFinal_ex(sa->cipher, ct + n + m, &fin)) &&
		    (size_t)(n + m + fin) == ctlen;
	} else if (ok) {
		memcpy(ct, payload, len); /* RFC 2410: the identity */
		memcpy(ct + len, trailer, padlen + 2);
	}
	if (ok && sa->aead)
		ok = OSSL(EVP_CIPHER_CTX_ctrl(
		    sa->cipher, EVP_CTRL_AEAD_GET_TAG, (int)sa->icv_len, icv));
	else if (ok)
		ok = hmac_icv(sa, out->p + start,
		    ESP_HDR_LEN + sa->iv_len + ctlen, seq, icv);
	if (!ok) {
		OPENSSL_cleanse(out->p + start, out->len - start);
		out->len = start;
		BAIL(INVAL);
	}
	return IPS_OK;
}

/* The plaintext's trailer (RFC 4303 2.4-2.6): padding 1, 2, 3, ..., its
 * length, the next header.  The payload length, or -1 if malformed. */
static long
trailer_check(const uint8_t *pt, size_t len, uint8_t *next_header)
{
	size_t padlen;

	if (len < 2)
		return -1;
	padlen = pt[len - 2];
	if (padlen + 2 > len)
		return -1;
	for (size_t i = 0; i < padlen; i++)
		if (pt[len - 2 - padlen + i] != (uint8_t)(i + 1))
			return -1;
	*next_header = pt[len - 1];
	return (long)(len - 2 - padlen);
}

ips_res
esp_open(struct esp_sa *sa, uint64_t seq, const uint8_t *pkt, size_t len,
    struct wbuf *out, uint8_t *next_header)
{
	size_t start = out->len, ctlen;
	const uint8_t *iv, *ct, *icv;
	uint8_t nonce[12], aad[12], want[16], *pt;
	int n = 0, fin = 0;
	long plen;
	ips_res r = IPS_OK;

	ENSURE(sa->enc == 0, INVAL);
	ENSURE(len >= ESP_HDR_LEN + sa->iv_len + sa->icv_len + 2, SHORT);
	/* seq comes from the wire's low half (replay_infer) */
	ENSURE((uint32_t)seq == wire_get_be32(pkt + 4), INVAL);
	iv = pkt + ESP_HDR_LEN;
	ct = iv + sa->iv_len;
	ctlen = len - ESP_HDR_LEN - sa->iv_len - sa->icv_len;
	icv = ct + ctlen;
	/* Integrity first: nothing unauthenticated is decrypted (CBC) or
	 * believed (RFC 4303 3.4.4). */
	if (!sa->aead) {
		if (!hmac_icv(sa, pkt, len - sa->icv_len, seq, want))
			BAIL(INVAL);
		ENSURE(CRYPTO_memcmp(want, icv, sa->icv_len) == 0, ESP_ICV);
	}
	ENSURE(ctlen % sa->block == 0 && ctlen <= INT32_MAX, ESP_DECRYPT);
	GUARD(wbuf_reserve(out, ctlen, &pt));
	if (sa->aead) {
		gcm_nonce(sa, iv, nonce);
		if (!OSSL(EVP_CipherInit_ex2(
			sa->cipher, NULL, NULL, nonce, 0, NULL)) ||
		    !OSSL(EVP_CipherUpdate(sa->cipher, NULL, &n, aad,
			(int)gcm_aad(sa, pkt, seq, aad))) ||
		    !OSSL(
			EVP_CipherUpdate(sa->cipher, pt, &n, ct, (int)ctlen)) ||
		    !OSSL(EVP_CIPHER_CTX_ctrl(sa->cipher, EVP_CTRL_AEAD_SET_TAG,
			(int)sa->icv_len, (void *)icv)))
			r = IPS_ERR(INVAL);
		else if (!OSSL(EVP_CipherFinal_ex(sa->cipher, pt + n, &fin)))
			r = IPS_ERR(ESP_ICV); /* the tag did not verify */
	} else if (sa->cipher != NULL) {
		if (!OSSL(EVP_CipherInit_ex2(
			sa->cipher, NULL, NULL, iv, 0, NULL)) ||
		    !OSSL(
			EVP_CipherUpdate(sa->cipher, pt, &n, ct, (int)ctlen)) ||
		    !OSSL(EVP_CipherFinal_ex(sa->cipher, pt + n, &fin)))
			r = IPS_ERR(ESP_DECRYPT);
	} else {
		memcpy(pt, ct, ctlen);
	}
	if (ips_ok(r) && (plen = trailer_check(pt, ctlen, next_header)) < 0)
		r = IPS_ERR(ESP_DECRYPT);
	if (!ips_ok(r)) {
		OPENSSL_cleanse(pt, ctlen);
		out->len = start;
		return r;
	}
	out->len = start + (size_t)plen;
	return IPS_OK;
}
