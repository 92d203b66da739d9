/*
 * Two of our own daemons against each other, each in its own network
 * namespace, over the scenarios of the strongSwan test: Main Mode and
 * Quick Mode both ways, PFS, mismatches (proposals and selectors, each
 * side's count), wrong PSK (both sides' outcome), certificates, rekeys,
 * dead peer detection, deletes both ways.
 * Both sides are ours, so both sides' views are compared exactly.
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

#include "testlib.h"

struct peer {
	char ns[64];
	char tun[16]; /* its datapath's TUN device */
	char sock[100];
	char log[512];
	char dir[512];
	pid_t pid;
	char syslog[600]; /* its syslog: our receiver's socket */
	char syslog_out[600]; /* what the receiver heard, a message a line */
	pid_t syslog_pid;
};

static struct {
	char *dir;
	struct peer a, b;
	/* Shape of the next configure(); reset by restart_both(). */
	const char *mm_extra; /* lines under the IKE policy's name */
	const char *life; /* appended to both offers */
	bool certs; /* certificates from lab.dir/pki instead of the PSK */
	bool crl; /* with certs: A's method has pki/crl.pem, no crl-check */
	const char *b_cert; /* with certs: B's certificate, if not b */
	const char *b_remote; /* B's filter's remote network, if not A's */
} lab;

static const char policy_fmt[] =
    "policy: { name: %s }\n"
    "secrets: secrets.yaml\n"
    "ike-policies:\n"
    "  - name: mm\n%s"
    "    offers: [ { encryption: aes256, integrity: sha256, dh-group: %s%s } "
    "]\n"
    "negotiation-policies:\n"
    "  - { name: qm, pfs-group: %s, offers: [ { esp: %s%s } ] }\n"
    "filter-lists:\n"
    "  - { name: nets, filters: [ { source: %s, destination: %s } ] }\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "rules:\n"
    "  - { name: %s, filter-list: nets, filter-action: sec, tunnel: %s,\n"
    "      authentication: [ %s ] }\n";

/* Write one side's policy and secret, and (re)load it. */
static void
configure(struct peer *p, bool is_a, const char *group, const char *pfs,
    const char *esp, const char *psk)
{
	char path[700], text[4096], auth[1024];
	const char *life = lab.life ? lab.life : "";
	const char *b_remote = lab.b_remote ? lab.b_remote : "10.98.1.0/24";

	if (lab.certs) {
		char crl[700] = "";
		const char *cert = is_a || lab.b_cert == NULL
		    ? (is_a ? "a" : "b")
		    : lab.b_cert;

		if (is_a && lab.crl)
			snprintf(
			    crl, sizeof(crl), ", crl: %s/pki/crl.pem", lab.dir);
		snprintf(auth, sizeof(auth),
		    "{ method: certificate, ca: %s/pki/ca.pem, "
		    "cert: %s/pki/%s.pem, key: %s/pki/%s.key%s }",
		    lab.dir, lab.dir, cert, lab.dir, cert, crl);
	} else
		snprintf(auth, sizeof(auth), "{ method: psk, secret: k }");
	snprintf(text, sizeof(text), policy_fmt, is_a ? "site A" : "site B",
	    lab.mm_extra ? lab.mm_extra : "", group, life, pfs, esp, life,
	    is_a ? "10.98.1.0/24" : "10.98.2.0/24",
	    is_a ? "10.98.2.0/24" : b_remote, is_a ? "to-b" : "to-a",
	    is_a ? "10.99.0.2" : "10.99.0.1", auth);
	snprintf(path, sizeof(path), "%s/policy.yaml", p->dir);
	tl_write_file(path, text, 0644);
	snprintf(text, sizeof(text), "k: \"%s\"\n", psk);
	snprintf(path, sizeof(path), "%s/secrets.yaml", p->dir);
	tl_write_file(path, text, 0600);
	if (p->pid > 0) {
		char cmd[512], *out;
		int st;

		snprintf(cmd, sizeof(cmd), "%s --socket %s reload",
		    tl_env("IPSECMON"), p->sock);
		out = tl_run(cmd, true, &st);
		if (st != 0)
			fail_msg("reload failed: %s", out);
		free(out);
	}
}

static char *
cli(struct peer *p, const char *args)
{
	char cmd[1024], *out;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --socket %s %s", tl_env("IPSECMON"),
	    p->sock, args);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("ipsecmon %s failed (%d): %s", args, st, out);
	return out;
}

static uint64_t
stat_of(struct peer *p, const char *key)
{
	char *out = cli(p, "show stats format=json"), want[128];
	const char *s;
	uint64_t v;

	snprintf(want, sizeof(want), "\"%s\": ", key);
	assert_non_null(s = strstr(out, want));
	v = strtoull(s + strlen(want), NULL, 10);
	free(out);
	return v;
}

static bool
wait_stat(struct peer *p, const char *key, uint64_t want, int timeout_ms)
{
	for (int w = 0; w <= timeout_ms; w += 100) {
		if (stat_of(p, key) == want)
			return true;
		usleep(100000);
	}
	return false;
}

/* The SPI pair of side p's one Quick Mode SA: inbound, outbound. */
static void
spis(struct peer *p, char *in, char *out)
{
	char *o = cli(p, "show qmsas format=json");
	const char *i = strstr(o, "\"inbound_spi\": \"");
	const char *x = strstr(o, "\"outbound_spi\": \"");

	if (i == NULL || x == NULL)
		fail_msg("no Quick Mode SA:\n%s", o);
	memcpy(in, i + 16, 8);
	memcpy(out, x + 17, 8);
	in[8] = out[8] = '\0';
	free(o);
}

static void
start(struct peer *p)
{
	char policy[700], events[700], cmd[200], config[700], ikelog[700];
	char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec", p->ns,
	    (char *)tl_env("IPSECMOND"), (char *)"-p", policy, (char *)"-s",
	    p->sock, (char *)"-e", events, (char *)"-t", p->tun,
	    (char *)"--config", config, (char *)"--ike-log", ikelog,
	    (char *)"--audit-syslog", p->syslog, (char *)"--agentx",
	    (char *)"none", NULL};
	int st = 1;

	snprintf(config, sizeof(config), "%s/config.json", p->dir);
	snprintf(ikelog, sizeof(ikelog), "%s/oakley.log", p->dir);
	snprintf(policy, sizeof(policy), "%s/policy.yaml", p->dir);
	snprintf(events, sizeof(events), "%s/events.jsonl", p->dir);
	p->pid = tl_spawn(argv, p->log);
	if (!tl_wait_socket(p->sock, 10000))
		fail_msg(
		    "ipsecmond did not start:\n%s", tl_read_file(p->log, NULL));
	/* the other site's network through this one's datapath */
	snprintf(cmd, sizeof(cmd), "ip -n %s route replace %s dev %s src %s",
	    p->ns, p == &lab.a ? "10.98.2.0/24" : "10.98.1.0/24", p->tun,
	    p == &lab.a ? "10.98.1.1" : "10.98.2.1");
	for (int w = 0; w < 5000 && st != 0; w += 50) {
		free(tl_run(cmd, true, &st));
		if (st != 0)
			usleep(50000);
	}
	if (st != 0)
		fail_msg("no route through %s:\n%s", p->tun,
		    tl_read_file(p->log, NULL));
}

static int
setup(void **state)
{
	int tag = (int)getpid() % 100000;

	(void)state;
	memset(&lab, 0, sizeof(lab));
	lab.dir = tl_mkdtemp();
	tl_netns_create("pra", lab.a.ns, sizeof(lab.a.ns));
	tl_netns_create("prb", lab.b.ns, sizeof(lab.b.ns));
	tl_sh("ip link add pa%d netns %s type veth peer name pb%d netns %s",
	    tag, lab.a.ns, tag, lab.b.ns);
	tl_sh("ip -n %s addr add 10.99.0.1/24 dev pa%d", lab.a.ns, tag);
	tl_sh("ip -n %s addr add 10.99.0.2/24 dev pb%d", lab.b.ns, tag);
	tl_sh("ip -n %s link set pa%d up", lab.a.ns, tag);
	tl_sh("ip -n %s link set pb%d up", lab.b.ns, tag);
	/* each site's protected network, an address on lo */
	tl_sh("ip -n %s addr add 10.98.1.1/32 dev lo", lab.a.ns);
	tl_sh("ip -n %s addr add 10.98.2.1/32 dev lo", lab.b.ns);
	for (int i = 0; i < 2; i++) {
		struct peer *p = i ? &lab.b : &lab.a;

		snprintf(
		    p->dir, sizeof(p->dir), "%s/%c", lab.dir, i ? 'b' : 'a');
		snprintf(
		    p->tun, sizeof(p->tun), "ipsm%c%d", i ? 'b' : 'a', tag);
		tl_sh("mkdir -p %s", p->dir);
		snprintf(p->sock, sizeof(p->sock), "%s/%c.sock", lab.dir,
		    i ? 'b' : 'a');
		snprintf(p->log, sizeof(p->log), "%s/%c.log", lab.dir,
		    i ? 'b' : 'a');
		snprintf(p->syslog, sizeof(p->syslog), "%s/%c.syslog", lab.dir,
		    i ? 'b' : 'a');
		snprintf(p->syslog_out, sizeof(p->syslog_out),
		    "%s/%c.syslog.txt", lab.dir, i ? 'b' : 'a');
		p->syslog_pid = tl_syslog_receiver(p->syslog, p->syslog_out);
		configure(p, i == 0, "14", "none", "aes128gcm16", "shared");
		start(p);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (lab.a.pid > 0)
		tl_stop(lab.a.pid, SIGTERM);
	if (lab.b.pid > 0)
		tl_stop(lab.b.pid, SIGTERM);
	if (lab.a.syslog_pid > 0)
		tl_stop(lab.a.syslog_pid, SIGTERM);
	if (lab.b.syslog_pid > 0)
		tl_stop(lab.b.syslog_pid, SIGTERM);
	tl_netns_delete(lab.a.ns);
	tl_netns_delete(lab.b.ns);
	tl_rmrf(lab.dir);
	free(lab.dir);
	return 0;
}

/* Whether p's Main Mode SA view mentions what. */
static bool
mmsas_say(struct peer *p, const char *what)
{
	char *o = cli(p, "show mmsas format=json");
	bool yes = strstr(o, what) != NULL;

	free(o);
	return yes;
}

/* Bring a tunnel up from `from`, check both sides agree (and, if auth,
 * that both authenticated that way), take it down from `down`. */
static void
round_trip(
    struct peer *from, const char *rule, struct peer *down, const char *auth)
{
	struct peer *other = from == &lab.a ? &lab.b : &lab.a;
	uint64_t qa = stat_of(from, "ike_quick_mode");
	uint64_t qb = stat_of(other, "ike_quick_mode");
	char cmd[64], ai[9], ao[9], bi[9], bo[9];

	snprintf(cmd, sizeof(cmd), "initiate rule=%s", rule);
	free(cli(from, cmd));
	assert_true(wait_stat(from, "ike_quick_mode", qa + 1, 10000));
	assert_true(wait_stat(other, "ike_quick_mode", qb + 1, 10000));
	assert_true(wait_stat(other, "active_sas", 2, 2000));
	assert_int_equal(stat_of(from, "active_tunnels"), 1);
	spis(from, ai, ao);
	spis(other, bi, bo);
	assert_string_equal(ai, bo);
	assert_string_equal(ao, bi);
	if (auth != NULL) {
		assert_true(mmsas_say(from, auth));
		assert_true(mmsas_say(other, auth));
	}
	/* take it down: the other side follows */
	tl_stop(down->pid, SIGTERM);
	down->pid = 0;
	other = down == &lab.a ? &lab.b : &lab.a;
	assert_true(wait_stat(other, "active_sas", 0, 5000));
	assert_true(wait_stat(other, "isadb_list_size", 0, 5000));
	start(down);
}

/*
 * Traffic between two of our daemons (issue 4): no NAT between them, so
 * Quick Mode chose plain tunnel mode and the datapath sends IP protocol
 * 50.  Pings one way and back; each side's counters hold exactly the
 * inner bytes, and each side's received bytes are the other's sent.
 */
static void
test_ping_raw_esp(void **state)
{
	uint64_t qa = stat_of(&lab.a, "ike_quick_mode");
	char cmd[300], *out;
	int st;

	(void)state;
	free(cli(&lab.a, "initiate rule=to-b"));
	assert_true(wait_stat(&lab.a, "ike_quick_mode", qa + 1, 10000));
	assert_true(wait_stat(&lab.b, "active_sas", 2, 2000));
	out = cli(&lab.a, "show qmsas format=json");
	assert_non_null(strstr(out, "\"mode\": \"tunnel\""));
	free(out);
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s ping -c 4 -i 0.2 -W 2 -s 200 -I 10.98.1.1 "
	    "10.98.2.1",
	    lab.a.ns);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("no ping over raw ESP (%d):\n%s\nA:\n%s\nB:\n%s", st,
		    out, tl_read_file(lab.a.log, NULL),
		    tl_read_file(lab.b.log, NULL));
	free(out);
	/* 4 requests and 4 replies of 228 bytes (IPv4 20, ICMP 8, 200) */
	assert_int_equal(stat_of(&lab.a, "bytes_sent_in_tunnels"), 4 * 228);
	assert_int_equal(stat_of(&lab.b, "bytes_received_in_tunnels"), 4 * 228);
	assert_int_equal(stat_of(&lab.b, "bytes_sent_in_tunnels"), 4 * 228);
	assert_int_equal(stat_of(&lab.a, "bytes_received_in_tunnels"), 4 * 228);
	assert_int_equal(stat_of(&lab.a, "confidential_bytes_sent"), 4 * 228);
	assert_int_equal(
	    stat_of(&lab.a, "authenticated_bytes_received"), 4 * 228);
	assert_int_equal(stat_of(&lab.b, "bad_spi_packets"), 0);
	assert_int_equal(stat_of(&lab.b, "packets_with_replay_detection"), 0);
	/* what else the kernels sent into the TUN devices (IPv6 router
	 * solicitations, MLD) is no rule's business: no acquire for it */
	assert_int_equal(stat_of(&lab.a, "total_acquire"), 0);
	assert_int_equal(stat_of(&lab.b, "total_acquire"), 0);
	tl_stop(lab.a.pid, SIGTERM);
	lab.a.pid = 0;
	assert_true(wait_stat(&lab.b, "active_sas", 0, 5000));
	start(&lab.a);
}

/*
 * No tunnel yet: the first ping is what asks for one.  The datapath
 * acquires (Total Acquire), holds the echo request while Main and Quick
 * Mode run, and sends it on the new pair: that one ping is answered.
 */
static void
test_first_packet_acquires(void **state)
{
	uint64_t ta = stat_of(&lab.a, "total_acquire");
	char cmd[300], *out;
	int st;

	(void)state;
	assert_int_equal(stat_of(&lab.a, "active_sas"), 0);
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s ping -c 1 -W 5 -I 10.98.1.1 10.98.2.1", lab.a.ns);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("the first ping was lost (%d):\n%s\nA:\n%s", st, out,
		    tl_read_file(lab.a.log, NULL));
	free(out);
	assert_int_equal(stat_of(&lab.a, "total_acquire"), ta + 1);
	assert_int_equal(stat_of(&lab.a, "acquire_failures"), 0);
	assert_int_equal(stat_of(&lab.a, "active_sas"), 2);
	tl_stop(lab.a.pid, SIGTERM);
	lab.a.pid = 0;
	assert_true(wait_stat(&lab.b, "active_sas", 0, 5000));
	start(&lab.a);
}

/* ipsecmon ARGS on p, which must exit with want; its output. */
static char *
cli_st(struct peer *p, const char *args, int want)
{
	char cmd[1024], *out;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --socket %s %s", tl_env("IPSECMON"),
	    p->sock, args);
	out = tl_run(cmd, true, &st);
	if (st != want)
		fail_msg(
		    "ipsecmon %s: exit %d, not %d: %s", args, st, want, out);
	return out;
}

/*
 * The dynamic store (issue 6): rules, filters, filter actions and offers
 * added, changed and deleted at run time.  The tunnel up meanwhile keeps
 * its SAs (same SPIs, no new Main Mode, traffic still flowing) until its
 * own rule is deleted; a refused change changes nothing; reload brings
 * back the file.
 */
static void
test_dynamic_changes(void **state)
{
	static const char *const edits[] = {
	    "add filter filterlist=web srcaddr=10.98.1.0/24 dstaddr=192.0.2.80 "
	    "protocol=tcp dstport=443",
	    "add filteraction name=pass action=permit",
	    "add rule name=web filterlist=web filteraction=pass",
	    "add filter filterlist=web position=1 srcaddr=10.98.1.0/24 "
	    "dstaddr=192.0.2.81",
	    "add mmoffer mmpolicy=mm encryption=aes128 integrity=sha1 "
	    "dhgroup=14",
	    "add qmoffer qmpolicy=qm esp=aes256-sha256 lifetime=30m",
	    "set qmoffer qmpolicy=qm position=2 lifetimekb=5000",
	    "set rule name=web conntype=lan",
	    "delete filter filterlist=web position=2",
	    "set mmoffer mmpolicy=mm position=2 lifetime=2h",
	};
	uint64_t mm = stat_of(&lab.a, "ike_main_mode");
	char ai[9], ao[9], bi[9], bo[9], cmd[300], *out;
	int st;

	(void)state;
	free(cli(&lab.a, "initiate rule=to-b"));
	assert_true(wait_stat(&lab.a, "ike_main_mode", mm + 1, 10000));
	assert_true(wait_stat(&lab.b, "active_sas", 2, 10000));
	spis(&lab.a, ai, ao);
	for (size_t i = 0; i < sizeof(edits) / sizeof(*edits); i++) {
		char want[40];

		out = cli(&lab.a, edits[i]);
		snprintf(want, sizeof(want), "dynamic changes: %zu ", i + 1);
		if (strstr(out, want) == NULL)
			fail_msg("%s: %s", edits[i], out);
		free(out);
	}
	out = cli(&lab.a, "show qmfilter format=json");
	assert_non_null(strstr(out, "\"name\": \"web/1\""));
	assert_non_null(strstr(out, "192.0.2.81"));
	assert_null(strstr(out, "192.0.2.80"));
	free(out);
	out = cli(&lab.a, "show mmpolicy format=json");
	assert_non_null(strstr(out, "\"lifetime_s\": 7200"));
	free(out);
	/* refusals: the parser's reason, exit 1, nothing changed */
	out = cli_st(&lab.a, "add rule name=web filterlist=web", 1);
	assert_non_null(strstr(out, "exists"));
	free(out);
	out = cli_st(&lab.a,
	    "add filter filterlist=web srcaddr=10.98.1.1/24 dstaddr=any", 1);
	assert_non_null(strstr(out, "bits set beyond the prefix length"));
	free(out);
	out = cli_st(&lab.a, "delete filteraction name=sec", 1);
	assert_non_null(strstr(out, "refused"));
	free(out);
	out = cli_st(&lab.a, "add rule name=x filterlist=web bogus=1", 1);
	assert_non_null(strstr(out, "unknown key 'bogus'"));
	free(out);
	/* root only; nor may anyone else undo them by reloading the file */
	tl_sh("chmod 0711 %s && chmod 0666 %s", lab.dir, lab.a.sock);
	{
		static const char *const as_nobody[][2] = {
		    {"delete rule name=to-b", "root only"},
		    {"reload", "only root may discard"},
		};

		for (size_t i = 0; i < 2; i++) {
			snprintf(cmd, sizeof(cmd),
			    "setpriv --reuid=nobody --regid=nogroup "
			    "--clear-groups %s --socket %s %s",
			    tl_env("IPSECMON"), lab.a.sock, as_nobody[i][0]);
			out = tl_run(cmd, true, &st);
			assert_int_equal(st, 1);
			assert_non_null(strstr(out, as_nobody[i][1]));
			free(out);
		}
	}
	/* the tunnel never noticed: same SAs, both sides, still carrying */
	spis(&lab.a, bi, bo);
	assert_string_equal(ai, bi);
	assert_string_equal(ao, bo);
	assert_int_equal(stat_of(&lab.a, "ike_main_mode"), mm + 1);
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s ping -c 2 -i 0.2 -W 2 -I 10.98.1.1 10.98.2.1",
	    lab.a.ns);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("no ping after the changes (%d):\n%s", st, out);
	free(out);
	/* deleting the rule the tunnel belongs to ends it, the peer told */
	out = cli(&lab.a, "delete rule name=to-b format=json");
	assert_non_null(strstr(out, "\"dynamic_changes\": 11"));
	tl_check_json("edit", out, false);
	free(out);
	assert_true(wait_stat(&lab.b, "active_sas", 0, 5000));
	assert_int_equal(stat_of(&lab.a, "active_sas"), 0);
	/* the file again */
	free(cli(&lab.a, "reload"));
	out = cli(&lab.a, "show qmfilter format=json");
	assert_null(strstr(out, "web/1"));
	assert_non_null(strstr(out, "to-b/1"));
	free(out);
	out = tl_read_file(lab.a.log, NULL);
	assert_non_null(
	    strstr(out, "reload: 11 dynamic changes to the policy discarded"));
	free(out);
}

static void
test_both_ways(void **state)
{
	(void)state;
	round_trip(&lab.a, "to-b", &lab.b, "\"psk\"");
	round_trip(&lab.b, "to-a", &lab.a, NULL);
}

static void
test_pfs_and_algorithms(void **state)
{
	(void)state;
	configure(&lab.a, true, "19", "14", "aes256-sha256", "shared");
	configure(&lab.b, false, "19", "14", "aes256-sha256", "shared");
	round_trip(&lab.a, "to-b", &lab.a, NULL);
	configure(&lab.a, true, "14", "none", "aes128gcm16", "shared");
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
}

static void
test_mismatches(void **state)
{
	uint64_t na, nb;

	(void)state;
	/* phase 1: group 14 against group 19 */
	configure(&lab.b, false, "19", "none", "aes128gcm16", "shared");
	na = stat_of(&lab.a, "negotiation_failures");
	nb = stat_of(&lab.b, "negotiation_failures");
	free(cli(&lab.a, "initiate rule=to-b"));
	assert_true(wait_stat(&lab.a, "negotiation_failures", na + 1, 5000));
	assert_true(wait_stat(&lab.b, "negotiation_failures", nb + 1, 5000));
	/* phase 2: GCM against CBC; the ISAKMP SA stays */
	configure(&lab.b, false, "14", "none", "aes128-sha1", "shared");
	free(cli(&lab.a, "initiate rule=to-b"));
	assert_true(wait_stat(&lab.a, "negotiation_failures", na + 2, 5000));
	assert_true(wait_stat(&lab.b, "negotiation_failures", nb + 2, 5000));
	/* the failed phase 1 entry counts until the next tick reaps it */
	assert_true(wait_stat(&lab.a, "isadb_list_size", 1, 2000));
	assert_int_equal(stat_of(&lab.a, "active_sas"), 0);
	/* phase 2: selectors B has no filter for; B refuses with
	 * INVALID_ID_INFORMATION, A's Quick Mode ends on it (not on a
	 * timeout), and the ISAKMP SA stays on both sides */
	lab.b_remote = "10.97.0.0/16";
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
	lab.b_remote = NULL;
	free(cli(&lab.a, "initiate rule=to-b"));
	assert_true(wait_stat(&lab.a, "negotiation_failures", na + 3, 5000));
	assert_true(wait_stat(&lab.b, "negotiation_failures", nb + 3, 5000));
	assert_int_equal(stat_of(&lab.a, "pending_key_operations"), 0);
	assert_int_equal(stat_of(&lab.a, "active_sas"), 0);
	assert_int_equal(stat_of(&lab.b, "active_sas"), 0);
	{
		char *out = cli(&lab.a, "show mmsas format=json");

		assert_non_null(strstr(out, "\"state\": \"ESTABLISHED\""));
		free(out);
		out = cli(&lab.b, "show mmsas format=json");
		assert_non_null(strstr(out, "\"state\": \"ESTABLISHED\""));
		free(out);
		out = tl_read_file(lab.a.log, NULL);
		assert_non_null(
		    strstr(out, "peer notifies INVALID_ID_INFORMATION"));
		free(out);
	}
	/* restart A to clear its ISAKMP SA */
	tl_stop(lab.a.pid, SIGTERM);
	lab.a.pid = 0;
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
	start(&lab.a);
	assert_true(wait_stat(&lab.b, "isadb_list_size", 0, 5000));
}

static void
test_wrong_psk(void **state)
{
	uint64_t inv, na, nb, aa, ma;

	(void)state;
	configure(&lab.b, false, "14", "none", "aes128gcm16", "other");
	inv = stat_of(&lab.b, "invalid_packets_received");
	na = stat_of(&lab.a, "negotiation_failures");
	nb = stat_of(&lab.b, "negotiation_failures");
	aa = stat_of(&lab.a, "authentication_failures");
	ma = stat_of(&lab.a, "ike_main_mode");
	free(cli(&lab.a, "initiate rule=to-b"));
	/* B cannot read A's MM5: the wrong-PSK symptom */
	assert_true(
	    wait_stat(&lab.b, "invalid_packets_received", inv + 1, 5000));
	assert_int_equal(stat_of(&lab.a, "active_sas"), 0);
	/* B gives up after 30 s: an authentication failure, and audit
	 * event 545 in its event log */
	assert_true(wait_stat(&lab.b, "authentication_failures", 1, 40000));
	{
		char path[600], *ev;

		snprintf(path, sizeof(path), "%s/events.jsonl", lab.b.dir);
		ev = tl_read_file(path, NULL);
		if (ev == NULL ||
		    strstr(ev,
			"\"id\":545,\"event\":"
			"\"authentication_failed\"") == NULL ||
		    strstr(ev, "pre-shared keys differ") == NULL)
			fail_msg("no audit event 545 in:\n%s", ev ? ev : "");
		free(ev);
	}
	assert_int_equal(stat_of(&lab.b, "negotiation_failures"), nb + 1);
	/* A heard nothing it could read or not: its MM5 retransmissions
	 * run out (62 s), a negotiation failure but no authentication
	 * failure (silence proves nothing about the key) */
	assert_true(wait_stat(&lab.a, "negotiation_failures", na + 1, 75000));
	assert_int_equal(stat_of(&lab.a, "authentication_failures"), aa);
	assert_int_equal(stat_of(&lab.a, "ike_main_mode"), ma);
	tl_stop(lab.a.pid, SIGTERM);
	lab.a.pid = 0;
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
	start(&lab.a);
}

/* Both daemons restarted on the default policy, whatever a test left. */
static int
restart_both(void **state)
{
	(void)state;
	lab.mm_extra = lab.life = NULL;
	lab.certs = lab.crl = false;
	lab.b_cert = NULL;
	for (int i = 0; i < 2; i++) {
		struct peer *p = i ? &lab.b : &lab.a;

		if (p->pid > 0)
			tl_stop(p->pid, SIGTERM);
		p->pid = 0;
		configure(p, i == 0, "14", "none", "aes128gcm16", "shared");
		start(p);
	}
	return 0;
}

/* RSA signatures with certificates from one test CA, both ways. */
static void
test_certificates(void **state)
{
	char pki[600];

	(void)state;
	snprintf(pki, sizeof(pki), "%s/pki", lab.dir);
	tl_make_pki(pki);
	lab.certs = true;
	configure(&lab.a, true, "14", "none", "aes128gcm16", "shared");
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
	round_trip(&lab.a, "to-b", &lab.b, "\"rsa-sig\"");
	round_trip(&lab.b, "to-a", &lab.a, "\"rsa-sig\"");
}

/* Whether p's event log holds what, within timeout_ms. */
static bool
wait_event(struct peer *p, const char *what, int timeout_ms)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/events.jsonl", p->dir);
	for (int w = 0; w <= timeout_ms; w += 100) {
		char *ev = tl_read_file(path, NULL);
		bool yes = ev != NULL && strstr(ev, what) != NULL;

		free(ev);
		if (yes)
			return true;
		usleep(100000);
	}
	return false;
}

/* p's strongcrlcheck, from show config; -1 if absent. */
static long
crl_setting(struct peer *p)
{
	char *out = cli(p, "show config format=json");
	const char *s = strstr(out, "\"name\": \"strongcrlcheck\",");
	long v = -1;

	if (s != NULL && (s = strstr(s, "\"value\": ")) != NULL)
		v = strtol(s + 9, NULL, 10);
	free(out);
	return v;
}

/*
 * strongcrlcheck (issue 6): A's method has a CRL that revokes B's
 * certificate and no crl-check of its own, so the setting decides.  At
 * the default (1) A refuses B with audit event 544; at 0 the same
 * negotiation succeeds, the credentials rebuilt at once; 2 keeps the SA
 * up and is refused where a method has no list to vouch.
 */
static void
test_revoked_certificate(void **state)
{
	char pki[600], *out;

	(void)state;
	snprintf(pki, sizeof(pki), "%s/pki/crl.pem", lab.dir);
	if (access(pki, R_OK) != 0) {
		snprintf(pki, sizeof(pki), "%s/pki", lab.dir);
		tl_make_pki(pki);
	}
	lab.certs = lab.crl = true;
	lab.b_cert = "c"; /* revoked by crl.pem */
	configure(&lab.a, true, "14", "none", "aes128gcm16", "shared");
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
	free(cli(&lab.a, "initiate rule=to-b"));
	if (!wait_event(&lab.a, "\"id\":544,", 15000))
		fail_msg("no event 544 for a revoked certificate:\n%s",
		    tl_read_file(lab.a.log, NULL));
	assert_true(wait_event(&lab.a, "revoked", 0));
	assert_int_equal(stat_of(&lab.a, "active_sas"), 0);
	out = cli(&lab.a, "set config strongcrlcheck=0");
	free(out);
	free(cli(&lab.a, "initiate rule=to-b"));
	if (!wait_stat(&lab.a, "active_sas", 2, 15000))
		fail_msg("strongcrlcheck=0 did not let B in:\n%s",
		    tl_read_file(lab.a.log, NULL));
	/* strict, with A's list: applied, and the SA up stays */
	free(cli(&lab.a, "set config strongcrlcheck=2"));
	assert_int_equal(crl_setting(&lab.a), 2);
	assert_int_equal(stat_of(&lab.a, "active_sas"), 2);
	/* B's method has no list: strict could never pass, so refused */
	out = cli_st(&lab.b, "set config strongcrlcheck=2", 1);
	assert_non_null(
	    strstr(out, "rule 'to-a': strongcrlcheck=2 needs 'crl'"));
	free(out);
	assert_int_equal(crl_setting(&lab.b), 1);
	free(cli(&lab.a, "set config strongcrlcheck=1"));
}

/* Occurrences of what in the file at path (0 if there is none). */
static int
count_in_file(const char *path, const char *what)
{
	char *t = tl_read_file(path, NULL);
	int n = 0;

	for (const char *s = t; s != NULL && (s = strstr(s, what)) != NULL; s++)
		n++;
	free(t);
	return n;
}

/*
 * Every audit event 541-547 came from its real trigger in the tests
 * before (an SA up and down, a revoked certificate, a wrong key, a
 * proposal mismatch, a timeout), and each one a side wrote to its event
 * log it also sent to its syslog: the same count, id by id.
 */
static void
test_audit_everywhere(void **state)
{
	(void)state;
	usleep(300000); /* the receivers write what is in flight */
	/* every line of either event log is an event the schema allows */
	for (int i = 0; i < 2; i++) {
		char path[600], *t;

		snprintf(path, sizeof(path), "%s/events.jsonl",
		    i ? lab.b.dir : lab.a.dir);
		t = tl_read_file(path, NULL);
		assert_non_null(t);
		tl_check_json("event", t, true);
		free(t);
	}
	for (int id = 541; id <= 547; id++) {
		int total = 0;

		for (int i = 0; i < 2; i++) {
			struct peer *p = i ? &lab.b : &lab.a;
			char log[600], log1[610], ev[32], sys[48];
			int n_ev, n_sys;

			snprintf(log, sizeof(log), "%s/events.jsonl", p->dir);
			snprintf(log1, sizeof(log1), "%s.1", log);
			snprintf(ev, sizeof(ev), "\"id\":%d,", id);
			snprintf(
			    sys, sizeof(sys), "[ipsecmon@32473 id=\"%d\"", id);
			n_ev = count_in_file(log, ev) + count_in_file(log1, ev);
			n_sys = count_in_file(p->syslog_out, sys);
			if (n_ev != n_sys)
				fail_msg(
				    "%c: event %d: %d in the event log, %d "
				    "at syslog",
				    i ? 'B' : 'A', id, n_ev, n_sys);
			total += n_ev;
		}
		if (total == 0)
			fail_msg("no event %d on either side", id);
	}
}

/*
 * Lifetimes of 60 s on both sides: at 54 s A (the initiator of both
 * phases) rekeys the pair and the ISAKMP SA, make-before-break; at 60 s
 * both delete the old ones.  A pair is live on both sides throughout, and
 * both count the rekey.
 */
static void
test_rekeys(void **state)
{
	uint64_t qa, qb;
	bool done = false;

	(void)state;
	lab.life = ", lifetime: 1m";
	configure(&lab.a, true, "14", "none", "aes128gcm16", "shared");
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
	qa = stat_of(&lab.a, "ike_quick_mode");
	qb = stat_of(&lab.b, "ike_quick_mode");
	free(cli(&lab.a, "initiate rule=to-b"));
	assert_true(wait_stat(&lab.a, "ike_quick_mode", qa + 1, 10000));
	assert_true(wait_stat(&lab.b, "ike_quick_mode", qb + 1, 10000));
	for (int w = 0; w < 75000 && !done; w += 500) {
		if (stat_of(&lab.a, "active_sas") < 2 ||
		    stat_of(&lab.b, "active_sas") < 2)
			fail_msg("no live SA pair at %d ms", w);
		done = stat_of(&lab.a, "rekeys") >= 1 &&
		    stat_of(&lab.b, "rekeys") >= 1 &&
		    stat_of(&lab.a, "key_deletions") >= 2 &&
		    stat_of(&lab.b, "key_deletions") >= 2 &&
		    stat_of(&lab.a, "ike_main_mode") >= 2 &&
		    stat_of(&lab.b, "ike_main_mode") >= 2;
		if (!done)
			usleep(500000);
	}
	assert_true(done);
	assert_int_equal(stat_of(&lab.a, "rekeys"), 1);
	assert_int_equal(stat_of(&lab.b, "rekeys"), 1);
	assert_true(wait_stat(&lab.a, "isadb_list_size", 1, 5000));
	assert_true(wait_stat(&lab.b, "isadb_list_size", 1, 5000));
	assert_int_equal(stat_of(&lab.a, "active_sas"), 2);
	assert_int_equal(stat_of(&lab.b, "active_sas"), 2);
	assert_int_equal(stat_of(&lab.a, "invalid_packets_received"), 0);
	assert_int_equal(stat_of(&lab.b, "invalid_packets_received"), 0);
}

/* DPD (RFC 3706): B dies without a word; A probes after 2 s of silence,
 * gives up 6 s later and deletes every SA with B. */
static void
test_dead_peer(void **state)
{
	uint64_t qa;

	(void)state;
	lab.mm_extra = "    dpd-delay: 2s\n    dpd-timeout: 6s\n";
	configure(&lab.a, true, "14", "none", "aes128gcm16", "shared");
	configure(&lab.b, false, "14", "none", "aes128gcm16", "shared");
	qa = stat_of(&lab.a, "ike_quick_mode");
	free(cli(&lab.a, "initiate rule=to-b"));
	assert_true(wait_stat(&lab.a, "ike_quick_mode", qa + 1, 10000));
	assert_int_equal(stat_of(&lab.a, "active_sas"), 2);
	tl_stop(lab.b.pid, SIGKILL);
	lab.b.pid = 0;
	assert_true(wait_stat(&lab.a, "active_sas", 0, 15000));
	assert_true(wait_stat(&lab.a, "isadb_list_size", 0, 3000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ping_raw_esp),
	    cmocka_unit_test(test_first_packet_acquires),
	    cmocka_unit_test(test_both_ways),
	    cmocka_unit_test(test_dynamic_changes),
	    cmocka_unit_test(test_pfs_and_algorithms),
	    cmocka_unit_test(test_mismatches),
	    cmocka_unit_test(test_wrong_psk),
	    cmocka_unit_test_teardown(test_certificates, restart_both),
	    cmocka_unit_test_teardown(test_revoked_certificate, restart_both),
	    cmocka_unit_test_teardown(test_dead_peer, restart_both),
	    cmocka_unit_test_teardown(test_rekeys, restart_both),
	    cmocka_unit_test(test_audit_everywhere),
	};

	/* IPS_TEST_FILTER=test_rekeys runs that scenario alone */
	if (getenv("IPS_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("IPS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
