/*
 * audit: the security audit events of an IPsec host, numbered as Windows
 * numbers them (541-547) so an operator's rules and habits carry over.
 * The engine builds an event where it happens and hands it to its
 * ops->audit; the daemon writes it to an append-only JSON-lines file
 * (rotated by size) and a summary line to its log.
 *
 * Events carry identities, addresses, selectors, algorithms and SPIs:
 * never keys, nonces or anything derived from them.
 */
#ifndef IPS_AUDIT_H
#define IPS_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/addr.h"
#include "base/ips_err.h"

/* X(number, NAME, key, description) */
#define IPS_AUDIT_EVENTS(X) \
	X(541, SA_ESTABLISHED, "sa_established", \
	    "IKE security association established") \
	X(542, QM_ENDED, "quick_mode_ended", \
	    "IKE security association ended (data protection mode)") \
	X(543, MM_ENDED, "main_mode_ended", \
	    "IKE security association ended (key exchange mode)") \
	X(544, CERT_TRUST, "certificate_trust_failed", \
	    "IKE negotiation failed: the peer's certificate is not trusted") \
	X(545, AUTH_FAILED, "authentication_failed", \
	    "IKE peer authentication failed") \
	X(546, BAD_PROPOSAL, "invalid_proposal", \
	    "IKE negotiation failed: the peer's proposal is not acceptable") \
	X(547, NEG_FAILED, "negotiation_failed", \
	    "IKE security association negotiation failed")

enum audit_id {
#define IPS_AUDIT_ENUM(n, e, k, d) AUDIT_##e = n,
	IPS_AUDIT_EVENTS(IPS_AUDIT_ENUM)
#undef IPS_AUDIT_ENUM
};

/* "negotiation_failed" for 547; NULL for a number that is no event. */
const char *audit_key(unsigned id);
const char *audit_description(unsigned id);

/* One event.  Strings are borrowed for the call; "" (or NULL) where a
 * field does not apply, and such fields are left out of the record. */
struct audit_event {
	unsigned id; /* enum audit_id */
	const char *mode; /* "main" (key exchange) or "quick" */
	const char *rule;
	struct ips_addr local, remote;
	uint16_t local_port, remote_port;
	const char *peer_identity;
	const char *cookies; /* main mode: CKY-I:CKY-R */
	const char *filter; /* quick mode: "ours <-> theirs proto" */
	const char *parameters; /* negotiated algorithms (541) */
	uint32_t spi_in, spi_out; /* quick mode, 0 if none */
	const char *attribute, *expected, *received; /* 546 */
	const char *failure_point; /* "me" or "peer" (544-547) */
	const char *reason; /* why it failed or ended */
	/* Events of this kind left out just before this one by a rate
	 * limit (failures from peers that never authenticated). */
	unsigned long suppressed;
};

struct audit_log;

/*
 * Open (creating it, mode 0640) the JSON-lines file at path for appending;
 * when a record would take it past max_bytes, it becomes path.1 (path.1
 * becomes path.2, ... up to keep files) and a new one starts.
 */
IPS_MUST_USE ips_res audit_log_open(const char *path, size_t max_bytes,
    unsigned keep, struct audit_log **out, char *errbuf, size_t errlen);
void audit_log_close(struct audit_log *l);

/* Append one record stamped with now (UTC, milliseconds), and log a
 * one-line summary.  A write error is logged, never fatal. */
void audit_log_write(
    struct audit_log *l, const struct audit_event *ev, struct timespec now);

/* The JSON record (one line, no newline) as a malloc'd string; NULL if
 * out of memory.  What audit_log_write appends. */
char *audit_json(const struct audit_event *ev, struct timespec now);

/*
 * Syslog, RFC 5424: each event as one message, facility authpriv, its
 * fields as the structured data element AUDIT_SD_ID (so journald and
 * rsyslog keep them as fields), its description and reason as the text.
 * Sent without blocking to a Unix datagram socket (normally /dev/log).
 */
#define AUDIT_SD_ID "ipsecmon@32473" /* RFC 5612's example enterprise */

/* The message, malloc'd; host "" or NULL for the nil value. */
char *audit_rfc5424(const struct audit_event *ev, struct timespec now,
    const char *host, int pid);

struct audit_syslog;

IPS_MUST_USE ips_res audit_syslog_open(
    const char *path, struct audit_syslog **out, char *errbuf, size_t errlen);
void audit_syslog_close(struct audit_syslog *s);
void audit_syslog_send(
    struct audit_syslog *s, const struct audit_event *ev, struct timespec now);

/*
 * The last events in memory, for `ipsecmon show events`: a ring of the
 * records audit_log_write appends, each with a sequence number (from 1,
 * rising) so that a follower asks only for what is new.  Older events are
 * in the log file.
 */
#define AUDIT_RING_EVENTS 4096

struct audit_ring;

struct audit_ring *audit_ring_new(size_t n);
void audit_ring_free(struct audit_ring *r);
/* Keep this event (its JSON record) as the newest; the oldest goes. */
void audit_ring_add(
    struct audit_ring *r, const struct audit_event *ev, struct timespec now);

struct audit_query {
	uint64_t after; /* sequence numbers above this */
	int64_t since_ms; /* at or after this time (UTC ms); 0: any */
	unsigned id; /* this event number; 0: any */
	const struct ips_addr *peer; /* this peer; NULL: any */
	size_t max; /* at most this many, the newest; 0: no limit */
};

/* The events that match, oldest first: fn(ctx, seq, json) for each.
 * Returns the newest sequence number the ring holds (0 if none). */
uint64_t audit_ring_query(const struct audit_ring *r,
    const struct audit_query *q,
    void (*fn)(void *ctx, uint64_t seq, const char *json), void *ctx);

#endif
