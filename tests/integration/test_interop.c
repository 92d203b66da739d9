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
	    (char *)"-s", lab.sock, (char *)"-e", NULL, NULL};
	char policy[600], events[600];

	snprintf(policy, sizeof(policy), "%s/policy.yaml", lab.dir);
	snprintf(events, sizeof(events), "%s/events.jsonl", lab.dir);
	argv[7] = policy;
	argv[11] = events;
	lab.pid = tl_spawn(argv, lab.log);
	if (!tl_wait_socket(lab.sock, 10000))
		fail_msg("ipsecmond did not start:\n%s",
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
	const char *p = strstr(out, "\"cookies\": \"");

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
	char path[600], *pol, *tmp, in0[9], out0[9], in1[9], out1[9];

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
	assert_true(stat_of("key_deletions") >= dl0 + 2);
	assert_true(stat_of("ike_main_mode") >= mm0 + 2);
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
	/* a new charon for what follows */
	snprintf(path, sizeof(path), "%s/charon", lab.dir);
	charon_start(&lab.charon, lab.ns_b, path);
	snprintf(path, sizeof(path), "%s/policy.yaml", lab.dir);
	tl_write_file(path, our_policy, 0644);
	free(cli("reload"));
}

/* Our shutdown deletes the SA on charon's side at once. */
static void
test_shutdown_deletes(void **state)
{
	bool gone = false;

	(void)state;
	charon_conf("aes128-sha256-modp2048", PSK);
	free(cli("initiate rule=to-b"));
	assert_true(wait_ours("ESTABLISHED", "initiator", 1, 10000));
	assert_true(charon_wait_sa(&lab.charon, "ESTABLISHED", 5000));
	assert_int_equal(tl_stop(lab.pid, SIGTERM), 0);
	lab.pid = 0;
	for (int w = 0; w < 5000 && !gone; w += 100) {
		char *out = charon_swanctl(&lab.charon, "--list-sas", NULL);

		gone = strstr(out, "ESTABLISHED") == NULL;
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
	    cmocka_unit_test(test_charon_initiates),
	    cmocka_unit_test(test_charon_initiates_child),
	    cmocka_unit_test(test_quick_mode_mismatch),
	    cmocka_unit_test(test_quick_mode_pfs),
	    cmocka_unit_test(test_selector_mismatch),
	    cmocka_unit_test_teardown(test_certificates, restore_psk),
	    cmocka_unit_test(test_proposal_mismatch),
	    cmocka_unit_test(test_wrong_psk),
	    cmocka_unit_test(test_rekeys),
	    cmocka_unit_test(test_dead_peer),
	    cmocka_unit_test(test_shutdown_deletes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
