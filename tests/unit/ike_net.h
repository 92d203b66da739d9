/*
 * ike_net: the two-engine test bench of the IKE unit tests (white-box: it
 * includes the engine's internals).  Side a initiates towards side b.
 */
#ifndef IPS_TEST_IKE_NET_H
#define IPS_TEST_IKE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/trace.h"
#include "ike/ike_int.h"

#define MAXQ 16

struct dgram {
	struct ike_endpoint from, to;
	uint8_t msg[IKE_MSG_MAX];
	size_t len;
};

struct side {
	struct ike *ike;
	struct stats *stats;
	struct policy *policy;
	struct secrets *secrets;
	struct hostenv *host;
	struct flt_set *filters;
	struct ike_endpoint ep;
	/* The audit events this side's engine reported, in order. */
	unsigned events[64];
	size_t nevents;
	char last_reason[160], last_attribute[32];
	unsigned long last_suppressed;
	char *trace; /* the trace log's lines, when ike_set_trace is on */
	size_t trace_len;
	struct trace_log *log; /* if set, the lines go to this file instead */
	size_t trace_lines; /* how many the engine traced */
};

struct net {
	struct dgram q[MAXQ];
	size_t n;
	uint64_t now;
	struct side a, b; /* a initiates */
	/* Quick Mode offers: an ESP transform ("aes128gcm16, lifetime: 1m"),
	 * or an AH offer ("ah: sha256") */
	const char *pfs, *esp_a, *esp_b;
	bool soft; /* negotiation policies fall back to clear */
};

/* The one bench of the running test (reset by setup_pair). */
extern struct net net;
extern const struct ike_ops mock_ops;

void side_init(struct side *s, const char *me, const char *peer,
    const char *encr, const char *hash, const char *group, const char *psk);
void side_free(struct side *s);
/* Fresh engines 10.99.0.1 (a) and 10.99.0.2 (b) with these DH groups and
 * PSKs; net.pfs/esp_a/esp_b/soft, if set before, shape the offers. */
void setup_pair(const char *a_group, const char *b_group, const char *a_psk,
    const char *b_psk);
int teardown(void **state);
/* Deliver the oldest queued datagram; drop it instead if drop. */
void deliver(bool drop);
struct ike_sa *only_sa(struct side *s);
uint64_t mm_stat(struct side *s, size_t offset);
uint64_t qm_stat(struct side *s, size_t offset);
#define MM_STAT(s, f) mm_stat((s), offsetof(struct ips_mm_stats, f))
#define QM_STAT(s, f) qm_stat((s), offsetof(struct ips_qm_stats, f))
/* a starts Main Mode for its rule towards b. */
void initiate(void);
/* setup_pair on ECP-256 and one PSK, then Main and Quick Mode complete. */
void establish(void);
/* Deliver everything queued, and what that sends, until quiet. */
void pump(void);
/* Each side's outbound key is the other's inbound key, SPI for SPI (one
 * pair each). */
void keys_cross(void);

#endif
