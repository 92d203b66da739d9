/*
 * ike_x509: certificates for IKEv1 signature authentication (RFC 2409 5.1,
 * auth method 3).  Our certificate and key, the trust anchors a peer's
 * certificate must chain to, and IKEv1's signature form: PKCS#1 v1.5 over
 * the raw HASH_I/HASH_R, without a DigestInfo, which is what deployed
 * IKEv1 implementations sign.
 */
#ifndef IPS_IKE_X509_H
#define IPS_IKE_X509_H

#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"

struct ike_cred;

/*
 * Load our certificate (PEM), its private key (PEM; refused with
 * IPS_E_PERM if group or others may read it) and the trust anchors (PEM
 * file of CA certificates).  errbuf says what failed.
 */
IPS_MUST_USE ips_res ike_cred_load(const char *cert, const char *key,
    const char *ca, struct ike_cred **out, char *errbuf, size_t errlen);
/* Reference counted: an SA keeps what it started with across a reload.
 * ike_cred_free drops a reference; NULL is a no-op. */
struct ike_cred *ike_cred_ref(struct ike_cred *c);
void ike_cred_free(struct ike_cred *c);

/* Our certificate in DER (borrowed), for the CERT payload. */
const uint8_t *ike_cred_cert_der(const struct ike_cred *c, size_t *len);
/* Our subject name in DER (borrowed), for an ID_DER_ASN1_DN payload. */
const uint8_t *ike_cred_subject_der(const struct ike_cred *c, size_t *len);

/* Sign a HASH: out gets the RSA signature (*olen bytes, <= 512). */
IPS_MUST_USE ips_res ike_cred_sign(const struct ike_cred *c,
    const uint8_t *hash, size_t hlen, uint8_t *out, size_t *olen);

/*
 * Check a peer certificate (DER) against our trust anchors, that it names
 * the subject the peer's ID_DER_ASN1_DN claimed (DER), and that sig is
 * its signature of hash.  IPS_E_IKE_BAD_HASH for a signature that does
 * not verify, IPS_E_IKE_ID for a name that does not match,
 * IPS_E_IKE_CERT_UNTRUSTED for a certificate that does not chain.
 */
IPS_MUST_USE ips_res ike_cred_verify_peer(const struct ike_cred *c,
    const uint8_t *cert, size_t clen, const uint8_t *subject, size_t slen,
    const uint8_t *hash, size_t hlen, const uint8_t *sig, size_t siglen);

#endif
