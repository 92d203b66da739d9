/*
 * The SAD's index by direction and SPI: thousands of SAs added, keyed and
 * deleted in a scrambled order, every survivor found, every deleted one
 * gone, and the counts and key slots right throughout.
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

#include "sad/sad.h"
#include "stats/stats.h"
#include "wire/ike_wire.h"

#define N 5000

static void
gcm_params(struct sad_params *p)
{
	memset(p, 0, sizeof(*p));
	p->proto = ISAKMP_PROTO_ESP;
	p->encap = IPSEC_ENCAP_TUNNEL;
	p->transform = ESP_TRANSFORM_AES_GCM_16;
	p->keybits = 128;
}

static void
test_index(void **state)
{
	static uint32_t spi[N];
	static bool gone[N];
	struct stats *st = stats_new();
	struct sad *sad = sad_new(st);
	struct sad_params p;
	uint8_t key[20] = {1};
	struct sad_info row;
	size_t live = N;

	(void)state;
	gcm_params(&p);
	for (size_t i = 0; i < N; i++) {
		assert_true(ips_ok(sad_get_spi(sad, &spi[i], 0)));
		assert_true(spi[i] > 255);
		if (i % 2 == 0) /* key half of them; add their twins */
			assert_true(ips_ok(sad_update_inbound(
			    sad, spi[i], &p, key, sizeof(key), spi[i] ^ 1, 0)));
	}
	assert_int_equal(sad_count(sad), N);
	assert_int_equal(sad_larval(sad), N / 2);
	/* delete every third, in a scrambled order */
	for (size_t k = 0; k < N; k++) {
		size_t i = (k * 7919) % N;

		if (i % 3 == 0) {
			assert_true(
			    ips_ok(sad_delete(sad, SAD_INBOUND, spi[i])));
			gone[i] = true;
			live--;
		}
	}
	assert_int_equal(sad_count(sad), live);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(
		    sad_get(sad, SAD_INBOUND, spi[i], &row), !gone[i]);
		if (!gone[i]) {
			assert_int_equal(row.spi, spi[i]);
			assert_int_equal(
			    row.state, i % 2 == 0 ? SAD_MATURE : SAD_LARVAL);
		}
		/* the other direction is another SA */
		assert_false(sad_get(sad, SAD_OUTBOUND, spi[i], &row));
	}
	assert_int_equal(
	    sad_delete(sad, SAD_INBOUND, spi[0]).err, IPS_E_NOTFOUND);
	/* and again, over the tombstones */
	for (size_t i = 0; i < N; i++)
		if (gone[i]) {
			assert_true(ips_ok(sad_add_outbound(
			    sad, spi[i], &p, key, sizeof(key), 0, 0)));
			assert_true(sad_get(sad, SAD_OUTBOUND, spi[i], &row));
			assert_false(sad_get(sad, SAD_INBOUND, spi[i], &row));
		}
	assert_int_equal(sad_count(sad), N);
	assert_int_equal(
	    sad_add_outbound(sad, spi[0], &p, key, sizeof(key), 0, 0).err,
	    IPS_E_EXISTS);
	/* a key that does not fit its transform installs nothing */
	assert_int_equal(
	    sad_add_outbound(sad, 77777, &p, key, 16, 0, 0).err, IPS_E_INVAL);
	assert_false(sad_get(sad, SAD_OUTBOUND, 77777, &row));
	assert_int_equal(sad_count(sad), N);
	/* the SA table's order: every pair once (a keyed inbound SA and
	 * its keyed outbound twin), inbound SPIs rising */
	{
		struct sad_info in, out;
		uint32_t after = 0;
		size_t seen = 0, want = 0;
		bool has;

		assert_false(sad_next_pair(sad, 0, &in, &out, &has));
		for (size_t i = 0; i < N; i++)
			if (!gone[i] && i % 2 == 0 &&
			    ips_ok(sad_add_outbound(sad, spi[i] ^ 1, &p, key,
				sizeof(key), spi[i], 0)))
				want++;
		assert_true(want > N / 4);
		while (sad_next_pair(sad, after, &in, &out, &has)) {
			assert_true(in.spi > after);
			assert_int_equal(in.dir, SAD_INBOUND);
			assert_int_equal(in.state, SAD_MATURE);
			assert_true(has);
			assert_int_equal(out.spi, in.pair_spi);
			after = in.spi;
			seen++;
		}
		assert_int_equal(seen, want);
		assert_false(sad_next_pair(sad, UINT32_MAX, &in, &out, &has));
	}
	sad_free(sad);
	stats_free(st);
}

/* The soft SAs' table order (sad_soft_next): rising indexes, a renewal
 * keeps its number, one dropped from the middle leaves the rest. */
static void
test_soft_index(void **state)
{
	struct stats *st = stats_new();
	struct sad *sad = sad_new(st);
	struct sad_soft s, row;
	uint32_t idx[3];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.remote.af = AF_INET;
	s.expires_ms = 1000;
	for (int i = 0; i < 3; i++) {
		s.remote.b[3] = (uint8_t)(i + 1);
		snprintf(s.rule, sizeof(s.rule), "r%d", i);
		assert_true(ips_ok(sad_add_soft(sad, &s)));
	}
	assert_true(ips_ok(sad_add_soft(sad, &s))); /* renewed, not added */
	for (uint32_t i = 0, after = 0; i < 3; i++) {
		assert_true(sad_soft_next(sad, after, &row));
		assert_true(row.index > after);
		idx[i] = after = row.index;
	}
	assert_false(sad_soft_next(sad, idx[2], &row));
	s.remote.b[3] = 2;
	assert_int_equal(sad_soft_replace(sad, "r1", &s.remote), 1);
	assert_true(sad_soft_next(sad, idx[0], &row));
	assert_int_equal(row.index, idx[2]);
	assert_string_equal(row.rule, "r2");
	sad_free(sad);
	stats_free(st);
}

/*
 * RFC 4303 3.3.3: without ESN the sender's counter must not cycle.  The
 * packet numbered SAD_SEQ_SOFT asks for a rekey (soft_due, the row's
 * seq for IKE); past 2^32 - 1 nothing more is sealed.
 */
static void
test_sequence_exhaustion(void **state)
{
	struct stats *st = stats_new();
	struct sad *sad = sad_new(st);
	uint8_t key[20] = {1}, buf[256], pkt[40] = {0x45};
	struct sad_params p;
	struct sad_info row;
	struct wbuf w;

	(void)state;
	gcm_params(&p);
	assert_true(ips_ok(sad_add_outbound(sad, 4000, &p, key, 20, 0, 0)));
	assert_true(ips_ok(sad_skip_seq(sad, 4000, SAD_SEQ_SOFT - 2)));
	for (int i = 0; i < 2; i++) {
		wbuf_init_on(&w, buf, sizeof(buf));
		assert_true(ips_ok(
		    sad_esp_seal(sad, 4000, 4, pkt, sizeof(pkt), &w, 0)));
		/* only the packet that reaches the mark raises it */
		assert_int_equal(sad_take_soft_due(sad), i == 1);
	}
	assert_true(sad_get(sad, SAD_OUTBOUND, 4000, &row));
	assert_int_equal(row.seq, SAD_SEQ_SOFT);
	assert_int_equal(row.packets, 2); /* what really went */
	assert_int_equal(sad_skip_seq(sad, 4000, 5).err, IPS_E_INVAL);
	assert_true(ips_ok(sad_skip_seq(sad, 4000, UINT32_MAX - 1)));
	wbuf_init_on(&w, buf, sizeof(buf));
	assert_true(
	    ips_ok(sad_esp_seal(sad, 4000, 4, pkt, sizeof(pkt), &w, 0)));
	assert_int_equal(wire_get_be32(buf + 4), UINT32_MAX);
	wbuf_init_on(&w, buf, sizeof(buf));
	assert_int_equal(
	    sad_esp_seal(sad, 4000, 4, pkt, sizeof(pkt), &w, 0).err,
	    IPS_E_TOOBIG);
	assert_int_equal(w.len, 0);
	sad_free(sad);
	stats_free(st);
}

/* RFC 4301 4.4.2.1: an SA past its hard byte lifetime seals nothing
 * more, and says so (soft_due) so that IKE deletes it at once. */
static void
test_hard_volume(void **state)
{
	struct stats *st = stats_new();
	struct sad *sad = sad_new(st);
	uint8_t key[20] = {1}, buf[256], pkt[100] = {0x45};
	struct sad_params p;
	struct wbuf w;
	int sealed = 0;

	(void)state;
	gcm_params(&p);
	p.life_kb = 1; /* 1024 bytes */
	assert_true(ips_ok(sad_add_outbound(sad, 4001, &p, key, 20, 0, 0)));
	for (;;) {
		ips_res r;

		wbuf_init_on(&w, buf, sizeof(buf));
		r = sad_esp_seal(sad, 4001, 4, pkt, sizeof(pkt), &w, 0);
		if (!ips_ok(r)) {
			assert_int_equal(r.err, IPS_E_TOOBIG);
			break;
		}
		sealed++;
	}
	assert_int_equal(sealed, 11); /* the 11th took it to 1100 */
	assert_true(sad_take_soft_due(sad));
	/* inbound, past the limit, what the peer sent before its side of
	 * the rekey finished still opens (IKE deletes the pair at once) */
	{
		struct sad *tx = sad_new(st), *rx = sad_new(st);
		struct sad_params q = p;
		struct sad_info row;
		uint32_t spi;
		int opened = 0;

		q.life_kb = 0;
		assert_true(ips_ok(sad_get_spi(rx, &spi, 0)));
		assert_true(
		    ips_ok(sad_update_inbound(rx, spi, &p, key, 20, 0, 0)));
		assert_true(
		    ips_ok(sad_add_outbound(tx, spi, &q, key, 20, 0, 0)));
		for (int i = 0; i < 12; i++) {
			uint8_t out[256], nh;
			struct wbuf o;

			wbuf_init_on(&w, buf, sizeof(buf));
			wbuf_init_on(&o, out, sizeof(out));
			assert_true(ips_ok(
			    sad_esp_seal(tx, spi, 4, pkt, sizeof(pkt), &w, 0)));
			if (sad_esp_open(rx, buf, w.len, &o, &nh, &row, 0) ==
			    SAD_RX_OK)
				opened++;
		}
		assert_int_equal(opened, 12);
		assert_true(sad_take_soft_due(rx));
		sad_free(tx);
		sad_free(rx);
	}
	sad_free(sad);
	stats_free(st);
}

/*
 * RFC 4304: with ESN the counter runs past 2^32; only its low half is on
 * the wire, the receiver infers the high half and the ICV proves it.
 * No rekey is asked for at SAD_SEQ_SOFT.  The window is the policy's.
 */
static void
test_esn_across_the_wrap(void **state)
{
	struct stats *st = stats_new();
	struct sad *tx = sad_new(st), *rx = sad_new(st);
	uint8_t key[20] = {7}, buf[256], out[256], pkt[40] = {0x45};
	struct sad_params p;
	struct sad_info row;
	uint32_t spi;

	(void)state;
	gcm_params(&p);
	p.esn = true;
	p.replay_window = 1024;
	assert_true(ips_ok(sad_get_spi(rx, &spi, 0)));
	assert_true(ips_ok(sad_update_inbound(rx, spi, &p, key, 20, 0, 0)));
	assert_true(ips_ok(sad_add_outbound(tx, spi, &p, key, 20, 0, 0)));
	assert_true(ips_ok(sad_skip_seq(tx, spi, UINT32_MAX - 2)));
	for (int i = 0; i < 4; i++) {
		struct wbuf w, o;
		uint8_t nh;

		wbuf_init_on(&w, buf, sizeof(buf));
		wbuf_init_on(&o, out, sizeof(out));
		assert_true(
		    ips_ok(sad_esp_seal(tx, spi, 4, pkt, sizeof(pkt), &w, 0)));
		assert_false(sad_take_soft_due(tx));
		/* 2^32 - 2, 2^32 - 1, then 0 and 1 on the wire */
		assert_int_equal(wire_get_be32(buf + 4), (uint32_t)(i - 2));
		assert_int_equal(
		    sad_esp_open(rx, buf, w.len, &o, &nh, &row, 0), SAD_RX_OK);
		assert_memory_equal(out, pkt, sizeof(pkt));
	}
	assert_true(sad_get(tx, SAD_OUTBOUND, spi, &row));
	assert_int_equal(row.seq, (uint64_t)UINT32_MAX + 2);
	assert_true(sad_get(rx, SAD_INBOUND, spi, &row));
	assert_int_equal(row.p.replay_window, 1024);
	assert_int_equal(row.packets, 4);
	sad_free(tx);
	sad_free(rx);
	stats_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index),
	    cmocka_unit_test(test_soft_index),
	    cmocka_unit_test(test_sequence_exhaustion),
	    cmocka_unit_test(test_esn_across_the_wrap),
	    cmocka_unit_test(test_hard_volume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
