/*
 * How an exchange of ours ends when the peer refuses it, or when its
 * ISAKMP SA goes first: each ends exactly once, counted under the reason
 * docs/COUNTERS.md gives, with its audit event.  And how an SA pair ends
 * once a rekey has replaced it.  Two engines over the mock
 * transport of ike_net.c.
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

/* B sends A a protected notify (proto, spi) of this type. */
static void
b_notifies(uint16_t type, uint8_t proto, uint32_t spi)
{
	uint8_t b[4];

	wire_put_be32(b, spi);
	assert_true(ips_ok(info_send_notify(only_sa(&net.b), proto, b,
	    proto == ISAKMP_PROTO_ISAKMP ? 0 : 4, type, NULL, 0)));
}

/*
 * The peer read our MM5 and refused the proof (a signature or PSK hash it
 * could not verify): under the phase 1 keys it says AUTHENTICATION_FAILED.
 * Our Main Mode ends at once, as an authentication failure (545), rather
 * than retransmitting MM5 into the void.
 */
static void
test_main_mode_refused_after_keys(void **state)
{
	static const uint16_t types[] = {ISAKMP_N_AUTHENTICATION_FAILED,
	    ISAKMP_N_INVALID_HASH_INFORMATION, ISAKMP_N_INVALID_SIGNATURE};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct ike_sa *a, *b;

		setup_pair("19", "19", "k", "k");
		initiate();
		for (int m = 0; m < 4; m++) /* MM1 .. MM4 */
			deliver(false);
		a = only_sa(&net.a);
		b = only_sa(&net.b);
		assert_int_equal(a->state, IKE_SA_MM_I3);
		deliver(true); /* MM5: B reads it (white box: its IV moves
				  on as A's did) and refuses it */
		memcpy(b->iv, a->iv, a->block);
		b_notifies(types[i], ISAKMP_PROTO_ISAKMP, 0);
		deliver(false);
		assert_int_equal(a->state, IKE_SA_DEAD);
		assert_int_equal(MM_STAT(&net.a, authentication_failures), 1);
		assert_int_equal(MM_STAT(&net.a, negotiation_failures), 1);
		assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
		assert_int_equal(net.a.nevents, 1);
		assert_int_equal(net.a.events[0], AUDIT_AUTH_FAILED);
		assert_non_null(
		    strstr(net.a.last_reason, "refused by the peer"));
		/* ended: no MM5 goes out again */
		net.now += 120000;
		ike_tick(net.a.ike);
		assert_int_equal(net.n, 0);
		assert_int_equal(MM_STAT(&net.a, negotiation_failures), 1);
		teardown(NULL);
	}
}

/* Two Quick Modes of ours are open; A starts both, B has seen neither. */
static void
two_open_quick_modes(uint32_t *older, uint32_t *newer)
{
	struct ike_sa *a;

	establish();
	a = only_sa(&net.a);
	qm_start_for_rule(a);
	deliver(true);
	qm_start_for_rule(a);
	deliver(true);
	assert_int_equal(ike_qm_count(net.a.ike), 2);
	*newer = a->qms->spi_in; /* newest first */
	*older = a->qms->next->spi_in;
}

/*
 * A refusal that names our SPI ends that exchange and no other; one with
 * a zero SPI (charon's, when it refuses before reading the proposal) ends
 * the oldest.  Each is one Negotiation Failure, under its own reason.
 */
static void
test_quick_mode_refusal_names_its_exchange(void **state)
{
	uint32_t older, newer;
	uint64_t nf;

	(void)state;
	two_open_quick_modes(&older, &newer);
	nf = MM_STAT(&net.a, negotiation_failures);
	b_notifies(ISAKMP_N_INVALID_ID_INFORMATION, ISAKMP_PROTO_ESP, newer);
	deliver(false);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), nf + 1);
	assert_int_equal(ike_qm_count(net.a.ike), 1);
	assert_int_equal(only_sa(&net.a)->qms->spi_in, older);
	assert_int_equal(net.a.events[net.a.nevents - 1], AUDIT_NEG_FAILED);
	/* an SPI of no exchange of ours ends nothing */
	b_notifies(ISAKMP_N_NO_PROPOSAL_CHOSEN, ISAKMP_PROTO_ESP, newer);
	deliver(false);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), nf + 1);
	assert_int_equal(ike_qm_count(net.a.ike), 1);
	teardown(NULL);

	two_open_quick_modes(&older, &newer);
	nf = MM_STAT(&net.a, negotiation_failures);
	b_notifies(ISAKMP_N_NO_PROPOSAL_CHOSEN, ISAKMP_PROTO_ESP, 0);
	deliver(false);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), nf + 1);
	assert_int_equal(ike_qm_count(net.a.ike), 1);
	assert_int_equal(only_sa(&net.a)->qms->spi_in, newer);
	/* its larval inbound SA went with it */
	assert_false(sad_get(
	    ike_sad(net.a.ike), SAD_INBOUND, older, &(struct sad_info){0}));
	assert_true(sad_get(
	    ike_sad(net.a.ike), SAD_INBOUND, newer, &(struct sad_info){0}));
	teardown(NULL);
}

/*
 * The ISAKMP SA ends (here: the daemon shuts down) while a Quick Mode of
 * ours waits for QM2: the exchange fails, once, with its reason, and its
 * SPI goes back.
 */
static void
test_quick_mode_abandoned_with_its_sa(void **state)
{
	uint32_t older, newer;
	uint64_t nf;

	(void)state;
	two_open_quick_modes(&older, &newer);
	nf = MM_STAT(&net.a, negotiation_failures);
	ike_delete_all(net.a.ike);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), nf + 2);
	assert_int_equal(ike_qm_count(net.a.ike), 0);
	assert_false(sad_get(
	    ike_sad(net.a.ike), SAD_INBOUND, older, &(struct sad_info){0}));
	assert_non_null(strstr(net.a.last_reason, "ISAKMP SA ended"));
	teardown(NULL);
}

/*
 * Once keys exist an Informational must be protected (RFC 2409 5.7): an
 * unprotected DELETE or refusal for an established SA, which anyone who
 * saw the cookies could send, ends nothing and is an Invalid Packet.
 */
static void
test_unprotected_informational_after_keys(void **state)
{
	struct isakmp_builder bld;
	struct isakmp_hdr h;
	struct ike_endpoint from;
	struct ike_sa *b;
	uint8_t spi[16];
	struct wbuf wb;

	(void)state;
	establish();
	b = only_sa(&net.b);
	memcpy(spi, b->cky_i, 8);
	memcpy(spi + 8, b->cky_r, 8);
	for (uint32_t msgid = 0; msgid < 2; msgid++) {
		/* HDR, D(ISAKMP, the cookies): no E flag, no HASH(1) */
		memset(&h, 0, sizeof(h));
		memcpy(h.icookie, b->cky_i, 8);
		memcpy(h.rcookie, b->cky_r, 8);
		h.exchange = ISAKMP_EXCH_INFO;
		h.msgid = msgid;
		wbuf_init(&wb, 256);
		assert_true(ips_ok(isakmp_build_begin(&bld, &wb, &h)));
		assert_true(ips_ok(isakmp_build_delete(
		    &bld, ISAKMP_PROTO_ISAKMP, 16, spi, 1)));
		assert_true(ips_ok(isakmp_build_finish(&bld)));
		from = net.a.ep;
		ike_input(net.b.ike, &net.b.ep, &from, wb.p, wb.len);
		wbuf_free(&wb);
		assert_int_equal(b->state, IKE_SA_ESTABLISHED);
		assert_int_equal(
		    MM_STAT(&net.b, invalid_packets_received), msgid + 1);
	}
	teardown(NULL);
}

/*
 * A volume rekey: traffic moves to the new pair at once, so the old one
 * would never reach its own end.  It lives on for the grace (what is in
 * flight), then both sides delete it, and only the new pair is left.
 */
static void
test_replaced_pair_goes_after_grace(void **state)
{
	struct sad_info rows[4];
	uint32_t old_in = 0;
	uint64_t dl;

	(void)state;
	net.esp_a = net.esp_b = "aes128gcm16, lifetime-kb: 1000";
	setup_pair("19", "19", "k", "k");
	initiate();
	pump();
	assert_int_equal(sad_list(ike_sad(net.a.ike), rows, 4), 2);
	for (int i = 0; i < 2; i++)
		if (rows[i].dir == SAD_INBOUND)
			old_in = rows[i].spi;
	assert_true(sad_on_packet(
	    ike_sad(net.a.ike), SAD_INBOUND, old_in, 901 * 1024, net.now));
	ike_tick(net.a.ike);
	pump();
	assert_int_equal(QM_STAT(&net.a, rekeys), 1);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 4);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 4);
	dl = QM_STAT(&net.a, key_deletions);
	net.now += IKE_REKEY_GRACE_MS - 1;
	ike_tick(net.a.ike);
	ike_tick(net.b.ike);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 4); /* not yet */
	net.now += 1;
	ike_tick(net.a.ike);
	ike_tick(net.b.ike);
	pump();
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	assert_int_equal(QM_STAT(&net.a, key_deletions), dl + 2);
	assert_false(
	    sad_get(ike_sad(net.a.ike), SAD_INBOUND, old_in, &rows[0]));
	/* the new pair is the current one: nothing replaced it */
	assert_int_equal(sad_list(ike_sad(net.a.ike), rows, 4), 2);
	assert_int_equal(rows[0].replaced_ms, 0);
	assert_int_equal(rows[1].replaced_ms, 0);
	teardown(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_main_mode_refused_after_keys),
	    cmocka_unit_test(test_quick_mode_refusal_names_its_exchange),
	    cmocka_unit_test(test_quick_mode_abandoned_with_its_sa),
	    cmocka_unit_test(test_unprotected_informational_after_keys),
	    cmocka_unit_test(test_replaced_pair_goes_after_grace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
