/*
 * The datapath's drop events (esp/diag.h): one line per kind that grew,
 * only for the kinds the ipsecdiagnostics mask selects, with the count
 * over the interval.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "esp/diag.h"

struct lines {
	char text[8][200];
	size_t n;
};

static void
keep(void *ctx, const char *line)
{
	struct lines *l = ctx;

	if (l->n < 8)
		snprintf(l->text[l->n++], sizeof(l->text[0]), "%s", line);
}

static void
test_report(void **state)
{
	struct ips_qm_stats qm;
	struct dp_drops dd;
	struct diag_counts prev, cur;
	struct lines l;

	(void)state;
	memset(&qm, 0, sizeof(qm));
	memset(&dd, 0, sizeof(dd));
	diag_counts(&qm, &dd, &prev);
	qm.bad_spi_packets = 1000;
	dd.blocked = 3;
	diag_counts(&qm, &dd, &cur);
	/* level 0: silence */
	memset(&l, 0, sizeof(l));
	assert_int_equal(diag_report(&prev, &cur, 0, 60, keep, &l), 0);
	/* 1: processing failures only */
	assert_int_equal(diag_report(&prev, &cur, 1, 60, keep, &l), 1);
	assert_string_equal(l.text[0],
	    "ipsec diagnostics: 1000 inbound packets with an unknown SPI in "
	    "the last 60 s");
	/* 4: policy drops only; 7: both */
	memset(&l, 0, sizeof(l));
	assert_int_equal(diag_report(&prev, &cur, 4, 3600, keep, &l), 1);
	assert_string_equal(l.text[0],
	    "ipsec diagnostics: 3 outbound packets a block filter dropped in "
	    "the last 3600 s");
	memset(&l, 0, sizeof(l));
	assert_int_equal(diag_report(&prev, &cur, 7, 60, keep, &l), 2);
	/* nothing new: nothing said */
	memset(&l, 0, sizeof(l));
	assert_int_equal(diag_report(&cur, &cur, 7, 60, keep, &l), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
