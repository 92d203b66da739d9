/*
 * The datapath between two SADs that share one SA (A's outbound is B's
 * inbound), with the wire and the hosts as callbacks: a packet A's host
 * sends arrives at B's host unchanged; no SA means an acquire; an inner
 * packet that does not match its SA is not delivered; the counters move
 * where they should.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "esp/ah.h"
#include "esp/datapath.h"
#include "stats/stats.h"
#include "wire/ike_wire.h"
#include "wire/ip.h"

static struct {
	uint8_t wire[2048], host[2048];
	size_t wire_len, host_len;
	uint16_t lport, rport;
	int acquires, raw, soft, ip;
	bool block_all; /* the policy blocks everything now */
	struct dp_flow acquired;
} io;

static int
send_udp(void *ctx, const struct ips_addr *l, uint16_t lport,
    const struct ips_addr *r, uint16_t rport, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)l;
	(void)r;
	memcpy(io.wire, pkt, len);
	io.wire_len = len;
	io.lport = lport;
	io.rport = rport;
	return 0;
}

static int
send_raw(void *ctx, const struct ips_addr *l, const struct ips_addr *r,
    const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)l;
	(void)r;
	memcpy(io.wire, pkt, len);
	io.wire_len = len;
	io.lport = io.rport = 0;
	io.raw++;
	return 0;
}

static int
send_ip(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	memcpy(io.wire, pkt, len);
	io.wire_len = len;
	io.ip++;
	return 0;
}

static int
deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	memcpy(io.host, pkt, len);
	io.host_len = len;
	return 0;
}

/* The SPD of these tests: 10.98.9.0/24 is blocked, 10.98.8.0/24 is
 * permitted, 10.98.7.0/24 no filter's, the rest to protect. */
static enum dp_verdict
decide(void *ctx, const struct dp_flow *f)
{
	(void)ctx;
	if (io.block_all)
		return DP_BLOCK;
	return f->dst.b[2] == 9 ? DP_BLOCK
	    : f->dst.b[2] == 8	? DP_CLEAR
	    : f->dst.b[2] == 7	? DP_NONE
				: DP_PROTECT;
}

static void
acquire(void *ctx, const struct dp_flow *f)
{
	(void)ctx;
	io.acquires++;
	io.acquired = *f;
}

static void
soft_expired(void *ctx)
{
	(void)ctx;
	io.soft++;
}

static uint64_t
now_ms(void *ctx)
{
	(void)ctx;
	return 1000;
}

static bool
udp_encap_p(const struct sad_params *p)
{
	return p->encap == IPSEC_ENCAP_UDP_TUNNEL ||
	    p->encap == IPSEC_ENCAP_UDP_TRANSPORT;
}

static const struct dp_ops ops = {send_udp, send_ip, send_ip, send_raw, deliver,
    decide, acquire, soft_expired, now_ms};

/* A tunnel-mode ESP-in-UDP SA from ours to theirs (selectors). */
static void
params(struct sad_params *p, const char *ours, const char *theirs)
{
	const char *why;

	memset(p, 0, sizeof(*p));
	p->proto = ISAKMP_PROTO_ESP;
	p->encap = IPSEC_ENCAP_UDP_TUNNEL;
	p->transform = ESP_TRANSFORM_AES_GCM_16;
	p->keybits = 128;
	assert_true(ips_ok(ips_aspec_parse(ours, &p->src, &why)));
	assert_true(ips_ok(ips_aspec_parse(theirs, &p->dst, &why)));
	p->local_port = p->remote_port = 4500;
}

/* An IPv4 UDP packet from src to dst, 10.98.x.y as "x.y". */
static size_t
udp_packet(uint8_t *p, uint8_t sx, uint8_t sy, uint8_t dx, uint8_t dy)
{
	static const uint8_t tmpl[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0,
	    0, 10, 98, 0, 0, 10, 98, 0, 0, 0x30, 0x39, 0, 53, 0, 8, 0, 0};

	memcpy(p, tmpl, sizeof(tmpl));
	p[14] = sx, p[15] = sy, p[18] = dx, p[19] = dy;
	return sizeof(tmpl);
}

/* One SA shared: A's outbound for a_sel ours -> theirs is B's inbound
 * for 10.98.2.0/24 -> 10.98.1.0/24; its SPI. */
static uint32_t
shared_sa(struct sad *a, const char *a_ours, struct sad *b)
{
	static const uint8_t key[20] = {9, 8, 7};
	struct sad_params pa, pb;
	uint32_t spi;

	params(&pa, a_ours, "10.98.2.0/24");
	params(&pb, "10.98.2.0/24", "10.98.1.0/24");
	assert_true(ips_ok(sad_get_spi(b, &spi, 0)));
	assert_true(
	    ips_ok(sad_update_inbound(b, spi, &pb, key, sizeof(key), 0, 0)));
	assert_true(
	    ips_ok(sad_add_outbound(a, spi, &pa, key, sizeof(key), 0, 0)));
	return spi;
}

static void
test_one_sa_both_ends(void **state)
{
	struct stats *sta = stats_new(), *stb = stats_new();
	struct sad *a = sad_new(sta), *b = sad_new(stb);
	struct dp *da = dp_new(a, &ops, NULL), *db = dp_new(b, &ops, NULL);
	uint8_t key[20] = {9, 8, 7}, pkt[64];
	struct ips_mm_stats mm;
	struct ips_qm_stats qa, qb;
	struct stats_gauges g;
	struct dp_drops drops;
	uint32_t spi;
	size_t n;

	(void)state;
	memset(&io, 0, sizeof(io));
	spi = shared_sa(a, "10.98.1.0/24", b);

	/* A's host to B's host */
	n = udp_packet(pkt, 1, 1, 2, 7);
	dp_outbound(da, pkt, n);
	assert_int_equal(io.lport, 4500);
	assert_int_equal(io.rport, 4500);
	assert_int_equal(wire_get_be32(io.wire), spi);
	dp_inbound(db, io.wire, io.wire_len);
	assert_int_equal(io.host_len, n);
	assert_memory_equal(io.host, pkt, n);

	/* the same packet again: a replay, not delivered */
	io.host_len = 0;
	dp_inbound(db, io.wire, io.wire_len);
	assert_int_equal(io.host_len, 0);

	/* traffic no SA covers: an acquire, nothing sent, the packet held
	 * until its SA comes */
	io.wire_len = 0;
	n = udp_packet(pkt, 1, 1, 3, 1);
	dp_outbound(da, pkt, n);
	assert_int_equal(io.wire_len, 0);
	assert_int_equal(io.acquires, 1);
	assert_int_equal(io.acquired.dport, 53);
	assert_int_equal(io.acquired.proto, 17);
	dp_tick(da); /* still no SA: it waits */
	assert_int_equal(io.wire_len, 0);
	{
		struct sad_params p3;

		params(&p3, "10.98.1.0/24", "10.98.3.0/24");
		assert_true(ips_ok(
		    sad_add_outbound(a, spi + 1, &p3, key, sizeof(key), 0, 0)));
	}
	dp_tick(da);
	assert_int_equal(wire_get_be32(io.wire), spi + 1);
	dp_drops(da, &drops);
	assert_int_equal(drops.held_sent, 1);
	io.wire_len = 0;
	dp_tick(da); /* sent once only */
	assert_int_equal(io.wire_len, 0);

	/* blocked, and not ours to protect: no acquire */
	n = udp_packet(pkt, 1, 1, 9, 1);
	dp_outbound(da, pkt, n);
	n = udp_packet(pkt, 1, 1, 8, 1);
	dp_outbound(da, pkt, n);
	assert_int_equal(io.acquires, 1);
	assert_int_equal(io.ip, 1); /* passed on in clear, as it was */
	assert_int_equal(io.wire_len, n);
	assert_memory_equal(io.wire, pkt, n);
	io.wire_len = 0;
	/* no filter's: dropped, not passed on */
	n = udp_packet(pkt, 1, 1, 7, 1);
	dp_outbound(da, pkt, n);
	assert_int_equal(io.ip, 1);
	assert_int_equal(io.wire_len, 0);
	/* not IP at all */
	dp_outbound(da, (const uint8_t *)"hello", 5);
	dp_drops(da, &drops);
	assert_int_equal(drops.no_sa, 0);
	assert_int_equal(drops.blocked, 1);
	assert_int_equal(drops.clear, 1);
	assert_int_equal(drops.unmatched, 1);
	assert_int_equal(drops.not_ip, 1);

	memset(&g, 0, sizeof(g));
	stats_snapshot(sta, &g, &mm, &qa);
	stats_snapshot(stb, &g, &mm, &qb);
	/* the first packet, and the one held for its SA */
	assert_int_equal(qa.confidential_bytes_sent, 2 * 28);
	assert_int_equal(qa.authenticated_bytes_sent, 2 * 28);
	assert_int_equal(qa.bytes_sent_in_tunnels, 2 * 28);
	assert_int_equal(qb.bytes_received_in_tunnels, 28);
	assert_int_equal(qb.packets_with_replay_detection, 1);
	assert_int_equal(qb.bad_spi_packets, 0);

	dp_free(da);
	dp_free(db);
	sad_free(a);
	sad_free(b);
	stats_free(sta);
	stats_free(stb);
}

/*
 * RFC 4301 5.2: B's SA was made for 10.98.1.0/24 -> 10.98.2.0/24.  A
 * peer that sends, under it, a packet from elsewhere (here: A's SA is
 * wider than what B agreed to) is not delivered.
 */
static void
test_inner_packet_must_match(void **state)
{
	struct stats *st = stats_new();
	struct sad *a = sad_new(st), *b = sad_new(st);
	struct dp *da = dp_new(a, &ops, NULL), *db = dp_new(b, &ops, NULL);
	struct sad_params pa;
	uint8_t key[20] = {1}, pkt[64];
	struct dp_drops drops;
	size_t n;

	(void)state;
	memset(&io, 0, sizeof(io));
	(void)shared_sa(a, "10.98.0.0/16", b);
	n = udp_packet(pkt, 5, 5, 2, 7); /* from 10.98.5.5 */
	dp_outbound(da, pkt, n);
	assert_int_not_equal(io.wire_len, 0);
	dp_inbound(db, io.wire, io.wire_len);
	assert_int_equal(io.host_len, 0);
	dp_drops(db, &drops);
	assert_int_equal(drops.inner_mismatch, 1);
	/* B's SA is for UDP to its port 53 alone; A's is wider: a packet to
	 * port 54 under it is not delivered, one to port 53 is */
	{
		struct sad *a2 = sad_new(st), *b2 = sad_new(st);
		struct dp *da2 = dp_new(a2, &ops, NULL),
			  *db2 = dp_new(b2, &ops, NULL);
		struct sad_params pb;
		uint32_t spi;

		params(&pa, "10.98.1.0/24", "10.98.2.0/24");
		params(&pb, "10.98.2.0/24", "10.98.1.0/24");
		pb.sel_proto = 17;
		pb.sel_sport = 53; /* ours, B's */
		assert_true(ips_ok(sad_get_spi(b2, &spi, 0)));
		assert_true(ips_ok(
		    sad_update_inbound(b2, spi, &pb, key, sizeof(key), 0, 0)));
		assert_true(ips_ok(
		    sad_add_outbound(a2, spi, &pa, key, sizeof(key), 0, 0)));
		for (int port = 54; port >= 53; port--) {
			n = udp_packet(pkt, 1, 1, 2, 7);
			pkt[23] = (uint8_t)port;
			io.host_len = 0;
			dp_outbound(da2, pkt, n);
			dp_inbound(db2, io.wire, io.wire_len);
			assert_int_equal(io.host_len, port == 53 ? n : 0);
		}
		dp_drops(db2, &drops);
		assert_int_equal(drops.inner_mismatch, 1);
		dp_free(da2);
		dp_free(db2);
		sad_free(a2);
		sad_free(b2);
	}
	/* and without a NAT between, Quick Mode's plain tunnel mode: IP
	 * protocol 50 */
	{
		struct sad *c = sad_new(st);
		struct dp *dc = dp_new(c, &ops, NULL);

		params(&pa, "10.98.1.0/24", "10.98.2.0/24");
		pa.encap = IPSEC_ENCAP_TUNNEL;
		pa.local_port = pa.remote_port = 0;
		assert_true(ips_ok(
		    sad_add_outbound(c, 4242, &pa, key, sizeof(key), 0, 0)));
		n = udp_packet(pkt, 1, 1, 2, 7);
		dp_outbound(dc, pkt, n);
		assert_int_equal(io.raw, 1);
		assert_int_equal(wire_get_be32(io.wire), 4242);
		dp_free(dc);
		sad_free(c);
	}
	dp_free(da);
	dp_free(db);
	sad_free(a);
	sad_free(b);
	stats_free(st);
}

static uint64_t clock_ms;

static uint64_t
moving_clock(void *ctx)
{
	(void)ctx;
	return clock_ms;
}

/* The wait is bounded in time and in packets; what is held is sent in
 * the order it came. */
static void
test_hold_bounds(void **state)
{
	struct dp_ops o = ops;
	struct stats *st = stats_new();
	struct sad *a = sad_new(st);
	struct dp *da;
	struct dp_drops drops;
	uint8_t pkt[64], key[20] = {3};
	struct sad_params p;
	size_t n;

	(void)state;
	memset(&io, 0, sizeof(io));
	o.now_ms = moving_clock;
	clock_ms = 1000;
	da = dp_new(a, &o, NULL);
	n = udp_packet(pkt, 1, 1, 2, 1);
	for (int i = 0; i < DP_HOLD_MAX + 3; i++)
		dp_outbound(da, pkt, n);
	dp_drops(da, &drops);
	assert_int_equal(drops.no_sa, 3); /* the oldest pushed out */
	clock_ms += DP_HOLD_MS;
	dp_tick(da);
	dp_drops(da, &drops);
	assert_int_equal(drops.no_sa, 3 + DP_HOLD_MAX); /* waited too long */
	/* now two packets, then their SA */
	dp_outbound(da, pkt, n);
	pkt[27] = 0x42;
	dp_outbound(da, pkt, n);
	params(&p, "10.98.1.0/24", "10.98.2.0/24");
	assert_true(
	    ips_ok(sad_add_outbound(a, 777, &p, key, sizeof(key), 0, 0)));
	dp_tick(da);
	dp_drops(da, &drops);
	assert_int_equal(drops.held_sent, 2);
	assert_int_equal(wire_get_be32(io.wire + 4), 2); /* the second last */
	/* one held, then its traffic blocked (a reload) before its SA
	 * comes: it is dropped, not sent */
	io.wire_len = 0;
	n = udp_packet(pkt, 1, 1, 4, 1);
	dp_outbound(da, pkt, n);
	io.block_all = true;
	dp_tick(da);
	io.block_all = false;
	dp_drops(da, &drops);
	assert_int_equal(drops.held_sent, 2);
	assert_int_equal(io.wire_len, 0);
	dp_tick(da); /* and it is gone */
	dp_drops(da, &drops);
	assert_int_equal(drops.held_sent, 2);
	dp_free(da);
	sad_free(a);
	stats_free(st);
}

/* A UDP packet from src to dst (IPv4 or IPv6) with 8 bytes of data. */
static size_t
udp_between(uint8_t *p, const char *src, const char *dst)
{
	struct ips_addr s, d;
	struct wbuf w;
	static const uint8_t udp[16] = {
	    0x30, 0x39, 0, 53, 0, 16, 0, 0, 'p', 'a', 'y', 'l', 'o', 'a', 'd'};

	assert_true(ips_addr_parse(src, &s));
	assert_true(ips_addr_parse(dst, &d));
	wbuf_init_on(&w, p, 128);
	assert_true(ips_ok(ip_put_header(&w, &s, &d, 17, sizeof(udp), 7)));
	assert_true(ips_ok(wbuf_bytes(&w, udp, sizeof(udp))));
	return w.len;
}

/*
 * One packet each way of the four shapes of RFC 4301 (ESP or AH, tunnel
 * or transport) over IPv4 and IPv6, through two datapaths: it arrives
 * as it left (transport mode: under a header rebuilt from the SA's
 * addresses), and the Quick Mode statistics name how it was carried.
 * AH authenticates the outer header: a changed TTL (mutable) is
 * accepted, a changed address is not.
 */
static void
test_modes(void **state)
{
	static const struct {
		uint8_t proto;
		uint16_t encap;
		bool v6;
	} cases[] = {
	    {ISAKMP_PROTO_ESP, IPSEC_ENCAP_TRANSPORT, false},
	    {ISAKMP_PROTO_ESP, IPSEC_ENCAP_UDP_TRANSPORT, false},
	    {ISAKMP_PROTO_ESP, IPSEC_ENCAP_TUNNEL, true},
	    {ISAKMP_PROTO_ESP, IPSEC_ENCAP_TRANSPORT, true},
	    {ISAKMP_PROTO_AH, IPSEC_ENCAP_TUNNEL, false},
	    {ISAKMP_PROTO_AH, IPSEC_ENCAP_TRANSPORT, false},
	    {ISAKMP_PROTO_AH, IPSEC_ENCAP_TUNNEL, true},
	    {ISAKMP_PROTO_AH, IPSEC_ENCAP_TRANSPORT, true},
	};
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		bool ah = cases[c].proto == ISAKMP_PROTO_AH, v6 = cases[c].v6;
		bool tunnel = cases[c].encap == IPSEC_ENCAP_TUNNEL;
		const char *me = v6 ? "fd00:99::1" : "10.99.0.1";
		const char *peer = v6 ? "fd00:99::2" : "10.99.0.2";
		const char *src =
		    tunnel ? (v6 ? "fd00:98:1::1" : "10.98.1.1") : me;
		const char *dst =
		    tunnel ? (v6 ? "fd00:98:2::7" : "10.98.2.7") : peer;
		struct stats *sta = stats_new(), *stb = stats_new();
		struct sad *a = sad_new(sta), *b = sad_new(stb);
		struct dp *da = dp_new(a, &ops, NULL),
			  *db = dp_new(b, &ops, NULL);
		uint8_t key[32] = {5, 4, 3}, pkt[128], wire[256];
		struct sad_params pa, pb;
		struct ips_mm_stats mm;
		struct ips_qm_stats qb;
		struct stats_gauges g;
		struct dp_drops drops;
		struct wbuf w;
		uint32_t spi;
		size_t n, klen = ah ? 32 : 20, wl, inner;
		const char *why;

		print_message("case %zu: %s %s %s\n", c, ah ? "AH" : "ESP",
		    tunnel ? "tunnel" : "transport", v6 ? "IPv6" : "IPv4");
		memset(&io, 0, sizeof(io));
		params(&pa, src, dst);
		params(&pb, dst, src);
		if (!tunnel) { /* the hosts themselves */
			assert_true(ips_ok(ips_aspec_parse(me, &pa.src, &why)));
			assert_true(
			    ips_ok(ips_aspec_parse(peer, &pa.dst, &why)));
			pb.src = pa.dst;
			pb.dst = pa.src;
		}
		for (int i = 0; i < 2; i++) {
			struct sad_params *p = i ? &pb : &pa;

			p->proto = cases[c].proto;
			p->encap = cases[c].encap;
			if (ah) {
				p->transform = AH_TRANSFORM_SHA2_256;
				p->auth = IPSEC_AUTH_HMAC_SHA2_256;
			}
			assert_true(ips_addr_parse(i ? peer : me, &p->local));
			assert_true(ips_addr_parse(i ? me : peer, &p->remote));
		}
		assert_true(ips_ok(sad_get_spi(b, &spi, 0)));
		assert_true(
		    ips_ok(sad_update_inbound(b, spi, &pb, key, klen, 0, 0)));
		assert_true(
		    ips_ok(sad_add_outbound(a, spi, &pa, key, klen, 0, 0)));

		n = udp_between(pkt, src, dst);
		for (int round = 0; round < 3; round++) {
			dp_outbound(da, pkt, n);
			assert_int_not_equal(io.wire_len, 0);
			wbuf_init_on(&w, wire, sizeof(wire));
			if (ah) { /* a whole packet, its header ours */
				assert_int_equal(io.ip, round + 1);
				assert_true(ips_ok(
				    wbuf_bytes(&w, io.wire, io.wire_len)));
			} else if (udp_encap_p(&pa)) {
				assert_true(ips_ok(
				    wbuf_bytes(&w, io.wire, io.wire_len)));
			} else { /* as a raw socket hands it over */
				assert_true(ips_ok(ip_put_header(&w, &pa.local,
				    &pa.remote, 50, io.wire_len, 1)));
				assert_true(ips_ok(
				    wbuf_bytes(&w, io.wire, io.wire_len)));
			}
			wl = w.len;
			if (round == 1 && ah) /* TTL / hop limit: mutable */
				wire[v6 ? 7 : 8] = 3;
			if (round == 2 && ah) /* the source: immutable */
				wire[v6 ? 23 : 15] ^= 1;
			io.host_len = 0;
			if (udp_encap_p(&pa))
				dp_inbound(db, wire, wl);
			else
				dp_inbound_ip(db, wire, wl);
			if (round == 2 && ah) {
				assert_int_equal(io.host_len, 0);
				continue;
			}
			assert_int_equal(io.host_len, n);
			if (tunnel) {
				assert_memory_equal(io.host, pkt, n);
			} else { /* addresses, protocol and payload */
				size_t hl = v6 ? 40 : 20;

				assert_memory_equal(
				    io.host + hl, pkt + hl, n - hl);
				assert_memory_equal(io.host + (v6 ? 8 : 12),
				    pkt + (v6 ? 8 : 12), v6 ? 32 : 8);
				assert_int_equal(
				    io.host[v6 ? 6 : 9], pkt[v6 ? 6 : 9]);
			}
		}
		dp_drops(db, &drops);
		assert_int_equal(drops.inner_mismatch, 0);
		memset(&g, 0, sizeof(g));
		stats_snapshot(stb, &g, &mm, &qb);
		inner = (ah ? 2 : 3) * (tunnel ? n : n - (v6 ? 40u : 20u));
		assert_int_equal(qb.authenticated_bytes_received, inner);
		assert_int_equal(
		    qb.confidential_bytes_received, ah ? 0 : inner);
		assert_int_equal(tunnel ? qb.bytes_received_in_tunnels
					: qb.transport_bytes_received,
		    inner);
		assert_int_equal(qb.packets_not_authenticated, ah ? 1 : 0);
		dp_free(da);
		dp_free(db);
		sad_free(a);
		sad_free(b);
		stats_free(sta);
		stats_free(stb);
	}
}

/* Transport mode takes whole datagrams: an IPv4 fragment, or IPv6 with
 * extension headers, is refused rather than sent broken. */
static void
test_transport_takes_whole_datagrams(void **state)
{
	struct stats *st = stats_new();
	struct sad *a = sad_new(st);
	struct dp *da = dp_new(a, &ops, NULL);
	uint8_t key[20] = {1}, pkt[128];
	struct sad_params p;
	struct dp_drops drops;
	const char *why;
	size_t n;

	(void)state;
	memset(&io, 0, sizeof(io));
	params(&p, "10.99.0.1", "10.99.0.2");
	p.encap = IPSEC_ENCAP_TRANSPORT;
	assert_true(ips_addr_parse("10.99.0.1", &p.local));
	assert_true(ips_addr_parse("10.99.0.2", &p.remote));
	assert_true(ips_ok(sad_add_outbound(a, 900, &p, key, 20, 0, 0)));
	params(&p, "fd00:99::1", "fd00:99::2");
	p.encap = IPSEC_ENCAP_TRANSPORT;
	assert_true(ips_ok(ips_aspec_parse("fd00:99::1", &p.src, &why)));
	assert_true(ips_addr_parse("fd00:99::1", &p.local));
	assert_true(ips_addr_parse("fd00:99::2", &p.remote));
	assert_true(ips_ok(sad_add_outbound(a, 901, &p, key, 20, 0, 0)));
	n = udp_between(pkt, "10.99.0.1", "10.99.0.2");
	pkt[6] = 0x20; /* more fragments */
	dp_outbound(da, pkt, n);
	assert_int_equal(io.raw, 0);
	pkt[6] = 0;
	dp_outbound(da, pkt, n); /* whole: sent */
	assert_int_equal(io.raw, 1);
	n = udp_between(pkt, "fd00:99::1", "fd00:99::2");
	memmove(pkt + 48, pkt + 40, n - 40);
	memset(pkt + 40, 0, 8);
	pkt[6] = 60; /* destination options, then UDP */
	pkt[40] = 17;
	n += 8;
	pkt[5] = (uint8_t)(n - 40);
	dp_outbound(da, pkt, n);
	assert_int_equal(io.raw, 1);
	dp_drops(da, &drops);
	assert_int_equal(drops.not_transportable, 2);
	dp_free(da);
	sad_free(a);
	stats_free(st);
}

/* ah_seal into a buffer that grows while it writes (one reservation). */
static void
test_ah_into_growing_buffer(void **state)
{
	static uint8_t payload[3000];
	uint8_t key[32] = {2}, nh = 0;
	struct ips_addr s, d;
	struct ah_sa *sa;
	struct wbuf w, o;

	(void)state;
	memset(payload, 0x5a, sizeof(payload));
	assert_true(ips_addr_parse("10.99.0.1", &s));
	assert_true(ips_addr_parse("10.99.0.2", &d));
	assert_true(ips_ok(
	    ah_sa_new(IPSEC_AUTH_HMAC_SHA2_256, false, 77, key, 32, &sa)));
	wbuf_init(&w, 65536);
	wbuf_init(&o, 65536);
	assert_true(
	    ips_ok(ah_seal(sa, 1, &s, &d, 17, payload, sizeof(payload), &w)));
	assert_true(ips_ok(ah_open(sa, 1, w.p, w.len, &o, &nh)));
	assert_int_equal(o.len, sizeof(payload));
	assert_int_equal(nh, 17);
	wbuf_free(&w);
	wbuf_free(&o);
	ah_sa_free(sa);
}

/* A soft association (the peer never answered, the policy allows clear)
 * lets its traffic pass in clear, with no acquire, until it expires. */
static void
test_soft_sa_passes_clear(void **state)
{
	struct stats *st = stats_new();
	struct sad *a = sad_new(st);
	struct dp *da = dp_new(a, &ops, NULL);
	struct sad_soft soft;
	struct dp_drops drops;
	uint8_t pkt[64];
	const char *why;
	size_t n;

	(void)state;
	memset(&io, 0, sizeof(io));
	memset(&soft, 0, sizeof(soft));
	assert_true(ips_addr_parse("10.99.0.2", &soft.remote));
	assert_true(ips_ok(ips_aspec_parse("10.98.1.0/24", &soft.src, &why)));
	assert_true(ips_ok(ips_aspec_parse("10.98.5.0/24", &soft.dst, &why)));
	snprintf(soft.rule, sizeof(soft.rule), "r");
	soft.created_ms = 0;
	soft.expires_ms = 5000; /* now_ms() is 1000 */
	assert_true(ips_ok(sad_add_soft(a, &soft)));
	n = udp_packet(pkt, 1, 1, 5, 1);
	dp_outbound(da, pkt, n);
	assert_int_equal(io.ip, 1);
	assert_memory_equal(io.wire, pkt, n);
	assert_int_equal(io.acquires, 0);
	/* what it does not cover still waits for an SA */
	n = udp_packet(pkt, 1, 1, 6, 1);
	dp_outbound(da, pkt, n);
	assert_int_equal(io.ip, 1);
	assert_int_equal(io.acquires, 1);
	dp_drops(da, &drops);
	assert_int_equal(drops.clear, 1);
	dp_free(da);
	sad_free(a);
	stats_free(st);
}

/* RFC 4301 4.4.1.1: an IPv6 packet's selector protocol and ports come
 * after its extension headers; a later fragment has no ports. */
static void
test_ipv6_extension_headers(void **state)
{
	uint8_t p[128];
	struct dp_flow f;
	size_t n;

	(void)state;
	n = udp_between(p, "fd00:98:1::1", "fd00:98:2::7");
	/* insert hop-by-hop (8 bytes) then destination options (16) */
	memmove(p + 40 + 24, p + 40, n - 40);
	memset(p + 40, 0, 24);
	p[6] = 0; /* base header: hop-by-hop next */
	p[40] = 60; /* hop-by-hop: then destination options */
	p[41] = 0; /* 8 bytes */
	p[48] = 17; /* destination options: then UDP */
	p[49] = 1; /* 16 bytes */
	n += 24;
	p[4] = (uint8_t)((n - 40) >> 8);
	p[5] = (uint8_t)(n - 40);
	assert_true(ips_ok(dp_flow_parse(p, n, &f)));
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.sport, 0x3039);
	assert_int_equal(f.dport, 53);
	/* a fragment header, offset 8: UDP without ports */
	n = udp_between(p, "fd00:98:1::1", "fd00:98:2::7");
	memmove(p + 48, p + 40, n - 40);
	memset(p + 40, 0, 8);
	p[6] = 44;
	p[40] = 17;
	p[43] = 8; /* offset 1 (x 8 bytes) */
	n += 8;
	p[5] = (uint8_t)(n - 40);
	assert_true(ips_ok(dp_flow_parse(p, n, &f)));
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.sport, 0);
	/* a chain cut short: no protocol beyond it, no ports */
	p[6] = 0;
	p[40] = 60;
	p[41] = 200; /* longer than the packet */
	assert_true(ips_ok(dp_flow_parse(p, n, &f)));
	assert_int_equal(f.sport, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_sa_both_ends),
	    cmocka_unit_test(test_inner_packet_must_match),
	    cmocka_unit_test(test_hold_bounds),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_ipv6_extension_headers),
	    cmocka_unit_test(test_soft_sa_passes_clear),
	    cmocka_unit_test(test_transport_takes_whole_datagrams),
	    cmocka_unit_test(test_ah_into_growing_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
