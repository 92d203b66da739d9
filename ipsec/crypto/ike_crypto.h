/*
 * ike_crypto: the primitives IKEv1 needs, on OpenSSL 3 EVP, behind our own
 * error type.  OpenSSL's return conventions never leave this module.
 *
 * Diffie-Hellman: MODP groups 2, 5, 14, 15 (RFC 2409 6.2, RFC 3526) and
 * ECP groups 19, 20 (RFC 5903).  Public values are in IKE's wire form: a
 * MODP value big-endian, left-padded to the prime's length; an ECP point
 * as x | y.  The shared secret g^xy is padded the same way (MODP) or is
 * the x coordinate (ECP, RFC 5903 9).
 *
 * Secrets handed out by this module live in caller-owned buffers; callers
 * wipe them (OPENSSL_cleanse) when done.  DH private keys are freed by
 * OpenSSL, which clears them.
 */
#ifndef IPS_IKE_CRYPTO_H
#define IPS_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"

#define IKE_DH_MAX 384 /* MODP-3072 */
#define IKE_HASH_MAX 64 /* SHA-512 */
#define IKE_BLOCK_MAX 16 /* AES */
#define IKE_KEY_MAX 32 /* AES-256 */

/*
 * The algorithms fetched once, for an engine's lifetime: every function
 * below that computes takes it.  One thread at a time (the PRF reuses a
 * context per digest).
 */
struct ike_crypto;

IPS_MUST_USE ips_res ike_crypto_new(struct ike_crypto **out);
void ike_crypto_free(struct ike_crypto *cx);

/* Hash algorithms, by the RFC 2409 App A Hash-Algorithm value. */
enum ike_hash_alg {
	IKE_HASH_ALG_SHA1 = 2,
	IKE_HASH_ALG_SHA256 = 4,
	IKE_HASH_ALG_SHA384 = 5,
	IKE_HASH_ALG_SHA512 = 6,
};

/* Output length of a hash, or 0 if it is not one we implement. */
size_t ike_hash_len(unsigned alg);

/* One piece of a PRF or hash input; inputs are concatenations. */
struct ike_chunk {
	const void *p;
	size_t len;
};

/* out = hash(parts...), ike_hash_len(alg) bytes. */
IPS_MUST_USE ips_res ike_hash(struct ike_crypto *cx, unsigned alg,
    const struct ike_chunk *parts, size_t nparts, uint8_t *out);
/* out = HMAC-alg(key, parts...), the PRF of RFC 2409 (no PRF attribute). */
IPS_MUST_USE ips_res ike_prf(struct ike_crypto *cx, unsigned alg,
    const void *key, size_t klen, const struct ike_chunk *parts, size_t nparts,
    uint8_t *out);

/* Ciphers, by the RFC 2409 App A Encryption-Algorithm value. */
enum ike_cipher_alg {
	IKE_CIPHER_3DES_CBC = 5,
	IKE_CIPHER_AES_CBC = 7,
};

/* Block length, or 0; key length in bytes for a key length in bits (0 for
 * the algorithm's only size), or 0 if unsupported. */
size_t ike_cipher_block(unsigned alg);
size_t ike_cipher_keylen(unsigned alg, unsigned keybits);

/*
 * CBC without padding (IKE pads itself): len must be a multiple of the
 * block.  in and out may be the same buffer.
 */
IPS_MUST_USE ips_res ike_cbc(struct ike_crypto *cx, unsigned alg, bool encrypt,
    const uint8_t *key, size_t klen, const uint8_t *iv, const uint8_t *in,
    size_t len, uint8_t *out);

struct ike_dh;

/* The public value length of a group, or 0 if we do not implement it. */
size_t ike_dh_public_len(unsigned group);
/* A fresh key pair for a group; it borrows the group's parameters from
 * cx, which must outlive it. */
IPS_MUST_USE ips_res ike_dh_new(
    struct ike_crypto *cx, unsigned group, struct ike_dh **out);
void ike_dh_free(struct ike_dh *dh);
unsigned ike_dh_group(const struct ike_dh *dh);
/* Our public value (ike_dh_public_len bytes). */
IPS_MUST_USE ips_res ike_dh_public(
    const struct ike_dh *dh, uint8_t *out, size_t len);
/*
 * g^xy from the peer's public value.  The peer value is checked cheaply
 * (MODP: 1 < y < p-1; ECP: on the curve), which with the safe-prime groups
 * is what the protocol needs; OpenSSL's full check would cost 4x
 * (docs/LIMITS).  IPS_E_IKE_MALFORMED for a bad peer value.
 */
IPS_MUST_USE ips_res ike_dh_derive(const struct ike_dh *dh, const uint8_t *peer,
    size_t plen, uint8_t *secret, size_t *slen);

/* Fill out with n cryptographically random bytes. */
IPS_MUST_USE ips_res ike_random(void *out, size_t n);

/* Constant-time equality of two n-byte strings. */
bool ike_ct_equal(const void *a, const void *b, size_t n);

#endif
