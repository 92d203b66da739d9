/* Addresses and address specifications. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/addr.h"

static struct ips_aspec
spec(const char *s)
{
	struct ips_aspec sp;
	const char *why;

	if (!ips_ok(ips_aspec_parse(s, &sp, &why)))
		fail_msg("'%s' did not parse: %s", s, why);
	return sp;
}

static struct ips_addr
addr(const char *s)
{
	struct ips_addr a;

	assert_true(ips_addr_parse(s, &a));
	return a;
}

static void
test_formats_roundtrip(void **state)
{
	static const char *const good[] = {"any", "me", "dns", "gateway",
	    "192.0.2.1", "10.0.0.0/8", "0.0.0.0/0", "10.0.0.1-10.0.0.9",
	    "2001:db8::1", "2001:db8::/32", "2001:db8::1-2001:db8::ff"};
	char buf[IPS_ASPECSTRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct ips_aspec sp = spec(good[i]);

		assert_string_equal(
		    ips_aspec_str(&sp, buf, sizeof(buf)), good[i]);
	}
	/* A /32 and a one-address range are just hosts. */
	assert_int_equal(spec("192.0.2.1/32").kind, IPS_ASPEC_HOST);
	assert_int_equal(spec("192.0.2.1-192.0.2.1").kind, IPS_ASPEC_HOST);
	/* ... and compare equal to the host they print as (found by
	 * fuzz_aspec). */
	{
		struct ips_aspec a = spec("::/128"), b = spec("::");

		assert_int_equal(ips_aspec_cmp(&a, &b), 0);
		assert_string_equal(ips_aspec_str(&a, buf, sizeof(buf)), "::");
	}
}

static void
test_rejects_with_reasons(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
	    {"10.1.1.1/24", "address has bits set beyond the prefix length"},
	    {"10.0.0.0/33", "prefix length exceeds 32"},
	    {"2001:db8::/129", "prefix length exceeds 128"},
	    {"10.0.0.0/x", "prefix length is not a number"},
	    {"10.0.0.0/", "prefix length is not a number"},
	    {"/24", "not an IP address before '/'"},
	    {"10.0.0.9-10.0.0.1", "range start is above range end"},
	    {"10.0.0.1-2001:db8::1", "range mixes IPv4 and IPv6"},
	    {"10.0.0.1-", "range end is not an IP address"},
	    {"host.example-1", "range start is not an IP address"},
	    {"wins",
		"keyword has no meaning on Linux (use me, any, dns, "
		"gateway or an address)"},
	    {"dhcp",
		"keyword has no meaning on Linux (use me, any, dns, "
		"gateway or an address)"},
	    {"", "not an IP address, prefix, range or keyword"},
	    {"ME", "not an IP address, prefix, range or keyword"},
	};
	struct ips_aspec sp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(
		    ips_aspec_parse(bad[i].in, &sp, &why).err, IPS_E_INVAL);
		assert_non_null(why);
		assert_string_equal(why, bad[i].why);
	}
}

static void
test_contains(void **state)
{
	struct ips_aspec net = spec("10.0.0.0/8"),
			 rng = spec("10.0.0.5-10.0.1.4");
	struct ips_aspec v6 = spec("2001:db8::/32"), any = spec("any");
	struct ips_addr a = addr("10.200.3.4"), b = addr("10.0.0.255");
	struct ips_addr c = addr("2001:db8:1::1"), d = addr("11.0.0.0");

	(void)state;
	assert_true(ips_aspec_contains(&net, &a));
	assert_false(ips_aspec_contains(&net, &d));
	assert_false(ips_aspec_contains(&net, &c));
	assert_true(ips_aspec_contains(&rng, &b));
	assert_false(ips_aspec_contains(&rng, &a));
	assert_true(ips_aspec_contains(&v6, &c));
	assert_true(ips_aspec_contains(&any, &c));
	/* Keywords must be expanded against a host before use. */
	{
		struct ips_aspec me = spec("me");

		assert_false(ips_aspec_contains(&me, &a));
	}
}

static unsigned
bits(const char *s)
{
	struct ips_aspec sp = spec(s);

	return ips_aspec_specificity(&sp);
}

static void
test_specificity_scale(void **state)
{
	(void)state;
	assert_int_equal(bits("any"), 0);
	assert_int_equal(bits("me"), 0);
	/* IPv4 bits count four times: a /32 ranks with a /128. */
	assert_int_equal(bits("192.0.2.1"), 128);
	assert_int_equal(bits("2001:db8::1"), 128);
	assert_int_equal(bits("10.0.0.0/24"), 96);
	assert_int_equal(bits("2001:db8::/48"), 48);
	/* 10.0.0.1-10.0.0.9 lies within 10.0.0.0/28. */
	assert_int_equal(bits("10.0.0.1-10.0.0.9"), 112);
}

static bool
local_only(const char *s)
{
	struct ips_addr a = addr(s);

	return ips_addr_is_local_only(&a);
}

static void
test_local_only(void **state)
{
	(void)state;
	assert_true(local_only("127.0.0.1"));
	assert_true(local_only("::1"));
	assert_true(local_only("fe80::1"));
	assert_false(local_only("fd00::1"));
	assert_false(local_only("10.0.0.1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formats_roundtrip),
	    cmocka_unit_test(test_rejects_with_reasons),
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_specificity_scale),
	    cmocka_unit_test(test_local_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
