/*
 * agent_table SOCKET N: the driver of bench/agent_walk.sh.  Our AgentX
 * subagent (agent/) serving a SAD of N keyed SA pairs, built the way
 * Quick Mode installs them (an SPI given, the inbound SA keyed, the
 * outbound SA added), so that ipsmQmSaTable has N rows.  No IKE and no
 * datapath: what is measured is the table's path from the SAD to snmpd.
 * Prints "ready" once the SAD is full; runs until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "agent/agent.h"
#include "sad/sad.h"
#include "stats/stats.h"
#include "wire/ike_wire.h"

struct bench {
	struct sad *sad;
	uint64_t now_ms;
};

static void
snapshot(void *ctx, struct agent_snapshot *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
}

static bool
qm_next(void *ctx, uint32_t after, struct agent_qm_row *row)
{
	struct bench *b = ctx;

	row->now_ms = b->now_ms;
	return sad_next_pair(b->sad, after, &row->in, &row->out, &row->has_out);
}

static bool
mm_next(void *ctx, uint32_t after, struct ike_sa_info *row)
{
	(void)ctx;
	(void)after;
	(void)row;
	return false;
}

static bool
soft_next(void *ctx, uint32_t after, struct agent_soft_row *row)
{
	(void)ctx;
	(void)after;
	(void)row;
	return false;
}

static const struct agent_ops ops = {snapshot, qm_next, mm_next, soft_next};

int
main(int argc, char **argv)
{
	struct bench b = {0};
	struct stats *st;
	struct sad_params p;
	uint8_t key[20] = {1};
	struct agent *ag;
	uv_loop_t loop;
	long n;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: agent_table SOCKET ROWS\n");
		return 2;
	}
	if ((st = stats_new()) == NULL || (b.sad = sad_new(st)) == NULL)
		return 1;
	memset(&p, 0, sizeof(p));
	p.proto = ISAKMP_PROTO_ESP;
	p.encap = IPSEC_ENCAP_TUNNEL;
	p.transform = ESP_TRANSFORM_AES_GCM_16;
	p.keybits = 128;
	p.life_s = 3600;
	p.src.kind = IPS_ASPEC_PREFIX;
	p.src.lo.af = AF_INET;
	p.src.plen = 24;
	p.dst = p.src;
	p.local.af = p.remote.af = AF_INET;
	snprintf(p.rule, sizeof(p.rule), "bench");
	for (long i = 0; i < n; i++) {
		uint32_t in, out = 0x10000000u + (uint32_t)i;

		if (!ips_ok(sad_get_spi(b.sad, &in, 0)) ||
		    !ips_ok(sad_update_inbound(
			b.sad, in, &p, key, sizeof(key), out, 0)) ||
		    !ips_ok(sad_add_outbound(
			b.sad, out, &p, key, sizeof(key), in, 0))) {
			fprintf(stderr, "agent_table: SAD full at %ld\n", i);
			return 1;
		}
	}
	uv_loop_init(&loop);
	if (!ips_ok(agent_start(&loop, argv[1], &ops, &b, &ag))) {
		fprintf(stderr, "agent_table: no subagent\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	uv_run(&loop, UV_RUN_DEFAULT);
	return 0;
}
