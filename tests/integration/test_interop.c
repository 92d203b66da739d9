/*
 * Interoperability with strongSwan: our ipsecmond in one network namespace,
 * a real charon (kernel-libipsec) in another, joined by a veth pair, both
 * started by this test (../shared/docs/INTEROP.md).  Each scenario checks
 * both sides: `swanctl --list-sas` on charon's, `ipsecmon show mmsas` and
 * `show stats` on ours.
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

#include "charon.h"
#include "testlib.h"

#define PSK "interop-test-psk-0123456789"

static struct {
	char ns_a[64], ns_b[64];
	char tun[16]; /* our datapath's TUN device, in ns_a */
	char *dir;
	char sock[100];
	char log[512];
	pid_t pid;
	struct charon charon;
} lab;

static const char our_policy[] =
    "policy: { name: interop }\n"
    "secrets: secrets.yaml\n"
    "ike-policies:\n"
    "  - name: mm\n"
    "    offers:\n"
    "      - { encryption: aes128, integrity: sha256, dh-group: 14 }\n"
    "      - { encryption: aes256, integrity: sha1, dh-group: ecp256 }\n"
    "negotiation-policies:\n"
    "  - { name: qm, offers: [ { esp: aes128gcm16 } ] }\n"
    "filter-lists:\n"
    "  - name: nets\n"
    "    filters: [ { source: 10.98.1.0/24, destination: 10.98.2.0/24 } ]\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "rules:\n"
    "  - name: to-b\n"
    "    filter-list: nets\n"
    "    filter-action: sec\n"
    "    tunnel: 10.99.0.2\n"
    "    authentication: [ { method: psk, secret: b } ]\n";

/* One algorithm set of scenario 1: what each side is given and what each
 * must then show. */
struct proposal_set {
	const char *charon_ike, *our_mm; /* Main Mode */
	const char *charon_esp, *our_qm; /* Quick Mode */
	const char *charon_shows[2], *mm_shows[3], *qm_shows[3];
};

static const char *esp_proposals = "aes128gcm16";
static const char *remote_ts = "10.98.1.0/24";
static const char *reauth_time = "10800s", *child_rekey = "0s";

/* charon's side: one connection; proposals and PSK vary per scenario. */
static void
charon_conf(const char *proposals, const char *psk)
{
	char conf[2048];

	snprintf(conf, sizeof(conf),
	    "connections {\n"
	    "  peer {\n"
	    "    version = 1\n"
	    "    local_addrs = 10.99.0.2\n"
	    "    remote_addrs = 10.99.0.1\n"
	    "    proposals = %s\n"
	    "    rekey_time = 0s\n"
	    "    reauth_time = %s\n"
	    "    over_time = 0s\n"
	    "    rand_time = 0s\n"
	    "    dpd_delay = 0s\n"
	    "    local {\n      auth = psk\n      id = 10.99.0.2\n    }\n"
	    "    remote {\n      auth = psk\n      id = 10.99.0.1\n    }\n"
	    "    children {\n"
	    "      peer-child {\n"
	    "        mode = tunnel\n"
	    "        rekey_time = %s\n"
	    "        local_ts = 10.98.2.0/24\n"
	    "        remote_ts = %s\n"
	    "        esp_proposals = %s\n"
	    "        start_action = none\n"
	    "      }\n"
	    "    }\n"
	    "  }\n"
	    "}\n"
	    "secrets {\n"
	    "  ike-peer {\n"
	    "    id-1 = 10.99.0.1\n"
	    "    id-2 = 10.99.0.2\n"
	    "    secret = \"%s\"\n"
	    "  }\n"
	    "}\n",
	    proposals, reauth_time, child_rekey, remote_ts, esp_proposals, psk);
	charon_load(&lab.charon, conf);
}

static char *
cli(const char *args)
{
	char cmd[1024];
	char *out;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --socket %s %s", tl_env("IPSECMON"),
	    lab.sock, args);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("ipsecmon %s failed (%d): %s", args, st, out);
	if (strstr(out, PSK) != NULL)
		fail_msg("the PSK appeared in ipsecmon %s", args);
	return out;
}

static uint64_t
stat_of(const char *key)
{
	char *out = cli("show stats format=json"), want[128];
	const char *p;
	uint64_t v;

	snprintf(want, sizeof(want), "\"%s\": ", key);
	p = strstr(out, want);
	assert_non_null(p);
	v = strtoull(p + strlen(want), NULL, 10);
	free(out);
	return v;
}

/* Count Main Mode SAs of ours in a state (with the given role, or any). */
static int
our_sas(const char *state, const char *role)
{
	char *out = cli("show mmsas format=json"), want[64];
	const char *p;
	int n = 0;

	snprintf(want, sizeof(want), "\"state\": \"%s\"", state);
	for (p = out; (p = strstr(p, want)) != NULL; p++) {
		if (role != NULL) {
			/* role precedes state in each object */
			const char *obj = p;

			while (obj > out && *obj != '{')
				obj--;
			if (strstr(obj, role) == NULL || strstr(obj, role) > p)
				continue;
		}
		n++;
	}
	free(out);
	return n;
}

static bool
wait_ours(const char *state, const char *role, int want, int timeout_ms)
{
	for (int w = 0; w <= timeout_ms; w += 100) {
		if (our_sas(state, role) == want)
			return true;
		usleep(100000);
	}
	return false;
}

static void
start_ours(void)
{
	char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec", lab.ns_a,
	    (char *)tl_env("IPSECMOND"), (char *)"-v", (char *)"-p", NULL,
	    (char *)"-s", lab.sock, (char *)"-e", NULL, (char *)"-t", lab.tun,
	    (char *)"--config", NULL, (char *)"--ike-log", NULL,
	    (char *)"--audit-syslog", (char *)"none", (char *)"--agentx",
	    (char *)"none", NULL};
	char policy[600], events[600], cmd[200], config[600], ikelog[600];
	int st = 1;

	snprintf(config, sizeof(config), "%s/config.json", lab.dir);
	argv[15] = config;
	snprintf(ikelog, sizeof(ikelog), "%s/oakley.log", lab.dir);
	argv[17] = ikelog;
	snprintf(policy, sizeof(policy), "%s/policy.yaml", lab.dir);
	snprintf(events, sizeof(events), "%s/events.jsonl", lab.dir);
	argv[7] = policy;
	argv[11] = events;
	lab.pid = tl_spawn(argv, lab.log);
	if (!tl_wait_socket(lab.sock, 10000))
		fail_msg("ipsecmond did not start:\n%s",
		    tl_read_file(lab.log, NULL));
	/* the protected network goes through our datapath (charon does
	 * the same with its ipsec0); the device comes up just after the
	 * control socket */
	snprintf(cmd, sizeof(cmd),
	    "ip -n %s route replace 10.98.2.0/24 dev %s src 10.98.1.1",
	    lab.ns_a, lab.tun);
	for (int w = 0; w < 5000 && st != 0; w += 50) {
		free(tl_run(cmd, true, &st));
		if (st != 0)
			usleep(50000);
	}
	if (st != 0)
		fail_msg("no route through %s:\n%s", lab.tun,
		    tl_read_file(lab.log, NULL));
}

static int
setup(void **state)
{
	char path[600];
	int tag = (int)getpid() % 100000;

	(void)state;
	memset(&lab, 0, sizeof(lab));
	tl_netns_create("iopa", lab.ns_a, sizeof(lab.ns_a));
	tl_netns_create("iopb", lab.ns_b, sizeof(lab.ns_b));
	tl_sh("ip link add ia%d netns %s type veth peer name ib%d netns %s",
	    tag, lab.ns_a, tag, lab.ns_b);
	tl_sh("ip -n %s addr add 10.99.0.1/24 dev ia%d", lab.ns_a, tag);
	tl_sh("ip -n %s addr add 10.99.0.2/24 dev ib%d", lab.ns_b, tag);
	/* The protected networks live on lo (INTEROP.md 2). */
	tl_sh("ip -n %s addr add 10.98.1.1/32 dev lo", lab.ns_a);
	tl_sh("ip -n %s addr add 10.98.2.1/32 dev lo", lab.ns_b);
	tl_sh("ip -n %s link set ia%d up", lab.ns_a, tag);
	tl_sh("ip -n %s link set ib%d up", lab.ns_b, tag);

	lab.dir = tl_mkdtemp();
	snprintf(lab.tun, sizeof(lab.tun), "ipsm%d", tag);
	snprintf(lab.sock, sizeof(lab.sock), "%s/ipsm.sock", lab.dir);
	snprintf(lab.log, sizeof(lab.log), "%s/ipsecmond.log", lab.dir);
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	tl_write_file(path, our_policy, 0644);
	snprintf(path, sizeof(path), "%s/secrets.yaml", lab.dir);
	tl_write_file(path, "b: \"" PSK "\"\n", 0600);
	snprintf(path, sizeof(path), "%s/charon", lab.dir);
	charon_start(&lab.charon, lab.ns_b, path);
	start_ours();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (lab.pid > 0)
		tl_stop(lab.pid, SIGTERM);
	charon_stop(&lab.charon);
	tl_netns_delete(lab.ns_a);
	tl_netns_delete(lab.ns_b);
	tl_rmrf(lab.dir);
	free(lab.dir);
	return 0;
}

/* Our one Quick Mode SA pair's SPIs. */
static void
our_spis(char *in, char *out)
{
	char *o = cli("show qmsas format=json");
	const char *p = strstr(o, "\"inbound_spi\": \"");
	const char *q = strstr(o, "\"outbound_spi\": \"");

	if (p == NULL || q == NULL)
		fail_msg("no Quick Mode SA:\n%s", o);
	memcpy(in, p + strlen("\"inbound_spi\": \""), 8);
	memcpy(out, q + strlen("\"outbound_spi\": \""), 8);
	in[8] = out[8] = '\0';
	free(o);
}

/* charon's CHILD_SA carries our SPIs the other way round. */
static void
child_matches(void)
{
	char in[9], out[9], want[64];

	/* Quick Mode may need a retransmission (2 s, then 4 s) when
	 * charon is slow to answer on a loaded machine. */
	assert_true(
	    charon_wait_sa(&lab.charon, "INSTALLED, TUNNEL-in-UDP", 15000));
	our_spis(in, out);
	snprintf(want, sizeof(want), "in  %s", out);
	assert_true(charon_wait_sa(&lab.charon, want, 100));
	snprintf(want, sizeof(want), "out %s", in);
	assert_true(charon_wait_sa(&lab.charon, want, 100));
}

/* The cookies of our one established SA, as charon prints them. */
static void
our_cookies(char *icky, char *rcky)
{
	char *out = cli("show mmsas format=json");
	const char *est = strstr(out, "\"state\": \"ESTABLISHED\"");
	const char *p = NULL, *q = out;

	/* the established SA's (its cookies come before its state); a
	 * rekeyed one may still be listed before it */
	assert_non_null(est);
	while ((q = strstr(q, "\"cookies\": \"")) != NULL && q < est)
		p = q++;
	assert_non_null(p);
	p += strlen("\"cookies\": \"");
	memcpy(icky, p, 16);
	icky[16] = '\0';
	memcpy(rcky, p + 17, 16);
	rcky[16] = '\0';
	free(out);
}

/* We initiate Main Mode; charon responds; then charon deletes it. */
static void
test_we_initiate(void **state)
{
	char icky[17], rcky[17], want[64], *out;
	uint64_t mm0 = stat_of("ike_main_mode");

	(void)state;
	charon_conf("aes128-sha256-modp2048", PSK);
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	our_cookies(icky, rcky);
	/* charon marks its own side with '*': here the responder's */
	snprintf(want, sizeof(want), "%s_i %s_r*", icky, rcky);
	assert_true(charon_wait_sa(&lab.charon, want, 5000));
	assert_true(charon_wait_sa(&lab.charon, "ESTABLISHED, IKEv1", 100));
	assert_int_equal(stat_of("ike_main_mode"), mm0 + 1);
	/* Quick Mode follows: the tunnel's SA pair on both sides. */
	child_matches();
	assert_true(charon_wait_sa(&lab.charon, "ESP:AES_GCM_16-128", 100));
	assert_int_equal(stat_of("ike_quick_mode"), 1);
	assert_int_equal(stat_of("active_sas"), 2);
	assert_int_equal(stat_of("active_tunnels"), 1);
	out = cli("show qmsas format=json");
	assert_non_null(strstr(out, "\"mode\": \"udp-tunnel\""));
	assert_non_null(strstr(out, "\"me\": \"10.98.1.0/24\""));
	assert_non_null(strstr(out, "\"peer\": \"10.98.2.0/24\""));
	free(out);
	/* NAT-T: charon fakes its NAT-D, so both float to 4500. */
	out = cli("show mmsas format=json");
	assert_non_null(strstr(out, "\"peer\": \"10.99.0.2:4500\""));
	assert_non_null(strstr(out, "\"nat\": true"));
	free(out);

	/* charon deletes: our SAs go too, and nothing counts as invalid. */
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
	assert_int_equal(stat_of("invalid_packets_received"), 0);
	assert_int_equal(stat_of("active_sas"), 0);
	assert_int_equal(stat_of("key_deletions"), 2);
}

/*
 * Traffic (issue 4): pings from our protected network to charon's, over
 * the SA pair we negotiated, through our TUN datapath and ESP-in-UDP to
 * charon's kernel-libipsec, and back.  Both sides count the packets; our
 * byte counters hold the inner packets' bytes exactly.
 */
static void
test_ping_through_tunnel(void **state)
{
	uint64_t cs0 = stat_of("confidential_bytes_sent");
	uint64_t cr0 = stat_of("confidential_bytes_received");
	uint64_t ts0 = stat_of("bytes_sent_in_tunnels");
	uint64_t tr0 = stat_of("bytes_received_in_tunnels");
	char cmd[300], *out;
	int st;

	(void)state;
	charon_conf("aes128-sha256-modp2048", PSK);
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	child_matches();
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s ping -c 3 -i 0.2 -W 2 -s 100 -I 10.98.1.1 "
	    "10.98.2.1",
	    lab.ns_a);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("no ping through the tunnel (%d):\n%s\n%s", st, out,
		    tl_read_file(lab.log, NULL));
	free(out);
	/* 3 echo requests out, 3 replies in: 128 bytes each (IPv4 20,
	 * ICMP 8, data 100) */
	assert_int_equal(stat_of("confidential_bytes_sent"), cs0 + 3 * 128);
	assert_int_equal(stat_of("bytes_sent_in_tunnels"), ts0 + 3 * 128);
	assert_int_equal(stat_of("confidential_bytes_received"), cr0 + 3 * 128);
	assert_int_equal(stat_of("bytes_received_in_tunnels"), tr0 + 3 * 128);
	assert_int_equal(stat_of("packets_not_authenticated"), 0);
	assert_int_equal(stat_of("bad_spi_packets"), 0);
	/* charon saw them too */
	assert_true(charon_wait_sa(&lab.charon, "3 packets", 2000));
	out = cli("show qmsas format=json");
	assert_non_null(strstr(out, "\"packets_out\": 3"));
	free(out);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/* Ping charon's network once, through the tunnel; it must answer. */
static void
ping_once(void)
{
	char cmd[300], *out;
	int st;

	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s ping -c 1 -W 2 -s 100 -I 10.98.1.1 10.98.2.1",
	    lab.ns_a);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("no ping through the tunnel:\n%s", out);
	free(out);
}

/* Each Quick Mode drop counter, and what a good packet moves. */
struct qm_drops {
	uint64_t replay, auth, bad_spi, decrypt, bytes_in;
};

static void
drops_now(struct qm_drops *d)
{
	d->replay = stat_of("packets_with_replay_detection");
	d->auth = stat_of("packets_not_authenticated");
	d->bad_spi = stat_of("bad_spi_packets");
	d->decrypt = stat_of("packets_not_decrypted");
	d->bytes_in = stat_of("confidential_bytes_received");
}

/* Send esp to our daemon from charon's namespace, then wait until the
 * counter named moves by one: nothing else may move. */
static void
inject(const uint8_t *esp, size_t len, uint64_t which)
{
	struct qm_drops before, after;
	uint64_t *b, *a;

	drops_now(&before);
	tl_netns_udp_send(lab.ns_b, "10.99.0.2", "10.99.0.1", 4500, esp, len);
	b = (uint64_t *)((char *)&before + which);
	a = (uint64_t *)((char *)&after + which);
	for (int w = 0; w < 3000; w += 50) {
		drops_now(&after);
		if (*a != *b)
			break;
		usleep(50000);
	}
	*b += 1;
	if (memcmp(&before, &after, sizeof(before)) != 0)
		fail_msg("counters after injection: replay %llu auth %llu "
			 "bad_spi %llu decrypt %llu bytes %llu",
		    (unsigned long long)after.replay,
		    (unsigned long long)after.auth,
		    (unsigned long long)after.bad_spi,
		    (unsigned long long)after.decrypt,
		    (unsigned long long)after.bytes_in);
}

/*
 * Hostile packets at a live SA (issue 4): one of charon's real ESP
 * packets, captured on our side, sent again (a replay), with a byte of
 * ciphertext flipped under a fresh sequence number (not authentic), with
 * an SPI we never gave out, and cut short.  Each moves exactly its own
 * counter, is not delivered, and the tunnel keeps working.
 */
static void
test_hostile_packets(void **state)
{
	char cap[600], cmd[600], *out;
	uint8_t *frame, esp[2048];
	size_t flen, elen;
	pid_t tshark;

	(void)state;
	charon_conf("aes128-sha256-modp2048", PSK);
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	child_matches();
	/* capture charon's ESP to us: UDP 4500 -> 4500, longer than IKE's
	 * keepalives and DPD */
	snprintf(cap, sizeof(cap), "%s/esp.pcap", lab.dir);
	snprintf(cmd, sizeof(cmd), "ia%d", (int)getpid() % 100000);
	{
		char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec",
		    lab.ns_a, (char *)"tshark", (char *)"-q", (char *)"-i", cmd,
		    (char *)"-f",
		    (char *)"src host 10.99.0.2 and udp dst port 4500 and "
			    "greater 150",
		    (char *)"-c", (char *)"1", (char *)"-F", (char *)"pcap",
		    (char *)"-w", cap, NULL};
		char log[700];

		snprintf(log, sizeof(log), "%s/tshark.log", lab.dir);
		tshark = tl_spawn(argv, log);
		usleep(1500000); /* until it listens */
		ping_once();
		if (tl_wait_exit(tshark, 10000) != 0)
			fail_msg("tshark captured nothing:\n%s",
			    tl_read_file(log, NULL));
	}
	/* Ethernet 14, IPv4 20, UDP 8: then ESP */
	frame = tl_pcap_record(cap, 0, &flen);
	assert_true(flen > 42 + 40 && flen - 42 <= sizeof(esp));
	elen = flen - 42;
	memcpy(esp, frame + 42, elen);
	free(frame);

	inject(esp, elen, offsetof(struct qm_drops, replay));
	/* sequence number far ahead (in the window's future), one
	 * ciphertext byte flipped */
	esp[4] = 0x7f;
	esp[elen - 20] ^= 0x01;
	inject(esp, elen, offsetof(struct qm_drops, auth));
	esp[0] ^= 0xa5; /* an SPI we never gave out */
	inject(esp, elen, offsetof(struct qm_drops, bad_spi));
	esp[0] ^= 0xa5;
	inject(esp, 20, offsetof(struct qm_drops, decrypt));
	/* and the tunnel still works, the window unmoved by the forgery */
	ping_once();
	out = cli("show qmsas format=json");
	assert_non_null(strstr(out, "\"replay_drops\": 1"));
	assert_non_null(strstr(out, "\"icv_failures\": 1"));
	free(out);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/* charon initiates; we respond. */
static void
test_charon_initiates(void **state)
{
	char *out;
	int st;

	(void)state;
	charon_conf("aes256-sha1-ecp256", PSK);
	out = charon_swanctl(
	    &lab.charon, "--initiate --ike peer --timeout 15", &st);
	if (st != 0)
		fail_msg("charon could not establish:\n%s", out);
	free(out);
	assert_true(wait_ours("ESTABLISHED", "responder", 1, 5000));
	out = cli("show mmsas format=json");
	assert_non_null(strstr(out, "\"encryption\": \"AES-CBC-256\""));
	assert_non_null(strstr(out, "\"dh_group\": 19"));
	free(out);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/* charon initiates Main Mode and Quick Mode for its CHILD_SA. */
static void
test_charon_initiates_child(void **state)
{
	uint64_t qm0 = stat_of("ike_quick_mode");
	char *out;
	int st;

	(void)state;
	charon_conf("aes128-sha256-modp2048", PSK);
	out = charon_swanctl(
	    &lab.charon, "--initiate --child peer-child --timeout 15", &st);
	if (st != 0)
		fail_msg("charon could not establish its CHILD_SA:\n%s", out);
	free(out);
	child_matches();
	assert_int_equal(stat_of("ike_quick_mode"), qm0 + 1);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
	assert_int_equal(stat_of("active_sas"), 0);
}

/* Our policy with one Main Mode offer and one Quick Mode offer, applied. */
static void
our_offers(const char *mm_offer, const char *qm_policy)
{
	char path[600], *tmp, *pol;

	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	tmp = tl_replace(our_policy,
	    "      - { encryption: aes128, integrity: sha256, dh-group: 14 }\n"
	    "      - { encryption: aes256, integrity: sha1, dh-group: ecp256 "
	    "}\n",
	    mm_offer);
	pol = tl_replace(
	    tmp, "{ name: qm, offers: [ { esp: aes128gcm16 } ] }", qm_policy);
	tl_write_file(path, pol, 0644);
	free(tmp);
	free(pol);
	free(cli("reload"));
}

/* Both sides agree on what was negotiated: charon's list-sas and ours. */
static void
both_show(const struct proposal_set *ps)
{
	char *out;

	child_matches();
	for (size_t k = 0; k < 2 && ps->charon_shows[k] != NULL; k++)
		if (!charon_wait_sa(&lab.charon, ps->charon_shows[k], 100)) {
			out = charon_swanctl(&lab.charon, "--list-sas", NULL);
			fail_msg("charon does not show %s:\n%s",
			    ps->charon_shows[k], out);
		}
	out = cli("show mmsas format=json");
	for (size_t k = 0; k < 3; k++)
		if (strstr(out, ps->mm_shows[k]) == NULL)
			fail_msg(
			    "show mmsas lacks %s:\n%s", ps->mm_shows[k], out);
	free(out);
	out = cli("show qmsas format=json");
	for (size_t k = 0; k < 3; k++)
		if (strstr(out, ps->qm_shows[k]) == NULL)
			fail_msg(
			    "show qmsas lacks %s:\n%s", ps->qm_shows[k], out);
	free(out);
}

/*
 * Scenario 1 over the algorithms of the issue, each set both ways
 * (charon initiates Main and Quick Mode, then we do): every cipher,
 * hash and group of phase 1 at least once, ESP with AES-CBC and HMAC-SHA1
 * or HMAC-SHA-256, AES-GCM-256, and PFS over MODP and ECP groups.
 */
static void
test_proposal_sets(void **state)
{
	static const struct proposal_set sets[] = {
	    {"3des-sha1-modp1536",
		"      - { encryption: 3des, integrity: sha1, dh-group: 5 }\n",
		"aes128-sha1", "{ name: qm, offers: [ { esp: aes128-sha1 } ] }",
		{"3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1536",
		    "ESP:AES_CBC-128/HMAC_SHA1_96"},
		{"\"encryption\": \"3DES-CBC\"", "\"integrity\": \"SHA-1\"",
		    "\"dh_group\": 5"},
		{"\"encryption\": \"AES-CBC-128\"",
		    "\"integrity\": \"HMAC-SHA1-96\"", "\"pfs_group\": 0"}},
	    {"aes192-sha384-modp3072",
		"      - { encryption: aes192, integrity: sha384, dh-group: "
		"15 }\n",
		"aes256-sha256-modp2048",
		"{ name: qm, pfs-group: 14, offers: [ { esp: aes256-sha256 } "
		"] }",
		{"AES_CBC-192/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_3072",
		    "ESP:AES_CBC-256/HMAC_SHA2_256_128/MODP_2048"},
		{"\"encryption\": \"AES-CBC-192\"",
		    "\"integrity\": \"SHA-384\"", "\"dh_group\": 15"},
		{"\"encryption\": \"AES-CBC-256\"",
		    "\"integrity\": \"HMAC-SHA-256-128\"",
		    "\"pfs_group\": 14"}},
	    {"aes256-sha512-ecp384",
		"      - { encryption: aes256, integrity: sha512, dh-group: "
		"20 }\n",
		"aes256gcm16-ecp384",
		"{ name: qm, pfs-group: 20, offers: [ { esp: aes256gcm16 } ] }",
		{"AES_CBC-256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/ECP_384",
		    "ESP:AES_GCM_16-256/ECP_384"},
		{"\"encryption\": \"AES-CBC-256\"",
		    "\"integrity\": \"SHA-512\"", "\"dh_group\": 20"},
		{"\"encryption\": \"AES-GCM-256\"", "\"pfs_group\": 20",
		    "\"mode\": \"udp-tunnel\""}},
	    {"aes128-sha256-ecp256",
		"      - { encryption: aes128, integrity: sha256, dh-group: "
		"19 }\n",
		"aes128gcm16-ecp256",
		"{ name: qm, pfs-group: 19, offers: [ { esp: aes128gcm16 } ] }",
		{"AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256",
		    "ESP:AES_GCM_16-128/ECP_256"},
		{"\"encryption\": \"AES-CBC-128\"",
		    "\"integrity\": \"SHA-256\"", "\"dh_group\": 19"},
		{"\"encryption\": \"AES-GCM-128\"", "\"pfs_group\": 19",
		    "\"mode\": \"udp-tunnel\""}},
	};
	char *out;
	int st;

	(void)state;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		const struct proposal_set *ps = &sets[i];
		uint64_t mm0 = stat_of("ike_main_mode");
		uint64_t qm0 = stat_of("ike_quick_mode");

		our_offers(ps->our_mm, ps->our_qm);
		esp_proposals = ps->charon_esp;
		charon_conf(ps->charon_ike, PSK);
		esp_proposals = "aes128gcm16";

		/* charon initiates */
		out = charon_swanctl(&lab.charon,
		    "--initiate --child peer-child --timeout 15", &st);
		if (st != 0)
			fail_msg("%s: charon could not establish:\n%s",
			    ps->charon_ike, out);
		free(out);
		assert_true(wait_ours("ESTABLISHED", "responder", 1, 5000));
		both_show(ps);
		free(charon_swanctl(
		    &lab.charon, "--terminate --ike peer", NULL));
		assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));

		/* we initiate */
		free(cli("initiate rule=to-b"));
		assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
		both_show(ps);
		free(charon_swanctl(
		    &lab.charon, "--terminate --ike peer", NULL));
		assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
		assert_int_equal(stat_of("ike_main_mode"), mm0 + 2);
		assert_int_equal(stat_of("ike_quick_mode"), qm0 + 2);
	}
}

/* Back to the policy the other scenarios expect. */
static int
restore_policy(void **state)
{
	char path[700];

	(void)state;
	esp_proposals = "aes128gcm16";
	remote_ts = "10.98.1.0/24";
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	tl_write_file(path, our_policy, 0644);
	free(cli("reload"));
	return 0;
}

/*
 * 50 MB each way through the tunnel with charon, for AES-GCM and for
 * AES-CBC with HMAC-SHA-256, under a 20 MB volume lifetime: we rekey
 * twice or more during each transfer, and TCP loses nothing (issue 4's
 * "rekey under load").  Our Bytes In Tunnels count at least the payload.
 */
static void
test_tcp_transfer(void **state)
{
	static const struct {
		const char *esp, *ours;
	} sets[] = {
	    {"aes128gcm16", "aes128gcm16"},
	    {"aes128-sha256", "aes128-sha256"},
	};
	const size_t mb = 50u << 20;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char qm[200];
		uint64_t rk0 = stat_of("rekeys");
		uint64_t in0 = stat_of("bytes_received_in_tunnels");
		uint64_t out0 = stat_of("bytes_sent_in_tunnels");
		uint64_t na0 = stat_of("packets_not_authenticated");

		snprintf(qm, sizeof(qm),
		    "{ name: qm, offers: [ { esp: %s, lifetime-kb: 20000 } ] }",
		    sets[i].ours);
		our_offers("      - { encryption: aes128, integrity: sha256, "
			   "dh-group: 14 }\n",
		    qm);
		esp_proposals = sets[i].esp;
		charon_conf("aes128-sha256-modp2048", PSK);
		esp_proposals = "aes128gcm16";
		free(cli("initiate rule=to-b"));
		assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
		child_matches();
		tl_tcp_transfer(lab.dir, lab.ns_a, "10.98.1.1", lab.ns_b,
		    "10.98.2.1", mb, lab.log);
		tl_tcp_transfer(lab.dir, lab.ns_b, "10.98.2.1", lab.ns_a,
		    "10.98.1.1", mb, lab.log);
		if (stat_of("rekeys") < rk0 + 4)
			fail_msg("rekeys %llu -> %llu", (unsigned long long)rk0,
			    (unsigned long long)stat_of("rekeys"));
		assert_true(stat_of("bytes_sent_in_tunnels") >= out0 + mb);
		assert_true(stat_of("bytes_received_in_tunnels") >= in0 + mb);
		assert_int_equal(stat_of("packets_not_authenticated"), na0);
		free(charon_swanctl(
		    &lab.charon, "--terminate --ike peer", NULL));
		assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
	}
}

/* The newest audit event of ours has this id and mentions what. */
static void
last_event_is(unsigned id, const char *what)
{
	char path[600], want[32], *ev = NULL, *last;
	bool found = false;

	snprintf(path, sizeof(path), "%s/events.jsonl", lab.dir);
	snprintf(want, sizeof(want), "\"id\":%u,", id);
	for (int w = 0; w < 5000 && !found; w += 100) {
		size_t n;

		free(ev);
		ev = tl_read_file(path, NULL);
		n = ev != NULL ? strlen(ev) : 0;
		while (n > 0 && ev[n - 1] == '\n')
			ev[--n] = '\0';
		last = n > 0 ? strrchr(ev, '\n') : NULL;
		last = last != NULL ? last + 1 : ev;
		found = last != NULL && strstr(last, want) != NULL &&
		    strstr(last, what) != NULL;
		if (!found)
			usleep(100000);
	}
	if (!found)
		fail_msg("the last audit event is not %u with '%s':\n%s", id,
		    what, ev ? ev : "");
	free(ev);
}

/*
 * Scenario 4 the other way: our offers are what charon refuses.  Main
 * Mode: charon answers MM1 with NO_PROPOSAL_CHOSEN; Quick Mode (ESP
 * transform, then selectors): under the ISAKMP SA, which survives on
 * both sides.  Each refusal is one Negotiation Failure of ours, with its
 * audit event: 546 for a proposal, 547 for selectors.
 */
/* Wait until a statistic of ours is no longer from; its value then. */
static uint64_t
stat_moves(const char *key, uint64_t from, int timeout_ms)
{
	uint64_t v = from;

	for (int w = 0; w < timeout_ms && (v = stat_of(key)) == from; w += 100)
		usleep(100000);
	return v;
}

/* We initiate; charon refuses our Quick Mode under the ISAKMP SA, which
 * survives on both sides; one failure of ours, its audit event. */
static void
quick_mode_refused(unsigned event, const char *reason)
{
	uint64_t nf = stat_of("negotiation_failures");

	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	assert_int_equal(stat_moves("negotiation_failures", nf, 10000), nf + 1);
	assert_int_equal(stat_of("active_sas"), 0);
	assert_int_equal(stat_of("pending_key_operations"), 0);
	last_event_is(event, reason);
	assert_int_equal(our_sas("ESTABLISHED", "initiator"), 1);
	assert_true(charon_wait_sa(&lab.charon, "ESTABLISHED, IKEv1", 100));
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/*
 * Scenario 4 the other way: our offers are what charon refuses.  Main
 * Mode: charon answers MM1 with NO_PROPOSAL_CHOSEN; Quick Mode (ESP
 * transform, then selectors): under the ISAKMP SA, which survives on
 * both sides.  Each refusal is one Negotiation Failure of ours, with its
 * audit event: 546 for a proposal, 547 for selectors.
 */
static void
test_we_are_refused(void **state)
{
	uint64_t nf = stat_of("negotiation_failures");
	uint64_t auth = stat_of("authentication_failures");
	char *log;

	(void)state;
	charon_conf("aes128-sha256-modp1024", PSK);
	free(cli("initiate rule=to-b"));
	assert_int_equal(stat_moves("negotiation_failures", nf, 10000), nf + 1);
	assert_int_equal(stat_of("authentication_failures"), auth);
	assert_int_equal(our_sas("ESTABLISHED", NULL), 0);
	last_event_is(546, "refused by the peer: NO_PROPOSAL_CHOSEN");

	/* Quick Mode: charon wants AES-CBC-256/SHA-256, we offer GCM */
	esp_proposals = "aes256-sha256";
	charon_conf("aes128-sha256-modp2048", PSK);
	esp_proposals = "aes128gcm16";
	quick_mode_refused(546, "no proposal chosen");

	/* Quick Mode: selectors charon has no CHILD_SA for */
	remote_ts = "10.97.0.0/16";
	charon_conf("aes128-sha256-modp2048", PSK);
	remote_ts = "10.98.1.0/24";
	quick_mode_refused(547, "invalid identification payload");
	log = tl_read_file(lab.log, NULL);
	assert_non_null(
	    strstr(log, "peer refused Main Mode: NO_PROPOSAL_CHOSEN"));
	assert_non_null(strstr(log, "peer notifies INVALID_ID_INFORMATION"));
	free(log);
}

/* A Quick Mode proposal we do not accept: our NO_PROPOSAL_CHOSEN goes
 * under the ISAKMP SA, which survives on both sides. */
static void
test_quick_mode_mismatch(void **state)
{
	uint64_t nf = stat_of("negotiation_failures");
	char *out, path[600], *log;
	int st;

	(void)state;
	esp_proposals = "aes256-sha256";
	charon_conf("aes128-sha256-modp2048", PSK);
	esp_proposals = "aes128gcm16";
	out = charon_swanctl(
	    &lab.charon, "--initiate --child peer-child --timeout 10", &st);
	assert_int_not_equal(st, 0);
	free(out);
	assert_int_equal(stat_of("negotiation_failures"), nf + 1);
	assert_true(wait_ours("ESTABLISHED", "responder", 1, 2000));
	assert_true(charon_wait_sa(&lab.charon, "ESTABLISHED, IKEv1", 2000));
	snprintf(path, sizeof(path), "%s/charon/charon.log", lab.dir);
	log = tl_read_file(path, NULL);
	assert_non_null(strstr(log, "received NO_PROPOSAL_CHOSEN"));
	free(log);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/* PFS (RFC 2409 5.5, a KE in QM1/QM2): we switch our policy to offer
 * group 14 and reload; charon asks for the same. */
static void
test_quick_mode_pfs(void **state)
{
	char path[600], *pol, *pfs;
	char *out;

	(void)state;
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	pol = tl_replace(our_policy,
	    "{ name: qm, offers:", "{ name: qm, pfs-group: 14, offers:");
	tl_write_file(path, pol, 0644);
	free(pol);
	free(cli("reload"));
	esp_proposals = "aes128gcm16-modp2048";
	charon_conf("aes128-sha256-modp2048", PSK);
	esp_proposals = "aes128gcm16";
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	child_matches();
	assert_true(
	    charon_wait_sa(&lab.charon, "ESP:AES_GCM_16-128/MODP_2048", 100));
	out = cli("show qmsas format=json");
	pfs = strstr(out, "\"pfs_group\": 14");
	assert_non_null(pfs);
	free(out);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/* Selectors no rule of ours covers: INVALID_ID_INFORMATION, and the
 * ISAKMP SA survives. */
static void
test_selector_mismatch(void **state)
{
	uint64_t nf = stat_of("negotiation_failures");
	char *out, path[600], *log;
	int st;

	(void)state;
	remote_ts = "10.97.0.0/16";
	charon_conf("aes128-sha256-modp2048", PSK);
	remote_ts = "10.98.1.0/24";
	out = charon_swanctl(
	    &lab.charon, "--initiate --child peer-child --timeout 10", &st);
	assert_int_not_equal(st, 0);
	free(out);
	assert_int_equal(stat_of("negotiation_failures"), nf + 1);
	assert_true(charon_wait_sa(&lab.charon, "ESTABLISHED, IKEv1", 2000));
	snprintf(path, sizeof(path), "%s/charon/charon.log", lab.dir);
	log = tl_read_file(path, NULL);
	assert_non_null(strstr(log, "received INVALID_ID_INFORMATION"));
	free(log);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/*
 * RSA signatures with X.509 certificates, both ways: a CA, a certificate
 * for each side, made here with openssl; IDs are the subjects' DNs.
 */
static void
test_certificates(void **state)
{
	char path[700], conf[2048], pki[600], *pol;
	char *out;
	int st;

	(void)state;
	snprintf(pki, sizeof(pki), "%s/pki", lab.dir);
	tl_make_pki(pki);
	/* charon: its certificate, key and the CA where swanctl looks */
	tl_sh("cd %s/charon/swanctl && mkdir -p x509ca x509 private && "
	      "cp %s/ca.pem x509ca/ && cp %s/b.pem x509/ && "
	      "cp %s/b.key private/",
	    lab.dir, pki, pki, pki);
	snprintf(conf, sizeof(conf),
	    "connections {\n"
	    "  peer {\n"
	    "    version = 1\n"
	    "    local_addrs = 10.99.0.2\n"
	    "    remote_addrs = 10.99.0.1\n"
	    "    proposals = aes128-sha256-modp2048\n"
	    "    dpd_delay = 0s\n"
	    "    local {\n      auth = pubkey\n      certs = b.pem\n"
	    "      id = \"O=ipsecmon, CN=site-b\"\n    }\n"
	    "    remote {\n      auth = pubkey\n"
	    "      id = \"O=ipsecmon, CN=site-a\"\n    }\n"
	    "    children {\n"
	    "      peer-child {\n"
	    "        mode = tunnel\n"
	    "        local_ts = 10.98.2.0/24\n"
	    "        remote_ts = 10.98.1.0/24\n"
	    "        esp_proposals = aes128gcm16\n"
	    "      }\n"
	    "    }\n"
	    "  }\n"
	    "}\n");
	charon_load(&lab.charon, conf);
	/* ours: the certificate method of the same rule */
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	{
		char auth[2048];

		snprintf(auth, sizeof(auth),
		    "authentication: [ { method: certificate, ca: %s/ca.pem, "
		    "cert: %s/a.pem, key: %s/a.key } ]",
		    pki, pki, pki);
		pol = tl_replace(our_policy,
		    "authentication: [ { method: psk, secret: b } ]", auth);
	}
	tl_write_file(path, pol, 0644);
	free(pol);
	free(cli("reload"));

	/* we initiate */
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	child_matches();
	out = cli("show mmsas format=json");
	assert_non_null(strstr(out, "\"authentication\": \"rsa-sig\""));
	assert_non_null(
	    strstr(out, "\"peer_identity\": \"O=ipsecmon, CN=site-b\""));
	free(out);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));

	/* charon initiates */
	out = charon_swanctl(
	    &lab.charon, "--initiate --child peer-child --timeout 15", &st);
	if (st != 0)
		fail_msg("charon could not authenticate us:\n%s", out);
	free(out);
	child_matches();
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));

	/* charon names itself by FQDN (ID_FQDN): its certificate's
	 * subjectAltName vouches for it */
	{
		char *fq = tl_replace(conf, "id = \"O=ipsecmon, CN=site-b\"",
		    "id = site-b.example");

		charon_load(&lab.charon, fq);
		free(fq);
	}
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	child_matches();
	out = cli("show mmsas format=json");
	assert_non_null(strstr(out, "\"peer_identity\": \"site-b.example\""));
	free(out);
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/* Back to the pre-shared key, whether or not the certificate test passed. */
static int
restore_psk(void **state)
{
	char path[700];

	(void)state;
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	tl_write_file(path, our_policy, 0644);
	free(cli("reload"));
	return 0;
}

/* Proposal mismatch: we answer charon's MM1 with NO_PROPOSAL_CHOSEN. */
static void
test_proposal_mismatch(void **state)
{
	uint64_t nf = stat_of("negotiation_failures");
	char *out, path[600], *log;
	int st;

	(void)state;
	charon_conf("aes128-sha256-modp1024", PSK);
	out = charon_swanctl(
	    &lab.charon, "--initiate --ike peer --timeout 10", &st);
	assert_int_not_equal(st, 0);
	free(out);
	assert_int_equal(stat_of("negotiation_failures"), nf + 1);
	assert_int_equal(stat_of("authentication_failures"), 0);
	snprintf(path, sizeof(path), "%s/charon/charon.log", lab.dir);
	log = tl_read_file(path, NULL);
	assert_non_null(strstr(log, "NO_PROPOSAL_CHOSEN"));
	free(log);
}

/* Wrong PSK, charon initiating: its MM5 does not decrypt for us, which
 * is exactly what Invalid Packets Received counts. */
static void
test_wrong_psk(void **state)
{
	uint64_t inv = stat_of("invalid_packets_received");
	uint64_t est = stat_of("ike_main_mode");
	uint64_t auth = stat_of("authentication_failures");
	bool seen = false;

	uint64_t nf = stat_of("negotiation_failures");

	(void)state;
	charon_conf("aes128-sha256-modp2048", "not-the-right-psk");
	free(charon_swanctl(
	    &lab.charon, "--initiate --ike peer --timeout 3", NULL));
	for (int w = 0; w < 10000 && !seen; w += 100) {
		seen = stat_of("invalid_packets_received") > inv;
		usleep(100000);
	}
	assert_true(seen);
	assert_int_equal(stat_of("ike_main_mode"), est);
	assert_int_equal(our_sas("ESTABLISHED", NULL), 0);
	/* Our Main Mode gives up (a responder waits 30 s for a readable
	 * MM5): an authentication failure, and audit event 545 says the
	 * pre-shared keys differ. */
	for (int w = 0; w < 40000 && stat_of("authentication_failures") == auth;
	     w += 100)
		usleep(100000);
	assert_int_equal(stat_of("authentication_failures"), auth + 1);
	assert_int_equal(stat_of("negotiation_failures"), nf + 1);
	/* one per MM5 charon sent: the first and its retransmissions
	 * (retransmit_tries = 3), none of them readable */
	assert_true(stat_of("invalid_packets_received") <= inv + 4);
	assert_int_equal(stat_of("ike_main_mode"), est);
	{
		char path[600], *ev = NULL;
		bool found = false;

		snprintf(path, sizeof(path), "%s/events.jsonl", lab.dir);
		for (int w = 0; w < 5000 && !found; w += 100) {
			free(ev);
			ev = tl_read_file(path, NULL);
			found = ev != NULL &&
			    strstr(ev,
				"\"id\":545,\"event\":"
				"\"authentication_failed\"") != NULL &&
			    strstr(ev, "pre-shared keys differ") != NULL &&
			    strstr(ev, "\"peer\":\"10.99.0.2\"") != NULL;
			if (!found)
				usleep(100000);
		}
		if (!found)
			fail_msg("no audit event 545 in:\n%s", ev ? ev : "");
		free(ev);
	}
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	/* charon may have started over before it gave up: let every
	 * half-open SA of ours end here, not in the next scenario */
	for (int w = 0; w < 35000 && stat_of("isadb_list_size") != 0; w += 500)
		usleep(500000);
	assert_int_equal(stat_of("isadb_list_size"), 0);
}

/*
 * Wrong PSK, we initiate: charon cannot read our MM5 and says so with a
 * PAYLOAD_MALFORMED under its own keys, which we cannot read either
 * (Invalid Packets Received).  Neither side establishes; when our MM5
 * retransmissions run out, the unreadable answers make it an
 * authentication failure (545, the keys differ), not a silent peer.
 */
static void
test_wrong_psk_we_initiate(void **state)
{
	uint64_t inv = stat_of("invalid_packets_received");
	uint64_t nf = stat_of("negotiation_failures");
	uint64_t auth = stat_of("authentication_failures");
	uint64_t est = stat_of("ike_main_mode");
	char *out;

	(void)state;
	charon_conf("aes128-sha256-modp2048", "not-the-right-psk");
	free(cli("initiate rule=to-b"));
	assert_true(stat_moves("invalid_packets_received", inv, 10000) > inv);
	out = charon_swanctl(&lab.charon, "--list-sas", NULL);
	assert_null(strstr(out, "ESTABLISHED"));
	free(out);
	/* five retransmissions, 2 s doubling to 16 s: 62 s */
	assert_int_equal(stat_moves("negotiation_failures", nf, 75000), nf + 1);
	assert_int_equal(stat_of("authentication_failures"), auth + 1);
	assert_int_equal(stat_of("ike_main_mode"), est);
	assert_int_equal(our_sas("ESTABLISHED", NULL), 0);
	last_event_is(545, "pre-shared keys differ");
	out = charon_swanctl(&lab.charon, "--list-sas", NULL);
	assert_null(strstr(out, "ESTABLISHED"));
	free(out);
}

/*
 * Our lifetimes of 60 s (the policy's minimum), charon staying
 * connected: at 54 s we rekey the IPsec SA pair and re-establish the
 * ISAKMP SA, make-before-break, and delete the old ones at 60 s.  A pair
 * is live at every moment; charon installs the replacements.  (charon
 * 5.9.8 closes an expiring IKEv1 CHILD_SA instead of rekeying it, so it
 * cannot drive this scenario itself.)
 */
static void
test_rekeys(void **state)
{
	uint64_t mm0 = stat_of("ike_main_mode");
	uint64_t dl0 = stat_of("key_deletions");
	uint64_t rk0 = stat_of("rekeys");
	uint64_t inv0 = stat_of("invalid_packets_received");
	uint64_t ka0 = stat_of("key_additions"), ku0 = stat_of("key_updates");
	char path[600], *pol, *tmp, in0[9], out0[9], in1[9], out1[9];
	char icky[17], rcky[17], want[64];

	(void)state;
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	tmp = tl_replace(
	    our_policy, "dh-group: 14 }", "dh-group: 14, lifetime: 1m }");
	pol = tl_replace(
	    tmp, "esp: aes128gcm16 }", "esp: aes128gcm16, lifetime: 1m }");
	tl_write_file(path, pol, 0644);
	free(tmp);
	free(pol);
	free(cli("reload"));
	charon_conf("aes128-sha256-modp2048", PSK);
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	child_matches();
	our_spis(in0, out0);
	for (int w = 0; w < 70000; w += 500) {
		if (stat_of("active_sas") < 2)
			fail_msg("no live SA pair at %d ms", w);
		if (stat_of("rekeys") >= rk0 + 1 &&
		    stat_of("key_deletions") >= dl0 + 2 &&
		    stat_of("ike_main_mode") >= mm0 + 2 &&
		    our_sas("ESTABLISHED", NULL) == 1)
			break;
		usleep(500000);
	}
	assert_int_equal(stat_of("rekeys"), rk0 + 1);
	/* two pairs installed (Key Additions outbound, Key Updates
	 * inbound), the first deleted */
	assert_int_equal(stat_of("key_additions"), ka0 + 2);
	assert_int_equal(stat_of("key_updates"), ku0 + 2);
	assert_int_equal(stat_of("key_deletions"), dl0 + 2);
	assert_int_equal(stat_of("ike_main_mode"), mm0 + 2);
	/* charon has the new ISAKMP SA, the one we have */
	our_cookies(icky, rcky);
	snprintf(want, sizeof(want), "%s_i %s_r*", icky, rcky);
	assert_true(charon_wait_sa(&lab.charon, want, 2000));
	assert_int_equal(stat_of("invalid_packets_received"), inv0);
	assert_int_equal(stat_of("active_sas"), 2);
	/* the new pair is the one charon has */
	our_spis(in1, out1);
	assert_string_not_equal(in0, in1);
	child_matches();
	free(charon_swanctl(&lab.charon, "--terminate --ike peer", NULL));
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 5000));
}

/* DPD (RFC 3706): charon dies without a word; we probe after 2 s of
 * silence and give up after 6 s more, deleting every SA with it. */
static void
test_dead_peer(void **state)
{
	char path[600], *pol;

	(void)state;
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	pol = tl_replace(our_policy, "  - name: mm\n",
	    "  - name: mm\n    dpd-delay: 2s\n    dpd-timeout: 6s\n");
	tl_write_file(path, pol, 0644);
	free(pol);
	free(cli("reload"));
	charon_conf("aes128-sha256-modp2048", PSK);
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	child_matches();
	assert_int_equal(stat_of("active_sas"), 2);
	/* SIGKILL: no DELETE, no goodbye */
	kill(lab.charon.pid, SIGKILL);
	tl_wait_exit(lab.charon.pid, 5000);
	lab.charon.pid = 0;
	assert_true(wait_ours("ESTABLISHED", NULL, 0, 15000));
	assert_int_equal(stat_of("active_sas"), 0);
	{
		char *log = tl_read_file(lab.log, NULL);

		/* it probed before it gave up */
		assert_non_null(strstr(log, "R-U-THERE"));
		assert_non_null(strstr(log, "dead; deleting its SAs"));
		free(log);
	}
	/* a new charon for what follows */
	snprintf(path, sizeof(path), "%s/charon", lab.dir);
	charon_start(&lab.charon, lab.ns_b, path);
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	tl_write_file(path, our_policy, 0644);
	free(cli("reload"));
}

/* Our shutdown deletes the ISAKMP SA and the CHILD_SA on charon's side at
 * once. */
static void
test_shutdown_deletes(void **state)
{
	bool gone = false;

	(void)state;
	charon_conf("aes128-sha256-modp2048", PSK);
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	assert_true(charon_wait_sa(&lab.charon, "ESTABLISHED", 5000));
	child_matches();
	assert_int_equal(tl_stop(lab.pid, SIGTERM), 0);
	lab.pid = 0;
	for (int w = 0; w < 5000 && !gone; w += 100) {
		char *out = charon_swanctl(&lab.charon, "--list-sas", NULL);

		gone = strstr(out, "ESTABLISHED") == NULL &&
		    strstr(out, "INSTALLED") == NULL;
		free(out);
		usleep(100000);
	}
	assert_true(gone);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_we_initiate),
	    cmocka_unit_test(test_ping_through_tunnel),
	    cmocka_unit_test(test_hostile_packets),
	    cmocka_unit_test_teardown(test_tcp_transfer, restore_policy),
	    cmocka_unit_test(test_charon_initiates),
	    cmocka_unit_test(test_charon_initiates_child),
	    cmocka_unit_test_teardown(test_proposal_sets, restore_policy),
	    cmocka_unit_test_teardown(test_we_are_refused, restore_policy),
	    cmocka_unit_test(test_quick_mode_mismatch),
	    cmocka_unit_test(test_quick_mode_pfs),
	    cmocka_unit_test(test_selector_mismatch),
	    cmocka_unit_test_teardown(test_certificates, restore_psk),
	    cmocka_unit_test(test_proposal_mismatch),
	    cmocka_unit_test(test_wrong_psk),
	    cmocka_unit_test(test_wrong_psk_we_initiate),
	    cmocka_unit_test(test_rekeys),
	    cmocka_unit_test(test_dead_peer),
	    cmocka_unit_test(test_shutdown_deletes),
	};

	/* IPS_TEST_FILTER=test_rekeys runs that scenario alone */
	if (getenv("IPS_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("IPS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
