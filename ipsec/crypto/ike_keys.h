/*
 * ike_keys: the IKEv1 key schedule of RFC 2409, as functions of byte
 * strings (cx only supplies the fetched algorithms).  prf is the negotiated
 * Hash-Algorithm value: with no PRF attribute, IKEv1's PRF is HMAC with that
 * hash (RFC 2409 4).  Every output is a secret: the caller wipes it.
 */
#ifndef IPS_IKE_KEYS_H
#define IPS_IKE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"
#include "crypto/ike_crypto.h"

/* RFC 2409 5: SKEYID for pre-shared keys: prf(PSK, Ni_b | Nr_b). */
IPS_MUST_USE ips_res ike_skeyid_psk(struct ike_crypto *cx, unsigned prf,
    const uint8_t *psk, size_t psklen, const uint8_t *ni, size_t nilen,
    const uint8_t *nr, size_t nrlen, uint8_t *skeyid);
/* RFC 2409 5: SKEYID for signatures: prf(Ni_b | Nr_b, g^xy). */
IPS_MUST_USE ips_res ike_skeyid_sig(struct ike_crypto *cx, unsigned prf,
    const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
    const uint8_t *gxy, size_t gxylen, uint8_t *skeyid);

struct ike_skeyids {
	uint8_t d[IKE_HASH_MAX]; /* SKEYID_d: keys Quick Mode SAs */
	uint8_t a[IKE_HASH_MAX]; /* SKEYID_a: authenticates phase 2 */
	uint8_t e[IKE_HASH_MAX]; /* SKEYID_e: encrypts phase 1 messages */
	size_t len;
};

/*
 * RFC 2409 5: SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0),
 * SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1),
 * SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2).
 */
IPS_MUST_USE ips_res ike_skeyid_derive(struct ike_crypto *cx, unsigned prf,
    const uint8_t *skeyid, const uint8_t *gxy, size_t gxylen,
    const uint8_t cky_i[static 8], const uint8_t cky_r[static 8],
    struct ike_skeyids *out);

/*
 * RFC 2409 App B: the phase 1 cipher key.  SKEYID_e itself if long
 * enough, else K1 | K2 | ... with K1 = prf(SKEYID_e, 0) and
 * Kn = prf(SKEYID_e, Kn-1), truncated to keylen.
 */
IPS_MUST_USE ips_res ike_enc_key(struct ike_crypto *cx, unsigned prf,
    const struct ike_skeyids *s, size_t keylen, uint8_t *key);

/* RFC 2409 App B: the first phase 1 IV, hash(g^xi | g^xr), truncated. */
IPS_MUST_USE ips_res ike_iv_phase1(struct ike_crypto *cx, unsigned hash,
    const uint8_t *gxi, size_t gxilen, const uint8_t *gxr, size_t gxrlen,
    size_t block, uint8_t *iv);
/* RFC 2409 App B: a phase 2 or informational exchange's first IV,
 * hash(last phase 1 CBC block | M-ID), truncated. */
IPS_MUST_USE ips_res ike_iv_phase2(struct ike_crypto *cx, unsigned hash,
    const uint8_t *last, size_t block, uint32_t msgid, uint8_t *iv);

/*
 * RFC 2409 5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b |
 * IDii_b), and HASH_R the same with the roles swapped and IDir_b: callers
 * pass their own side's values first (gx_own, cky_own, id_own).
 */
IPS_MUST_USE ips_res ike_hash_auth(struct ike_crypto *cx, unsigned prf,
    const uint8_t *skeyid, size_t slen, const uint8_t *gx_own,
    const uint8_t *gx_peer, size_t gxlen, const uint8_t cky_own[static 8],
    const uint8_t cky_peer[static 8], const uint8_t *sai_b, size_t salen,
    const uint8_t *id_b, size_t idlen, uint8_t *out);

/*
 * RFC 2409 5.5: KEYMAT for one SA: K1 = prf(SKEYID_d, [g(qm)^xy |]
 * protocol | SPI | Ni_b | Nr_b), Kn = prf(SKEYID_d, Kn-1 | the same),
 * concatenated to need bytes.  gqm NULL (len 0) without PFS.  spi is the
 * SPI in network order, as the SA's receiver chose it.
 */
IPS_MUST_USE ips_res ike_keymat(struct ike_crypto *cx, unsigned prf,
    const struct ike_skeyids *s, const uint8_t *gqm, size_t gqmlen,
    uint8_t proto, const uint8_t spi[static 4], const uint8_t *ni, size_t nilen,
    const uint8_t *nr, size_t nrlen, size_t need, uint8_t *out);

#endif
