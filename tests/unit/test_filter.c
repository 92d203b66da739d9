/*
 * Generic -> specific filter expansion and filter search, on a host with
 * several IPv4 and IPv6 addresses (docs/FILTERS.md states the rules).
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

#include "spd/filter.h"
#include "spd/hostenv.h"
#include "spd/policy.h"

/* Host: two IPv4 and two IPv6 addresses, a DNS server of each family and
 * one gateway. */
static struct hostenv *
host(void)
{
	static const char *const local[] = {
	    "10.0.0.1", "10.0.0.2", "2001:db8::1", "fd00::5"};
	static const char *const dns[] = {"10.0.0.53", "2001:db8::53"};
	struct hostenv *h = hostenv_new();
	struct ips_addr a;

	assert_non_null(h);
	for (size_t i = 0; i < 4; i++) {
		assert_true(ips_addr_parse(local[i], &a));
		assert_true(ips_ok(hostenv_add(h, HOSTENV_LOCAL, &a)));
	}
	for (size_t i = 0; i < 2; i++) {
		assert_true(ips_addr_parse(dns[i], &a));
		assert_true(ips_ok(hostenv_add(h, HOSTENV_DNS, &a)));
	}
	assert_true(ips_addr_parse("10.0.0.254", &a));
	assert_true(ips_ok(hostenv_add(h, HOSTENV_GATEWAY, &a)));
	return h;
}

struct fixture {
	struct policy *p;
	struct hostenv *h;
	struct flt_set *fs;
};

/*
 * A policy whose only filter list holds the given filters (flow YAML), with
 * the given action; negotiate uses a transport rule, or a tunnel if given.
 */
static struct fixture
build(const char *filters, const char *action, const char *tunnel)
{
	char yaml[4096], err_text[600];
	struct policy_error err;
	struct fixture fx;
	int n;

	n = snprintf(yaml, sizeof(yaml),
	    "policy: { name: t }\n"
	    "ike-policies:\n"
	    "  - { name: mm, offers: [ { encryption: aes128, integrity: sha1,"
	    " dh-group: 14 } ] }\n"
	    "negotiation-policies:\n"
	    "  - { name: qm, offers: [ { esp: aes128gcm16 } ] }\n"
	    "filter-lists:\n"
	    "  - { name: fl, filters: [ %s ] }\n"
	    "filter-actions:\n"
	    "  - { name: act, action: %s%s }\n"
	    "rules:\n"
	    "  - { name: r, filter-list: fl, filter-action: act%s%s%s }\n",
	    filters, action,
	    strcmp(action, "negotiate") == 0 ? ", negotiation-policy: qm" : "",
	    strcmp(action, "negotiate") == 0
		? ", authentication: [ { method: certificate } ]"
		: "",
	    tunnel ? ", tunnel: " : "", tunnel ? tunnel : "");
	assert_true(n > 0 && (size_t)n < sizeof(yaml));
	if (!ips_ok(policy_load_buffer("t.yaml", yaml, (size_t)n, &fx.p, &err)))
		fail_msg("%s\n%s",
		    policy_error_str(&err, err_text, sizeof(err_text)), yaml);
	fx.h = host();
	assert_true(ips_ok(flt_set_build(fx.p, fx.h, &fx.fs)));
	return fx;
}

static void
done(struct fixture *fx)
{
	flt_set_free(fx->fs);
	hostenv_free(fx->h);
	policy_free(fx->p);
}

/* "src>dst dir weight" lines for a view, in view order. */
static char *
dump(const struct flt_set *fs, enum flt_mode m, enum flt_type t)
{
	char *out = calloc(1, 8192), a[IPS_ASPECSTRLEN], b[IPS_ASPECSTRLEN];

	assert_non_null(out);
	for (size_t i = 0; i < flt_count(fs, m, t); i++) {
		const struct flt *f = flt_get(fs, m, t, i);
		char line[256];

		snprintf(line, sizeof(line), "%s>%s %s %u\n",
		    ips_aspec_str(&f->src, a, sizeof(a)),
		    ips_aspec_str(&f->dst, b, sizeof(b)), flt_dir_name(f->dir),
		    f->weight);
		strcat(out, line);
	}
	return out;
}

static void
expect_view(const struct flt_set *fs, enum flt_mode m, enum flt_type t,
    const char *want)
{
	char *got = dump(fs, m, t);

	if (strcmp(got, want) != 0)
		fail_msg("expected:\n%sgot:\n%s", want, got);
	free(got);
}

/* me -> a server, mirrored: one outbound filter per local IPv4 address,
 * one inbound reply filter each; IPv6 addresses cannot reach an IPv4
 * server and are left out. */
static void
test_me_expands_per_address_and_family(void **state)
{
	struct fixture fx = build("{ source: me, destination: 192.0.2.10, "
				  "protocol: tcp, destination-port: 22 }",
	    "permit", NULL);
	const struct flt *f;

	(void)state;
	assert_int_equal(flt_count(fx.fs, FLT_QM, FLT_GENERIC), 1);
	f = flt_get(fx.fs, FLT_QM, FLT_GENERIC, 0);
	assert_int_equal(f->src.kind, IPS_ASPEC_ME);
	assert_true(f->mirrored);
	assert_int_equal(f->dir, FLT_DIR_BOTH);
	/* (128 + 128) << 8 | protocol 1 << 7 | one port 1 << 5 | permit 1 */
	expect_view(fx.fs, FLT_QM, FLT_SPECIFIC,
	    "10.0.0.1>192.0.2.10 outbound 65697\n"
	    "10.0.0.2>192.0.2.10 outbound 65697\n"
	    "192.0.2.10>10.0.0.1 inbound 65697\n"
	    "192.0.2.10>10.0.0.2 inbound 65697\n");
	/* The reply direction swaps the ports. */
	f = flt_get(fx.fs, FLT_QM, FLT_SPECIFIC, 2);
	assert_int_equal(f->sport, 22);
	assert_int_equal(f->dport, 0);
	f = flt_get(fx.fs, FLT_QM, FLT_SPECIFIC, 0);
	assert_int_equal(f->sport, 0);
	assert_int_equal(f->dport, 22);
	/* A permit rule needs no Main Mode. */
	assert_int_equal(flt_count(fx.fs, FLT_MM, FLT_GENERIC), 0);
	done(&fx);
}

/* any <-> any, mirrored: this host is one end of every packet it filters,
 * so outbound from each local address and inbound to each; the mirrored
 * copy adds nothing new. */
static void
test_any_any_mirrored_dedupes(void **state)
{
	struct fixture fx =
	    build("{ source: any, destination: any }", "block", NULL);

	(void)state;
	expect_view(fx.fs, FLT_QM, FLT_SPECIFIC,
	    "10.0.0.1>any outbound 32770\n"
	    "10.0.0.2>any outbound 32770\n"
	    "2001:db8::1>any outbound 32770\n"
	    "fd00::5>any outbound 32770\n"
	    "any>10.0.0.1 inbound 32770\n"
	    "any>10.0.0.2 inbound 32770\n"
	    "any>2001:db8::1 inbound 32770\n"
	    "any>fd00::5 inbound 32770\n");
	done(&fx);
}

/* The dns keyword stands for each DNS server, matched by family. */
static void
test_dns_keyword(void **state)
{
	struct fixture fx = build("{ source: me, destination: dns, protocol: "
				  "udp, destination-port: 53 }",
	    "permit", NULL);

	(void)state;
	expect_view(fx.fs, FLT_QM, FLT_SPECIFIC,
	    "10.0.0.1>10.0.0.53 outbound 65697\n"
	    "10.0.0.2>10.0.0.53 outbound 65697\n"
	    "2001:db8::1>2001:db8::53 outbound 65697\n"
	    "fd00::5>2001:db8::53 outbound 65697\n"
	    "10.0.0.53>10.0.0.1 inbound 65697\n"
	    "10.0.0.53>10.0.0.2 inbound 65697\n"
	    "2001:db8::53>2001:db8::1 inbound 65697\n"
	    "2001:db8::53>fd00::5 inbound 65697\n");
	done(&fx);
}

/* A subnet that holds our own addresses: traffic between two of our own
 * addresses never leaves the host, so no filter is made for it. */
static void
test_local_to_local_is_left_out(void **state)
{
	struct fixture fx =
	    build("{ source: me, destination: 10.0.0.0/8 }", "permit", NULL);

	(void)state;
	expect_view(fx.fs, FLT_QM, FLT_SPECIFIC,
	    "10.0.0.1>10.0.0.0/8 outbound 40961\n"
	    "10.0.0.2>10.0.0.0/8 outbound 40961\n"
	    "10.0.0.0/8>10.0.0.1 inbound 40961\n"
	    "10.0.0.0/8>10.0.0.2 inbound 40961\n");
	done(&fx);
}

/* me -> X and X -> me, both mirrored, in one rule: the same traffic
 * twice, listed once. */
static void
test_duplicates_within_a_rule(void **state)
{
	struct fixture fx = build("{ source: me, destination: 192.0.2.10 }, "
				  "{ source: 192.0.2.10, destination: me }",
	    "negotiate", NULL);

	(void)state;
	expect_view(fx.fs, FLT_QM, FLT_SPECIFIC,
	    "10.0.0.1>192.0.2.10 outbound 65536\n"
	    "10.0.0.2>192.0.2.10 outbound 65536\n"
	    "192.0.2.10>10.0.0.1 inbound 65536\n"
	    "192.0.2.10>10.0.0.2 inbound 65536\n");
	expect_view(fx.fs, FLT_MM, FLT_SPECIFIC,
	    "10.0.0.1>192.0.2.10 outbound 65536\n"
	    "10.0.0.2>192.0.2.10 outbound 65536\n"
	    "192.0.2.10>10.0.0.1 inbound 65536\n"
	    "192.0.2.10>10.0.0.2 inbound 65536\n");
	done(&fx);
}

/* A host with more addresses than any fixed table would hold. */
static void
test_many_local_addresses(void **state)
{
	static const char yaml[] =
	    "policy: { name: many }\n"
	    "filter-lists:\n"
	    "  - { name: fl, filters: [ { source: 10.0.0.0/16, destination: "
	    "any, mirrored: no } ] }\n"
	    "filter-actions: [ { name: pass, action: permit } ]\n"
	    "rules: [ { name: r, filter-list: fl, filter-action: pass } ]\n";
	struct policy_error err;
	struct policy *p;
	struct hostenv *h = hostenv_new();
	struct flt_set *fs;

	(void)state;
	for (unsigned i = 0; i < 300; i++) {
		struct ips_addr a = {
		    AF_INET, {10, 0, (uint8_t)(i >> 8), (uint8_t)i}};

		assert_true(ips_ok(hostenv_add(h, HOSTENV_LOCAL, &a)));
	}
	assert_true(ips_ok(
	    policy_load_buffer("m.yaml", yaml, sizeof(yaml) - 1, &p, &err)));
	assert_true(ips_ok(flt_set_build(p, h, &fs)));
	/* outbound from each of the 300, inbound to each of the 300 */
	assert_int_equal(flt_count(fs, FLT_QM, FLT_SPECIFIC), 600);
	flt_set_free(fs);
	hostenv_free(h);
	policy_free(p);
}

/* Transport filters that name neither end as ours match nothing here. */
static void
test_foreign_transport_filter_is_empty(void **state)
{
	struct fixture fx = build("{ source: 10.5.0.0/16, destination: "
				  "10.6.0.0/16 }",
	    "permit", NULL);

	(void)state;
	assert_int_equal(flt_count(fx.fs, FLT_QM, FLT_GENERIC), 1);
	assert_int_equal(flt_count(fx.fs, FLT_QM, FLT_SPECIFIC), 0);
	done(&fx);
}

/* Tunnel mode: the selectors are taken as written, the endpoints carry
 * them; Main Mode runs between this host and the remote gateway, once per
 * rule however many filters share the tunnel. */
static void
test_tunnel(void **state)
{
	struct fixture fx = build("{ source: 10.1.0.0/16, destination: "
				  "10.2.0.0/16 }, { source: 10.1.0.0/16, "
				  "destination: 10.3.0.0/16 }",
	    "negotiate", "203.0.113.2");
	const struct flt *f;
	char a[IPS_ASPECSTRLEN], b[IPS_ASPECSTRLEN];

	(void)state;
	expect_view(fx.fs, FLT_QM, FLT_SPECIFIC,
	    "10.1.0.0/16>10.2.0.0/16 outbound 32768\n"
	    "10.2.0.0/16>10.1.0.0/16 inbound 32768\n"
	    "10.1.0.0/16>10.3.0.0/16 outbound 32768\n"
	    "10.3.0.0/16>10.1.0.0/16 inbound 32768\n");
	f = flt_get(fx.fs, FLT_QM, FLT_SPECIFIC, 0);
	assert_true(f->tunnel);
	assert_string_equal(ips_aspec_str(&f->tunnel_src, a, sizeof(a)), "me");
	assert_string_equal(
	    ips_aspec_str(&f->tunnel_dst, b, sizeof(b)), "203.0.113.2");
	f = flt_get(fx.fs, FLT_QM, FLT_SPECIFIC, 1);
	assert_string_equal(
	    ips_aspec_str(&f->tunnel_src, a, sizeof(a)), "203.0.113.2");
	assert_string_equal(ips_aspec_str(&f->tunnel_dst, b, sizeof(b)), "me");
	expect_view(fx.fs, FLT_MM, FLT_GENERIC, "me>203.0.113.2 both 0\n");
	expect_view(fx.fs, FLT_MM, FLT_SPECIFIC,
	    "10.0.0.1>203.0.113.2 outbound 65536\n"
	    "10.0.0.2>203.0.113.2 outbound 65536\n"
	    "203.0.113.2>10.0.0.1 inbound 65536\n"
	    "203.0.113.2>10.0.0.2 inbound 65536\n");
	done(&fx);
}

/*
 * Weights: a host beats a subnet beats any; protocol and ports add; at
 * equal specificity block beats permit beats negotiate; otherwise the
 * policy's order stands.
 */
static void
test_weights_order_the_specific_view(void **state)
{
	static const char yaml[] =
	    "policy: { name: w }\n"
	    "ike-policies:\n"
	    "  - { name: mm, offers: [ { encryption: aes128, integrity: sha1,"
	    " dh-group: 14 } ] }\n"
	    "negotiation-policies:\n"
	    "  - { name: qm, offers: [ { esp: aes128gcm16 } ] }\n"
	    "filter-lists:\n"
	    "  - { name: lan, filters: [ { source: me, destination: "
	    "192.0.2.0/24, mirrored: no } ] }\n"
	    "  - { name: web, filters: [ { source: me, destination: "
	    "192.0.2.0/24, protocol: tcp, destination-port: 443, mirrored: no "
	    "} ] }\n"
	    "  - { name: one, filters: [ { source: me, destination: 192.0.2.7,"
	    " mirrored: no } ] }\n"
	    "  - { name: all, filters: [ { source: me, destination: any, "
	    "mirrored: no } ] }\n"
	    "filter-actions:\n"
	    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
	    "  - { name: drop, action: block }\n"
	    "  - { name: pass, action: permit }\n"
	    "rules:\n"
	    "  - { name: all-pass, filter-list: all, filter-action: pass }\n"
	    "  - { name: lan-sec, filter-list: lan, filter-action: sec, "
	    "authentication: [ { method: certificate } ] }\n"
	    "  - { name: lan-drop, filter-list: lan, filter-action: drop }\n"
	    "  - { name: web-pass, filter-list: web, filter-action: pass }\n"
	    "  - { name: one-sec, filter-list: one, filter-action: sec, "
	    "authentication: [ { method: certificate } ] }\n";
	struct policy_error err;
	struct policy *p;
	struct hostenv *h = hostenv_new();
	struct flt_set *fs;
	struct ips_addr a;
	char *got, want[1024];

	(void)state;
	assert_true(ips_ok(
	    policy_load_buffer("w.yaml", yaml, sizeof(yaml) - 1, &p, &err)));
	assert_true(ips_addr_parse("192.0.2.1", &a));
	assert_true(ips_ok(hostenv_add(h, HOSTENV_LOCAL, &a)));
	assert_true(ips_ok(flt_set_build(p, h, &fs)));
	snprintf(want, sizeof(want),
	    "one-sec/1 %u\nweb-pass/1 %u\nlan-drop/1 %u\nlan-sec/1 %u\n"
	    "all-pass/1 %u\n",
	    (128u + 128) << 8, (128u + 96) << 8 | 0x80 | 0x20 | 1,
	    (128u + 96) << 8 | 2, (128u + 96) << 8, 128u << 8 | 1);
	got = calloc(1, 1024);
	for (size_t i = 0; i < flt_count(fs, FLT_QM, FLT_SPECIFIC); i++) {
		const struct flt *f = flt_get(fs, FLT_QM, FLT_SPECIFIC, i);
		char line[80];

		snprintf(line, sizeof(line), "%s %u\n", f->name, f->weight);
		strcat(got, line);
	}
	if (strcmp(got, want) != 0)
		fail_msg("expected:\n%sgot:\n%s", want, got);
	free(got);
	flt_set_free(fs);
	hostenv_free(h);
	policy_free(p);
}

/* "any", "me", an address, or ADDR/LEN for a prefix query. */
static struct flt_qaddr
query(const char *s)
{
	struct flt_qaddr q = {.kind = FLT_Q_ANY};
	char buf[64];
	char *slash;

	if (strcmp(s, "me") == 0) {
		q.kind = FLT_Q_ME;
	} else if (strcmp(s, "any") != 0) {
		snprintf(buf, sizeof(buf), "%s", s);
		if ((slash = strchr(buf, '/')) != NULL)
			*slash = '\0';
		q.kind = slash != NULL ? FLT_Q_PREFIX : FLT_Q_ADDR;
		assert_true(ips_addr_parse(buf, &q.addr));
		if (slash != NULL)
			q.prefix = ips_aspec_prefix_of(
			    &q.addr, (unsigned)atoi(slash + 1));
	}
	return q;
}

static size_t
search(const struct fixture *fx, enum flt_mode m, enum flt_type t,
    const char *src, const char *dst, size_t *idx)
{
	struct flt_qaddr qs = query(src), qd = query(dst);

	return flt_search(fx->fs, m, t, &qs, &qd, fx->h, idx, 64);
}

static void
test_search(void **state)
{
	struct fixture fx = build("{ source: me, destination: 192.0.2.0/24 }, "
				  "{ source: any, destination: me, protocol: "
				  "tcp, destination-port: 23, mirrored: no }",
	    "block", NULL);
	size_t idx[64];

	(void)state;
	/* specific: 192.0.2.0/24 pair x2 addresses (4), telnet inbound x4 */
	assert_int_equal(flt_count(fx.fs, FLT_QM, FLT_SPECIFIC), 8);
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_SPECIFIC, "any", "any", idx), 8);
	/* From my address: the two outbound LAN filters, and the four
	 * telnet filters, whose source "any" holds my addresses too. */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_SPECIFIC, "me", "any", idx), 6);
	/* From my address to the LAN: only the outbound LAN filters. */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_SPECIFIC, "me", "192.0.2.9", idx), 2);
	/* To my address: two LAN replies and four telnet blocks, most
	 * specific first. */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_SPECIFIC, "any", "me", idx), 6);
	assert_int_equal(
	    flt_get(fx.fs, FLT_QM, FLT_SPECIFIC, idx[0])->dir, FLT_DIR_INBOUND);
	assert_true(flt_get(fx.fs, FLT_QM, FLT_SPECIFIC, idx[0])->weight >=
	    flt_get(fx.fs, FLT_QM, FLT_SPECIFIC, idx[5])->weight);
	/* A specific remote host talking to one of my addresses. */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_SPECIFIC, "192.0.2.9", "10.0.0.2", idx), 2);
	/* ... and one outside every filter's reach. */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_SPECIFIC, "198.51.100.1", "192.0.2.9", idx),
	    0);
	/* Generic filters are matched through the host's keywords, and a
	 * mirrored one matches its reply as well. */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "192.0.2.9", "me", idx), 2);
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "10.0.0.1", "192.0.2.9", idx), 1);
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "10.0.0.77", "192.0.2.9", idx), 0);
	/* A subnet finds the filters that cover any of it: the LAN's reply
	 * and telnet (any) from inside 192.0.2.128/25 ... */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "192.0.2.128/25", "me", idx), 2);
	/* ... the LAN filter from a wider net, nothing from a disjoint one */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "me", "192.0.0.0/16", idx), 1);
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "me", "192.0.3.0/24", idx), 0);
	/* a keyword end counts by the host's addresses inside the subnet */
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "10.0.0.0/8", "192.0.2.7", idx),
	    1);
	assert_int_equal(
	    search(&fx, FLT_QM, FLT_GENERIC, "172.16.0.0/12", "192.0.2.7", idx),
	    0);
	done(&fx);
}

/* A different host gives a different expansion; the same host, the same. */
static void
test_hostenv_equality(void **state)
{
	struct hostenv *a = host(), *b = host();
	struct ips_addr x;

	(void)state;
	assert_true(hostenv_equal(a, b));
	/* Adding an address twice changes nothing. */
	assert_true(ips_addr_parse("10.0.0.1", &x));
	assert_true(ips_ok(hostenv_add(b, HOSTENV_LOCAL, &x)));
	assert_true(hostenv_equal(a, b));
	assert_true(ips_addr_parse("10.0.0.3", &x));
	assert_true(ips_ok(hostenv_add(b, HOSTENV_LOCAL, &x)));
	assert_false(hostenv_equal(a, b));
	/* Sets stay sorted whatever the insertion order. */
	assert_string_equal(ips_addr_str(hostenv_get(b, HOSTENV_LOCAL, 2),
				(char[IPS_ADDRSTRLEN]){0}, IPS_ADDRSTRLEN),
	    "10.0.0.3");
	hostenv_free(a);
	hostenv_free(b);
}

/* The running system yields no loopback or link-local address. */
static void
test_load_system(void **state)
{
	struct hostenv *h = hostenv_new();

	(void)state;
	assert_true(ips_ok(hostenv_load_system(h)));
	for (size_t i = 0; i < hostenv_count(h, HOSTENV_LOCAL); i++)
		assert_false(
		    ips_addr_is_local_only(hostenv_get(h, HOSTENV_LOCAL, i)));
	hostenv_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_me_expands_per_address_and_family),
	    cmocka_unit_test(test_any_any_mirrored_dedupes),
	    cmocka_unit_test(test_dns_keyword),
	    cmocka_unit_test(test_local_to_local_is_left_out),
	    cmocka_unit_test(test_duplicates_within_a_rule),
	    cmocka_unit_test(test_many_local_addresses),
	    cmocka_unit_test(test_foreign_transport_filter_is_empty),
	    cmocka_unit_test(test_tunnel),
	    cmocka_unit_test(test_weights_order_the_specific_view),
	    cmocka_unit_test(test_search),
	    cmocka_unit_test(test_hostenv_equality),
	    cmocka_unit_test(test_load_system),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
