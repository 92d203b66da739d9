/*
 * Acquires between two engines: the datapath's request for an SA pair
 * (ike_acquire), coalescing, the Active Acquire / Acquire Heap Size gauges,
 * Total Acquire and Acquire Failures, and soft SAs when a silent peer's
 * policy allows falling back to clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_net.h"

/* A TCP packet from a (10.99.0.1) to b, or to another address. */
static struct ike_packet
packet_to(const char *dst)
{
	struct ike_packet p;

	memset(&p, 0, sizeof(p));
	assert_true(ips_addr_parse("10.99.0.1", &p.src));
	assert_true(ips_addr_parse(dst, &p.dst));
	p.proto = 6;
	p.sport = 40000;
	p.dport = 443;
	return p;
}

static bool
soft_covers(const struct ike_packet *p)
{
	return sad_soft_covers(ike_sad(net.a.ike), &p->src, &p->dst, p->proto,
	    p->sport, p->dport, net.now);
}

/* The peer never answers: drop what a sends, a second at a time. */
static void
silent_peer_for(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 1000) {
		net.now += 1000;
		ike_tick(net.a.ike);
		while (net.n > 0)
			deliver(true);
	}
}

static void
test_acquire_negotiates_once(void **state)
{
	struct ike_packet p = packet_to("10.99.0.2");

	(void)state;
	setup_pair("19", "19", "k", "k");
	assert_true(ips_ok(ike_acquire(net.a.ike, &p)));
	assert_int_equal(MM_STAT(&net.a, total_acquire), 1);
	assert_int_equal(ike_acquire_active(net.a.ike), 1);
	assert_int_equal(ike_acquire_heap(net.a.ike), 1);
	/* The next packet, before the SA exists, joins the first. */
	p.sport = 40001;
	assert_true(ips_ok(ike_acquire(net.a.ike, &p)));
	assert_int_equal(MM_STAT(&net.a, total_acquire), 2);
	assert_int_equal(ike_acquire_active(net.a.ike), 1);
	assert_int_equal(ike_isadb_size(net.a.ike), 1);

	while (net.n > 0)
		deliver(false);
	/* One Main Mode, one Quick Mode, one pair each side. */
	assert_int_equal(MM_STAT(&net.a, ike_main_mode), 1);
	assert_int_equal(MM_STAT(&net.a, ike_quick_mode), 1);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	assert_int_equal(ike_acquire_active(net.a.ike), 0);
	/* Ended, not yet freed: still on the heap until the tick. */
	assert_int_equal(ike_acquire_heap(net.a.ike), 1);
	ike_tick(net.a.ike);
	assert_int_equal(ike_acquire_heap(net.a.ike), 0);
	assert_int_equal(MM_STAT(&net.a, acquire_failures), 0);
	teardown(NULL);
}

/* With an ISAKMP SA up, an acquire runs Quick Mode only. */
static void
test_acquire_reuses_main_mode(void **state)
{
	struct ike_packet p = packet_to("10.99.0.2");

	(void)state;
	establish();
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	assert_true(ips_ok(ike_acquire(net.a.ike, &p)));
	/* QM1 at once: no new Main Mode. */
	assert_int_equal(net.n, 1);
	assert_int_equal(ike_isadb_size(net.a.ike), 1);
	while (net.n > 0)
		deliver(false);
	assert_int_equal(MM_STAT(&net.a, ike_main_mode), 1);
	assert_int_equal(MM_STAT(&net.a, ike_quick_mode), 2);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 4);
	assert_int_equal(ike_acquire_active(net.a.ike), 0);
	assert_int_equal(MM_STAT(&net.a, acquire_failures), 0);
	teardown(NULL);
}

/* A packet no negotiate filter covers (the policy changed under the
 * datapath): refused, counted, nothing allocated. */
static void
test_acquire_without_policy(void **state)
{
	struct ike_packet p = packet_to("10.99.0.3");

	(void)state;
	setup_pair("19", "19", "k", "k");
	assert_int_equal(ike_acquire(net.a.ike, &p).err, IPS_E_NOTFOUND);
	assert_int_equal(MM_STAT(&net.a, total_acquire), 1);
	assert_int_equal(MM_STAT(&net.a, acquire_failures), 1);
	assert_int_equal(ike_acquire_heap(net.a.ike), 0);
	assert_int_equal(net.n, 0);
	teardown(NULL);
}

/* Main Mode gives up on a silent peer: one failure per acquire, however
 * many retransmissions, and no soft SA without "soft: yes". */
static void
test_acquire_fails_with_main_mode(void **state)
{
	struct ike_packet p = packet_to("10.99.0.2");

	(void)state;
	setup_pair("19", "19", "k", "k");
	assert_true(ips_ok(ike_acquire(net.a.ike, &p)));
	silent_peer_for(10000);
	assert_false(soft_covers(&p));
	assert_int_equal(MM_STAT(&net.a, soft_associations), 0);
	assert_int_equal(ike_acquire_active(net.a.ike), 1);
	silent_peer_for(300000);
	assert_int_equal(ike_isadb_size(net.a.ike), 0);
	assert_int_equal(MM_STAT(&net.a, acquire_failures), 1);
	assert_int_equal(ike_acquire_active(net.a.ike), 0);
	assert_int_equal(ike_acquire_heap(net.a.ike), 0);
	teardown(NULL);
}

/* A Quick Mode the peer refuses ends the acquire; the ISAKMP SA stays. */
static void
test_acquire_fails_in_quick_mode(void **state)
{
	struct ike_packet p = packet_to("10.99.0.2");

	(void)state;
	net.esp_a = "aes128gcm16";
	net.esp_b = "aes256-sha256";
	setup_pair("19", "19", "k", "k");
	assert_true(ips_ok(ike_acquire(net.a.ike, &p)));
	while (net.n > 0)
		deliver(false);
	assert_int_equal(MM_STAT(&net.a, ike_main_mode), 1);
	assert_int_equal(MM_STAT(&net.a, acquire_failures), 1);
	assert_int_equal(ike_acquire_active(net.a.ike), 0);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	teardown(NULL);
}

/* "soft: yes": after 3 s of silence the filter's traffic goes in clear;
 * when the peer answers at last, a real pair replaces the soft SA. */
static void
test_soft_association(void **state)
{
	struct ike_packet p = packet_to("10.99.0.2");
	struct ike_packet other = packet_to("10.99.0.2");

	(void)state;
	net.soft = true;
	setup_pair("19", "19", "k", "k");
	assert_true(ips_ok(ike_acquire(net.a.ike, &p)));
	silent_peer_for(2000);
	assert_false(soft_covers(&p));
	silent_peer_for(2000);
	assert_true(soft_covers(&p));
	assert_int_equal(MM_STAT(&net.a, soft_associations), 1);
	/* No longer an active acquire, and never a failed one. */
	assert_int_equal(ike_acquire_active(net.a.ike), 0);
	assert_int_equal(ike_acquire_heap(net.a.ike), 1);
	/* Only this filter's traffic: the filter is proto any here. */
	other.proto = 17;
	assert_true(soft_covers(&other));
	other.dst = other.src;
	assert_false(soft_covers(&other));

	/* Main Mode keeps trying; the peer answers the next resend. */
	net.now += 4000;
	ike_tick(net.a.ike);
	assert_int_equal(net.n, 1);
	while (net.n > 0)
		deliver(false);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	assert_false(soft_covers(&p));
	assert_int_equal(MM_STAT(&net.a, acquire_failures), 0);
	ike_tick(net.a.ike);
	assert_int_equal(ike_acquire_heap(net.a.ike), 0);
	teardown(NULL);
}

/* A soft SA that nothing replaces lasts five minutes. */
static void
test_soft_association_expires(void **state)
{
	struct ike_packet p = packet_to("10.99.0.2");

	(void)state;
	net.soft = true;
	setup_pair("19", "19", "k", "k");
	assert_true(ips_ok(ike_acquire(net.a.ike, &p)));
	silent_peer_for(4000);
	assert_true(soft_covers(&p));
	silent_peer_for(IKE_SOFT_SA_LIFE_MS);
	assert_false(soft_covers(&p));
	assert_int_equal(MM_STAT(&net.a, soft_associations), 1);
	assert_int_equal(MM_STAT(&net.a, acquire_failures), 0);
	assert_int_equal(ike_acquire_heap(net.a.ike), 0);
	teardown(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acquire_negotiates_once),
	    cmocka_unit_test(test_acquire_reuses_main_mode),
	    cmocka_unit_test(test_acquire_without_policy),
	    cmocka_unit_test(test_acquire_fails_with_main_mode),
	    cmocka_unit_test(test_acquire_fails_in_quick_mode),
	    cmocka_unit_test(test_soft_association),
	    cmocka_unit_test(test_soft_association_expires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
