/*
 * The Quick Mode SA view built from SAD rows: pairs joined by SPI, traffic
 * from both directions, and soft associations listed as such.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "ctl/ctl_view.h"
#include "wire/ike_wire.h"

static void
test_qmsas(void **state)
{
	Ipsm__ShowQmSas sq = IPSM__SHOW_QM_SAS__INIT;
	Ipsm__Request req = IPSM__REQUEST__INIT;
	Ipsm__Response resp = IPSM__RESPONSE__INIT;
	struct sad_info rows[4];
	struct sad_soft soft;
	struct ctl_view_src src;
	struct ips_addr me, peer;
	struct arena *a = arena_new();

	(void)state;
	assert_non_null(a);
	assert_true(ips_addr_parse("10.0.0.1", &me));
	assert_true(ips_addr_parse("10.0.0.2", &peer));
	memset(rows, 0, sizeof(rows));
	/* two pairs, listed out of SPI order, inbound before outbound */
	for (int i = 0; i < 2; i++) {
		struct sad_info *in = &rows[2 * i], *out = &rows[2 * i + 1];

		out->dir = SAD_OUTBOUND;
		out->state = SAD_MATURE;
		out->spi = i ? 0x1000 : 0x9000;
		out->pair_spi = i ? 0x8000 : 0x2000;
		out->p.proto = ISAKMP_PROTO_ESP;
		out->p.transform = ESP_TRANSFORM_AES_GCM_16;
		out->p.keybits = 128;
		out->p.local = me;
		out->p.remote = peer;
		out->bytes = 100 + (uint64_t)i;
		*in = *out;
		in->dir = SAD_INBOUND;
		in->spi = out->pair_spi;
		in->pair_spi = out->spi;
		in->bytes = 200 + (uint64_t)i;
	}
	memset(&soft, 0, sizeof(soft));
	soft.remote = peer;
	soft.src = ips_aspec_host(&me);
	soft.dst = ips_aspec_host(&peer);
	snprintf(soft.rule, sizeof(soft.rule), "fallback");
	soft.created_ms = 1000;
	soft.expires_ms = 301000;
	memset(&src, 0, sizeof(src));
	src.qmsas = rows;
	src.nqmsas = 4;
	src.softs = &soft;
	src.nsofts = 1;
	src.now_ms = 61000;
	req.op_case = IPSM__REQUEST__OP_SHOW_QMSAS;
	req.show_qmsas = &sq;
	ctl_view_build(&src, &req, &resp, a);
	assert_int_equal(resp.status, 0);
	assert_int_equal(resp.qmsas->n_sas, 3);
	for (int i = 0; i < 2; i++) {
		const Ipsm__QmSa *q = resp.qmsas->sas[i];

		assert_false(q->soft);
		/* each pair's inbound bytes found by its SPI */
		assert_int_equal(q->bytes_in, q->bytes_out + 100);
		assert_string_equal(
		    q->inbound_spi, i ? "00008000" : "00002000");
	}
	assert_true(resp.qmsas->sas[2]->soft);
	assert_string_equal(resp.qmsas->sas[2]->rule, "fallback");
	assert_string_equal(resp.qmsas->sas[2]->ipsec_protocol, "none");
	assert_string_equal(resp.qmsas->sas[2]->tunnel_peer, "10.0.0.2");
	assert_int_equal(resp.qmsas->sas[2]->lifetime_s, 240);
	assert_int_equal(resp.qmsas->sas[2]->age_s, 60);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qmsas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
