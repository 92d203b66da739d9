/*
 * bench/ike_handshakes: Main Mode + Quick Mode completions per second, two
 * of our engines in one process on one core (both ends' work, no kernel
 * networking), for MODP-2048 and ECP-256, with and without PFS; and in the
 * same run the DH floor: keygen + public value + derive with OpenSSL for
 * every DH a handshake needs (two per side without PFS, ... see below).
 * Prints the figures and their ratio.  Not a test: `make bench` runs it.
 *
 * The figure between two daemons over veth, with two charons as the
 * anchor, is bench/peers.sh's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "ike/ike_int.h"

#define MAXQ 64

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
};

static struct {
	struct dgram q[MAXQ];
	size_t n;
	struct side a, b;
} net;

static int
bsend(void *ctx, const struct ike_endpoint *l, const struct ike_endpoint *r,
    const uint8_t *msg, size_t len)
{
	(void)ctx;
	if (net.n == MAXQ)
		return -1;
	net.q[net.n].from = *l;
	net.q[net.n].to = *r;
	memcpy(net.q[net.n].msg, msg, len);
	net.q[net.n].len = len;
	net.n++;
	return 0;
}

static uint64_t
bnow(void *ctx)
{
	(void)ctx;
	return 1000;
}

static const struct ike_ops ops = {bsend, bnow, NULL, NULL, NULL};

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
side_init(struct side *s, const char *me, const char *peer, const char *group,
    const char *pfs)
{
	char yaml[2048];
	struct policy_error err;
	struct ike_policy_view pv;
	int n = snprintf(yaml, sizeof(yaml),
	    "policy: { name: bench }\n"
	    "ike-policies:\n"
	    "  - { name: mm, dpd-delay: 0, offers: [ { encryption: aes128, "
	    "integrity: sha256, dh-group: %s } ] }\n"
	    "negotiation-policies:\n"
	    "  - { name: qm, pfs-group: %s, offers: [ { esp: aes128gcm16 } ] "
	    "}\n"
	    "filter-lists:\n"
	    "  - { name: fl, filters: [ { source: me, destination: %s } ] }\n"
	    "filter-actions:\n"
	    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
	    "rules:\n"
	    "  - { name: r, filter-list: fl, filter-action: sec,\n"
	    "      authentication: [ { method: psk, secret: k } ] }\n",
	    group, pfs, peer);

	memset(s, 0, sizeof(*s));
	if (!ips_addr_parse(me, &s->ep.addr) ||
	    !ips_ok(policy_load_buffer(
		"b.yaml", yaml, (size_t)n, &s->policy, &err)) ||
	    !ips_ok(secrets_load_buffer(
		"s.yaml", "k: bench-key\n", 13, &s->secrets, &err)) ||
	    (s->host = hostenv_new()) == NULL ||
	    !ips_ok(hostenv_add(s->host, HOSTENV_LOCAL, &s->ep.addr)) ||
	    !ips_ok(flt_set_build(s->policy, s->host, &s->filters)) ||
	    (s->stats = stats_new()) == NULL ||
	    (s->ike = ike_new(&ops, NULL, s->stats)) == NULL) {
		fprintf(stderr, "bench: setup failed: %s\n", err.msg);
		exit(1);
	}
	s->ep.port = IKE_PORT;
	pv = (struct ike_policy_view){
	    s->policy, s->secrets, s->filters, s->host, NULL};
	ike_set_policy(s->ike, &pv);
}

static void
side_free(struct side *s)
{
	ike_free(s->ike);
	stats_free(s->stats);
	flt_set_free(s->filters);
	hostenv_free(s->host);
	secrets_free(s->secrets);
	policy_free(s->policy);
}

static void
pump(void)
{
	while (net.n > 0) {
		struct dgram d = net.q[0];
		struct side *to;

		memmove(&net.q[0], &net.q[1], (net.n - 1) * sizeof(net.q[0]));
		net.n--;
		to = ips_addr_cmp(&d.to.addr, &net.a.ep.addr) == 0 ? &net.a
								   : &net.b;
		ike_input(to->ike, &d.to, &d.from, d.msg, d.len);
	}
}

/* Handshakes (MM + QM) per CPU second, both ends on this core. */
static double
ours(const char *group, const char *pfs, int n)
{
	struct ike_endpoint peer;
	double t0, t1;

	side_init(&net.a, "10.99.0.1", "10.99.0.2", group, pfs);
	side_init(&net.b, "10.99.0.2", "10.99.0.1", group, pfs);
	peer = net.b.ep;
	t0 = cpu_seconds();
	for (int i = 0; i < n; i++) {
		if (!ips_ok(ike_initiate(net.a.ike,
			policy_rule(net.a.policy, 0), &net.a.ep, &peer))) {
			fprintf(stderr, "bench: initiate failed\n");
			exit(1);
		}
		pump();
		/* tear down, so the tables stay small as in steady state */
		ike_delete_all(net.a.ike);
		pump();
		ike_tick(net.a.ike);
		ike_tick(net.b.ike);
	}
	t1 = cpu_seconds();
	{
		struct stats_gauges g;
		struct ips_mm_stats mm;
		struct ips_qm_stats qm;

		memset(&g, 0, sizeof(g));
		stats_snapshot(net.b.stats, &g, &mm, &qm);
		if (mm.ike_quick_mode != (uint64_t)n) {
			fprintf(stderr,
			    "bench: %llu of %d handshakes completed\n",
			    (unsigned long long)mm.ike_quick_mode, n);
			exit(1);
		}
	}
	side_free(&net.a);
	side_free(&net.b);
	return n / (t1 - t0);
}

/*
 * CPU seconds for one side's DH: keygen, public value, derive, through the
 * engine's calls (group parameters cached, the cheap peer check), the
 * fastest correct DH we know on OpenSSL 3.0.
 */
static double
dh_side(unsigned group, int n)
{
	uint8_t pub[IKE_DH_MAX], sec[IKE_DH_MAX];
	struct ike_crypto *cx;
	struct ike_dh *peer;
	size_t len = ike_dh_public_len(group), sl;
	double t0, t1;

	if (!ips_ok(ike_crypto_new(&cx)) ||
	    !ips_ok(ike_dh_new(cx, group, &peer)) ||
	    !ips_ok(ike_dh_public(peer, pub, len)))
		exit(1);
	t0 = cpu_seconds();
	for (int i = 0; i < n; i++) {
		struct ike_dh *dh;
		uint8_t mine[IKE_DH_MAX];

		if (!ips_ok(ike_dh_new(cx, group, &dh)) ||
		    !ips_ok(ike_dh_public(dh, mine, len)) ||
		    !ips_ok(ike_dh_derive(dh, pub, len, sec, &sl)))
			exit(1);
		ike_dh_free(dh);
	}
	t1 = cpu_seconds();
	ike_dh_free(peer);
	ike_crypto_free(cx);
	return (t1 - t0) / n;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name, *group, *pfs;
		unsigned g;
	} cases[] = {
	    {"MODP-2048", "14", "none", 14},
	    {"MODP-2048 + PFS", "14", "14", 14},
	    {"ECP-256", "19", "none", 19},
	    {"ECP-256 + PFS", "19", "19", 19},
	};
	int n = argc > 1 ? atoi(argv[1]) : 200;

	ips_log_setup("bench", false, IPS_LOG_ERR);
	/* For bench/peers.sh: microseconds of one side's DH in group G. */
	if (argc > 2 && strcmp(argv[1], "--dh-side") == 0) {
		printf("%.1f\n", 1e6 * dh_side((unsigned)atoi(argv[2]), 200));
		return 0;
	}
	printf("IKEv1 Main Mode + Quick Mode, PSK, AES-128/SHA-256, "
	       "ESP AES-GCM-128; %d handshakes each;\n"
	       "both ends on one core (CPU time), so the DH floor counts "
	       "both sides' DHs.\n\n",
	    n);
	printf("%-17s %12s %14s %8s\n", "group", "ours (hs/s)",
	    "DH floor (hs/s)", "floor/ours");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* ike_handshakes N GROUP: that group's cases only (for
		 * callgrind, whose counts do not vary from run to run) */
		if (argc > 2 && (unsigned)atoi(argv[2]) != cases[i].g)
			continue;
		double hs = ours(cases[i].group, cases[i].pfs, n);
		double side = dh_side(cases[i].g, n);
		/* 2 DHs per handshake (one per side), 4 with PFS */
		int dhs = strcmp(cases[i].pfs, "none") == 0 ? 2 : 4;
		double floor = 1.0 / (dhs * side);

		printf("%-17s %12.0f %14.0f %8.2fx\n", cases[i].name, hs, floor,
		    floor / hs);
	}
	return 0;
}
