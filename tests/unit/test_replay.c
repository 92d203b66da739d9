/*
 * The anti-replay window against numbered vectors: each step is a packet
 * with the 32-bit sequence number on the wire, the full number we expect
 * inferred from it, and whether it passes; a packet that passes is then
 * recorded (as after a good ICV) unless the step says it was forged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "esp/replay.h"

struct step {
	uint32_t wire;
	uint64_t full;
	bool ok;
	bool forged; /* passes the window, fails its ICV: not recorded */
};

static void
run(unsigned size, bool esn, uint64_t start, const struct step *v, size_t n)
{
	struct replay w;

	assert_true(ips_ok(replay_init(&w, size, esn)));
	if (start != 0)
		replay_accept(&w, start);
	for (size_t i = 0; i < n; i++) {
		uint64_t full = replay_infer(&w, v[i].wire);

		if (full != v[i].full || replay_check(&w, full) != v[i].ok)
			fail_msg("step %zu (wire %u): full %llu, ok %d", i + 1,
			    v[i].wire, (unsigned long long)full,
			    replay_check(&w, full));
		if (v[i].ok && !v[i].forged)
			replay_accept(&w, full);
	}
}

/* In order, duplicates, out of order within the window, its left edge. */
static void
test_window_64(void **state)
{
	static const struct step v[] = {
	    /* 1 */ {1, 1, true, false},
	    /* 2 */ {1, 1, false, false}, /* duplicate */
	    /* 3 */ {3, 3, true, false},
	    /* 4 */ {2, 2, true, false}, /* late, inside */
	    /* 5 */ {2, 2, false, false},
	    /* 6 */ {0, 0, false, false}, /* never valid */
	    /* 7 */ {100, 100, true, false}, /* ahead: window moves */
	    /* 8 */ {37, 37, true, false}, /* 63 behind: the last slot */
	    /* 9 */ {36, 36, false, false}, /* 64 behind: left of it */
	    /* 10 */ {3, 3, false, false}, /* long gone */
	    /* 11 */ {99, 99, true, false},
	    /* 12 */ {101, 101, true, true}, /* forged: not recorded */
	    /* 13 */ {101, 101, true, false}, /* so the real one passes */
	    /* 14 */ {101, 101, false, false},
	    /* 15 */ {1000000, 1000000, true, false}, /* far ahead */
	    /* 16 */ {999937, 999937, true, false},
	    /* 17 */ {999936, 999936, false, false},
	    /* 18 */ {100, 100, false, false}, /* far behind */
	};

	(void)state;
	run(0, false, 0, v, sizeof(v) / sizeof(v[0]));
}

/* A large window: 4095 behind passes, 4096 does not; bits uncovered by a
 * jump are cleared, not inherited from the lap before. */
static void
test_window_4096(void **state)
{
	static const struct step v[] = {
	    /* 1 */ {5000, 5000, true, false},
	    /* 2 */ {905, 905, true, false},
	    /* 3 */ {904, 904, false, false},
	    /* 4 */ {4999, 4999, true, false},
	    /* 5 */ {4999 + 4096, 4999 + 4096, true, false}, /* same slot */
	    /* 6 */ {4999, 4999, false, false}, /* now left of it */
	    /* 7 */ {5001, 5001, true, false},
	    /* 8 */ {5001 + 4096, 5001 + 4096, true, false}, /* 2nd lap */
	    /* 9 */ {5001 + 4095, 5001 + 4095, true, false}, /* cleared */
	};

	(void)state;
	run(4096, false, 0, v, sizeof(v) / sizeof(v[0]));
	{
		struct replay w;

		assert_int_equal(replay_init(&w, 4097, false).err, IPS_E_INVAL);
		assert_true(ips_ok(replay_init(&w, 100, false)));
		assert_int_equal(w.size, 128); /* rounded up to words */
	}
}

/* Extended sequence numbers across the 2^32 boundary (RFC 4303 A2.2). */
static void
test_esn_wrap(void **state)
{
	static const uint64_t hi = (uint64_t)1 << 32;
	static const struct step v[] = {
	    /* 1 */ {0xfffffff8u, 0xfffffff8u, true, false},
	    /* 2 */ {5, hi + 5, true, false}, /* over the boundary */
	    /* 3 */ {0xfffffffau, 0xfffffffau, true, false}, /* late */
	    /* 4 */ {0xfffffff8u, 0xfffffff8u, false, false}, /* dup */
	    /* 5 */ {0xffffffc6u, 0xffffffc6u, true, false}, /* 63 back */
	    /* 6 */ {0xffffffc5u, hi + 0xffffffc5u, true, true}, /* below
							the bottom: read as
							this block, far
							ahead; its ICV
							decides */
	    /* 7 */ {5, hi + 5, false, false}, /* dup, high half too */
	    /* 8 */ {0, hi, true, false}, /* low half zero is fine */
	    /* 9 */ {100, hi + 100, true, false}, /* window in one block */
	    /* 10 */ {37, hi + 37, true, false},
	    /* 11 */ {36, 2 * hi + 36, true, true}, /* past the bottom:
							read as the next lap;
							its ICV decides */
	};

	(void)state;
	run(64, true, 0xfffffff0u, v, sizeof(v) / sizeof(v[0]));
}

/* Without ESN the wire value is the number: no inference. */
static void
test_no_esn_wrap(void **state)
{
	static const struct step v[] = {
	    /* 1 */ {0xffffffffu, 0xffffffffu, true, false},
	    /* 2 */ {1, 1, false, false}, /* a wrapped counter is a replay:
					     the SA must be rekeyed first */
	};

	(void)state;
	run(64, false, 0xfffffff0u, v, sizeof(v) / sizeof(v[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_64),
	    cmocka_unit_test(test_window_4096),
	    cmocka_unit_test(test_esn_wrap),
	    cmocka_unit_test(test_no_esn_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
