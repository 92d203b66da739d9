/*
 * The MIB and the engine name the same statistics in the same order: each
 * key of ipsec/stats/stats_list.h, in camel case after ipsmMm or ipsmQm,
 * is the MIB object with the same position (the agent serves column i
 * from statistic i).  The OIDs come from the generated header only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ipsm_mib_oids.h"
#include "testlib.h"
#include "stats/stats_list.h"

#define KEY(k, kind, disp) #k,
#define MIBNAME(id, name, sub) name,
#define SUBID(id, name, sub) sub,

static void
same(const char *prefix, const char *const *keys, size_t nkeys,
    const char *const *names, const int *subids, size_t nnames)
{
	assert_int_equal(nkeys, nnames);
	for (size_t i = 0; i < nkeys; i++) {
		char want[96], c[80];

		tl_stat_mib_name(keys[i], c, sizeof(c));
		snprintf(want, sizeof(want), "%s%s", prefix, c);
		assert_string_equal(names[i], want);
		assert_int_equal(subids[i], (int)i + 1);
	}
}

static void
test_stats_match(void **state)
{
	static const char *const mm_keys[] = {IPS_MM_STATS(KEY)};
	static const char *const qm_keys[] = {IPS_QM_STATS(KEY)};
	static const char *const mm_names[] = {IPSM_MIB_MM_STATS(MIBNAME)};
	static const char *const qm_names[] = {IPSM_MIB_QM_STATS(MIBNAME)};
	static const int mm_sub[] = {IPSM_MIB_MM_STATS(SUBID)};
	static const int qm_sub[] = {IPSM_MIB_QM_STATS(SUBID)};

	(void)state;
	same("ipsmMm", mm_keys, sizeof(mm_keys) / sizeof(mm_keys[0]), mm_names,
	    mm_sub, sizeof(mm_names) / sizeof(mm_names[0]));
	same("ipsmQm", qm_keys, sizeof(qm_keys) / sizeof(qm_keys[0]), qm_names,
	    qm_sub, sizeof(qm_names) / sizeof(qm_names[0]));
}

/* The root is defined once, and everything hangs below it. */
static void
test_oids_under_root(void **state)
{
	static const uint32_t root[] = {IPSM_OID_ipsecmonMIB};
	static const uint32_t bad_spi[] = {IPSM_OID_ipsmQmBadSPIPackets};

	(void)state;
	assert_int_equal(IPSM_OIDLEN_ipsecmonMIB, 8);
	assert_true(IPSM_OIDLEN_ipsmQmBadSPIPackets > IPSM_OIDLEN_ipsecmonMIB);
	assert_memory_equal(bad_spi, root, sizeof(root));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stats_match),
	    cmocka_unit_test(test_oids_under_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
