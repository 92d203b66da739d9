/*
 * esp: ESP packet protection for one SA (RFC 4303).  The keys and the
 * OpenSSL contexts are made once, when the SA is installed; sealing an
 * outbound packet and opening an inbound one then allocate nothing.
 *
 * Transforms: AES-GCM with a 16-byte ICV (RFC 4106), AES-CBC (RFC 3602),
 * 3DES-CBC (RFC 2451) or NULL (RFC 2410), the CBC and NULL ones with
 * HMAC-SHA1-96 (RFC 2404) or HMAC-SHA-256-128 (RFC 4868).  Keys as Quick
 * Mode makes them: the encryption key (for GCM with its 4-byte salt),
 * then the integrity key.
 *
 * An SA is one direction: an outbound one only seals, an inbound one only
 * opens.  Sequence numbers and the replay window are the caller's
 * (esp/replay.h); here they are only written and authenticated.
 */
#ifndef IPS_ESP_H
#define IPS_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "base/ips_err.h"
#include "wire/rbuf.h"

#define ESP_HDR_LEN 8 /* SPI, sequence number */
#define ESP_NH_IPV4 4 /* next header of a tunnelled packet (IP-in-IP) */
#define ESP_NH_IPV6 41
#define ESP_NH_NONE 59 /* a dummy packet (RFC 4303 2.6): discard */

struct esp_sa;

struct esp_alg {
	uint8_t transform; /* ESP_TRANSFORM_* */
	unsigned keybits; /* AES: 128, 192, 256 */
	unsigned auth; /* IPSEC_AUTH_*, 0 for GCM */
	bool esn; /* extended sequence numbers (RFC 4304) */
};

/* The key length an algorithm needs, or 0 if we do not implement it; the
 * integrity key's alone (HMAC-SHA1 20, HMAC-SHA-256 32, else 0). */
size_t esp_key_len(const struct esp_alg *alg);
size_t esp_auth_key_len(unsigned auth);
/* The truncated HMAC's length on the wire, for ESP and AH alike: 12
 * for HMAC-SHA1-96 (RFC 2404 2), 16 for HMAC-SHA-256-128 (RFC 4868 2.3). */
size_t esp_hmac_icv_len(unsigned auth);
/* An HMAC (IPSEC_AUTH_HMAC_SHA or _SHA2_256) keyed once, for ESP and AH
 * alike; NULL if OpenSSL cannot make it. */
EVP_MAC_CTX *esp_hmac_new(unsigned auth, const uint8_t *key, size_t klen);
IPS_MUST_USE ips_res esp_sa_new(const struct esp_alg *alg, bool outbound,
    uint32_t spi, const uint8_t *key, size_t klen, struct esp_sa **out);
/* Frees the SA; OpenSSL wipes the key schedules. */
void esp_sa_free(struct esp_sa *sa);

/* The most an ESP packet can add to a payload: header, IV, padding,
 * trailer and ICV. */
size_t esp_overhead(const struct esp_sa *sa);
/* Whether the SA encrypts (Confidential Bytes) and authenticates
 * (Authenticated Bytes): NULL encryption does only the latter. */
bool esp_encrypts(const struct esp_sa *sa);

/* The SPI and the 32 sequence-number bits of an ESP packet; IPS_E_SHORT
 * if it is too short to carry them. */
IPS_MUST_USE ips_res esp_peek(
    const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq_lo);

/*
 * Protect payload as ESP packet number seq (from 1; the low 32 bits go on
 * the wire, all 64 into the ICV with ESN), appending it to out.
 */
IPS_MUST_USE ips_res esp_seal(struct esp_sa *sa, uint64_t seq,
    uint8_t next_header, const uint8_t *payload, size_t len, struct wbuf *out);

/*
 * Verify and decrypt ESP packet number seq (the full number, from
 * replay_infer), appending the payload to out.  IPS_E_ESP_ICV when the
 * ICV does not verify (Packets Not Authenticated); IPS_E_ESP_DECRYPT when
 * it does but the plaintext is not a well-formed payload and trailer
 * (Packets Not Decrypted); IPS_E_SHORT for a truncated packet.  On error
 * out is as it was.
 */
IPS_MUST_USE ips_res esp_open(struct esp_sa *sa, uint64_t seq,
    const uint8_t *pkt, size_t len, struct wbuf *out, uint8_t *next_header);

#endif
