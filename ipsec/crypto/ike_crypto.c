#include <stdlib.h>
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

/*
 * The algorithm cache.  OpenSSL 3 looks an algorithm up by name on every
 * implicit fetch, and a fresh HMAC context fetches its digest again: for
 * the twenty-odd PRF and hash calls of a handshake that cost more than the
 * hashing (docs/PERFORMANCE.md).  So the engine fetches each algorithm
 * once, keeps one HMAC context per digest (re-keyed on every call), and
 * keeps each DH group's domain parameters, from which key generation and
 * peer import copy instead of building the group again.
 */
enum { NHASH = 4, NCBC = 4, NGROUP = 6 };

struct ike_crypto {
	EVP_MD *md[NHASH];
	EVP_MAC_CTX *hmac[NHASH]; /* holds the last key's pads until reused */
	EVP_CIPHER *cbc[NCBC]; /* AES-128/192/256-CBC, 3DES-CBC */
	EVP_PKEY *group[NGROUP]; /* domain parameters */
	BIGNUM *prime[NGROUP]; /* MODP groups' p, for the peer check */
};

/* Index of a hash algorithm in the cache, or -1. */
static int
hash_index(unsigned alg)
{
	switch (alg) {
	case IKE_HASH_ALG_SHA1:
		return 0;
	case IKE_HASH_ALG_SHA256:
		return 1;
	case IKE_HASH_ALG_SHA384:
		return 2;
	case IKE_HASH_ALG_SHA512:
		return 3;
	default:
		return -1;
	}
}

static const char *const digest_names[NHASH] = {
    "SHA1", "SHA256", "SHA384", "SHA512"};
static const char *const cbc_names[NCBC] = {
    "AES-128-CBC", "AES-192-CBC", "AES-256-CBC", "DES-EDE3-CBC"};

static const unsigned groups[NGROUP] = {2, 5, 14, 15, 19, 20};

/* Index of a DH group in the cache, or -1. */
static int
group_index(unsigned group)
{
	for (int i = 0; i < NGROUP; i++)
		if (groups[i] == group)
			return i;
	return -1;
}

static EVP_PKEY *modp_params(unsigned group, BIGNUM **p);
static EVP_PKEY *ecp_params(unsigned group);

ips_res
ike_crypto_new(struct ike_crypto **out)
{
	struct ike_crypto *cx = calloc(1, sizeof(*cx));
	EVP_MAC *mac = NULL;
	bool ok = cx != NULL && (mac = EVP_MAC_fetch(NULL, "HMAC", NULL));

	for (int i = 0; ok && i < NHASH; i++) {
		OSSL_PARAM params[2] = {
		    OSSL_PARAM_construct_utf8_string(
			OSSL_MAC_PARAM_DIGEST, (char *)digest_names[i], 0),
		    OSSL_PARAM_construct_end()};

		ok = (cx->md[i] = EVP_MD_fetch(NULL, digest_names[i], NULL)) &&
		    (cx->hmac[i] = EVP_MAC_CTX_new(mac)) &&
		    OSSL(EVP_MAC_CTX_set_params(cx->hmac[i], params));
	}
	for (int i = 0; ok && i < NCBC; i++)
		ok = (cx->cbc[i] = EVP_CIPHER_fetch(NULL, cbc_names[i], NULL));
	for (int i = 0; ok && i < NGROUP; i++)
		ok = (cx->group[i] = groups[i] >= 19
			     ? ecp_params(groups[i])
			     : modp_params(groups[i], &cx->prime[i])) != NULL;
	EVP_MAC_free(mac); /* the contexts hold their own references */
	if (!ok) {
		ike_crypto_free(cx);
		BAIL(NOMEM);
	}
	*out = cx;
	return IPS_OK;
}

void
ike_crypto_free(struct ike_crypto *cx)
{
	if (cx == NULL)
		return;
	for (int i = 0; i < NHASH; i++) {
		EVP_MD_free(cx->md[i]);
		EVP_MAC_CTX_free(cx->hmac[i]); /* cleanses the pads */
	}
	for (int i = 0; i < NCBC; i++)
		EVP_CIPHER_free(cx->cbc[i]);
	for (int i = 0; i < NGROUP; i++) {
		EVP_PKEY_free(cx->group[i]);
		BN_free(cx->prime[i]);
	}
	free(cx);
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
ike_hash(struct ike_crypto *cx, unsigned alg, const struct ike_chunk *parts,
    size_t nparts, uint8_t *out)
{
	int i = hash_index(alg);
	EVP_MD_CTX *ctx;
	bool ok;

	ENSURE(i >= 0, INVAL);
	ENSURE((ctx = EVP_MD_CTX_new()) != NULL, NOMEM);
	ok = OSSL(EVP_DigestInit_ex(ctx, cx->md[i], NULL));
	for (size_t k = 0; ok && k < nparts; k++)
		ok = OSSL(EVP_DigestUpdate(ctx, parts[k].p, parts[k].len));
	ok = ok && OSSL(EVP_DigestFinal_ex(ctx, out, NULL));
	EVP_MD_CTX_free(ctx);
	return ok ? IPS_OK : IPS_ERR(INVAL);
}

ips_res
ike_prf(struct ike_crypto *cx, unsigned alg, const void *key, size_t klen,
    const struct ike_chunk *parts, size_t nparts, uint8_t *out)
{
	int i = hash_index(alg);
	size_t outl = 0;
	bool ok;

	ENSURE(i >= 0, INVAL);
	ok = OSSL(EVP_MAC_init(cx->hmac[i], key, klen, NULL));
	for (size_t k = 0; ok && k < nparts; k++)
		ok =
		    OSSL(EVP_MAC_update(cx->hmac[i], parts[k].p, parts[k].len));
	ok = ok && OSSL(EVP_MAC_final(cx->hmac[i], out, &outl, IKE_HASH_MAX));
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

/* Index of a cipher and key length in the cache, or -1. */
static int
cbc_index(unsigned alg, size_t klen)
{
	if (alg == IKE_CIPHER_3DES_CBC)
		return klen == 24 ? 3 : -1;
	if (alg != IKE_CIPHER_AES_CBC)
		return -1;
	return klen == 16 ? 0 : klen == 24 ? 1 : klen == 32 ? 2 : -1;
}

ips_res
ike_cbc(struct ike_crypto *cx, unsigned alg, bool encrypt, const uint8_t *key,
    size_t klen, const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
	int i = cbc_index(alg, klen);
	size_t block = ike_cipher_block(alg);
	EVP_CIPHER_CTX *ctx;
	int outl = 0, fin = 0;
	bool ok;

	ENSURE(i >= 0 && len % block == 0 && len <= INT32_MAX, INVAL);
	/* A context per call: freeing it wipes the key schedule. */
	ENSURE((ctx = EVP_CIPHER_CTX_new()) != NULL, NOMEM);
	ok = OSSL(EVP_CipherInit_ex2(
		 ctx, cx->cbc[i], key, iv, encrypt ? 1 : 0, NULL)) &&
	    OSSL(EVP_CIPHER_CTX_set_padding(ctx, 0)) &&
	    OSSL(EVP_CipherUpdate(ctx, out, &outl, in, (int)len)) &&
	    OSSL(EVP_CipherFinal_ex(ctx, out + outl, &fin));
	EVP_CIPHER_CTX_free(ctx);
	return ok && (size_t)(outl + fin) == len ? IPS_OK : IPS_ERR(INVAL);
}

/* ---- Diffie-Hellman --------------------------------------------------- */

struct ike_dh {
	unsigned group;
	EVP_PKEY *key; /* ours, private part included */
	const EVP_PKEY *params; /* the group's, borrowed from the cache */
	const BIGNUM *p; /* MODP only, borrowed */
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

static bool
is_ecp(unsigned group)
{
	return group == 19 || group == 20;
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

/* Domain parameters of a MODP group: p, g = 2, the exponent length. */
static EVP_PKEY *
modp_params(unsigned group, BIGNUM **pp)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *g = BN_new(), *p = modp_prime(group);

	if (bld == NULL || g == NULL || p == NULL || !BN_set_word(g, 2) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) ||
	    !OSSL_PARAM_BLD_push_int(
		bld, OSSL_PKEY_PARAM_DH_PRIV_LEN, modp_priv_bits(group)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL ||
	    !OSSL(EVP_PKEY_fromdata_init(ctx)) ||
	    !OSSL(EVP_PKEY_fromdata(
		ctx, &pkey, EVP_PKEY_KEY_PARAMETERS, params))) {
		pkey = NULL;
		BN_free(p);
		p = NULL;
	}
	*pp = p;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(g);
	return pkey;
}

/* Domain parameters of an ECP group (RFC 5903). */
static EVP_PKEY *
ecp_params(unsigned group)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;

	if (ctx == NULL || !OSSL(EVP_PKEY_paramgen_init(ctx)) ||
	    !OSSL(EVP_PKEY_CTX_set_group_name(
		ctx, group == 19 ? "P-256" : "P-384")) ||
	    !OSSL(EVP_PKEY_paramgen(ctx, &pkey)))
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

ips_res
ike_dh_new(struct ike_crypto *cx, unsigned group, struct ike_dh **out)
{
	int i = group_index(group);
	EVP_PKEY_CTX *ctx;
	struct ike_dh *dh;

	ENSURE(i >= 0, INVAL);
	ENSURE((dh = OPENSSL_zalloc(sizeof(*dh))) != NULL, NOMEM);
	dh->group = group;
	dh->params = cx->group[i];
	dh->p = cx->prime[i];
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cx->group[i], NULL);
	if (ctx == NULL || !OSSL(EVP_PKEY_keygen_init(ctx)) ||
	    !OSSL(EVP_PKEY_keygen(ctx, &dh->key))) {
		EVP_PKEY_CTX_free(ctx);
		ike_dh_free(dh);
		BAIL(NOMEM);
	}
	EVP_PKEY_CTX_free(ctx);
	*out = dh;
	return IPS_OK;
}

void
ike_dh_free(struct ike_dh *dh)
{
	if (dh == NULL)
		return;
	EVP_PKEY_free(dh->key);
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
	uint8_t pt[1 + IKE_DH_MAX];
	size_t n = 0;
	bool ecp = is_ecp(dh->group);

	ENSURE(len == want, INVAL);
	/* MODP: y, big-endian, at its own length; ECP: 0x04 | x | y, of
	 * which IKE sends x | y (RFC 5903 7). */
	if (!OSSL(EVP_PKEY_get_octet_string_param(dh->key,
		OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n)))
		BAIL(INVAL);
	if (ecp) {
		ENSURE(n == want + 1 && pt[0] == 0x04, INVAL);
		memcpy(out, pt + 1, want);
	} else {
		/* left-padded to the prime's length (RFC 2409 5) */
		ENSURE(n <= want, INVAL);
		memset(out, 0, want - n);
		memcpy(out + want - n, pt, n);
	}
	return IPS_OK;
}

/*
 * The peer's public value as a key of our group.  MODP: 1 < y < p - 1
 * (RFC 2631 2.1.5, the cheap check).  ECP: OpenSSL refuses a point that
 * is not on the curve as it decodes it.
 */
static EVP_PKEY *
peer_key(const struct ike_dh *dh, const uint8_t *peer, size_t plen)
{
	uint8_t pt[1 + IKE_DH_MAX];
	EVP_PKEY *pk;
	size_t n = plen;

	if (is_ecp(dh->group)) {
		pt[0] = 0x04;
		memcpy(pt + 1, peer, plen);
		n++;
	} else {
		BIGNUM *y = BN_bin2bn(peer, (int)plen, NULL);
		BIGNUM *pm1 = BN_dup(dh->p);
		bool ok = y != NULL && pm1 != NULL && BN_sub_word(pm1, 1) &&
		    BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, pm1) < 0;

		BN_free(y);
		BN_free(pm1);
		if (!ok)
			return NULL;
		memcpy(pt, peer, plen);
	}
	if ((pk = EVP_PKEY_dup((EVP_PKEY *)dh->params)) == NULL)
		return NULL;
	if (!OSSL(EVP_PKEY_set1_encoded_public_key(pk, pt, n))) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

ips_res
ike_dh_derive(const struct ike_dh *dh, const uint8_t *peer, size_t plen,
    uint8_t *secret, size_t *slen)
{
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx = NULL;
	size_t want = ike_dh_public_len(dh->group), n;
	bool ecp = is_ecp(dh->group), ok = false;

	ENSURE(plen == want, IKE_MALFORMED);
	if ((pk = peer_key(dh, peer, plen)) == NULL)
		BAIL(IKE_MALFORMED);
	if (ecp)
		want /= 2; /* the shared secret is x alone (RFC 5903 9) */
	n = want;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL)) != NULL &&
	    OSSL(EVP_PKEY_derive_init(ctx)) &&
	    (ecp || OSSL(EVP_PKEY_CTX_set_dh_pad(ctx, 1))) &&
	    /* the peer value was checked above */
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
