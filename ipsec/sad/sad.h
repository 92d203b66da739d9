/*
 * sad: the IPsec SA database, the interface between IKE and the datapath
 * (what Windows calls the IPsec driver).  IKE asks it for an inbound SPI
 * (a larval SA, keyed later), installs the outbound SA, keys the inbound
 * one, and deletes SAs; the ESP/AH datapath (issue 4) finds SAs here by
 * SPI and counts traffic on them.
 *
 * Keys are held in memory excluded from core dumps and wiped on delete.
 */
#ifndef IPS_SAD_H
#define IPS_SAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/ips_err.h"
#include "stats/stats.h"
#include "wire/rbuf.h"

#define SAD_KEY_MAX 64 /* encryption key (+ GCM salt) + integrity key */

enum sad_dir { SAD_INBOUND, SAD_OUTBOUND };
enum sad_state { SAD_LARVAL, SAD_MATURE };

struct sad_params {
	uint8_t proto; /* ISAKMP_PROTO_ESP or _AH */
	uint16_t encap; /* IPSEC_ENCAP_* */
	uint8_t transform; /* ESP/AH transform id */
	unsigned keybits;
	unsigned auth; /* IPSEC_AUTH_* (0 for AEAD) */
	unsigned pfs_group; /* 0 = no PFS */
	uint32_t life_s;
	uint64_t life_kb;
	struct ips_addr local, remote; /* tunnel or transport endpoints */
	uint16_t local_port, remote_port; /* 4500 when UDP-encapsulated */
	struct ips_aspec src, dst; /* selectors, as negotiated */
	uint8_t sel_proto;
	uint16_t sel_sport, sel_dport;
	char rule[128];
	bool initiator; /* we ran the Quick Mode: we rekey it */
	bool esn; /* 64-bit sequence numbers (RFC 4304) */
	unsigned replay_window; /* inbound: packets, 0 for REPLAY_DEFAULT */
};

/* An SA's volume lifetime in bytes, 0 for none; the peer's kilobytes
 * saturate rather than wrap. */
static inline uint64_t
sad_life_bytes(const struct sad_params *p)
{
	return p->life_kb > UINT64_MAX / 1024 ? UINT64_MAX : p->life_kb * 1024;
}

/* One row of the Quick Mode SA view (no key material). */
struct sad_info {
	uint32_t spi; /* host order */
	enum sad_dir dir;
	enum sad_state state;
	uint32_t pair_spi; /* the other direction's SPI, 0 if none */
	struct sad_params p;
	uint64_t created_ms;
	uint64_t bytes, packets, replay_drops, icv_failures, last_use_ms;
	uint64_t seq; /* outbound: the last sequence number sent */
	bool rekeyed; /* a replacement has been asked for */
	uint64_t replaced_ms; /* a newer pair for its traffic was installed
				 then (it goes after a grace); 0: current */
};

struct sad;

struct sad *sad_new(struct stats *st);
/* Deletes (and wipes) every SA. */
void sad_free(struct sad *sad);

/*
 * A fresh inbound SPI (random, not 0..255, RFC 4303 2.1), held by a larval
 * SA until keyed or deleted.  Counts Total Get SPI (and a failure).
 */
IPS_MUST_USE ips_res sad_get_spi(
    struct sad *sad, uint32_t *spi, uint64_t now_ms);
/* Key the larval inbound SA (Key Updates / Key Update Failures). */
IPS_MUST_USE ips_res sad_update_inbound(struct sad *sad, uint32_t spi,
    const struct sad_params *p, const uint8_t *key, size_t klen,
    uint32_t pair_spi, uint64_t now_ms);
/* Add the outbound SA (Key Additions / Key Addition Failures). */
IPS_MUST_USE ips_res sad_add_outbound(struct sad *sad, uint32_t spi,
    const struct sad_params *p, const uint8_t *key, size_t klen,
    uint32_t pair_spi, uint64_t now_ms);
/* Delete one SA (Key Deletions when it was mature); IPS_E_NOTFOUND if
 * there is none, which callers that only want it gone may ignore. */
ips_res sad_delete(struct sad *sad, enum sad_dir dir, uint32_t spi);

size_t sad_count(const struct sad *sad);
/* Active Security Associations, Active Tunnels (pairs), larval SAs. */
size_t sad_active(const struct sad *sad);
size_t sad_tunnels(const struct sad *sad);
size_t sad_larval(const struct sad *sad);
/* Up to max rows, in no particular order; returns how many there are. */
size_t sad_list(const struct sad *sad, struct sad_info *out, size_t max);
/*
 * The datapath protected (outbound) or accepted (inbound) one packet of
 * len bytes on this SA: its bytes, packets and last use move on, which is
 * what volume lifetimes (lifetime-kb) are measured by.  false if there is
 * no such keyed SA.
 */
bool sad_on_packet(struct sad *sad, enum sad_dir dir, uint32_t spi, size_t len,
    uint64_t now_ms);
/* ---- ESP packets: what the datapath asks of the SAD ---- */

/* What an inbound ESP packet came to; each outcome but the first is
 * counted in the Quick Mode statistic its comment names. */
enum sad_rx {
	SAD_RX_OK,
	SAD_RX_BAD_SPI, /* no keyed inbound SA has its SPI: Bad SPI Packets */
	SAD_RX_REPLAY, /* duplicate, or left of the window: With Replay
			  Detection (and the SA's replay drops) */
	SAD_RX_ICV, /* its ICV did not verify: Not Authenticated (and the
		       SA's ICV failures) */
	SAD_RX_DECRYPT, /* authentic, not a payload and trailer: Not
			   Decrypted */
	SAD_RX_SHORT, /* too short for its SA's fields: Not Decrypted once
			 its SA is known, else not counted here */
};

/*
 * Open an inbound ESP packet: its SA by SPI, the replay window (checked
 * before the ICV, recorded after, RFC 4303 3.4.3), the ICV, decryption of
 * the payload into out.  On SAD_RX_OK *row is the SA, whose selectors
 * the inner packet must then match, and the SA's and the Quick Mode
 * byte counters have moved.
 */
enum sad_rx sad_esp_open(struct sad *sad, const uint8_t *pkt, size_t len,
    struct wbuf *out, uint8_t *next_header, struct sad_info *row,
    uint64_t now_ms);
/* The same for an AH packet, from its IP header (RFC 4302). */
enum sad_rx sad_ah_open(struct sad *sad, const uint8_t *pkt, size_t len,
    struct wbuf *out, uint8_t *next_header, struct sad_info *row,
    uint64_t now_ms);
/* Seal a payload on outbound SA spi with its next sequence number,
 * appending the ESP packet to out; IPS_E_NOTFOUND without that keyed SA,
 * IPS_E_TOOBIG once its counter or its hard byte lifetime is spent. */
IPS_MUST_USE ips_res sad_esp_seal(struct sad *sad, uint32_t spi,
    uint8_t next_header, const uint8_t *payload, size_t len, struct wbuf *out,
    uint64_t now_ms);
/* The same on an AH SA: the whole IP packet, from the SA's local to its
 * remote address, is appended. */
IPS_MUST_USE ips_res sad_ah_seal(struct sad *sad, uint32_t spi,
    uint8_t next_header, const uint8_t *payload, size_t len, struct wbuf *out,
    uint64_t now_ms);
/*
 * Without ESN a sequence number past this many packets asks IKE to
 * replace the SA (as soft_due, and qm_lifetimes), leaving 2^28 packets
 * for the new pair to arrive before the counter is spent.
 */
#define SAD_SEQ_SOFT 0xf0000000u
/* Move outbound SA spi's counter on to seq, as if that many had been
 * sent (tests and benchmarks of exhaustion). */
IPS_MUST_USE ips_res sad_skip_seq(struct sad *sad, uint32_t spi, uint64_t seq);
/* Whether an SA has passed 90% of its volume lifetime, or SAD_SEQ_SOFT
 * packets, since the last call (then IKE should look at its lifetimes now);
 * clears it. */
bool sad_take_soft_due(struct sad *sad);
/* The keyed outbound ESP or AH SA whose selectors cover this packet, the
 * newest if several do.  Remembered per flow until an outbound SA comes
 * or goes: a flow's later packets do not walk the SAD. */
bool sad_outbound_for(struct sad *sad, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t proto, uint16_t sport, uint16_t dport,
    struct sad_info *row);

/* Whether fn says yes to some SA's row (read in place, in SPI order;
 * fn must not change the SAD). */
bool sad_any(const struct sad *sad,
    bool (*fn)(const struct sad_info *row, const void *arg), const void *arg);
/*
 * A new pair (outbound SPI except) now carries the traffic of every other
 * outbound SA fn says yes to: mark those and their inbound twins replaced
 * at now.  Returns how many pairs.
 */
size_t sad_mark_replaced(struct sad *sad,
    bool (*fn)(const struct sad_info *row, const void *arg), const void *arg,
    uint32_t except, uint64_t now_ms);
/* Note that a replacement for this SA has been started. */
void sad_mark_rekeyed(struct sad *sad, enum sad_dir dir, uint32_t spi);
/*
 * The pair with the lowest inbound SPI above after, both halves keyed
 * (*has_out is then always true): the MIB's Quick Mode SA table in index
 * order, each step O(log n).  false past the last.
 */
bool sad_next_pair(const struct sad *sad, uint32_t after, struct sad_info *in,
    struct sad_info *out, bool *has_out);
/* Copy one SA's row; false if there is none. */
bool sad_get(const struct sad *sad, enum sad_dir dir, uint32_t spi,
    struct sad_info *out);
/* The key of an SA (borrowed, for the datapath and tests); NULL if none. */
const uint8_t *sad_key(
    const struct sad *sad, enum sad_dir dir, uint32_t spi, size_t *klen);

/*
 * A soft SA: the negotiation policy allows falling back to clear ("soft:
 * yes") and the peer never answered Main Mode, so the traffic of one
 * outbound filter passes unprotected until the soft SA expires or a real
 * SA pair for the same rule and peer replaces it.  Windows calls these soft
 * associations; they hold no keys and no SPI.
 */
struct sad_soft {
	struct ips_addr remote; /* the peer that did not answer */
	struct ips_aspec src, dst; /* the filter's selectors, ours first */
	uint8_t proto;
	uint16_t sport, dport;
	char rule[128];
	uint64_t created_ms, expires_ms;
	uint32_t index; /* given by sad_add_soft, rising (ipsmQmSoftIndex) */
};

/* Add (or renew, for the same rule, peer and selectors) a soft SA. */
IPS_MUST_USE ips_res sad_add_soft(struct sad *sad, const struct sad_soft *s);
/* Whether a live soft SA lets this outbound packet pass in clear. */
bool sad_soft_covers(const struct sad *sad, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t proto, uint16_t sport, uint16_t dport,
    uint64_t now_ms);
/* Drop the soft SAs of (rule, remote): a real pair now protects them.
 * Returns how many went. */
size_t sad_soft_replace(
    struct sad *sad, const char *rule, const struct ips_addr *remote);
/* Drop soft SAs whose time is up. */
void sad_soft_expire(struct sad *sad, uint64_t now_ms);
/* Up to max soft SAs, oldest first (out may be NULL when max is 0);
 * returns how many there are. */
size_t sad_soft_list(const struct sad *sad, struct sad_soft *out, size_t max);
/*
 * Every keyed SA with its key (encryption key and salt, then the
 * integrity key, as installed), for `ipsecmon export-keys` and nothing
 * else: the one way keys leave the SAD.  key is borrowed for the call.
 */
void sad_export_keys(const struct sad *sad,
    void (*fn)(
	void *ctx, const struct sad_info *sa, const uint8_t *key, size_t klen),
    void *ctx);

/* The soft SA with the lowest index above after (O(log n)); false past
 * the last. */
bool sad_soft_next(const struct sad *sad, uint32_t after, struct sad_soft *out);

#endif
