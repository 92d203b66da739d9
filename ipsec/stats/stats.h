/*
 * stats: the Main Mode (IKE) and Quick Mode (IPsec) statistics of IP
 * Security Monitor, each a 64-bit value.
 *
 * Counters change only through the stats_on_*() event functions below, and
 * each counter is changed by exactly one of them.  Gauges are not stored
 * here: they are sizes of live engine tables, so the engine passes them in
 * when it takes a snapshot and they can never drift from the truth.
 * Definitions follow docs/COUNTERS.md (from the seed documents).
 */
#ifndef IPS_STATS_H
#define IPS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "stats/stats_list.h"

struct ips_mm_stats {
#define IPS_STATS_FIELD(key, kind, name) uint64_t key;
	IPS_MM_STATS(IPS_STATS_FIELD)
};

struct ips_qm_stats {
	IPS_QM_STATS(IPS_STATS_FIELD)
#undef IPS_STATS_FIELD
};

/* Current table sizes, supplied by the engine at snapshot time. */
struct stats_gauges {
	uint64_t active_acquire; /* acquires queued for IKE, not coalesced */
	uint64_t active_receive; /* IKE datagrams received, not processed */
	uint64_t acquire_heap_size; /* acquire records allocated */
	uint64_t receive_heap_size; /* IKE receive buffers allocated */
	uint64_t isadb_list_size; /* ISAKMP SA entries, any state */
	uint64_t connection_list_size; /* Quick Mode state entries */
	uint64_t active_sas; /* installed IPsec SAs, each direction */
	uint64_t offloaded_sas; /* SAs whose crypto runs in an offload */
	uint64_t pending_key_operations; /* QM in progress + larval SAs */
	uint64_t active_tunnels; /* installed tunnel-mode SA pairs */
};

enum stats_kind { STATS_COUNTER, STATS_GAUGE };

/* One row of the display table: name, kind and where the value lives. */
struct stats_desc {
	const char
	    *key; /* JSON and protocol key, e.g. "invalid_packets_received" */
	const char *name; /* IP Security Monitor's label */
	enum stats_kind kind;
	size_t offset; /* into struct ips_mm_stats or struct ips_qm_stats */
};

/* The descriptor tables (static, borrowed) and their lengths. */
const struct stats_desc *stats_mm_desc(size_t *n);
const struct stats_desc *stats_qm_desc(size_t *n);

struct stats;

/* A zeroed set of counters whose discontinuity time is now. */
struct stats *stats_new(void);
void stats_free(struct stats *st);

/* Zero every counter and move the discontinuity time to now. */
void stats_reset(struct stats *st);
/* Wall-clock time of the last reset (service start, or stats_reset()). */
time_t stats_discontinuity_time(const struct stats *st);

/* Copy counters and the given gauges into the two snapshot structures. */
void stats_snapshot(const struct stats *st, const struct stats_gauges *g,
    struct ips_mm_stats *mm, struct ips_qm_stats *qm);

/* Why a negotiation ended without its SA. */
enum stats_neg_failure {
	STATS_NEG_NO_PROPOSAL, /* NO_PROPOSAL_CHOSEN either way */
	STATS_NEG_AUTH, /* identity authentication failed */
	STATS_NEG_INVALID_ID, /* ID or selectors not acceptable */
	STATS_NEG_TIMEOUT, /* peer stopped answering */
	STATS_NEG_PEER_DELETE, /* its ISAKMP SA ended (a DELETE, DPD,
				  expiry, shutdown) while it ran */
	STATS_NEG_OTHER,
};

enum stats_dir { STATS_OUTBOUND, STATS_INBOUND };

/* ---- Main Mode (IKE) events ---------------------------------------- */

/*
 * An acquire arrived from the datapath (a packet matched a negotiate filter
 * with no usable SA), counted before duplicates for the same selector are
 * coalesced.  Total Acquire.
 */
void stats_on_acquire(struct stats *st);
/*
 * An acquire ended without an SA pair installed: MM or QM failure,
 * retransmission give-up, no matching policy.  Once per acquire, not per
 * retry; not for one that fell back to clear (a soft SA is what its
 * policy asked for).  Acquire Failures.
 */
void stats_on_acquire_failed(struct stats *st);
/* recvmsg() on an IKE socket returned an error or a truncated datagram;
 * protocol errors are not counted here.  Receive Failures. */
void stats_on_ike_receive_error(struct stats *st);
/* sendmsg() on an IKE socket failed (EHOSTUNREACH, EMSGSIZE, ...);
 * retransmissions that go out fine do not count.  Send Failures. */
void stats_on_ike_send_error(struct stats *st);
/*
 * A Main Mode or Quick Mode exchange ended without establishing its SA.
 * Negotiation Failures; when the reason is STATS_NEG_AUTH (HASH_I/HASH_R or
 * signature mismatch, untrusted certificate, an authenticated
 * AUTHENTICATION_FAILED/INVALID_HASH/INVALID_SIGNATURE notify for our MM),
 * Authentication Failures as well.  Once per exchange, not per packet.
 */
void stats_on_negotiation_failed(struct stats *st, enum stats_neg_failure why);
/*
 * A message that is not a first Main Mode message, whose cookie pair
 * matches no ISAKMP SA (including deleted or expired ones).
 * Invalid Cookies Received.
 */
void stats_on_invalid_cookie(struct stats *st);
/*
 * IKE asked the datapath for an inbound SPI (QM initiator before QM1,
 * responder on QM1).  Total Get SPI; if it failed, Get SPI Failures too.
 */
void stats_on_get_spi(struct stats *st, bool ok);
/*
 * IKE installed (or failed to install) an IPsec SA at Quick Mode
 * completion.  Outbound: Key Additions / Key Addition Failures (Main Mode
 * view).  Inbound, keying the larval SA from Get SPI: Key Updates / Key
 * Update Failures.  Either direction, when ok: the Quick Mode view's Key
 * Additions.
 */
void stats_on_sa_install(struct stats *st, enum stats_dir dir, bool ok);
/* An ISAKMP SA was established: the initiator verified MM6, or the
 * responder sent MM6 and committed.  IKE Main Mode. */
void stats_on_mm_established(struct stats *st);
/* A Quick Mode completed with its SA pair installed: the initiator sent
 * QM3, or the responder received a valid QM3.  IKE Quick Mode. */
void stats_on_qm_established(struct stats *st);
/* Policy fell back to clear text because the peer did not answer Main
 * Mode and the negotiation policy allows it.  Soft Associations. */
void stats_on_soft_sa(struct stats *st);
/*
 * An ISAKMP message was dropped as malformed before state processing: bad
 * header, inconsistent payload chain, non-zero responder cookie on a first
 * message, failed decryption or padding, wrong HASH on QM/Informational.
 * Retransmissions answered from cache do not count.
 * Invalid Packets Received.
 */
void stats_on_invalid_packet(struct stats *st);

/* ---- Quick Mode (IPsec) events ------------------------------------- */

/* An IPsec SA left the SAD: hard expiry, DELETE, flush, or replacement
 * after a rekey.  Key Deletions. */
void stats_on_sa_deleted(struct stats *st);
/* A replacement SA pair was established before the old one's hard
 * lifetime.  Rekeys. */
void stats_on_rekey(struct stats *st);
/* An inbound ESP/AH packet whose SPI matches no SA.  Bad SPI Packets. */
void stats_on_bad_spi(struct stats *st);
/* An inbound packet past SA lookup failed decryption: bad length, bad
 * padding, bad next header, cipher error.  Packets Not Decrypted. */
void stats_on_decrypt_failed(struct stats *st);
/* An inbound packet's ICV (HMAC or AEAD tag) did not verify.
 * Packets Not Authenticated. */
void stats_on_icv_failed(struct stats *st);
/* An inbound packet was dropped by anti-replay (duplicate, or left of the
 * window), checked before the ICV as RFC 4303 3.4.3 orders it.  Packets
 * With Replay Detection. */
void stats_on_replay(struct stats *st);

/* How the SA that carried a packet protects it. */
struct stats_sa_kind {
	bool confidential; /* ESP with a non-NULL cipher */
	bool authenticated; /* AH, or ESP with integrity (incl. AEAD) */
	bool tunnel; /* tunnel mode, else transport */
	bool offloaded; /* crypto ran in an offload target */
};

/*
 * A packet of `bytes` inner bytes was protected (outbound) or verified and
 * decrypted (inbound) by an SA of the given kind.  Confidential,
 * Authenticated, Transport / In Tunnels and Offloaded Bytes Sent/Received.
 */
void stats_on_packet(struct stats *st, enum stats_dir dir,
    const struct stats_sa_kind *kind, uint64_t bytes);

#endif
