/*
 * proposal: turning policy offers into SA payloads and back (RFC 2409 5
 * and App A for phase 1).
 *
 * IKEv1 carries the authentication method inside each phase 1 transform,
 * so the offer list is every Main Mode offer of the IKE policy crossed with
 * every authentication method of the rule, offers first (policy order).
 */
#ifndef IPS_PROPOSAL_H
#define IPS_PROPOSAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"
#include "spd/policy.h"
#include "wire/isakmp.h"

/* One phase 1 transform, in wire values (RFC 2409 App A). */
struct ike_mm_choice {
	uint8_t tnum; /* transform number, echoed in the reply */
	unsigned encr; /* IKE_ENCR_* */
	unsigned keybits; /* 0 when the cipher has one size */
	unsigned hash; /* IKE_HASH_* */
	unsigned group; /* DH group */
	unsigned auth; /* IKE_AUTH_* */
	uint32_t life_s; /* as offered; 0 if none was */
	uint32_t our_life_s; /* our policy's lifetime for this offer */
	uint32_t qm_limit;
};

/* Why no transform was chosen, for the notify and the operator. */
/* Why no proposal was chosen: the attribute of the closest transform that
 * kept it out (for audit event 546), and a sentence for the log. */
struct ike_mm_mismatch {
	char attribute[32]; /* "dh-group"; "" if no transform came close */
	char expected[48], received[48];
	char what[160]; /* e.g. "dh-group: offered 2, expected 14" */
};

/* Our offer list in wire values (at most max); certificate methods only
 * when we can sign (have a certificate and key for the rule). */
size_t ike_mm_offers(const struct pol_ike_policy *ip,
    const struct pol_auth *auth, size_t nauth, bool can_sign,
    struct ike_mm_choice *out, size_t max);

/* Write an SA payload body (into an open SA payload) for offers. */
IPS_MUST_USE ips_res ike_mm_sa_write(
    struct wbuf *wb, const struct ike_mm_choice *offers, size_t n);

/*
 * Responder: the first peer transform, in the peer's order, that equals
 * one of our offers in cipher, key length, hash, group and authentication
 * method (lifetimes are not negotiated: the shorter one applies).  Fails
 * with IPS_E_IKE_NO_PROPOSAL and says which attribute
 * kept the closest transform out; structural errors keep their own codes.
 */
IPS_MUST_USE ips_res ike_mm_sa_select(const struct isakmp_sa *peer,
    const struct ike_mm_choice *offers, size_t n, struct ike_mm_choice *out,
    struct ike_mm_mismatch *why);

/* Initiator: the responder's SA must hold one proposal with exactly one
 * transform, and it must be one we offered. */
IPS_MUST_USE ips_res ike_mm_sa_accept(const struct isakmp_sa *resp,
    const struct ike_mm_choice *offers, size_t n, struct ike_mm_choice *out);

/* The lifetime an SA gets: the shorter of offered and ours. */
uint32_t ike_mm_lifetime(const struct ike_mm_choice *c);

/* One Quick Mode transform (RFC 2407 4.4 and 4.5), in wire values. */
struct ike_qm_choice {
	uint8_t pnum; /* proposal number */
	uint8_t tnum;
	uint8_t proto; /* ISAKMP_PROTO_ESP or _AH */
	uint8_t transform; /* ESP_TRANSFORM_* / AH_TRANSFORM_* */
	unsigned keybits; /* 0: none (3DES, NULL, AH) */
	unsigned auth; /* IPSEC_AUTH_*, 0 for AEAD */
	unsigned group; /* PFS group, 0 = none */
	uint16_t encap; /* IPSEC_ENCAP_* */
	uint32_t life_s; /* as offered (0 = none) */
	uint64_t life_kb;
	uint32_t our_life_s;
	uint64_t our_life_kb;
	bool esn; /* RFC 4304: 64-bit sequence numbers */
	unsigned our_replay; /* our anti-replay window (not negotiated) */
};

/*
 * Our Quick Mode offers from a negotiation policy, for an encapsulation
 * mode.  XXX(issue 3): AH+ESP bundles (two protocols in one proposal) are
 * not offered yet; such offers are skipped.
 */
size_t ike_qm_offers(const struct pol_neg_policy *np, uint16_t encap,
    struct ike_qm_choice *out, size_t max);
/* An SA payload body: one proposal per offer, all with our SPI. */
IPS_MUST_USE ips_res ike_qm_sa_write(struct wbuf *wb,
    const struct ike_qm_choice *offers, size_t n, uint32_t spi);
/* Responder: the first peer proposal matching one of our offers; its SPI
 * (the peer's inbound SPI) in *peer_spi. */
IPS_MUST_USE ips_res ike_qm_sa_select(const struct isakmp_sa *peer,
    const struct ike_qm_choice *offers, size_t n, struct ike_qm_choice *out,
    uint32_t *peer_spi, struct ike_mm_mismatch *why);
/* Initiator: one proposal, one transform, one we offered. */
IPS_MUST_USE ips_res ike_qm_sa_accept(const struct isakmp_sa *resp,
    const struct ike_qm_choice *offers, size_t n, struct ike_qm_choice *out,
    uint32_t *peer_spi);
/* Key material an SA of this choice needs: encryption key (with the
 * RFC 4106 salt for GCM) then integrity key. */
size_t ike_qm_keylen(const struct ike_qm_choice *c);

/* Wire values (RFC 2409 App A, RFC 2407 4.5) as the views name them:
 * "AES-CBC-128", "SHA-256", "psk", "AES-GCM-128", "HMAC-SHA-256-128",
 * "tunnel". */
const char *ike_encr_text(unsigned encr, unsigned bits, char *buf, size_t len);
const char *ike_hash_text(unsigned hash);
const char *ike_auth_method_text(unsigned auth);
const char *ike_esp_encr_text(
    unsigned transform, unsigned keybits, char *buf, size_t len);
const char *ike_ipsec_auth_text(unsigned auth);
const char *ike_encap_text(uint16_t encap);

#endif
