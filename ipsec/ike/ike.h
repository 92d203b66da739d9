/*
 * ike: the IKEv1 engine (RFC 2409): Main Mode, and later Quick Mode and
 * Informational exchanges, as the initiator or the responder.
 *
 * The engine does no I/O and keeps no clock of its own: datagrams come in
 * through ike_input() and leave through ops->send(); time comes from
 * ops->now_ms() and ike_tick() drives retransmissions.  So the daemon runs
 * it on its libuv loop, and tests run two engines in one process.
 */
#ifndef IPS_IKE_H
#define IPS_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/addr.h"
#include "base/ips_err.h"
#include "spd/filter.h"
#include "spd/policy.h"
#include "spd/secrets.h"
#include "stats/stats.h"

struct ike_endpoint {
	struct ips_addr addr;
	uint16_t port;
};

struct ike_ops {
	/* Send one datagram; 0 or a negative errno.  On port 4500 the
	 * transport adds the non-ESP marker (RFC 3948 2.2). */
	int (*send)(void *ctx, const struct ike_endpoint *local,
	    const struct ike_endpoint *remote, const uint8_t *msg, size_t len);
	/* Milliseconds on a monotonic clock. */
	uint64_t (*now_ms)(void *ctx);
	/* Our address towards remote (the routing table's choice); may be
	 * NULL, and then an acquire speaks from the packet's source. */
	bool (*local_for)(
	    void *ctx, const struct ips_addr *remote, struct ips_addr *local);
	/* An audit event happened (541-547); may be NULL. */
	void (*audit)(void *ctx, const struct audit_event *ev);
	/* One line of the IKE trace log (ikelogging=1); may be NULL.  Lines
	 * never carry keys, nonces or what is derived from them. */
	void (*trace)(void *ctx, const char *line);
};

/* What the engine negotiates by; all borrowed until the next call. */
struct ike_cred;

struct ike_policy_view {
	const struct policy *policy;
	const struct secrets *secrets;
	const struct flt_set *filters;
	const struct hostenv *host;
	/* Per rule (by index), the credentials of its certificate method,
	 * or NULL; may itself be NULL when no rule has any. */
	struct ike_cred *const *creds;
};

struct ike;

/* ops and stats are borrowed for the engine's life. */
struct ike *ike_new(const struct ike_ops *ops, void *ctx, struct stats *st);
/* Frees every SA (wiping its keys); NULL is a no-op. */
void ike_free(struct ike *ike);
void ike_set_policy(struct ike *ike, const struct ike_policy_view *pv);

/* At most n responder Main Modes may be in progress at once (half-open,
 * like a TCP SYN backlog); first messages beyond it are dropped. */
void ike_set_half_open_max(struct ike *ike, size_t n);
/* Audit events on (the default) or off: `set config ikeaudits=0`, the
 * DisableIKEAudits switch; counters count either way. */
void ike_set_audits(struct ike *ike, bool on);
/* The trace log (ops->trace) on or off: `set config ikelogging`. */
void ike_set_trace(struct ike *ike, bool on);

/* Start Main Mode for a negotiating rule towards remote. */
IPS_MUST_USE ips_res ike_initiate(struct ike *ike, const struct pol_rule *r,
    const struct ike_endpoint *local, const struct ike_endpoint *remote);
/* A datagram arrived (non-ESP marker already removed). */
void ike_input(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len);
/* An outbound packet the datapath holds for want of an SA. */
struct ike_packet {
	struct ips_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
};

/*
 * Acquire: the datapath saw an outbound packet that a negotiate filter
 * covers and found no SA.  IKE negotiates that filter's SA pair (Main Mode
 * first if there is no ISAKMP SA with the peer).  Acquires for the same
 * filter and peer while one is under way coalesce.  IPS_E_NOTFOUND if no
 * negotiate filter covers the packet (the policy changed under it).
 */
IPS_MUST_USE ips_res ike_acquire(struct ike *ike, const struct ike_packet *pkt);
/* The SPD's word on an outbound packet: the outbound action of the most
 * specific filter covering it; false if no filter does (traffic outside
 * every rule). */
bool ike_outbound_action(const struct ike *ike, const struct ike_packet *pkt,
    enum pol_action *action);
/* Active Acquire: acquires under way.  Acquire Heap Size: acquire records
 * allocated, including ended ones not yet freed. */
size_t ike_acquire_active(const struct ike *ike);
size_t ike_acquire_heap(const struct ike *ike);

/* Retransmit what is due and give up on what has waited too long. */
void ike_tick(struct ike *ike);
/* Delete every ISAKMP SA, telling each established peer (on shutdown). */
void ike_delete_all(struct ike *ike);

enum ike_sa_state {
	IKE_SA_MM_I1, /* sent MM1, awaiting MM2 */
	IKE_SA_MM_I2, /* sent MM3, awaiting MM4 */
	IKE_SA_MM_I3, /* sent MM5, awaiting MM6 */
	IKE_SA_MM_R1, /* sent MM2, awaiting MM3 */
	IKE_SA_MM_R2, /* sent MM4, awaiting MM5 */
	IKE_SA_ESTABLISHED,
	IKE_SA_DEAD, /* failed or deleted; reaped on the next tick */
	IKE_SA_NSTATES
};

const char *ike_sa_state_name(enum ike_sa_state s);
/* An ISAKMP SA's cookies as IP Security Monitor shows them:
 * "CKY-I:CKY-R" in hex (IKE_COOKIES_TEXT bytes with the NUL). */
#define IKE_COOKIES_TEXT 34
void ike_cookies_text(const uint8_t cky_i[static 8],
    const uint8_t cky_r[static 8], char out[static IKE_COOKIES_TEXT]);

/* One row of the Main Mode SA view. */
struct ike_sa_info {
	uint8_t cky_i[8], cky_r[8];
	bool initiator;
	enum ike_sa_state state;
	struct ike_endpoint local, remote;
	char rule[128];
	unsigned encr, keybits, hash, group, auth;
	uint32_t lifetime_s;
	uint64_t age_ms;
	bool nat; /* NAT detected, so on port 4500 */
	uint32_t index; /* stable while the daemon runs (ipsmMmSaIndex) */
	/* The identity the peer authenticated as ("O=x, CN=y", a name or an
	 * address), "" until it has. */
	char peer_identity[256];
};

struct sad;
/* The IPsec SA database IKE keys (borrowed; the datapath reads it). */
struct sad *ike_sad(struct ike *ike);
/* Connection List Size: Quick Mode exchanges in progress. */
size_t ike_qm_count(const struct ike *ike);

/* The engine's clock (ops->now_ms), for ages in views. */
uint64_t ike_now_ms(const struct ike *ike);

/* ISADB List Size: every entry, whatever its state. */
size_t ike_isadb_size(const struct ike *ike);
/*
 * Each established ISAKMP SA's initiator cookie and encryption key (the
 * key of RFC 2409 Appendix B), for `ipsecmon export-keys` alone: with them
 * Wireshark decrypts a capture of its exchanges.  Borrowed for the call.
 */
void ike_export_keys(const struct ike *ike,
    void (*fn)(
	void *ctx, const uint8_t cky_i[8], const uint8_t *key, size_t len),
    void *ctx);

/* Up to max rows; returns how many SAs there are. */
size_t ike_sa_list(const struct ike *ike, struct ike_sa_info *out, size_t max);
/* The SA with the lowest index above after, in O(log n); false past the
 * last. */
bool ike_sa_next(
    const struct ike *ike, uint32_t after, struct ike_sa_info *out);

#endif
