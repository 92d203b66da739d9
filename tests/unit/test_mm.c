/*
 * Main Mode as a dialogue between two engines in one process, over a mock
 * transport with a clock the test moves.  Each message is written out as
 * it crosses, then the asserts that follow from it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ike_net.h"
#include "testlib.h"

static void
test_main_mode_psk(void **state)
{
	struct ike_sa *a, *b;

	(void)state;
	setup_pair("14", "14", "shared-secret-1", "shared-secret-1");
	initiate();
	a = only_sa(&net.a);
	assert_int_equal(a->state, IKE_SA_MM_I1);

	/* HDR, SA, VID(DPD), VID(NAT-T) --> */
	deliver(false);
	b = only_sa(&net.b);
	assert_int_equal(b->state, IKE_SA_MM_R1);
	assert_int_equal(b->chosen.group, 14);
	assert_memory_equal(b->cky_i, a->cky_i, 8);

	/* <-- HDR, SA */
	deliver(false);
	assert_int_equal(a->state, IKE_SA_MM_I2);
	assert_memory_equal(a->cky_r, b->cky_r, 8);

	/* HDR, KE, Ni, NAT-D, NAT-D --> */
	deliver(false);
	assert_int_equal(b->state, IKE_SA_MM_R2);
	assert_true(b->keyed);

	/* <-- HDR, KE, Nr, NAT-D, NAT-D */
	deliver(false);
	assert_int_equal(a->state, IKE_SA_MM_I3);
	/* Both sides derived the same keys, and no NAT was seen. */
	assert_memory_equal(a->sk.d, b->sk.d, a->sk.len);
	assert_memory_equal(a->sk.a, b->sk.a, a->sk.len);
	assert_memory_equal(a->ka, b->ka, a->kalen);
	assert_false(a->nat);
	assert_int_equal(a->remote.port, IKE_PORT);

	/* HDR*, IDii, HASH_I, N(INITIAL-CONTACT) --> */
	deliver(false);
	assert_int_equal(b->state, IKE_SA_ESTABLISHED);
	assert_int_equal(b->peer_id_type, ISAKMP_ID_IPV4_ADDR);

	/* <-- HDR*, IDir, HASH_R */
	deliver(false);
	assert_int_equal(a->state, IKE_SA_ESTABLISHED);
	/* The initiator goes on with Quick Mode for its rule. */
	assert_int_equal(net.n, 1);
	/* After MM6 both CBC chains stand on the same last block, from
	 * which Quick Mode IVs are derived. */
	assert_memory_equal(a->iv, b->iv, a->block);

	assert_int_equal(MM_STAT(&net.a, ike_main_mode), 1);
	assert_int_equal(MM_STAT(&net.b, ike_main_mode), 1);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), 0);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 0);
	teardown(NULL);
}

/* Every group and cipher we offer completes. */
static void
test_main_mode_groups(void **state)
{
	static const char *const groups[] = {"2", "5", "15", "19", "20"};

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		setup_pair(groups[i], groups[i], "k", "k");
		initiate();
		while (net.n > 0)
			deliver(false);
		assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
		assert_int_equal(only_sa(&net.b)->state, IKE_SA_ESTABLISHED);
		teardown(NULL);
	}
}

/* Wrong PSK: the responder cannot read MM5 (the classic symptom, Invalid
 * Packets Received); the initiator retransmits, then gives up. */
static void
test_wrong_psk(void **state)
{
	(void)state;
	setup_pair("19", "19", "right", "wrong");
	initiate();
	for (int i = 0; i < 5; i++) /* MM1 .. MM5 */
		deliver(false);
	assert_int_equal(net.n, 0); /* B did not answer MM5 */
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_MM_R2);
	/* Garbage almost never parses; if it does, HASH_I fails. */
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received) +
		MM_STAT(&net.b, authentication_failures),
	    1);
	for (int i = 0; i < IKE_RETX_TRIES; i++) {
		net.now += 120000;
		ike_tick(net.a.ike);
		assert_int_equal(net.n, 1); /* MM5 again */
		deliver(false);
	}
	net.now += 120000;
	ike_tick(net.a.ike);
	ike_tick(net.b.ike);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_DEAD);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), 1);
	assert_int_equal(MM_STAT(&net.a, ike_main_mode), 0);
	/* B could never read A: a pre-shared key mismatch, recorded as an
	 * authentication failure (545).  A only saw silence (547). */
	assert_int_equal(MM_STAT(&net.b, authentication_failures), 1);
	assert_int_equal(MM_STAT(&net.b, negotiation_failures), 1);
	assert_int_equal(net.b.nevents, 1);
	assert_int_equal(net.b.events[0], AUDIT_AUTH_FAILED);
	assert_non_null(strstr(net.b.last_reason, "pre-shared keys differ"));
	assert_int_equal(net.a.nevents, 1);
	assert_int_equal(net.a.events[0], AUDIT_NEG_FAILED);
	assert_non_null(strstr(net.a.last_reason, "no answer"));
	/* The dead SAs go on the next tick. */
	ike_tick(net.a.ike);
	ike_tick(net.b.ike);
	assert_int_equal(ike_isadb_size(net.a.ike), 0);
	assert_int_equal(ike_isadb_size(net.b.ike), 0);
	teardown(NULL);
}

/* Proposal mismatch: the responder answers MM1 with NO_PROPOSAL_CHOSEN in
 * the clear; both count a negotiation failure. */
static void
test_no_proposal(void **state)
{
	(void)state;
	setup_pair("14", "19", "k", "k");
	initiate();
	/* HDR, SA(group 14) --> */
	deliver(false);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_DEAD);
	assert_int_equal(MM_STAT(&net.b, negotiation_failures), 1);
	/* <-- HDR, N(NO_PROPOSAL_CHOSEN) */
	assert_int_equal(net.n, 1);
	deliver(false);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_DEAD);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), 1);
	assert_int_equal(MM_STAT(&net.a, authentication_failures), 0);
	/* Audit 546 on B, with the attribute that differed; 546 on A
	 * too: the peer refused our proposal. */
	assert_int_equal(net.b.nevents, 1);
	assert_int_equal(net.b.events[0], AUDIT_BAD_PROPOSAL);
	assert_string_equal(net.b.last_attribute, "dh-group");
	assert_int_equal(net.a.nevents, 1);
	assert_int_equal(net.a.events[0], AUDIT_BAD_PROPOSAL);
	assert_non_null(strstr(net.a.last_reason, "NO_PROPOSAL_CHOSEN"));
	teardown(NULL);
}

/* A flood of refused first messages is counted in full, but audited
 * only at a bounded rate; the next event says how many were left out. */
static void
test_audit_flood_is_bounded(void **state)
{
	(void)state;
	setup_pair("14", "19", "k", "k");
	for (int i = 0; i < 200; i++) {
		initiate();
		deliver(false); /* MM1 --> */
		deliver(true); /* <-- N(NO_PROPOSAL_CHOSEN), lost */
	}
	assert_int_equal(MM_STAT(&net.b, negotiation_failures), 200);
	assert_int_equal(net.b.nevents, IKE_AUDIT_BURST);
	net.now += 10000;
	initiate();
	deliver(false);
	deliver(true);
	assert_int_equal(net.b.nevents, IKE_AUDIT_BURST + 1);
	assert_int_equal(net.b.last_suppressed, 200 - IKE_AUDIT_BURST);
	teardown(NULL);
}

/* ikeaudits=0 (DisableIKEAudits): no audit events, while the counters
 * still count; on again, events again. */
static void
test_audits_off(void **state)
{
	(void)state;
	setup_pair("14", "19", "k", "k"); /* no common group: refused */
	ike_set_audits(net.b.ike, false);
	initiate();
	deliver(false);
	deliver(true);
	assert_int_equal(MM_STAT(&net.b, negotiation_failures), 1);
	assert_int_equal(net.b.nevents, 0);
	ike_set_audits(net.b.ike, true);
	initiate();
	deliver(false);
	deliver(true);
	assert_int_equal(MM_STAT(&net.b, negotiation_failures), 2);
	assert_int_equal(net.b.nevents, 1);
	teardown(NULL);
}

/* The trace log (ikelogging=1): both sides' messages, state changes and
 * the proposals chosen, and no key, nonce or PSK; off, nothing. */
static void
test_trace(void **state)
{
	char hex[17];
	const uint8_t *k;

	(void)state;
	setup_pair("19", "19", "trace-test-psk-1234", "trace-test-psk-1234");
	ike_set_trace(net.a.ike, true);
	ike_set_trace(net.b.ike, true);
	initiate();
	pump();
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	assert_non_null(net.a.trace);
	assert_non_null(net.b.trace);
	assert_non_null(strstr(net.a.trace,
	    "send MAIN_MODE 10.99.0.1:500 -> "
	    "10.99.0.2:500"));
	assert_non_null(strstr(net.a.trace, ": MM_I3 -> ESTABLISHED"));
	assert_non_null(
	    strstr(net.b.trace, "phase 1 proposal accepted (transform"));
	assert_non_null(strstr(net.b.trace, ", encrypted"));
	assert_non_null(strstr(net.b.trace, "Quick Mode proposal accepted"));
	assert_non_null(strstr(net.a.trace, "event 541 (sa_established)"));
	/* no secret: the PSK, nor the keys and nonces (in hex, as a leak
	 * would most likely be written) */
	for (int side = 0; side < 2; side++) {
		const char *t = side ? net.b.trace : net.a.trace;
		const struct ike_sa *sa = only_sa(side ? &net.b : &net.a);
		const uint8_t *const secrets[] = {
		    sa->skeyid, sa->ka, sa->ni, sa->nr, sa->sk.d};

		assert_null(strstr(t, "trace-test-psk"));
		for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]);
		     i++) {
			k = secrets[i];
			snprintf(hex, sizeof(hex),
			    "%02x%02x%02x%02x%02x%02x%02x%02x", k[0], k[1],
			    k[2], k[3], k[4], k[5], k[6], k[7]);
			assert_null(strstr(t, hex));
		}
	}
	/* off: not a line more */
	{
		size_t before = net.a.trace_len;

		ike_set_trace(net.a.ike, false);
		initiate();
		pump();
		assert_int_equal(net.a.trace_len, before);
	}
	teardown(NULL);
}

/* Lines in a file; each must end in a newline (none torn). */
static size_t
file_lines(const char *path)
{
	size_t len = 0, n = 0;
	char *t = tl_read_file(path, &len);

	assert_non_null(t);
	for (size_t i = 0; i < len; i++)
		n += t[i] == '\n';
	assert_true(len == 0 || t[len - 1] == '\n');
	/* every line stamped: written whole */
	for (const char *l = t; l < t + len; l = strchr(l, '\n') + 1)
		assert_true(strncmp(l, "20", 2) == 0);
	free(t);
	return n;
}

/*
 * The trace log (the real file) under a storm of negotiations, payload
 * detail on: at exactly TRACE_MAX_LINES lines the file becomes .bak and a
 * new one starts, and every line the engine traced is in one of the two,
 * whole.
 */
static void
test_trace_storm(void **state)
{
	char dir[] = "/tmp/ipsm-storm-XXXXXX", path[64], bak[80], err[256];
	size_t rounds = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/oakley.log", dir);
	snprintf(bak, sizeof(bak), "%s.bak", path);
	setup_pair("19", "19", "storm-psk", "storm-psk");
	if (!ips_ok(trace_log_open(
		path, TRACE_MAX_LINES, &net.a.log, err, sizeof(err))))
		fail_msg("%s", err);
	ike_set_trace(net.a.ike, true);
	while (net.a.trace_lines <= TRACE_MAX_LINES + 500 && rounds < 20000) {
		initiate();
		pump();
		rounds++;
	}
	assert_int_equal(MM_STAT(&net.a, ike_main_mode), rounds);
	assert_true(net.a.trace_lines > TRACE_MAX_LINES);
	assert_int_equal(file_lines(bak), TRACE_MAX_LINES);
	assert_int_equal(file_lines(path), net.a.trace_lines - TRACE_MAX_LINES);
	assert_int_equal(
	    trace_log_lines(net.a.log), net.a.trace_lines - TRACE_MAX_LINES);
	/* payload by payload: proposals, transforms, identities */
	{
		char *t = tl_read_file(bak, NULL);

		assert_non_null(strstr(t, "  SA doi 1 situation 1"));
		assert_non_null(
		    strstr(t, "    proposal 1 ISAKMP, 1 transform"));
		assert_non_null(strstr(t,
		    "      transform 1 id 1: "
		    "Encryption-Algorithm=7(AES-CBC) "));
		assert_non_null(strstr(t, "  decrypted payloads:"));
		assert_non_null(strstr(t, "  payloads, before encryption:"));
		assert_non_null(strstr(t, "    proposal 1 ESP spi "));
		assert_non_null(strstr(t, "  ID ID_IPV4_ADDR 10.99.0.1"));
		assert_non_null(strstr(t, "  KE 64 bytes"));
		assert_null(strstr(t, "storm-psk"));
		free(t);
	}
	trace_log_close(net.a.log);
	net.a.log = NULL;
	teardown(NULL);
	tl_sh("rm -rf %s", dir);
}

/* ipsmMmSaTable's order (ike_sa_next): every SA once, indexes rising, as
 * ike_sa_list lists them; an SA reaped from the middle leaves the rest in
 * order, and new SAs take new numbers. */
static void
test_sa_index(void **state)
{
	struct ike_sa_info row, list[8];
	uint32_t after = 0, gone;
	size_t n = 0;

	(void)state;
	setup_pair("14", "14", "k", "k");
	for (int i = 0; i < 5; i++)
		initiate(); /* five MM1s, five SAs at a */
	assert_int_equal(ike_sa_list(net.a.ike, list, 8), 5);
	while (ike_sa_next(net.a.ike, after, &row)) {
		assert_true(row.index > after);
		assert_int_equal(row.index, list[n].index);
		after = row.index;
		n++;
	}
	assert_int_equal(n, 5);
	/* the third one dies and is reaped */
	gone = list[2].index;
	for (struct ike_sa *sa = net.a.ike->sas; sa != NULL; sa = sa->next)
		if (sa->index == gone)
			ike_sa_set_state(sa, IKE_SA_DEAD);
	ike_tick(net.a.ike);
	initiate();
	assert_int_equal(ike_sa_list(net.a.ike, list, 8), 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_not_equal(list[i].index, gone);
		if (i > 0)
			assert_true(list[i].index > list[i - 1].index);
	}
	assert_true(list[4].index > after); /* the new one: a new number */
	assert_true(ike_sa_next(net.a.ike, gone - 1, &row));
	assert_int_equal(row.index, gone + 1);
	assert_false(ike_sa_next(net.a.ike, list[4].index, &row));
	teardown(NULL);
}

/* A lost MM2: the initiator resends MM1 and the responder answers from
 * its cache, counting nothing as invalid. */
static void
test_lost_reply_is_retransmitted(void **state)
{
	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	deliver(false); /* MM1 */
	deliver(true); /* MM2 lost */
	net.now += IKE_RETX_FIRST_MS;
	ike_tick(net.a.ike);
	deliver(false); /* MM1 again */
	assert_int_equal(ike_isadb_size(net.b.ike), 1);
	while (net.n > 0)
		deliver(false);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 0);
	teardown(NULL);
}

/* A lost MM6: the responder is already established, yet answers the
 * repeated MM5 with MM6 again, and the initiator completes. */
static void
test_lost_mm6_is_retransmitted(void **state)
{
	static struct dgram mm6;

	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	for (int k = 0; k < 5; k++)
		deliver(false);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_ESTABLISHED);
	deliver(true); /* MM6 lost */
	net.now += IKE_RETX_FIRST_MS;
	ike_tick(net.a.ike);
	deliver(false); /* MM5 again */
	assert_int_equal(net.n, 1); /* MM6 again */
	mm6 = net.q[0];
	deliver(false);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	assert_int_equal(net.n, 1); /* QM1 */
	/* a duplicated MM6 gets no answer */
	ike_input(net.a.ike, &mm6.to, &mm6.from, mm6.msg, mm6.len);
	assert_int_equal(net.n, 1);
	assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 0);
	teardown(NULL);
}

/*
 * An encrypted Main Mode message for an established SA, even one that
 * decrypts and parses, is dropped without moving the IV chain: Quick Mode
 * still works afterwards (its IVs derive from the last Main Mode block).
 */
static void
test_stray_main_mode_keeps_iv(void **state)
{
	struct ike_sa *b;
	uint8_t msg[ISAKMP_HDR_LEN + 16], iv[IKE_BLOCK_MAX];
	static const uint8_t id[12] = {0, 0, 0, 12, 1, 0, 0, 0, 10, 99, 0, 1};

	(void)state;
	establish();
	b = only_sa(&net.b);
	memset(msg, 0, sizeof(msg));
	memcpy(msg, b->cky_i, 8);
	memcpy(msg + 8, b->cky_r, 8);
	msg[16] = ISAKMP_PL_ID;
	msg[17] = 0x10;
	msg[18] = ISAKMP_EXCH_IDPROT;
	msg[19] = ISAKMP_FLAG_E;
	msg[27] = (uint8_t)sizeof(msg);
	memcpy(iv, b->iv, b->block);
	{
		uint8_t plain[16] = {0};

		memcpy(plain, id, sizeof(id));
		assert_true(ips_ok(ike_cbc(b->ike->cx, b->chosen.encr, true,
		    b->ka, b->kalen, iv, plain, 16, msg + ISAKMP_HDR_LEN)));
	}
	ike_input(net.b.ike, &net.b.ep, &net.a.ep, msg, sizeof(msg));
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 1);
	assert_memory_equal(b->iv, iv, b->block);
	assert_int_equal(net.n, 0);
	/* Quick Mode still agrees on its IVs */
	qm_start_for_rule(only_sa(&net.a));
	assert_int_equal(net.n, 1);
	while (net.n > 0)
		deliver(false);
	assert_int_equal(MM_STAT(&net.b, ike_quick_mode), 2);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 1);
	assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
	teardown(NULL);
}

/* HDR*, HASH(1), D(ISAKMP, CKY-I|CKY-R) --> in each direction. */
static void
test_delete_both_ways(void **state)
{
	(void)state;
	establish();
	assert_true(ips_ok(info_send_delete(only_sa(&net.a))));
	deliver(false);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_DEAD);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 0);
	teardown(NULL);

	establish();
	ike_delete_all(net.b.ike); /* as on shutdown */
	/* HDR*, HASH(1), D(ESP, our inbound SPI) --> then D(ISAKMP) */
	assert_int_equal(net.n, 2);
	deliver(false);
	assert_int_equal(sad_count(ike_sad(net.a.ike)), 0);
	deliver(false);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_DEAD);
	assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
	ike_tick(net.a.ike);
	assert_int_equal(ike_isadb_size(net.a.ike), 0);
	/* Audit on A: Main Mode up (541), Quick Mode up (541), the pair
	 * deleted by B (542), the ISAKMP SA deleted by B (543). */
	{
		static const unsigned want[] = {AUDIT_SA_ESTABLISHED,
		    AUDIT_SA_ESTABLISHED, AUDIT_QM_ENDED, AUDIT_MM_ENDED};

		assert_int_equal(net.a.nevents, 4);
		assert_memory_equal(net.a.events, want, sizeof(want));
		assert_string_equal(net.a.last_reason, "deleted by the peer");
		/* and B says why it ended them */
		assert_string_equal(net.b.last_reason, "shutdown");
	}
	teardown(NULL);
}

/* A reload that removes a rule ends its SAs, the peer told (DELETE for
 * the pair, then for the ISAKMP SA); a reload that keeps it does not. */
static void
test_reload_drops_removed_rule(void **state)
{
	static const char open_only[] =
	    "policy: { name: open }\n"
	    "filter-lists:\n"
	    "  - { name: all, filters: [ { source: me, destination: any } ] }\n"
	    "filter-actions:\n"
	    "  - { name: pass, action: permit }\n"
	    "rules:\n"
	    "  - { name: open, filter-list: all, filter-action: pass }\n";
	struct ike_policy_view pv;
	struct policy_error err;
	struct policy *p;
	struct flt_set *fs;

	(void)state;
	establish();
	/* the same policy again: nothing ends */
	pv = (struct ike_policy_view){
	    net.a.policy, net.a.secrets, net.a.filters, net.a.host, NULL};
	ike_set_policy(net.a.ike, &pv);
	assert_int_equal(net.n, 0);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	/* a policy without the rule */
	assert_true(ips_ok(policy_load_buffer(
	    "open.yaml", open_only, sizeof(open_only) - 1, &p, &err)));
	assert_true(ips_ok(flt_set_build(p, net.a.host, &fs)));
	pv.policy = p;
	pv.filters = fs;
	ike_set_policy(net.a.ike, &pv);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 0);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_DEAD);
	assert_string_equal(net.a.last_reason, "its rule left the policy");
	/* D(ESP) then D(ISAKMP) --> */
	assert_int_equal(net.n, 2);
	pump();
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 0);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_DEAD);
	/* the engine must not outlive the policy it was given */
	teardown(NULL);
	flt_set_free(fs);
	policy_free(p);
}

/* HDR*, HASH(1), N(R-U-THERE, seq) -->
 * <-- HDR*, HASH(1), N(R-U-THERE-ACK, seq) */
static void
test_dpd_is_answered(void **state)
{
	struct ike_sa *a;
	uint8_t spi[16], seq[4] = {0, 0, 0, 42};

	(void)state;
	establish();
	a = only_sa(&net.a);
	memcpy(spi, a->cky_i, 8);
	memcpy(spi + 8, a->cky_r, 8);
	assert_true(ips_ok(info_send_notify(
	    a, ISAKMP_PROTO_ISAKMP, spi, 16, ISAKMP_N_R_U_THERE, seq, 4)));
	deliver(false);
	assert_int_equal(net.n, 1); /* the ACK */
	deliver(false);
	assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 0);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	teardown(NULL);
}

/* A protected informational whose HASH(1) is wrong changes nothing and
 * counts as an invalid packet. */
static void
test_forged_informational(void **state)
{
	(void)state;
	establish();
	assert_true(ips_ok(info_send_delete(only_sa(&net.a))));
	net.q[0].msg[net.q[0].len - 1] ^= 0x01; /* last ciphertext byte */
	deliver(false);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_ESTABLISHED);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 1);
	teardown(NULL);
}

static void
run_quick_mode(const char *pfs, const char *esp, size_t keylen)
{
	struct sad_info rows[4];

	net.pfs = pfs;
	net.esp_a = net.esp_b = esp;
	setup_pair("19", "19", "k", "k");
	initiate();
	for (int i = 0; i < 6; i++) /* Main Mode */
		deliver(false);
	assert_int_equal(net.n, 1);

	/* HDR*, HASH(1), SA, Ni, [KE,] IDci, IDcr --> */
	deliver(false);
	assert_int_equal(ike_qm_count(net.b.ike), 1);
	assert_int_equal(sad_larval(ike_sad(net.b.ike)), 1);
	assert_int_equal(MM_STAT(&net.b, total_get_spi), 1);

	/* <-- HDR*, HASH(2), SA, Nr, [KE,] IDci, IDcr */
	deliver(false);
	assert_int_equal(ike_qm_count(net.a.ike), 0);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);

	/* HDR*, HASH(3) --> */
	deliver(false);
	assert_int_equal(net.n, 0);
	assert_int_equal(ike_qm_count(net.b.ike), 0);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	keys_cross();

	assert_int_equal(sad_list(ike_sad(net.a.ike), rows, 4), 2);
	assert_int_equal(rows[0].p.encap, IPSEC_ENCAP_TRANSPORT);
	assert_int_equal(rows[0].p.proto,
	    strncmp(esp, "ah:", 3) == 0 ? ISAKMP_PROTO_AH : ISAKMP_PROTO_ESP);
	{
		size_t k;

		assert_non_null(
		    sad_key(ike_sad(net.a.ike), rows[0].dir, rows[0].spi, &k));
		assert_int_equal(k, keylen);
	}
	for (int side = 0; side < 2; side++) {
		struct side *s = side ? &net.b : &net.a;

		assert_int_equal(MM_STAT(s, ike_quick_mode), 1);
		assert_int_equal(MM_STAT(s, total_get_spi), 1);
		assert_int_equal(MM_STAT(s, key_additions), 1);
		assert_int_equal(MM_STAT(s, key_updates), 1);
		assert_int_equal(QM_STAT(s, key_additions), 2);
		assert_int_equal(MM_STAT(s, negotiation_failures), 0);
		assert_int_equal(MM_STAT(s, invalid_packets_received), 0);
	}
}

static void
test_quick_mode(void **state)
{
	(void)state;
	/* AES-GCM-128: 16-byte key and the RFC 4106 4-byte salt */
	run_quick_mode("none", "aes128gcm16", 20);
	teardown(NULL);
	/* PFS with ECP-256, AES-CBC-256 and HMAC-SHA-256: 32 + 32 */
	run_quick_mode("19", "aes256-sha256", 64);
	teardown(NULL);
	/* PFS with MODP-2048, 3DES and HMAC-SHA1: 24 + 20 */
	run_quick_mode("14", "3des-sha1", 44);
	teardown(NULL);
	/* ESP-NULL with HMAC-SHA1: integrity only, 20 */
	run_quick_mode("none", "null-sha1", 20);
	teardown(NULL);
	/* AH with HMAC-SHA-256-128: 32 */
	run_quick_mode("none", "ah: sha256", 32);
	teardown(NULL);
	/* AH with HMAC-SHA1-96: 20 */
	run_quick_mode("none", "ah: sha1", 20);
	teardown(NULL);
}

/* A Quick Mode proposal the responder will not take: it says so under
 * the ISAKMP SA, which survives; both count a negotiation failure. */
static void
test_quick_mode_mismatch(void **state)
{
	(void)state;
	net.esp_a = "aes128gcm16";
	net.esp_b = "aes256-sha256";
	setup_pair("19", "19", "k", "k");
	initiate();
	for (int i = 0; i < 7; i++) /* Main Mode and QM1 */
		deliver(false);
	assert_int_equal(MM_STAT(&net.b, negotiation_failures), 1);
	assert_int_equal(sad_count(ike_sad(net.b.ike)), 0);
	/* <-- HDR*, HASH(1), N(NO_PROPOSAL_CHOSEN, ESP) */
	assert_int_equal(net.n, 1);
	deliver(false);
	assert_int_equal(MM_STAT(&net.a, negotiation_failures), 1);
	assert_int_equal(ike_qm_count(net.a.ike), 0);
	assert_int_equal(sad_count(ike_sad(net.a.ike)), 0); /* SPI freed */
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_ESTABLISHED);
	teardown(NULL);
}

/*
 * Rewrite the Quick Mode message at the head of the queue (to A) as a
 * hostile but authenticated peer would: without its payload of type drop,
 * with HASH(2) recomputed and the body re-encrypted under the keys both
 * sides share.  White box: it uses A's SA and exchange for the keys.
 */
static void
forge_without(uint8_t drop)
{
	struct ike_sa *sa = only_sa(&net.a);
	struct ike_qm *qm = sa->qms;
	struct dgram *d = &net.q[0];
	uint8_t plain[IKE_MSG_MAX], out[IKE_MSG_MAX], mid[4];
	size_t blen = d->len - ISAKMP_HDR_LEN, off = 0, o = 0, hoff, hlen;
	uint8_t type = d->msg[16], *prev_next = NULL;
	bool dropped = false;

	assert_non_null(qm);
	assert_true(ips_ok(ike_cbc(sa->ike->cx, sa->chosen.encr, false, sa->ka,
	    sa->kalen, qm->iv, d->msg + ISAKMP_HDR_LEN, blen, plain)));
	/* copy the payload chain, leaving out the dropped payload */
	while (type != 0) {
		uint8_t next = plain[off];
		size_t len = (size_t)plain[off + 2] << 8 | plain[off + 3];

		assert_true(len >= 4 && off + len <= blen);
		if (type == drop && !dropped) {
			*prev_next = next; /* only the first of its type */
			dropped = true;
		} else {
			memcpy(out + o, plain + off, len);
			prev_next = out + o;
			o += len;
		}
		off += len;
		type = next;
	}
	/* HASH(2) = prf(SKEYID_a, M-ID | Ni_b | the rest) (RFC 2409 5.5) */
	hlen = ike_hash_len(sa->chosen.hash);
	hoff = 4;
	memcpy(mid, d->msg + 20, 4);
	{
		const struct ike_chunk in[] = {{mid, 4}, {qm->ni, qm->nilen},
		    {out + hoff + hlen, o - hoff - hlen}};

		assert_true(ips_ok(ike_prf(sa->ike->cx, sa->chosen.hash,
		    sa->sk.a, sa->sk.len, in, 3, out + hoff)));
	}
	while (o % sa->block != 0)
		out[o++] = 0;
	assert_true(ips_ok(ike_cbc(sa->ike->cx, sa->chosen.encr, true, sa->ka,
	    sa->kalen, qm->iv, out, o, d->msg + ISAKMP_HDR_LEN)));
	d->len = ISAKMP_HDR_LEN + o;
	d->msg[24] = (uint8_t)(d->len >> 24);
	d->msg[25] = (uint8_t)(d->len >> 16);
	d->msg[26] = (uint8_t)(d->len >> 8);
	d->msg[27] = (uint8_t)d->len;
}

/*
 * An authenticated peer answers our QM1 without a nonce or SA, or with one
 * ID:
 * the message is counted as invalid and dropped, the exchange waits for a
 * proper answer, and nothing reads a payload that is not there.
 */
static void
test_hostile_quick_mode_answer(void **state)
{
	static const uint8_t drops[] = {
	    ISAKMP_PL_NONCE, ISAKMP_PL_SA, ISAKMP_PL_ID};

	(void)state;
	for (size_t i = 0; i < sizeof(drops); i++) {
		setup_pair("19", "19", "k", "k");
		initiate();
		for (int k = 0; k < 7; k++) /* Main Mode and QM1 */
			deliver(false);
		assert_int_equal(net.n, 1);
		forge_without(drops[i]);
		deliver(false);
		assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 1);
		assert_int_equal(ike_qm_count(net.a.ike), 1);
		assert_int_equal(sad_active(ike_sad(net.a.ike)), 0);
		assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
		teardown(NULL);
	}
}

/*
 * A DELETE from one peer names only that peer's SAs: an SPI of an SA with
 * another peer is ignored (RFC 2408 5.15 deletes SAs "of this ISAKMP SA").
 */
static void
test_delete_names_own_sas_only(void **state)
{
	struct sad *sad;
	struct sad_params other;
	struct sad_info rows[4], got;
	static const uint8_t key[20], stranger[4] = {0, 0, 0x12, 0x34};
	uint8_t mine[4];
	uint32_t out_spi = 0;

	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	for (int k = 0; k < 9; k++) /* Main Mode and Quick Mode */
		deliver(false);
	sad = ike_sad(net.a.ike);
	assert_int_equal(sad_list(sad, rows, 4), 2);
	for (int k = 0; k < 2; k++)
		if (rows[k].dir == SAD_OUTBOUND) {
			other = rows[k].p;
			out_spi = rows[k].spi;
		}
	assert_true(ips_addr_parse("10.99.0.9", &other.remote));
	assert_true(ips_ok(sad_add_outbound(
	    sad, 0x1234, &other, key, sizeof(key), 0, net.now)));

	qm_peer_deleted(only_sa(&net.a), ISAKMP_PROTO_ESP, stranger, 1);
	assert_true(sad_get(sad, SAD_OUTBOUND, 0x1234, &got));
	assert_int_equal(sad_count(sad), 3);

	mine[0] = (uint8_t)(out_spi >> 24);
	mine[1] = (uint8_t)(out_spi >> 16);
	mine[2] = (uint8_t)(out_spi >> 8);
	mine[3] = (uint8_t)out_spi;
	qm_peer_deleted(only_sa(&net.a), ISAKMP_PROTO_ESP, mine, 1);
	assert_int_equal(
	    sad_count(sad), 1); /* the pair went, the other SA stayed */
	teardown(NULL);
}

/* Reserved or short SPIs in a peer's Quick Mode proposal are refused. */
static void
test_reserved_peer_spi(void **state)
{
	static const uint32_t spis[] = {0, 1, 255, 256, 0xc0ffee};
	struct ike_qm_choice offer = {.pnum = 1,
				 .tnum = 1,
				 .proto = ISAKMP_PROTO_ESP,
				 .transform = ESP_TRANSFORM_AES_GCM_16,
				 .keybits = 128,
				 .encap = IPSEC_ENCAP_TRANSPORT},
			     got;

	(void)state;
	for (size_t i = 0; i < sizeof(spis) / sizeof(spis[0]); i++) {
		struct wbuf wb;
		struct isakmp_payload pl = {.type = ISAKMP_PL_SA};
		struct isakmp_sa sa;
		struct ike_mm_mismatch why;
		uint32_t peer_spi = 0;
		bool usable = spis[i] > 255;

		wbuf_init(&wb, IKE_MSG_MAX);
		assert_true(ips_ok(ike_qm_sa_write(&wb, &offer, 1, spis[i])));
		rbuf_init(&pl.body, wb.p, wb.len);
		assert_true(ips_ok(isakmp_sa_parse(&pl, &sa)));
		assert_int_equal(ips_ok(ike_qm_sa_select(
				     &sa, &offer, 1, &got, &peer_spi, &why)),
		    usable);
		assert_int_equal(
		    ips_ok(ike_qm_sa_accept(&sa, &offer, 1, &got, &peer_spi)),
		    usable);
		if (usable)
			assert_int_equal(peer_spi, spis[i]);
		wbuf_free(&wb);
	}
}

/* A lost QM3: the responder resends QM2, and the initiator, already
 * done, answers it with QM3 again from the exchange it kept. */
static void
test_lost_qm3_is_recovered(void **state)
{
	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	for (int k = 0; k < 8; k++) /* Main Mode, QM1, QM2 */
		deliver(false);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	deliver(true); /* QM3 lost */
	net.now += IKE_RETX_FIRST_MS;
	ike_tick(net.b.ike);
	deliver(false); /* QM2 again */
	assert_int_equal(net.n, 1); /* QM3 again */
	deliver(false);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	assert_int_equal(ike_qm_count(net.b.ike), 0);
	keys_cross();
	assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 0);
	/* the kept exchange goes once the responder could no longer ask */
	net.now += 300000;
	ike_tick(net.a.ike);
	assert_int_equal(ike_qm_count(net.a.ike), 0);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	teardown(NULL);
}

/* QM3 never arrives: the responder gives up and deletes the SPI the
 * initiator sends to, so the initiator drops its pair too. */
static void
test_qm3_never_arrives(void **state)
{
	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	for (int k = 0; k < 8; k++)
		deliver(false);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	for (int k = 0; k < 200; k++) {
		while (net.n > 0)
			deliver(true); /* QM3, then each QM2 again, lost */
		net.now += 1000;
		ike_tick(net.b.ike);
		if (MM_STAT(&net.b, negotiation_failures) == 1)
			break;
	}
	assert_int_equal(MM_STAT(&net.b, negotiation_failures), 1);
	assert_int_equal(sad_count(ike_sad(net.b.ike)), 0);
	assert_int_equal(net.n, 1); /* HDR*, HASH(1), D(ESP, its SPI) */
	deliver(false);
	assert_int_equal(sad_count(ike_sad(net.a.ike)), 0);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
	teardown(NULL);
}

/* A replayed QM1 of a finished exchange starts nothing: its message ID
 * was used (RFC 2408 3.1), so no SPI is taken and no QM2 goes out. */
static void
test_replayed_qm1(void **state)
{
	static struct dgram qm1;

	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	for (int k = 0; k < 6; k++)
		deliver(false);
	qm1 = net.q[0];
	while (net.n > 0)
		deliver(false);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	ike_input(net.b.ike, &qm1.to, &qm1.from, qm1.msg, qm1.len);
	assert_int_equal(net.n, 0);
	assert_int_equal(sad_count(ike_sad(net.b.ike)), 2);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 1);
	teardown(NULL);
}

/* A peer may keep at most 16 Quick Modes open with us per ISAKMP SA:
 * each holds a larval SPI until it completes or times out. */
static void
test_open_quick_modes_bounded(void **state)
{
	(void)state;
	establish();
	for (int k = 0; k < 17; k++) {
		qm_start_for_rule(only_sa(&net.a));
		assert_int_equal(net.n, 1);
		deliver(false); /* QM1 */
		while (net.n > 0)
			deliver(true); /* its QM2, never answered */
	}
	assert_int_equal(ike_qm_count(net.b.ike), 16);
	assert_int_equal(sad_larval(ike_sad(net.b.ike)), 16);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 1);
	teardown(NULL);
}

/* A bound on half-open responder Main Modes, like a SYN backlog. */
static void
test_half_open_bound(void **state)
{
	(void)state;
	setup_pair("19", "19", "k", "k");
	ike_set_half_open_max(net.b.ike, 2);
	for (int i = 0; i < 3; i++)
		initiate(); /* three MM1s, three cookie pairs */
	for (int i = 0; i < 3; i++)
		deliver(false);
	assert_int_equal(ike_isadb_size(net.b.ike), 2);
	assert_int_equal(net.n, 2); /* two MM2s, the third got nothing */
	teardown(NULL);
}

/* Two Main Modes in flight to one peer: neither may carry INITIAL-CONTACT,
 * or the responder would drop the other.  Both survive. */
static void
test_concurrent_main_modes(void **state)
{
	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	initiate();
	pump();
	ike_tick(net.b.ike);
	assert_int_equal(ike_isadb_size(net.b.ike), 2);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 4);
	teardown(NULL);
}

/* A restarted peer's INITIAL-CONTACT ends the SAs it has forgotten. */
static void
test_initial_contact(void **state)
{
	struct ike_policy_view pv;

	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	while (net.n > 0)
		deliver(false);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	/* A restarts: a new engine with no memory of B. */
	ike_free(net.a.ike);
	net.a.ike = ike_new(&mock_ops, &net.a, net.a.stats);
	pv = (struct ike_policy_view){
	    net.a.policy, net.a.secrets, net.a.filters, net.a.host, NULL};
	ike_set_policy(net.a.ike, &pv);
	initiate();
	while (net.n > 0)
		deliver(false);
	ike_tick(net.b.ike); /* reap */
	assert_int_equal(ike_isadb_size(net.b.ike), 1);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_ESTABLISHED);
	/* only the new pair is left */
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	assert_int_equal(QM_STAT(&net.b, key_deletions), 2);
	teardown(NULL);
}

/* RFC 3706: after 30 s of silence, R-U-THERE; an ACK ends the round.
 * A peer that stays silent for the 150 s timeout is dead: its SAs go. */
static void
test_dead_peer_detection(void **state)
{
	(void)state;
	setup_pair("19", "19", "k", "k");
	initiate();
	while (net.n > 0)
		deliver(false);
	net.now += 31000;
	ike_tick(net.a.ike);
	/* HDR*, HASH(1), N(R-U-THERE, seq) --> */
	assert_int_equal(net.n, 1);
	deliver(false);
	/* <-- HDR*, HASH(1), N(R-U-THERE-ACK, seq) */
	deliver(false);
	assert_int_equal(only_sa(&net.a)->dpd_since, 0);

	/* Now B is gone: every probe is lost. */
	for (int i = 0; i < 6; i++) {
		net.now += 31000;
		ike_tick(net.a.ike);
		while (net.n > 0)
			deliver(true);
	}
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_DEAD);
	assert_int_equal(sad_count(ike_sad(net.a.ike)), 0);
	assert_int_equal(QM_STAT(&net.a, key_deletions), 2);
	teardown(NULL);
}

/* An IPsec SA pair of 60 s: its initiator rekeys at 54 s, both count a
 * Rekey, old and new overlap, and at 60 s the old pair goes. */
static void
test_quick_mode_rekey(void **state)
{
	(void)state;
	net.esp_a = net.esp_b = "aes128gcm16, lifetime: 1m";
	setup_pair("19", "19", "k", "k");
	initiate();
	pump();
	net.now += 55000;
	ike_tick(net.a.ike);
	pump();
	assert_int_equal(QM_STAT(&net.a, rekeys), 1);
	assert_int_equal(QM_STAT(&net.b, rekeys), 1);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 4);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 4);
	net.now += 6000;
	ike_tick(net.a.ike);
	ike_tick(net.b.ike);
	pump();
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	assert_int_equal(QM_STAT(&net.a, key_deletions), 2);
	assert_int_equal(QM_STAT(&net.b, key_deletions), 2);
	keys_cross();
	assert_int_equal(MM_STAT(&net.a, invalid_packets_received), 0);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 0);
	teardown(NULL);
}

/* A volume lifetime of 1,000 KB: the datapath's byte counts drive the
 * rekey at 90% and the end of the old pair at 100%.  The traffic here is
 * inbound to A (which ran the Quick Mode, so rekeys): the busier
 * direction of a pair counts. */
static void
test_kilobyte_lifetime(void **state)
{
	struct sad_info rows[2];
	struct sad *sb;
	uint32_t in = 0;

	(void)state;
	net.esp_a = net.esp_b = "aes128gcm16, lifetime-kb: 1000";
	setup_pair("19", "19", "k", "k");
	initiate();
	pump();
	sb = ike_sad(net.b.ike);
	assert_int_equal(sad_list(sb, rows, 2), 2);
	for (int i = 0; i < 2; i++)
		if (rows[i].dir == SAD_INBOUND)
			in = rows[i].spi;
	assert_int_equal(sad_list(ike_sad(net.a.ike), rows, 2), 2);
	for (int i = 0; i < 2; i++)
		if (rows[i].dir == SAD_INBOUND)
			assert_true(sad_on_packet(ike_sad(net.a.ike),
			    SAD_INBOUND, rows[i].spi, 899 * 1024, net.now));
	ike_tick(net.a.ike);
	assert_int_equal(net.n, 0); /* 89.9%: nothing yet */
	for (int i = 0; i < 2; i++)
		if (rows[i].dir == SAD_INBOUND)
			assert_true(sad_on_packet(ike_sad(net.a.ike),
			    SAD_INBOUND, rows[i].spi, 2 * 1024, net.now));
	ike_tick(net.a.ike);
	pump();
	assert_int_equal(QM_STAT(&net.a, rekeys), 1);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 4);
	/* the old pair's last kilobytes: gone on both sides */
	for (int i = 0; i < 2; i++)
		if (rows[i].dir == SAD_INBOUND)
			assert_true(sad_on_packet(ike_sad(net.a.ike),
			    SAD_INBOUND, rows[i].spi, 100 * 1024, net.now));
	ike_tick(net.a.ike);
	pump();
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	assert_int_equal(sad_active(sb), 2);
	assert_false(sad_get(sb, SAD_INBOUND, in, &rows[0]));
	assert_false(sad_on_packet(sb, SAD_INBOUND, in, 1, net.now));
	teardown(NULL);
}

/* An ISAKMP SA of 60 s: its initiator starts a replacement at 54 s; the
 * old one is deleted at 60 s; the IPsec SAs live on. */
static void
test_main_mode_rekey(void **state)
{
	(void)state;
	setup_pair("19, lifetime: 1m", "19, lifetime: 1m", "k", "k");
	initiate();
	pump();
	net.now += 55000;
	ike_tick(net.a.ike);
	pump();
	assert_int_equal(ike_isadb_size(net.a.ike), 2);
	assert_int_equal(ike_isadb_size(net.b.ike), 2);
	assert_int_equal(MM_STAT(&net.a, ike_main_mode), 2);
	assert_int_equal(MM_STAT(&net.b, ike_main_mode), 2);
	assert_int_equal(MM_STAT(&net.a, ike_quick_mode), 1); /* no new QM */
	net.now += 6000;
	ike_tick(net.a.ike);
	ike_tick(net.b.ike);
	pump();
	ike_tick(net.a.ike);
	ike_tick(net.b.ike);
	assert_int_equal(ike_isadb_size(net.a.ike), 1);
	assert_int_equal(ike_isadb_size(net.b.ike), 1);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	assert_int_equal(sad_active(ike_sad(net.a.ike)), 2);
	teardown(NULL);
}

/* Messages that belong to nothing, or are not ISAKMP at all. */
static void
test_invalid_cookie_and_garbage(void **state)
{
	uint8_t msg[28] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 0,
	    0x10, ISAKMP_EXCH_IDPROT, 0, 0, 0, 0, 0, 0, 0, 0, 28};
	struct ike_endpoint from = net.a.ep;

	(void)state;
	setup_pair("19", "19", "k", "k");
	from = net.a.ep;
	ike_input(net.b.ike, &net.b.ep, &from, msg, sizeof(msg));
	assert_int_equal(MM_STAT(&net.b, invalid_cookies_received), 1);
	msg[17] = 0x20; /* IKEv2 */
	ike_input(net.b.ike, &net.b.ep, &from, msg, sizeof(msg));
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 1);
	ike_input(net.b.ike, &net.b.ep, &from, msg, 7);
	assert_int_equal(MM_STAT(&net.b, invalid_packets_received), 2);
	assert_int_equal(ike_isadb_size(net.b.ike), 0);
	teardown(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_main_mode_psk),
	    cmocka_unit_test(test_main_mode_groups),
	    cmocka_unit_test(test_wrong_psk),
	    cmocka_unit_test(test_no_proposal),
	    cmocka_unit_test(test_audit_flood_is_bounded),
	    cmocka_unit_test(test_sa_index),
	    cmocka_unit_test(test_audits_off),
	    cmocka_unit_test(test_trace),
	    cmocka_unit_test(test_trace_storm),
	    cmocka_unit_test(test_reload_drops_removed_rule),
	    cmocka_unit_test(test_lost_reply_is_retransmitted),
	    cmocka_unit_test(test_invalid_cookie_and_garbage),
	    cmocka_unit_test(test_delete_both_ways),
	    cmocka_unit_test(test_dpd_is_answered),
	    cmocka_unit_test(test_forged_informational),
	    cmocka_unit_test(test_quick_mode),
	    cmocka_unit_test(test_quick_mode_mismatch),
	    cmocka_unit_test(test_hostile_quick_mode_answer),
	    cmocka_unit_test(test_delete_names_own_sas_only),
	    cmocka_unit_test(test_reserved_peer_spi),
	    cmocka_unit_test(test_lost_qm3_is_recovered),
	    cmocka_unit_test(test_qm3_never_arrives),
	    cmocka_unit_test(test_replayed_qm1),
	    cmocka_unit_test(test_open_quick_modes_bounded),
	    cmocka_unit_test(test_lost_mm6_is_retransmitted),
	    cmocka_unit_test(test_stray_main_mode_keeps_iv),
	    cmocka_unit_test(test_half_open_bound),
	    cmocka_unit_test(test_concurrent_main_modes),
	    cmocka_unit_test(test_initial_contact),
	    cmocka_unit_test(test_dead_peer_detection),
	    cmocka_unit_test(test_quick_mode_rekey),
	    cmocka_unit_test(test_main_mode_rekey),
	    cmocka_unit_test(test_kilobyte_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
