/*
 * diag: the datapath's drop events (IPsecDiagnostics), batched: every
 * `ipsecloginterval` seconds, one line per kind of drop that happened,
 * with how many, for the kinds `ipsecdiagnostics` selects.  A flood of bad
 * packets costs a few log lines an interval, never one per packet.
 *
 * ipsecdiagnostics is a mask, 0..7:
 *   1  inbound processing failures: unknown SPI, replayed, failed the
 *      ICV, not decrypted, inner packet off its SA
 *   2  outbound packets that needed an SA and had none (no SA in time,
 *      expired, not transportable)
 *   4  outbound packets dropped by policy: blocked, or no filter at all
 */
#ifndef IPS_DIAG_H
#define IPS_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "esp/datapath.h"
#include "stats/stats.h"

/* X(name, mask bit, what the count is) */
#define IPS_DIAG_KINDS(X) \
	X(bad_spi, 1, "inbound packets with an unknown SPI") \
	X(replay, 1, "inbound packets replayed or outside the window") \
	X(not_authenticated, 1, "inbound packets that failed the ICV") \
	X(not_decrypted, 1, "inbound packets that did not decrypt") \
	X(inner_mismatch, 1, \
	    "inbound packets whose inner header is off " \
	    "their SA") \
	X(no_sa, 2, "outbound packets that had no SA in time") \
	X(expired, 2, "outbound packets on an SA past its lifetime") \
	X(not_transportable, 2, \
	    "outbound fragments or extension headers " \
	    "refused by transport mode") \
	X(blocked, 4, "outbound packets a block filter dropped") \
	X(unmatched, 4, "outbound packets no filter covers")

enum diag_kind {
#define IPS_DIAG_ENUM(n, bit, what) DIAG_##n,
	IPS_DIAG_KINDS(IPS_DIAG_ENUM)
#undef IPS_DIAG_ENUM
	    DIAG_N
};

struct diag_counts {
	uint64_t v[DIAG_N];
};

/* The counts now, from the Quick Mode statistics and the datapath's. */
void diag_counts(const struct ips_qm_stats *qm, const struct dp_drops *dd,
    struct diag_counts *out);

/*
 * One line (emit) per kind in level that grew from prev to cur, over
 * interval_s; returns how many.  Kinds outside level say nothing.
 */
size_t diag_report(const struct diag_counts *prev,
    const struct diag_counts *cur, unsigned level, uint32_t interval_s,
    void (*emit)(void *ctx, const char *line), void *ctx);

#endif
