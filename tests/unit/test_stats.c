/*
 * Statistics: every event function changes exactly the counters its
 * documentation names, and nothing else (each counter in one place).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stats/stats.h"

struct both {
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;
};

static struct both
snap(const struct stats *st)
{
	struct stats_gauges g;
	struct both b;

	memset(&g, 0, sizeof(g));
	stats_snapshot(st, &g, &b.mm, &b.qm);
	return b;
}

/* Assert that exactly the named keys (NULL-terminated) are 1, rest 0. */
static void
expect_only(const struct stats *st, const char *const *keys)
{
	struct both b = snap(st);
	const struct stats_desc *d;
	size_t n;

	for (int mode = 0; mode < 2; mode++) {
		const char *base =
		    mode == 0 ? (const char *)&b.mm : (const char *)&b.qm;
		const char *prefix = mode == 0 ? "mm." : "qm.";

		d = mode == 0 ? stats_mm_desc(&n) : stats_qm_desc(&n);
		for (size_t i = 0; i < n; i++) {
			uint64_t v, want = 0;
			char key[80];

			memcpy(&v, base + d[i].offset, sizeof(v));
			snprintf(key, sizeof(key), "%s%s", prefix, d[i].key);
			for (size_t k = 0; keys[k] != NULL; k++)
				if (strcmp(keys[k], key) == 0)
					want = 1;
			if (v != want)
				fail_msg("%s is %llu, expected %llu", key,
				    (unsigned long long)v,
				    (unsigned long long)want);
		}
	}
}

#define EVENT_TEST(name, call, ...) \
	static void name(void **state) \
	{ \
		struct stats *st = stats_new(); \
		const char *const keys[] = {__VA_ARGS__, NULL}; \
		(void)state; \
		assert_non_null(st); \
		call; \
		expect_only(st, keys); \
		stats_free(st); \
	}

EVENT_TEST(t_acquire, stats_on_acquire(st), "mm.total_acquire")
EVENT_TEST(t_acquire_failed, stats_on_acquire_failed(st), "mm.acquire_failures")
EVENT_TEST(t_recv_err, stats_on_ike_receive_error(st), "mm.receive_failures")
EVENT_TEST(t_send_err, stats_on_ike_send_error(st), "mm.send_failures")
EVENT_TEST(t_neg_fail, stats_on_negotiation_failed(st, STATS_NEG_NO_PROPOSAL),
    "mm.negotiation_failures")
EVENT_TEST(t_auth_fail, stats_on_negotiation_failed(st, STATS_NEG_AUTH),
    "mm.negotiation_failures", "mm.authentication_failures")
EVENT_TEST(t_cookie, stats_on_invalid_cookie(st), "mm.invalid_cookies_received")
EVENT_TEST(t_spi_ok, stats_on_get_spi(st, true), "mm.total_get_spi")
EVENT_TEST(t_spi_fail, stats_on_get_spi(st, false), "mm.total_get_spi",
    "mm.get_spi_failures")
EVENT_TEST(t_out_ok, stats_on_sa_install(st, STATS_OUTBOUND, true),
    "mm.key_additions", "qm.key_additions")
EVENT_TEST(t_out_fail, stats_on_sa_install(st, STATS_OUTBOUND, false),
    "mm.key_addition_failures")
EVENT_TEST(t_in_ok, stats_on_sa_install(st, STATS_INBOUND, true),
    "mm.key_updates", "qm.key_additions")
EVENT_TEST(t_in_fail, stats_on_sa_install(st, STATS_INBOUND, false),
    "mm.key_update_failures")
EVENT_TEST(t_mm_up, stats_on_mm_established(st), "mm.ike_main_mode")
EVENT_TEST(t_qm_up, stats_on_qm_established(st), "mm.ike_quick_mode")
EVENT_TEST(t_soft, stats_on_soft_sa(st), "mm.soft_associations")
EVENT_TEST(
    t_invalid, stats_on_invalid_packet(st), "mm.invalid_packets_received")
EVENT_TEST(t_deleted, stats_on_sa_deleted(st), "qm.key_deletions")
EVENT_TEST(t_rekey, stats_on_rekey(st), "qm.rekeys")
EVENT_TEST(t_bad_spi, stats_on_bad_spi(st), "qm.bad_spi_packets")
EVENT_TEST(t_decrypt, stats_on_decrypt_failed(st), "qm.packets_not_decrypted")
EVENT_TEST(t_icv, stats_on_icv_failed(st), "qm.packets_not_authenticated")
EVENT_TEST(t_replay, stats_on_replay(st), "qm.packets_with_replay_detection")
EVENT_TEST(t_esp_tunnel_out,
    stats_on_packet(st, STATS_OUTBOUND,
	&(struct stats_sa_kind){true, true, true, false}, 1),
    "qm.confidential_bytes_sent", "qm.authenticated_bytes_sent",
    "qm.bytes_sent_in_tunnels")
EVENT_TEST(t_ah_transport_in,
    stats_on_packet(st, STATS_INBOUND,
	&(struct stats_sa_kind){false, true, false, false}, 1),
    "qm.authenticated_bytes_received", "qm.transport_bytes_received")
EVENT_TEST(t_offloaded_in,
    stats_on_packet(
	st, STATS_INBOUND, &(struct stats_sa_kind){true, true, false, true}, 1),
    "qm.confidential_bytes_received", "qm.authenticated_bytes_received",
    "qm.transport_bytes_received", "qm.offloaded_bytes_received")

static void
test_bytes_add_up(void **state)
{
	struct stats *st = stats_new();
	struct stats_sa_kind gcm = {true, true, true, false};
	struct both b;

	(void)state;
	stats_on_packet(st, STATS_OUTBOUND, &gcm, 1400);
	stats_on_packet(st, STATS_OUTBOUND, &gcm, 64);
	b = snap(st);
	assert_int_equal(b.qm.confidential_bytes_sent, 1464);
	assert_int_equal(b.qm.bytes_sent_in_tunnels, 1464);
	assert_int_equal(b.qm.transport_bytes_sent, 0);
	stats_free(st);
}

static void
test_gauges_come_from_the_caller(void **state)
{
	struct stats *st = stats_new();
	struct stats_gauges g = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;

	(void)state;
	stats_snapshot(st, &g, &mm, &qm);
	assert_int_equal(mm.active_acquire, 1);
	assert_int_equal(mm.active_receive, 2);
	assert_int_equal(mm.acquire_heap_size, 3);
	assert_int_equal(mm.receive_heap_size, 4);
	assert_int_equal(mm.isadb_list_size, 5);
	assert_int_equal(mm.connection_list_size, 6);
	assert_int_equal(qm.active_sas, 7);
	assert_int_equal(qm.offloaded_sas, 8);
	assert_int_equal(qm.pending_key_operations, 9);
	assert_int_equal(qm.active_tunnels, 10);
	stats_free(st);
}

static void
test_reset_moves_discontinuity(void **state)
{
	struct stats *st = stats_new();
	const char *const none[] = {NULL};
	time_t t0 = stats_discontinuity_time(st);

	(void)state;
	assert_true(t0 > 0);
	stats_on_invalid_packet(st);
	stats_reset(st);
	expect_only(st, none);
	assert_true(stats_discontinuity_time(st) >= t0);
	stats_free(st);
}

/* The descriptor tables name every seed statistic exactly once. */
static void
test_tables_are_complete(void **state)
{
	const struct stats_desc *d;
	size_t n;

	(void)state;
	d = stats_mm_desc(&n);
	assert_int_equal(n, 23);
	assert_string_equal(d[0].name, "Active Acquire");
	assert_string_equal(d[n - 1].name, "Invalid Packets Received");
	assert_int_equal(n * sizeof(uint64_t), sizeof(struct ips_mm_stats));
	d = stats_qm_desc(&n);
	assert_int_equal(n, 21);
	assert_string_equal(d[0].name, "Active Security Associations");
	assert_string_equal(d[n - 1].name, "Offloaded Bytes Received");
	assert_int_equal(n * sizeof(uint64_t), sizeof(struct ips_qm_stats));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_acquire),
	    cmocka_unit_test(t_acquire_failed),
	    cmocka_unit_test(t_recv_err),
	    cmocka_unit_test(t_send_err),
	    cmocka_unit_test(t_neg_fail),
	    cmocka_unit_test(t_auth_fail),
	    cmocka_unit_test(t_cookie),
	    cmocka_unit_test(t_spi_ok),
	    cmocka_unit_test(t_spi_fail),
	    cmocka_unit_test(t_out_ok),
	    cmocka_unit_test(t_out_fail),
	    cmocka_unit_test(t_in_ok),
	    cmocka_unit_test(t_in_fail),
	    cmocka_unit_test(t_mm_up),
	    cmocka_unit_test(t_qm_up),
	    cmocka_unit_test(t_soft),
	    cmocka_unit_test(t_invalid),
	    cmocka_unit_test(t_deleted),
	    cmocka_unit_test(t_rekey),
	    cmocka_unit_test(t_bad_spi),
	    cmocka_unit_test(t_decrypt),
	    cmocka_unit_test(t_icv),
	    cmocka_unit_test(t_replay),
	    cmocka_unit_test(t_esp_tunnel_out),
	    cmocka_unit_test(t_ah_transport_in),
	    cmocka_unit_test(t_offloaded_in),
	    cmocka_unit_test(test_bytes_add_up),
	    cmocka_unit_test(test_gauges_come_from_the_caller),
	    cmocka_unit_test(test_reset_moves_discontinuity),
	    cmocka_unit_test(test_tables_are_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
