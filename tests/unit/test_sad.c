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
	sad_free(sad);
	stats_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
