/*
 * bench/ctl_burst SOCKET RULE N [TIMEOUT_S]: start N Main Mode + Quick
 * Mode negotiations for RULE at once through a running ipsecmond's control
 * socket, then poll its statistics until N more Quick Modes have completed.
 * Prints "<handshakes> <seconds> <failures>": wall time from the first
 * request to the last completion, and Negotiation Failures meanwhile.
 *
 * One connection, one small request per poll: the driver costs the daemon
 * microseconds, so the figure is the daemons' (bench/peers.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_client.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static Ipsm__Response *
call(struct ctl_client *c, Ipsm__Request *req)
{
	Ipsm__Response *resp;
	char err[256];

	if (!ips_ok(ctl_client_call(c, req, &resp, err, sizeof(err)))) {
		fprintf(stderr, "ctl_burst: %s\n", err);
		exit(1);
	}
	if (resp->status != 0) {
		fprintf(stderr, "ctl_burst: %s\n", resp->error);
		exit(1);
	}
	return resp;
}

/* One Main Mode statistic by key. */
static uint64_t
stat(struct ctl_client *c, const char *key)
{
	Ipsm__ShowStats ss = IPSM__SHOW_STATS__INIT;
	Ipsm__Request req = IPSM__REQUEST__INIT;
	Ipsm__Response *resp;
	uint64_t v = 0;

	req.op_case = IPSM__REQUEST__OP_SHOW_STATS;
	req.show_stats = &ss;
	resp = call(c, &req);
	for (size_t i = 0; resp->stats && i < resp->stats->n_main_mode; i++)
		if (strcmp(resp->stats->main_mode[i]->key, key) == 0)
			v = resp->stats->main_mode[i]->value;
	ipsm__response__free_unpacked(resp, NULL);
	return v;
}

int
main(int argc, char **argv)
{
	Ipsm__Initiate ini = IPSM__INITIATE__INIT;
	Ipsm__Request req = IPSM__REQUEST__INIT;
	struct ctl_client *c;
	uint64_t qm0, nf0, qm;
	double t0, t1, limit;
	char err[256];
	long n;

	if (argc < 4 || (n = strtol(argv[3], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: ctl_burst SOCKET RULE N [TIMEOUT_S]\n");
		return 2;
	}
	limit = argc > 4 ? atof(argv[4]) : 120;
	if (!ips_ok(ctl_client_connect(argv[1], 5000, &c, err, sizeof(err)))) {
		fprintf(stderr, "ctl_burst: %s\n", err);
		return 1;
	}
	qm0 = stat(c, "ike_quick_mode");
	nf0 = stat(c, "negotiation_failures");
	ini.rule = argv[2];
	req.op_case = IPSM__REQUEST__OP_INITIATE;
	req.initiate = &ini;
	t0 = now_s();
	for (long i = 0; i < n; i++)
		ipsm__response__free_unpacked(call(c, &req), NULL);
	do {
		usleep(2000);
		qm = stat(c, "ike_quick_mode");
		t1 = now_s();
	} while (qm < qm0 + (uint64_t)n && t1 - t0 < limit);
	printf("%llu %.3f %llu\n", (unsigned long long)(qm - qm0), t1 - t0,
	    (unsigned long long)(stat(c, "negotiation_failures") - nf0));
	ctl_client_close(c);
	return qm >= qm0 + (uint64_t)n ? 0 : 1;
}
