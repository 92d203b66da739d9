#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "ike_crypto.h"

/* OpenSSL's "1 means success" ends here. */
#define OSSL(call) ((call) == 1)

static const char *
digest_name(unsigned alg)
{
	switch (alg) {
	case IKE_HASH_ALG_SHA1:
		return "SHA1";
	case IKE_HASH_ALG_SHA256:
		return "SHA256";
	case IKE_HASH_ALG_SHA384:
		return "SHA384";
	case IKE_HASH_ALG_SHA512:
		return "SHA512";
	default:
		return NULL;
	}
}

size_t
ike_hash_len(unsigned alg)
{
	switch (alg) {
	case IKE_HASH_ALG_SHA1:
		return 20;
	case IKE_HASH_ALG_SHA256:
		return 32;
	case IKE_HASH_ALG_SHA384:
		return 48;
	case IKE_HASH_ALG_SHA512:
		return 64;
	default:
		return 0;
	}
}

ips_res
ike_hash(
    unsigned alg, const struct ike_chunk *parts, size_t nparts, uint8_t *out)
{
	const char *name = digest_name(alg);
	EVP_MD_CTX *ctx;
	EVP_MD *md;
	bool ok;

	ENSURE(name != NULL, INVAL);
	if ((md = EVP_MD_fetch(NULL, name, NULL)) == NULL)
		BAIL(NOMEM);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		EVP_MD_free(md);
		BAIL(NOMEM);
	}
	ok = OSSL(EVP_DigestInit_ex(ctx, md, NULL));
	for (size_t i = 0; ok && i < nparts; i++)
		ok = OSSL(EVP_DigestUpdate(ctx, parts[i].p, parts[i].len));
	ok = ok && OSSL(EVP_DigestFinal_ex(ctx, out, NULL));
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return ok ? IPS_OK : IPS_ERR(INVAL);
}

ips_res
ike_prf(unsigned alg, const void *key, size_t klen,
    const struct ike_chunk *parts, size_t nparts, uint8_t *out)
{
	const char *name = digest_name(alg);
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	EVP_MAC *mac;
	size_t outl = 0;
	bool ok;

	ENSURE(name != NULL, INVAL);
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		BAIL(NOMEM);
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL) {
		EVP_MAC_free(mac);
		BAIL(NOMEM);
	}
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)name, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = OSSL(EVP_MAC_init(ctx, key, klen, params));
	for (size_t i = 0; ok && i < nparts; i++)
		ok = OSSL(EVP_MAC_update(ctx, parts[i].p, parts[i].len));
	ok = ok && OSSL(EVP_MAC_final(ctx, out, &outl, IKE_HASH_MAX));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok && outl == ike_hash_len(alg) ? IPS_OK : IPS_ERR(INVAL);
}

size_t
ike_cipher_block(unsigned alg)
{
	switch (alg) {
	case IKE_CIPHER_AES_CBC:
		return 16;
	case IKE_CIPHER_3DES_CBC:
		return 8;
	default:
		return 0;
	}
}

size_t
ike_cipher_keylen(unsigned alg, unsigned keybits)
{
	switch (alg) {
	case IKE_CIPHER_AES_CBC:
		/* RFC 3602: Key-Length is mandatory for AES */
		return keybits == 128 || keybits == 192 || keybits == 256
		    ? keybits / 8
		    : 0;
	case IKE_CIPHER_3DES_CBC:
		return keybits == 0 || keybits == 192 ? 24 : 0;
	default:
		return 0;
	}
}

static const char *
cipher_name(unsigned alg, size_t klen)
{
	if (alg == IKE_CIPHER_3DES_CBC && klen == 24)
		return "DES-EDE3-CBC";
	if (alg != IKE_CIPHER_AES_CBC)
		return NULL;
	switch (klen) {
	case 16:
		return "AES-128-CBC";
	case 24:
		return "AES-192-CBC";
	case 32:
		return "AES-256-CBC";
	default:
		return NULL;
	}
}

ips_res
ike_cbc(unsigned alg, bool encrypt, const uint8_t *key, size_t klen,
    const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
	const char *name = cipher_name(alg, klen);
	size_t block = ike_cipher_block(alg);
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *c;
	int outl = 0, fin = 0;
	bool ok;

	ENSURE(name != NULL && len % block == 0 && len <= INT32_MAX, INVAL);
	if ((c = EVP_CIPHER_fetch(NULL, name, NULL)) == NULL)
		BAIL(NOMEM);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		EVP_CIPHER_free(c);
		BAIL(NOMEM);
	}
	ok = OSSL(EVP_CipherInit_ex2(ctx, c, key, iv, encrypt ? 1 : 0, NULL)) &&
	    OSSL(EVP_CIPHER_CTX_set_padding(ctx, 0)) &&
	    OSSL(EVP_CipherUpdate(ctx, out, &outl, in, (int)len)) &&
	    OSSL(EVP_CipherFinal_ex(ctx, out + outl, &fin));
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return ok && (size_t)(outl + fin) == len ? IPS_OK : IPS_ERR(INVAL);
}

/* ---- Diffie-Hellman --------------------------------------------------- */

struct ike_dh {
	unsigned group;
	EVP_PKEY *key; /* ours, private part included */
	BIGNUM *p; /* MODP only */
};

/* The group's prime (MODP), from libcrypto's own copies of the RFC
 * constants. */
static BIGNUM *
modp_prime(unsigned group)
{
	switch (group) {
	case 2:
		return BN_get_rfc2409_prime_1024(NULL);
	case 5:
		return BN_get_rfc3526_prime_1536(NULL);
	case 14:
		return BN_get_rfc3526_prime_2048(NULL);
	case 15:
		return BN_get_rfc3526_prime_3072(NULL);
	default:
		return NULL;
	}
}

static const char *
ecp_curve(unsigned group)
{
	switch (group) {
	case 19:
		return "P-256";
	case 20:
		return "P-384";
	default:
		return NULL;
	}
}

size_t
ike_dh_public_len(unsigned group)
{
	switch (group) {
	case 2:
		return 128;
	case 5:
		return 192;
	case 14:
		return 256;
	case 15:
		return 384;
	case 19:
		return 64;
	case 20:
		return 96;
	default:
		return 0;
	}
}

/* Private exponent bits for a MODP group: twice the group's strength
 * (RFC 3526 8), which keeps key generation at the DH floor rather than
 * the 4x of a full-length exponent. */
static int
modp_priv_bits(unsigned group)
{
	switch (group) {
	case 2:
		return 160;
	case 5:
		return 192;
	case 14:
		return 224;
	default:
		return 256;
	}
}

/* An EVP_PKEY for MODP parameters p, g=2, with pub (public key) if not
 * NULL. */
static EVP_PKEY *
modp_pkey(const BIGNUM *p, const BIGNUM *pub, int priv_bits)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *g = BN_new();

	if (bld == NULL || g == NULL || !BN_set_word(g, 2) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) ||
	    (pub != NULL &&
		!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, pub)) ||
	    (priv_bits > 0 &&
		!OSSL_PARAM_BLD_push_int(
		    bld, OSSL_PKEY_PARAM_DH_PRIV_LEN, priv_bits)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL ||
	    !OSSL(EVP_PKEY_fromdata_init(ctx)) ||
	    !OSSL(EVP_PKEY_fromdata(ctx, &pkey,
		pub != NULL ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS,
		params)))
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(g);
	return pkey;
}

static EVP_PKEY *
keygen(EVP_PKEY *params_key, const char *curve)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;

	if (curve != NULL)
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	else
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, params_key, NULL);
	if (ctx == NULL)
		return NULL;
	if (!OSSL(EVP_PKEY_keygen_init(ctx)) ||
	    (curve != NULL && !OSSL(EVP_PKEY_CTX_set_group_name(ctx, curve))) ||
	    !OSSL(EVP_PKEY_keygen(ctx, &key)))
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

ips_res
ike_dh_new(unsigned group, struct ike_dh **out)
{
	struct ike_dh *dh;
	EVP_PKEY *params;

	ENSURE(ike_dh_public_len(group) != 0, INVAL);
	ENSURE((dh = OPENSSL_zalloc(sizeof(*dh))) != NULL, NOMEM);
	dh->group = group;
	if (ecp_curve(group) != NULL) {
		dh->key = keygen(NULL, ecp_curve(group));
	} else {
		dh->p = modp_prime(group);
		params = dh->p ? modp_pkey(dh->p, NULL, modp_priv_bits(group))
			       : NULL;
		dh->key = params ? keygen(params, NULL) : NULL;
		EVP_PKEY_free(params);
	}
	if (dh->key == NULL) {
		ike_dh_free(dh);
		BAIL(NOMEM);
	}
	*out = dh;
	return IPS_OK;
}

void
ike_dh_free(struct ike_dh *dh)
{
	if (dh == NULL)
		return;
	EVP_PKEY_free(dh->key);
	BN_free(dh->p);
	OPENSSL_free(dh);
}

unsigned
ike_dh_group(const struct ike_dh *dh)
{
	return dh->group;
}

ips_res
ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t len)
{
	size_t want = ike_dh_public_len(dh->group);

	ENSURE(len == want, INVAL);
	if (ecp_curve(dh->group) != NULL) {
		uint8_t pt[1 + 2 * 48];
		size_t n = 0;

		/* 0x04 | x | y, and IKE sends x | y (RFC 5903 7) */
		if (!OSSL(EVP_PKEY_get_octet_string_param(dh->key,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
			&n)) ||
		    n != want + 1 || pt[0] != 0x04)
			BAIL(INVAL);
		memcpy(out, pt + 1, want);
		return IPS_OK;
	} else {
		BIGNUM *pub = NULL;
		bool ok;

		if (!OSSL(EVP_PKEY_get_bn_param(
			dh->key, OSSL_PKEY_PARAM_PUB_KEY, &pub)))
			BAIL(INVAL);
		ok = BN_bn2binpad(pub, out, (int)want) == (int)want;
		BN_free(pub);
		return ok ? IPS_OK : IPS_ERR(INVAL);
	}
}

static EVP_PKEY *
ecp_peer(const char *curve, const uint8_t *peer, size_t plen)
{
	uint8_t pt[1 + 2 * 48];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;

	pt[0] = 0x04;
	memcpy(pt + 1, peer, plen);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, plen + 1);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		return NULL;
	if (!OSSL(EVP_PKEY_fromdata_init(ctx)) ||
	    !OSSL(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params)))
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

ips_res
ike_dh_derive(const struct ike_dh *dh, const uint8_t *peer, size_t plen,
    uint8_t *secret, size_t *slen)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t want = ike_dh_public_len(dh->group), n;
	const char *curve = ecp_curve(dh->group);
	bool ok = false;

	ENSURE(plen == want, IKE_MALFORMED);
	if (curve != NULL) {
		pk = ecp_peer(curve, peer, plen);
		want /= 2; /* the shared secret is x alone */
	} else {
		BIGNUM *y = BN_bin2bn(peer, (int)plen, NULL);
		BIGNUM *pm1 = BN_dup(dh->p);

		/* 1 < y < p - 1 (RFC 2631 2.1.5, the cheap check) */
		if (y != NULL && pm1 != NULL && BN_sub_word(pm1, 1) &&
		    BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, pm1) < 0)
			pk = modp_pkey(dh->p, y, 0);
		BN_free(y);
		BN_free(pm1);
	}
	if (pk == NULL)
		BAIL(IKE_MALFORMED);
	n = want;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL)) != NULL &&
	    OSSL(EVP_PKEY_derive_init(ctx)) &&
	    (curve != NULL || OSSL(EVP_PKEY_CTX_set_dh_pad(ctx, 1))) &&
	    /* an EC point is checked on import; MODP was checked above */
	    OSSL(EVP_PKEY_derive_set_peer_ex(ctx, pk, 0)) &&
	    OSSL(EVP_PKEY_derive(ctx, secret, &n)) && n == want)
		ok = true;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	if (!ok) {
		OPENSSL_cleanse(secret, want);
		BAIL(IKE_MALFORMED);
	}
	*slen = n;
	return IPS_OK;
}

ips_res
ike_random(void *out, size_t n)
{
	ENSURE(n <= INT32_MAX && OSSL(RAND_bytes(out, (int)n)), NOMEM);
	return IPS_OK;
}

bool
ike_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
