/*
 * ike_x509: certificates for IKEv1 signature authentication (RFC 2409 5.1,
 * auth method 3).  Our certificate (with any intermediates to send) and
 * key, the trust anchors and revocation lists a peer's certificate is
 * checked against, and IKEv1's signature form: PKCS#1 v1.5 over the raw
 * HASH_I/HASH_R, without a DigestInfo, which is what deployed IKEv1
 * implementations sign.
 */
#ifndef IPS_IKE_X509_H
#define IPS_IKE_X509_H

#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"

/* How revocation lists are used (the strongcrlcheck levels of Windows). */
enum ike_crl_check {
	IKE_CRL_NONE, /* 0: not consulted */
	IKE_CRL_REVOKED, /* 1: refuse a revoked certificate; a missing or
			    stale list is no reason to refuse */
	IKE_CRL_STRICT, /* 2: refuse unless a valid list shows it is not
			   revoked, for every certificate of the chain */
};

struct ike_cred_opts {
	const char *ca; /* PEM trust anchors (required) */
	const char *crl; /* PEM CRLs; NULL or "" for none */
	enum ike_crl_check crl_check;
	/* The subject a peer's certificate must have, as "O=x, CN=y" (first
	 * RDN first); NULL or "" accepts any the anchors vouch for. */
	const char *peer_dn;
};

struct ike_cred;

/*
 * Load our certificate (PEM; certificates after the first in the file are
 * intermediates we send along), its private key (PEM; refused with
 * IPS_E_PERM if group or others may read it), and what peers are checked
 * against.  errbuf says what failed.
 */
IPS_MUST_USE ips_res ike_cred_load(const char *cert, const char *key,
    const struct ike_cred_opts *opts, struct ike_cred **out, char *errbuf,
    size_t errlen);
/* Reference counted: an SA keeps what it started with across a reload.
 * ike_cred_free drops a reference; NULL is a no-op. */
struct ike_cred *ike_cred_ref(struct ike_cred *c);
void ike_cred_free(struct ike_cred *c);

/* Certificate i in DER (borrowed), for CERT payloads: 0 is ours, then the
 * intermediates; NULL past the end. */
const uint8_t *ike_cred_cert_der(
    const struct ike_cred *c, size_t i, size_t *len);
/* Our subject name in DER (borrowed), for an ID_DER_ASN1_DN payload. */
const uint8_t *ike_cred_subject_der(const struct ike_cred *c, size_t *len);

/* Sign a HASH: out gets the RSA signature (*olen bytes, <= 512). */
IPS_MUST_USE ips_res ike_cred_sign(const struct ike_cred *c,
    const uint8_t *hash, size_t hlen, uint8_t *out, size_t *olen);

/* What kind of identity a peer's ID payload claims (RFC 2407 4.6.2.1). */
enum ike_peer_id_kind {
	IKE_PEER_ID_DN, /* ID_DER_ASN1_DN: the subject */
	IKE_PEER_ID_FQDN, /* a dNSName subjectAltName */
	IKE_PEER_ID_EMAIL, /* ID_USER_FQDN: an rfc822Name */
	IKE_PEER_ID_IP, /* ID_IPV4_ADDR/ID_IPV6_ADDR (raw bytes): iPAddress */
};

/*
 * A distinguished name as an operator writes it, "O=example, CN=gw" (first
 * RDN first, a backslash escapes a comma), in DER: into der, at most max
 * bytes, *len set.  IPS_E_CONFIG if it is not a DN, IPS_E_TOOBIG if the
 * DER would not fit.
 */
IPS_MUST_USE ips_res ike_dn_parse(
    const char *text, uint8_t *der, size_t max, size_t *len);

/* A DER distinguished name as "O=x, CN=y" (first RDN first, escaped as
 * RFC 4514 says); "" if it does not parse.  buf is always terminated. */
void ike_dn_text(const uint8_t *der, size_t len, char *buf, size_t buflen);

/* A certificate as received (DER, borrowed). */
struct ike_der {
	const uint8_t *p;
	size_t len;
};

/*
 * Check a peer: its certificate certs[0] chains to our anchors (through
 * certs[1..n-1] if it sent intermediates) and passes the CRL check; it
 * names the identity of the peer's ID payload (a DN as its subject, an
 * FQDN, e-mail address or IP address among its subjectAltNames); it is the peer
 * the rule expects, if the rule names one; and sig is its signature of hash.
 *
 * IPS_E_IKE_CERT_UNTRUSTED (no chain), IPS_E_IKE_CERT_REVOKED,
 * IPS_E_IKE_ID (the certificate does not name that identity),
 * IPS_E_IKE_PEER_UNEXPECTED, IPS_E_IKE_BAD_HASH (signature).  why gets a
 * sentence for the log.
 */
IPS_MUST_USE ips_res ike_cred_verify_peer(const struct ike_cred *c,
    const struct ike_der *certs, size_t n, enum ike_peer_id_kind id_kind,
    const uint8_t *id, size_t idlen, const uint8_t *hash, size_t hlen,
    const uint8_t *sig, size_t siglen, char *why, size_t whylen);

#endif
