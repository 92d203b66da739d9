/*
 * Traffic between two of our daemons in every shape the datapath has
 * (issue 4): ESP and AH, tunnel and transport mode, IPv4 and IPv6 outer
 * headers, ESP-in-UDP through a real NAT (nftables masquerade in a third
 * namespace), and cleartext that a permit filter passes on.  Both sides
 * are ours, so each side's Quick Mode byte counters are checked exactly
 * against what ping sent.
 *
 * Routing, as docs/ESP.md describes it: each daemon marks its own
 * sockets (--fwmark), marked packets take the main table, and everything
 * else consults table 250 first, where each test routes what it protects
 * into the TUN device.  That is what lets transport mode protect traffic
 * to the very address IKE talks to.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ourd.h"
#include "testlib.h"

#define MARK 0x4d4
#define TABLE 250

static struct {
	char *dir;
	int tag;
	const char *np_extra; /* in the negotiation policy, this test */
	struct ourd a, b;
	char nsr[64]; /* the NAT router, when a test made one */
} lab;

static const char negotiate_fmt[] =
    "policy: { name: %s }\n"
    "secrets: secrets.yaml\n"
    "ike-policies:\n"
    "  - name: mm\n"
    "    offers: [ { encryption: aes128, integrity: sha256, dh-group: 14 } "
    "]\n"
    "negotiation-policies:\n"
    "  - { name: qm, %soffers: [ { %s } ] }\n"
    "filter-lists:\n"
    "  - { name: nets, filters: [ { source: %s, destination: %s } ] }\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "rules:\n"
    "  - { name: peer, filter-list: nets, filter-action: sec%s,\n"
    "      authentication: [ { method: psk, secret: k } ] }\n";

static const char permit_fmt[] =
    "policy: { name: %s }\n"
    "secrets: secrets.yaml\n"
    "filter-lists:\n"
    "  - { name: nets, filters: [ { source: %s, destination: %s } ] }\n"
    "filter-actions:\n"
    "  - { name: pass, action: permit }\n"
    "rules:\n"
    "  - { name: peer, filter-list: nets, filter-action: pass }\n";

/* One side's policy: offer as in a negotiation policy ("esp: ..." or
 * "ah: ..."), tunnel the peer's tunnel endpoint or NULL (transport). */
static void
policy(struct ourd *d, const char *offer, const char *src, const char *dst,
    const char *tunnel)
{
	char text[2048], tun[128] = "";

	if (tunnel != NULL)
		snprintf(tun, sizeof(tun), ", tunnel: %s", tunnel);
	if (offer == NULL)
		snprintf(text, sizeof(text), permit_fmt, d->dir, src, dst);
	else
		snprintf(text, sizeof(text), negotiate_fmt, d->dir,
		    lab.np_extra ? lab.np_extra : "", offer, src, dst, tun);
	ourd_configure(d, text, "traffic");
}

static int
setup(void **state)
{
	(void)state;
	memset(&lab, 0, sizeof(lab));
	lab.tag = (int)getpid() % 100000;
	lab.dir = tl_mkdtemp();
	for (int i = 0; i < 2; i++) {
		struct ourd *d = i ? &lab.b : &lab.a;
		char ns[64], tun[16];

		tl_netns_create(i ? "trb" : "tra", ns, sizeof(ns));
		snprintf(tun, sizeof(tun), "ipst%c%d", i ? 'b' : 'a', lab.tag);
		ourd_init(d, lab.dir, i ? "b" : "a", ns, tun);
		d->mark = MARK;
		tl_sh("ip -n %s link set lo up", ns);
		/* our sockets by the main table; the rest sees table 250 */
		tl_sh("ip -n %s rule add fwmark %d lookup main pref 100", ns,
		    MARK);
		tl_sh("ip -n %s rule add lookup %d pref 200", ns, TABLE);
		tl_sh("ip -n %s -6 rule add fwmark %d lookup main pref 100", ns,
		    MARK);
		tl_sh("ip -n %s -6 rule add lookup %d pref 200", ns, TABLE);
		tl_sh("ip -n %s addr add %s dev lo", ns,
		    i ? "10.98.2.1/32" : "10.98.1.1/32");
		tl_sh("ip -n %s addr add %s dev lo nodad", ns,
		    i ? "fd00:98:2::1/128" : "fd00:98:1::1/128");
	}
	return 0;
}

/* A and B joined directly: 10.99.0.1 - 10.99.0.2, fd00:99::1 - ::2. */
static void
direct_link(void)
{
	tl_sh("ip link add ta%d netns %s type veth peer name tb%d netns %s",
	    lab.tag, lab.a.ns, lab.tag, lab.b.ns);
	for (int i = 0; i < 2; i++) {
		const char *ns = i ? lab.b.ns : lab.a.ns;
		char c = i ? 'b' : 'a';

		tl_sh("ip -n %s addr add 10.99.0.%d/24 dev t%c%d", ns, i + 1, c,
		    lab.tag);
		tl_sh("ip -n %s addr add fd00:99::%d/64 dev t%c%d nodad", ns,
		    i + 1, c, lab.tag);
		tl_sh("ip -n %s link set t%c%d up", ns, c, lab.tag);
	}
}

/* Both daemons down, the links and routes of the last test gone. */
static int
reset(void **state)
{
	(void)state;
	ourd_stop(&lab.a, SIGTERM);
	ourd_stop(&lab.b, SIGTERM);
	lab.np_extra = NULL;
	for (int i = 0; i < 2; i++) {
		const char *ns = i ? lab.b.ns : lab.a.ns;
		char c = i ? 'b' : 'a';
		char cmd[800];
		int st;

		snprintf(cmd, sizeof(cmd),
		    "ip -n %s link del t%c%d 2>/dev/null; "
		    "ip -n %s route flush table %d 2>/dev/null; "
		    "ip -n %s -6 route flush table %d 2>/dev/null; "
		    "ip -n %s route flush dev n%c%d 2>/dev/null; true",
		    ns, c, lab.tag, ns, TABLE, ns, TABLE, ns, c, lab.tag);
		free(tl_run(cmd, true, &st));
	}
	if (lab.nsr[0] != '\0') {
		tl_netns_delete(lab.nsr);
		lab.nsr[0] = '\0';
	}
	return 0;
}

static int
teardown(void **state)
{
	reset(state);
	tl_netns_delete(lab.a.ns);
	tl_netns_delete(lab.b.ns);
	tl_rmrf(lab.dir);
	free(lab.dir);
	return 0;
}

/* Start both; route `to` (each side's view: a_to from A, b_to from B)
 * into its TUN device in table 250, from src. */
static void
start_both(
    const char *a_to, const char *a_src, const char *b_to, const char *b_src)
{
	ourd_start(&lab.a);
	ourd_start(&lab.b);
	for (int i = 0; i < 2; i++) {
		struct ourd *d = i ? &lab.b : &lab.a;
		const char *to = i ? b_to : a_to, *src = i ? b_src : a_src;

		if (!ourd_sh_retry(d, 5000,
			"ip route replace %s dev %s src %s "
			"table %d",
			to, d->tun, src, TABLE))
			fail_msg("no route through %s:\n%s", d->tun,
			    tl_read_file(d->log, NULL));
	}
}

/* Main Mode and Quick Mode from A (to peer, for a transport rule);
 * both sides hold the pair. */
static void
negotiate(const char *peer)
{
	char cmd[128] = "initiate rule=peer";

	if (peer != NULL)
		snprintf(cmd, sizeof(cmd), "initiate rule=peer peer=%s", peer);
	free(ourd_cli(&lab.a, cmd));
	if (!ourd_wait_stat(&lab.a, "active_sas", 2, 10000) ||
	    !ourd_wait_stat(&lab.b, "active_sas", 2, 5000))
		fail_msg("no SA pair:\nA:\n%s\nB:\n%s",
		    tl_read_file(lab.a.log, NULL),
		    tl_read_file(lab.b.log, NULL));
}

/* ping -c 4 -s 200 from A: fails the test if a reply is missing. */
static void
ping(const char *from, const char *to)
{
	char cmd[300], *out;
	int st;

	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s ping -c 4 -i 0.2 -W 2 -s 200 -I %s %s", lab.a.ns,
	    from, to);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("ping %s -> %s failed (%d):\n%s\nA:\n%s\nB:\n%s", from,
		    to, st, out, tl_read_file(lab.a.log, NULL),
		    tl_read_file(lab.b.log, NULL));
	free(out);
}

/* A's and B's view of the one SA pair mention what. */
static void
qmsas_say(const char *what)
{
	for (int i = 0; i < 2; i++) {
		char *o =
		    ourd_cli(i ? &lab.b : &lab.a, "show qmsas format=json");

		if (strstr(o, what) == NULL)
			fail_msg("%c's Quick Mode SAs do not say %s:\n%s",
			    i ? 'B' : 'A', what, o);
		free(o);
	}
}

/* Each side sent and received `bytes` of protected traffic, counted as
 * `where` (in tunnels or transport), confidential or not. */
static void
bytes_are(uint64_t bytes, bool tunnel, bool confidential)
{
	const char *sent =
	    tunnel ? "bytes_sent_in_tunnels" : "transport_bytes_sent";
	const char *recv =
	    tunnel ? "bytes_received_in_tunnels" : "transport_bytes_received";

	for (int i = 0; i < 2; i++) {
		struct ourd *d = i ? &lab.b : &lab.a;

		assert_int_equal(ourd_stat(d, sent), bytes);
		assert_int_equal(ourd_stat(d, recv), bytes);
		assert_int_equal(
		    ourd_stat(d, "authenticated_bytes_sent"), bytes);
		assert_int_equal(
		    ourd_stat(d, "authenticated_bytes_received"), bytes);
		assert_int_equal(ourd_stat(d, "confidential_bytes_sent"),
		    confidential ? bytes : 0);
		assert_int_equal(ourd_stat(d,
				     tunnel ? "transport_bytes_sent"
					    : "bytes_sent_in_tunnels"),
		    0);
		assert_int_equal(ourd_stat(d, "bad_spi_packets"), 0);
		assert_int_equal(ourd_stat(d, "packets_not_authenticated"), 0);
		assert_int_equal(ourd_stat(d, "packets_not_decrypted"), 0);
		/* a transport pair is an SA pair but no tunnel */
		assert_int_equal(ourd_stat(d, "active_sas"), 2);
		assert_int_equal(
		    ourd_stat(d, "active_tunnels"), tunnel ? 1 : 0);
		assert_int_equal(ourd_stat(d, "offloaded_bytes_sent"), 0);
	}
}

/*
 * One shape of the datapath over the direct link: A's side and B's
 * (selectors, and the addresses ping runs between), the tunnel endpoints
 * (NULL: transport mode, between the hosts themselves), and what each of
 * ping's 4 requests and 4 replies of 200 bytes counts as protected bytes.
 */
struct shape {
	const char *offer;
	const char *a_net, *b_net;
	const char *a_host, *b_host;
	const char *a_end, *b_end;
	uint64_t packet;
	bool confidential;
};

static const struct shape
    /* the traffic to the very address IKE uses goes through the TUN
     * device (table 250), the daemons' marked sockets do not; 208 bytes
     * (ICMP 8 + 200: the IP header is not protected) */
    esp_transport = {"esp: aes128gcm16", "10.99.0.1", "10.99.0.2", "10.99.0.1",
	"10.99.0.2", NULL, NULL, 208, true},
    /* authenticated, not confidential; 228 bytes, the inner IPv4
     * header inside */
    ah_tunnel = {"ah: sha256", "10.98.1.0/24", "10.98.2.0/24", "10.98.1.1",
	"10.98.2.1", "10.99.0.1", "10.99.0.2", 228, false},
    ah_transport = {"ah: sha1", "10.99.0.1", "10.99.0.2", "10.99.0.1",
	"10.99.0.2", NULL, NULL, 208, false},
    /* IKE and ESP over IPv6 (raw protocol 50 on an IPv6 socket), IPv6
     * inside: 248 bytes (IPv6 40, ICMPv6 8, 200) */
    ipv6_tunnel = {"esp: aes256gcm16", "fd00:98:1::/64", "fd00:98:2::/64",
	"fd00:98:1::1", "fd00:98:2::1", "fd00:99::1", "fd00:99::2", 248, true},
    /* IPv6 networks over an IPv4 tunnel: the families differ */
    ipv6_over_ipv4 = {"esp: aes128gcm16", "fd00:98:1::/64", "fd00:98:2::/64",
	"fd00:98:1::1", "fd00:98:2::1", "10.99.0.1", "10.99.0.2", 248, true},
    /* the rebuilt IPv6 header in AH's ICV */
    ipv6_ah_transport = {"ah: sha256", "fd00:99::1", "fd00:99::2", "fd00:99::1",
	"fd00:99::2", NULL, NULL, 208, false};

static void
run_shape(const struct shape *s)
{
	bool tunnel = s->a_end != NULL;

	direct_link();
	policy(&lab.a, s->offer, s->a_net, s->b_net, s->b_end);
	policy(&lab.b, s->offer, s->b_net, s->a_net, s->a_end);
	start_both(s->b_net, s->a_host, s->a_net, s->b_host);
	negotiate(tunnel ? NULL : s->b_host);
	qmsas_say(tunnel ? "\"mode\": \"tunnel\"" : "\"mode\": \"transport\"");
	ping(s->a_host, s->b_host);
	bytes_are(4 * s->packet, tunnel, s->confidential);
}

static void
test_esp_transport(void **state)
{
	(void)state;
	run_shape(&esp_transport);
	/* and TCP both ways, raw ESP in transport mode */
	tl_tcp_transfer(lab.dir, lab.a.ns, "10.99.0.1", lab.b.ns, "10.99.0.2",
	    20u << 20, lab.a.log);
	tl_tcp_transfer(lab.dir, lab.b.ns, "10.99.0.2", lab.a.ns, "10.99.0.1",
	    20u << 20, lab.b.log);
	assert_true(ourd_stat(&lab.a, "transport_bytes_sent") > 20u << 20);
	assert_true(ourd_stat(&lab.a, "transport_bytes_received") > 20u << 20);
}

static void
test_ah_tunnel(void **state)
{
	(void)state;
	run_shape(&ah_tunnel);
}

static void
test_ah_transport(void **state)
{
	(void)state;
	run_shape(&ah_transport);
}

static void
test_ipv6_tunnel(void **state)
{
	(void)state;
	run_shape(&ipv6_tunnel);
}

static void
test_ipv6_over_ipv4(void **state)
{
	(void)state;
	run_shape(&ipv6_over_ipv4);
}

static void
test_ipv6_ah_transport(void **state)
{
	(void)state;
	run_shape(&ipv6_ah_transport);
}

/*
 * A behind a NAT (a third namespace masquerading 192.168.77.0/24 as
 * 10.99.0.3): NAT-D finds it, Quick Mode picks UDP encapsulation, ESP
 * goes in UDP 4500 through the NAT both ways.
 */
static void
test_esp_in_udp_through_nat(void **state)
{
	(void)state;
	tl_netns_create("trr", lab.nsr, sizeof(lab.nsr));
	tl_sh("ip link add ta%d netns %s type veth peer name ra%d netns %s",
	    lab.tag, lab.a.ns, lab.tag, lab.nsr);
	tl_sh("ip link add tb%d netns %s type veth peer name rb%d netns %s",
	    lab.tag, lab.b.ns, lab.tag, lab.nsr);
	tl_sh("ip -n %s addr add 192.168.77.2/24 dev ta%d", lab.a.ns, lab.tag);
	tl_sh("ip -n %s addr add 192.168.77.1/24 dev ra%d", lab.nsr, lab.tag);
	tl_sh("ip -n %s addr add 10.99.0.3/24 dev rb%d", lab.nsr, lab.tag);
	tl_sh("ip -n %s addr add 10.99.0.2/24 dev tb%d", lab.b.ns, lab.tag);
	tl_sh("ip -n %s link set ta%d up", lab.a.ns, lab.tag);
	tl_sh("ip -n %s link set tb%d up", lab.b.ns, lab.tag);
	tl_sh("ip -n %s link set ra%d up", lab.nsr, lab.tag);
	tl_sh("ip -n %s link set rb%d up", lab.nsr, lab.tag);
	tl_sh("ip -n %s route add default via 192.168.77.1", lab.a.ns);
	tl_sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", lab.nsr);
	tl_sh("ip netns exec %s nft add table ip nat", lab.nsr);
	tl_sh("ip netns exec %s nft 'add chain ip nat post { type nat hook "
	      "postrouting priority 100; }'",
	    lab.nsr);
	tl_sh("ip netns exec %s nft add rule ip nat post oifname rb%d "
	      "masquerade",
	    lab.nsr, lab.tag);
	/* a 20 MB volume lifetime: the transfers below rekey under load */
	policy(&lab.a, "esp: aes128gcm16, lifetime-kb: 20000", "10.98.1.0/24",
	    "10.98.2.0/24", "10.99.0.2");
	/* B knows A by the address the NAT gives it */
	policy(&lab.b, "esp: aes128gcm16, lifetime-kb: 20000", "10.98.2.0/24",
	    "10.98.1.0/24", "10.99.0.3");
	start_both("10.98.2.0/24", "10.98.1.1", "10.98.1.0/24", "10.98.2.1");
	negotiate(NULL);
	qmsas_say("\"mode\": \"udp-tunnel\"");
	ping("10.98.1.1", "10.98.2.1");
	bytes_are(4 * 228, true, true);
	/* 50 MB each way through the NAT, across Quick Mode rekeys that
	 * lose nothing (SHA-256 at the far end) */
	tl_tcp_transfer(lab.dir, lab.a.ns, "10.98.1.1", lab.b.ns, "10.98.2.1",
	    50u << 20, lab.a.log);
	tl_tcp_transfer(lab.dir, lab.b.ns, "10.98.2.1", lab.a.ns, "10.98.1.1",
	    50u << 20, lab.b.log);
	if (ourd_stat(&lab.a, "rekeys") < 4)
		fail_msg("only %llu rekeys",
		    (unsigned long long)ourd_stat(&lab.a, "rekeys"));
	for (int i = 0; i < 2; i++) {
		struct ourd *d = i ? &lab.b : &lab.a;

		assert_true(ourd_stat(d, "bytes_sent_in_tunnels") > 50u << 20);
		assert_true(
		    ourd_stat(d, "bytes_received_in_tunnels") > 50u << 20);
		assert_int_equal(ourd_stat(d, "packets_not_authenticated"), 0);
		assert_int_equal(ourd_stat(d, "bad_spi_packets"), 0);
	}
}

/* ESN negotiated (RFC 4304) and a wider replay window: both sides say
 * so, and the tunnel carries traffic. */
static void
test_esn_and_replay_window(void **state)
{
	(void)state;
	direct_link();
	lab.np_extra = "replay-window: 1024, ";
	policy(&lab.a, "esp: aes128-sha256, esn: yes", "10.98.1.0/24",
	    "10.98.2.0/24", "10.99.0.2");
	policy(&lab.b, "esp: aes128-sha256, esn: yes", "10.98.2.0/24",
	    "10.98.1.0/24", "10.99.0.1");
	start_both("10.98.2.0/24", "10.98.1.1", "10.98.1.0/24", "10.98.2.1");
	negotiate(NULL);
	qmsas_say("\"esn\": true");
	qmsas_say("\"replay_window\": 1024");
	ping("10.98.1.1", "10.98.2.1");
	bytes_are(4 * 228, true, true);
	/* the pair carried the pings moments ago: a number of seconds, not
	 * null, and few (the checks above take a while on a loaded machine) */
	{
		char *o = ourd_cli(&lab.a, "show qmsas format=json");
		const char *i = strstr(o, "\"idle_s\": ");

		assert_non_null(i);
		assert_true(i[10] >= '0' && i[10] <= '9');
		assert_true(strtoul(i + 10, NULL, 10) < 60);
		free(o);
	}
}

/* A permit filter: what the TUN device hands over for it goes on in
 * clear, by the main table, and no SA is asked for. */
static void
test_permit_passes_clear(void **state)
{
	(void)state;
	direct_link();
	policy(&lab.a, NULL, "10.98.1.0/24", "10.98.2.0/24", NULL);
	policy(&lab.b, NULL, "10.98.2.0/24", "10.98.1.0/24", NULL);
	tl_sh("ip -n %s route add 10.98.2.0/24 via 10.99.0.2", lab.a.ns);
	tl_sh("ip -n %s route add 10.98.1.0/24 via 10.99.0.1", lab.b.ns);
	start_both("10.98.2.0/24", "10.98.1.1", "10.98.1.0/24", "10.98.2.1");
	ping("10.98.1.1", "10.98.2.1");
	for (int i = 0; i < 2; i++) {
		struct ourd *d = i ? &lab.b : &lab.a;

		assert_int_equal(ourd_stat(d, "total_acquire"), 0);
		assert_int_equal(ourd_stat(d, "bytes_sent_in_tunnels"), 0);
		assert_int_equal(ourd_stat(d, "active_sas"), 0);
	}
}

/* tshark's fields of the capture, with these -o options. */
static char *
tshark(
    const char *cap, const char *opts, const char *filter, const char *fields)
{
	char *cmd, *out;
	int st;

	if (asprintf(&cmd,
		"tshark -n -r %s %s -o esp.enable_encryption_decode:TRUE "
		"-o esp.enable_authentication_check:TRUE -Y '%s' -T fields "
		"-E separator=, %s 2>%s.err",
		cap, opts, filter, fields, cap) < 0)
		fail();
	out = tl_run(cmd, false, &st);
	if (st != 0) {
		char err[800];

		snprintf(err, sizeof(err), "%s.err", cap);
		fail_msg("tshark (%d): %s\n%s%s", st, cmd, out,
		    tl_read_file(err, NULL));
	}
	free(cmd);
	return out;
}

static int
lines_with(const char *text, const char *line)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		n += p == text || p[-1] == '\n';
	return n;
}

/*
 * export-keys --format wireshark: a capture of a real negotiation and a
 * ping through the tunnel, read by tshark with nothing but the exported
 * keys: the Main Mode identities (inside the encrypted MM5 and MM6) and
 * every ESP packet's inner ICMP, each ICV correct.  Without the keys,
 * neither; and the daemon gives them to root alone.
 */
/*
 * The exported keys (every hex run of 32 digits or more: cookies are 16,
 * SPIs 8) appear in nothing else the daemon shows or writes: no view in
 * any format, not its log, its event log nor its trace.
 */
static void
no_key_elsewhere(const char *keys)
{
	static const char *const views[] = {"show all", "show all format=json",
	    "show all format=list", "show events format=json",
	    "show qmsas format=list"};
	char path[600], *texts[8];
	size_t nt = 0;

	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		texts[nt++] = ourd_cli(&lab.a, views[i]);
	texts[nt++] = tl_read_file(lab.a.log, NULL);
	snprintf(path, sizeof(path), "%s/events.jsonl", lab.a.dir);
	texts[nt++] = tl_read_file(path, NULL);
	snprintf(path, sizeof(path), "%s/oakley.log", lab.a.dir);
	texts[nt++] = tl_read_file(path, NULL);
	assert_non_null(texts[nt - 1]); /* ikelogging=1: traced */
	for (const char *k = keys; *k != '\0'; k++) {
		size_t run = strspn(k, "0123456789abcdef");
		char key[33];

		if (run < 32) {
			k += run;
			if (*k == '\0')
				break;
			continue;
		}
		memcpy(key, k, 32);
		key[32] = '\0';
		for (size_t t = 0; t < nt; t++)
			if (texts[t] != NULL && strstr(texts[t], key) != NULL)
				fail_msg("key %s... found outside export-keys "
					 "(text %zu)",
				    key, t);
		k += run - 1;
	}
	for (size_t t = 0; t < nt; t++)
		free(texts[t]);
}

static void
test_wireshark_keys(void **state)
{
	char cap[700], tlog[700], *argv[12], iface[32], *keys, *opts, *out;
	char cmd[1500];
	size_t olen = 0;
	pid_t t;
	int st;

	(void)state;
	direct_link();
	policy(&lab.a, "esp: aes256-sha256", "10.98.1.0/24", "10.98.2.0/24",
	    "10.99.0.2");
	policy(&lab.b, "esp: aes256-sha256", "10.98.2.0/24", "10.98.1.0/24",
	    "10.99.0.1");
	start_both("10.98.2.0/24", "10.98.1.1", "10.98.1.0/24", "10.98.2.1");
	/* the trace on too: it must not hold a key either */
	free(ourd_cli(&lab.a, "set config ikelogging=1"));
	snprintf(cap, sizeof(cap), "%s/ws.pcapng", lab.dir);
	snprintf(tlog, sizeof(tlog), "%s/ws.log", lab.dir);
	snprintf(iface, sizeof(iface), "ta%d", lab.tag);
	argv[0] = (char *)"ip";
	argv[1] = (char *)"netns";
	argv[2] = (char *)"exec";
	argv[3] = lab.a.ns;
	argv[4] = (char *)"tshark";
	argv[5] = (char *)"-i";
	argv[6] = iface;
	argv[7] = (char *)"-w";
	argv[8] = cap;
	argv[9] = (char *)"-f";
	argv[10] = (char *)"udp port 500 or ip proto 50";
	argv[11] = NULL;
	t = tl_spawn(argv, tlog);
	for (int w = 0; w < 10000; w += 100) {
		char *l = tl_read_file(tlog, NULL);
		bool up = l != NULL && strstr(l, "Capturing on") != NULL;

		free(l);
		if (up)
			break;
		usleep(100000);
	}
	negotiate(NULL);
	ping("10.98.1.1", "10.98.2.1");
	usleep(500000);
	tl_stop(t, SIGINT);
	/* the keys, as root: one ISAKMP SA, two ESP SAs */
	snprintf(cmd, sizeof(cmd),
	    "%s --socket %s export-keys --format wireshark", tl_env("IPSECMON"),
	    lab.a.sock);
	keys = tl_run(cmd, false, &st);
	assert_int_equal(st, 0);
	assert_int_equal(lines_with(keys, "ikev1:"), 1);
	assert_int_equal(lines_with(keys, "esp:"), 2);
	/* every row as tshark's -o uat:TABLE:ROW */
	opts = calloc(1, 1);
	for (char *l = keys; *l != '\0';) {
		char *e = strchr(l, '\n'), *o = NULL;

		if (e != NULL)
			*e = '\0';
		if (strncmp(l, "ikev1:", 6) == 0 ||
		    strncmp(l, "esp:", 4) == 0) {
			bool ike = l[0] == 'i';

			if (asprintf(&o, "%s -o 'uat:%s:%s'", opts,
				ike ? "ikev1_decryption_table" : "esp_sa",
				l + (ike ? 6 : 4)) < 0)
				fail();
			free(opts);
			opts = o;
			olen = strlen(opts);
		}
		if (e == NULL)
			break;
		l = e + 1;
	}
	assert_true(olen > 0);
	/* IKE: the identities of MM5 and MM6, decrypted */
	out = tshark(cap, opts, "isakmp.exchangetype == 2 && isakmp.id.type",
	    "-e isakmp.id.type");
	if (lines_with(out, "1") != 2)
		fail_msg("MM5/MM6 not decrypted:\n%s\n(keys: %s)", out, keys);
	free(out);
	out = tshark(cap, "", "isakmp.exchangetype == 2 && isakmp.id.type",
	    "-e isakmp.id.type");
	assert_string_equal(out, ""); /* without the keys: nothing */
	free(out);
	/* ESP: 4 echo requests and 4 replies inside, their ICVs good */
	out = tshark(cap, opts, "icmp", "-e esp.icv_good -e icmp.type");
	if (lines_with(out, "1,8") != 4 || lines_with(out, "1,0") != 4)
		fail_msg("ESP not decrypted and checked:\n%s\n(keys: %s)", out,
		    keys);
	free(out);
	free(opts);
	no_key_elsewhere(keys);
	free(keys);
	/* anyone but root: refused by the daemon itself */
	tl_sh("chmod 0711 %s && chmod 0666 %s", lab.dir, lab.a.sock);
	snprintf(cmd, sizeof(cmd),
	    "setpriv --reuid=nobody --regid=nogroup --clear-groups %s "
	    "--socket %s export-keys --format wireshark",
	    tl_env("IPSECMON"), lab.a.sock);
	out = tl_run(cmd, true, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "export-keys: root only"));
	assert_null(strstr(out, "esp:"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_esp_transport, reset),
	    cmocka_unit_test_teardown(test_wireshark_keys, reset),
	    cmocka_unit_test_teardown(test_ah_tunnel, reset),
	    cmocka_unit_test_teardown(test_ah_transport, reset),
	    cmocka_unit_test_teardown(test_ipv6_tunnel, reset),
	    cmocka_unit_test_teardown(test_ipv6_over_ipv4, reset),
	    cmocka_unit_test_teardown(test_ipv6_ah_transport, reset),
	    cmocka_unit_test_teardown(test_esp_in_udp_through_nat, reset),
	    cmocka_unit_test_teardown(test_esn_and_replay_window, reset),
	    cmocka_unit_test_teardown(test_permit_passes_clear, reset),
	};

	/* IPS_TEST_FILTER=test_ah_tunnel runs that scenario alone */
	if (getenv("IPS_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("IPS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
