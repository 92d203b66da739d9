/*
 * The AgentX subagent (issue 5), under a real snmpd started by the test
 * as master with its own configuration: loopback in a namespace of its
 * own, a private AgentX socket.  snmpwalk of the whole module must give
 * every statistic `ipsecmon show stats format=json` gives, by the MIB's
 * names; the policy scalars say the policy's; when snmpd restarts, the
 * subagent is back within seconds.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ourd.h"
#include "testlib.h"

#define SNMP_PORT 11161
#define TRAP_PORT 11162

static struct {
	char *dir;
	char ns[64];
	char agentx[600], snmpd_conf[600], snmpd_log[600];
	char trapd_log[600];
	char syslog[600]; /* our syslog receiver's socket */
	int syslog_fd;
	pid_t snmpd, trapd;
	struct ourd d;
	char pns[64]; /* the head office: a peer of ours */
	struct ourd peer;
} lab;

/* The example policy's head office, mirrored, keyed with its secret. */
static const char peer_fmt[] =
    "policy: { name: head office }\n"
    "secrets: secrets.yaml\n"
    "ike-policies:\n"
    "  - { name: mm, offers: [ { encryption: aes256, integrity: sha256, "
    "dh-group: 14 } ] }\n"
    "negotiation-policies:\n"
    "  - { name: qm, pfs-group: 19, offers: [ { esp: aes128gcm16 } ] }\n"
    "filter-lists:\n"
    "  - { name: branch, filters: [ { source: 10.98.2.0/24, destination: "
    "10.98.1.0/24 } ] }\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "rules:\n"
    "  - { name: to-branch, filter-list: branch, filter-action: sec, "
    "tunnel: 10.99.0.1,\n"
    "      authentication: [ { method: psk, secret: k } ] }\n";

static void
snmpd_start(void)
{
	char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec", lab.ns,
	    (char *)"snmpd", (char *)"-f", (char *)"-Lo", (char *)"-C",
	    (char *)"-c", lab.snmpd_conf, (char *)"-I",
	    (char *)"-ifTable,ifXTable", NULL};
	char sock[700];

	lab.snmpd = tl_spawn(argv, lab.snmpd_log);
	snprintf(sock, sizeof(sock), "%s", lab.agentx);
	if (!tl_wait_socket(sock, 10000))
		fail_msg("snmpd did not start:\n%s",
		    tl_read_file(lab.snmpd_log, NULL));
}

/* snmptrapd, logging every notification on one line of its own: the
 * notification's name, then its varbinds. */
static void
trapd_start(void)
{
	char conf[700], addr[64], text[200];
	char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec", lab.ns,
	    (char *)"env", NULL, (char *)"snmptrapd", (char *)"-f",
	    (char *)"-C", (char *)"-c", conf, (char *)"-m",
	    (char *)"IPSECMON-MIB:SNMPv2-MIB", (char *)"-OQs", (char *)"-Lo",
	    (char *)"-F", (char *)"TRAP %V; %v\n", addr, NULL};
	char mibdirs[700];
	char *log;

	snprintf(conf, sizeof(conf), "%s/snmptrapd.conf", lab.dir);
	snprintf(text, sizeof(text),
	    "disableAuthorization yes\n"
	    "doNotRetainNotificationLogs yes\n"
	    "[snmp] persistentDir %s/trapd-state\n",
	    lab.dir);
	tl_write_file(conf, text, 0600);
	snprintf(
	    mibdirs, sizeof(mibdirs), "MIBDIRS=%s", tl_env("IPS_MIB_DIRS"));
	argv[5] = mibdirs;
	snprintf(addr, sizeof(addr), "udp:127.0.0.1:%d", TRAP_PORT);
	snprintf(lab.trapd_log, sizeof(lab.trapd_log), "%s/trapd.log", lab.dir);
	lab.trapd = tl_spawn(argv, lab.trapd_log);
	for (int w = 0; w < 10000; w += 100) {
		log = tl_read_file(lab.trapd_log, NULL);
		if (log != NULL && strstr(log, "NET-SNMP version") != NULL) {
			free(log);
			return;
		}
		free(log);
		usleep(100000);
	}
	fail_msg(
	    "snmptrapd did not start:\n%s", tl_read_file(lab.trapd_log, NULL));
}

/* How many notifications named name snmptrapd has logged. */
static int
traps(const char *name)
{
	char *log = tl_read_file(lab.trapd_log, NULL), want[128];
	int n = 0;

	snprintf(want, sizeof(want), "snmpTrapOID.0 = %s", name);
	for (const char *s = log; s != NULL && (s = strstr(s, want)) != NULL;
	     s++) {
		size_t k = strlen(want);

		n += s[k] == ';' || s[k] == '\t' || s[k] == ' ' ||
		    s[k] == '\n' || s[k] == ',';
	}
	free(log);
	return n;
}

static bool
wait_traps(const char *name, int want, int timeout_ms)
{
	for (int w = 0; w <= timeout_ms; w += 200) {
		if (traps(name) >= want)
			return true;
		usleep(200000);
	}
	return false;
}

/* An SNMP command in the namespace, with our MIB loaded. */
static char *
snmp(const char *cmd, const char *args, int *st)
{
	char line[1500];

	snprintf(line, sizeof(line),
	    "ip netns exec %s env MIBDIRS=%s MIBS=IPSECMON-MIB %s -v2c -c "
	    "public -OQsU 127.0.0.1:%d %s",
	    lab.ns, tl_env("IPS_MIB_DIRS"), cmd, SNMP_PORT, args);
	return tl_run(line, true, st);
}

/* snmpset with the read-write community. */
static char *
snmpset(const char *args, int *st)
{
	char line[1500];

	snprintf(line, sizeof(line),
	    "ip netns exec %s env MIBDIRS=%s MIBS=IPSECMON-MIB snmpset -v2c "
	    "-c private -OQsU 127.0.0.1:%d %s",
	    lab.ns, tl_env("IPS_MIB_DIRS"), SNMP_PORT, args);
	return tl_run(line, true, st);
}

/* Walk the module until the subagent answers (it may still be
 * connecting); the walk's output. */
static char *
walk_when_up(int timeout_ms)
{
	for (int w = 0; w <= timeout_ms; w += 200) {
		int st;
		char *out = snmp("snmpwalk", "IPSECMON-MIB::ipsecmonMIB", &st);

		if (st == 0 && strstr(out, "ipsmQmBadSPIPackets.0") != NULL)
			return out;
		free(out);
		usleep(200000);
	}
	fail_msg("the subagent never answered:\n%s\nsnmpd:\n%s",
	    tl_read_file(lab.d.log, NULL), tl_read_file(lab.snmpd_log, NULL));
	return NULL;
}

/* The example's key for the head office, from our daemon's secrets. */
static void
head_office_psk(char psk[static 128])
{
	char path[700], *k, *v;

	snprintf(path, sizeof(path), "%s/secrets.yaml", lab.d.dir);
	k = tl_read_file(path, NULL);
	psk[0] = '\0';
	if ((v = strstr(k, "head-office: ")) != NULL &&
	    sscanf(v + 13, "\"%127[^\"]\"", psk) != 1)
		sscanf(v + 13, "%127s", psk);
	free(k);
	assert_true(strlen(psk) > 8);
}

/* The head office as it should be (after tests that broke it). */
static void
peer_good(void)
{
	char psk[128];

	if (lab.peer.pid > 0)
		ourd_stop(&lab.peer, SIGTERM);
	head_office_psk(psk);
	ourd_configure(&lab.peer, peer_fmt, psk);
	ourd_start(&lab.peer);
}

static int
setup(void **state)
{
	char text[2048], src[700];

	(void)state;
	memset(&lab, 0, sizeof(lab));
	lab.dir = tl_mkdtemp();
	tl_netns_create("agt", lab.ns, sizeof(lab.ns));
	tl_sh("ip -n %s link set lo up", lab.ns);
	/* a route towards the example's head office, which is not there */
	tl_netns_create("agp", lab.pns, sizeof(lab.pns));
	tl_sh("ip -n %s link add agd0 type veth peer name agd1 netns %s",
	    lab.ns, lab.pns);
	tl_sh("ip -n %s addr add 10.99.0.2/24 dev agd1", lab.pns);
	tl_sh("ip -n %s link set agd1 up", lab.pns);
	tl_sh("ip -n %s addr add 10.99.0.1/24 dev agd0", lab.ns);
	tl_sh("ip -n %s link set agd0 up", lab.ns);
	snprintf(lab.agentx, sizeof(lab.agentx), "%s/agentx", lab.dir);
	snprintf(
	    lab.snmpd_conf, sizeof(lab.snmpd_conf), "%s/snmpd.conf", lab.dir);
	snprintf(lab.snmpd_log, sizeof(lab.snmpd_log), "%s/snmpd.log", lab.dir);
	snprintf(text, sizeof(text),
	    "agentaddress udp:127.0.0.1:%d\n"
	    "master agentx\n"
	    "agentXSocket unix:%s\n"
	    "rocommunity public 127.0.0.1\n"
	    "rwcommunity private 127.0.0.1\n"
	    "trap2sink 127.0.0.1:%d public\n"
	    "createUser ipsmv3 SHA-256 \"v3-auth-phrase\" AES "
	    "\"v3-priv-phrase\"\n"
	    "rouser ipsmv3 priv\n"
	    "[snmp] persistentDir %s/snmp-state\n",
	    SNMP_PORT, lab.agentx, TRAP_PORT, lab.dir);
	tl_write_file(lab.snmpd_conf, text, 0600);
	trapd_start();
	snmpd_start();
	/* a TUN device, for the soft association's packet */
	ourd_init(&lab.d, lab.dir, "d", lab.ns, "agtun0");
	lab.d.agentx = lab.agentx;
	/* a syslog receiver: a Unix datagram socket, as /dev/log is */
	{
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		snprintf(lab.syslog, sizeof(lab.syslog), "%s/log", lab.dir);
		assert_true(strlen(lab.syslog) < sizeof(sun.sun_path));
		memcpy(sun.sun_path, lab.syslog, strlen(lab.syslog) + 1);
		lab.syslog_fd = socket(
		    AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(lab.syslog_fd >= 0);
		assert_int_equal(
		    bind(lab.syslog_fd, (struct sockaddr *)&sun, sizeof(sun)),
		    0);
		lab.d.syslog = lab.syslog;
	}
	snprintf(src, sizeof(src), "%s/examples/policy.yaml",
	    tl_env("IPS_SOURCE_DIR"));
	{
		char *p = tl_read_file(src, NULL), *k, path[700];
		/* the head office's traffic may pass in clear while it is
		 * silent: a soft association for test_soft_association */
		char *soft = tl_replace(p, "  - name: qm-gcm\n",
		    "  - name: qm-gcm\n    soft: yes\n");

		ourd_configure(&lab.d, soft, "unused");
		free(soft);
		free(p);
		/* the example's own keys, by the names its rules use */
		snprintf(src, sizeof(src), "%s/examples/secrets.yaml",
		    tl_env("IPS_SOURCE_DIR"));
		k = tl_read_file(src, NULL);
		snprintf(path, sizeof(path), "%s/secrets.yaml", lab.d.dir);
		tl_write_file(path, k, 0600);
		free(k);
	}
	ourd_start(&lab.d);
	/* the IKE trace log on, at run time (test_trace_log); drop events
	 * every minute (test_drop_events, the last test) */
	free(ourd_cli(&lab.d,
	    "set config ikelogging=1 ipsecdiagnostics=1 "
	    "ipsecloginterval=60"));
	/* the head office, with the example's key for it */
	ourd_init(&lab.peer, lab.dir, "peer", lab.pns, "none");
	peer_good();
	/* three ESP-in-UDP packets with an SPI we never gave: Bad SPI */
	{
		static const uint8_t esp[16] = {
		    0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};

		sleep(1); /* past the daemon's first tick: its baseline */
		for (int i = 0; i < 3; i++)
			tl_netns_udp_send(lab.pns, "10.99.0.2", "10.99.0.1",
			    4500, esp, sizeof(esp));
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ourd_stop(&lab.d, SIGTERM);
	ourd_stop(&lab.peer, SIGTERM);
	tl_netns_delete(lab.pns);
	if (lab.snmpd > 0)
		tl_stop(lab.snmpd, SIGTERM);
	if (lab.trapd > 0)
		tl_stop(lab.trapd, SIGTERM);
	if (lab.syslog_fd > 0)
		close(lab.syslog_fd);
	tl_netns_delete(lab.ns);
	tl_rmrf(lab.dir);
	free(lab.dir);
	return 0;
}

static void
must_say(const char *walk, const char *want)
{
	if (strstr(walk, want) == NULL)
		fail_msg("no \"%s\" in:\n%.3000s", want, walk);
}

/* Every "key": value of one JSON section appears in the walk as
 * PREFIXName.0 = value. */
static size_t
compare_section(
    const char *json, const char *section, const char *prefix, const char *walk)
{
	char head[64];
	const char *s, *end;
	size_t n = 0;

	snprintf(head, sizeof(head), "\"%s\": {", section);
	assert_non_null(s = strstr(json, head));
	s += strlen(head);
	end = strchr(s, '}');
	assert_non_null(end);
	while ((s = strchr(s, '"')) != NULL && s < end) {
		char key[64], name[128], want[200], c[80];
		unsigned long long v;
		int used = 0;

		if (sscanf(s, "\"%63[a-z_]\": %llu%n", key, &v, &used) != 2)
			fail_msg("unexpected JSON at %.40s", s);
		s += used;
		tl_stat_mib_name(key, c, sizeof(c));
		snprintf(name, sizeof(name), "%s%s", prefix, c);
		snprintf(want, sizeof(want), "%s.0 = %llu\n", name, v);
		if (strstr(walk, want) == NULL)
			fail_msg("walk lacks \"%s\" (JSON %s = %llu):\n%s",
			    want, key, v, walk);
		n++;
	}
	return n;
}

static void
test_walk_equals_show_stats(void **state)
{
	char *walk, *json;

	(void)state;
	/* something to count: a Main Mode towards a peer that is not there
	 * keeps its gauges and counters still for many seconds */
	free(ourd_cli(&lab.d, "initiate rule=to-head-office"));
	sleep(1);
	walk = walk_when_up(10000);
	json = ourd_cli(&lab.d, "show stats format=json");
	assert_int_equal(
	    compare_section(json, "main_mode", "ipsmMm", walk), 23);
	assert_int_equal(
	    compare_section(json, "quick_mode", "ipsmQm", walk), 21);
	assert_non_null(strstr(walk, "ipsmPolicyName.0 = Branch office\n"));
	assert_non_null(strstr(walk, "ipsmPolicyStore.0 = local\n"));
	assert_non_null(strstr(walk, "ipsmStatsDiscontinuityTime.0 = "));
	/* every scalar outside the statistics, by snmpget (the statistics
	 * themselves: `--host show stats` GETs each one) */
	{
		int st;
		char *get = snmp("snmpget",
		    "IPSECMON-MIB::ipsmPolicyName.0 "
		    "IPSECMON-MIB::ipsmPolicyDescription.0 "
		    "IPSECMON-MIB::ipsmPolicyLastModified.0 "
		    "IPSECMON-MIB::ipsmPolicyStore.0 "
		    "IPSECMON-MIB::ipsmPolicyPath.0 "
		    "IPSECMON-MIB::ipsmPolicyOrganizationalUnit.0 "
		    "IPSECMON-MIB::ipsmPolicyGroupPolicyObject.0 "
		    "IPSECMON-MIB::ipsmPolicyRules.0 "
		    "IPSECMON-MIB::ipsmPolicyLoadedAt.0 "
		    "IPSECMON-MIB::ipsmStatsDiscontinuityTime.0 "
		    "IPSECMON-MIB::ipsmStatsCountingSince.0 "
		    "IPSECMON-MIB::ipsmAgentRegistrations.0 "
		    "IPSECMON-MIB::ipsmAgentMasterLosses.0",
		    &st);

		assert_int_equal(st, 0);
		assert_null(strstr(get, "No Such"));
		must_say(get, "ipsmPolicyRules.0 = 4\n");
		must_say(get, "ipsmPolicyGroupPolicyObject.0 = Branch IPsec\n");
		must_say(get, "ipsmAgentRegistrations.0 = 1\n");
		free(get);
	}
	/* no key of the policy's in what SNMP shows */
	{
		char psk[128];

		head_office_psk(psk);
		assert_null(strstr(walk, psk));
	}
	free(walk);
	free(json);
}

/* The pair's JSON field, a string: "key": "value" */
static void
json_str(const char *json, const char *key, char *out, size_t len)
{
	char want[64];
	const char *s;

	snprintf(want, sizeof(want), "\"%s\": \"", key);
	if ((s = strstr(json, want)) == NULL)
		fail_msg("no %s in:\n%s", key, json);
	s += strlen(want);
	snprintf(out, len, "%.*s", (int)strcspn(s, "\""), s);
}

/*
 * ipsmQmSaTable with a real pair (Main Mode and Quick Mode with the
 * head office): one row, indexed by our inbound SPI, saying what
 * `show qmsas` says; a GET of one cell; the walk ends at the table.
 */
static void
test_qm_sa_table(void **state)
{
	char *json, *walk, in[16], out[16], want[200], args[200];
	unsigned long spi;
	int st;

	(void)state;
	if (ourd_stat(&lab.d, "active_sas") == 0) /* run alone */
		free(ourd_cli(&lab.d, "initiate rule=to-head-office"));
	if (!ourd_wait_stat(&lab.d, "active_sas", 2, 15000))
		fail_msg("no SA pair with the head office:\n%s\n%s",
		    tl_read_file(lab.d.log, NULL),
		    tl_read_file(lab.peer.log, NULL));
	json = ourd_cli(&lab.d, "show qmsas format=json");
	json_str(json, "inbound_spi", in, sizeof(in));
	json_str(json, "outbound_spi", out, sizeof(out));
	spi = strtoul(in, NULL, 16);
	walk = snmp("snmpwalk", "IPSECMON-MIB::ipsmQmSaTable", &st);
	assert_int_equal(st, 0);
	snprintf(
	    want, sizeof(want), "ipsmQmSaRule.%lu = to-head-office\n", spi);
	if (strstr(walk, want) == NULL)
		fail_msg(
		    "no \"%s\" in:\n%s\n(show qmsas: %s)", want, walk, json);
	snprintf(want, sizeof(want), "ipsmQmSaOutboundSpi.%lu = %lu\n", spi,
	    strtoul(out, NULL, 16));
	must_say(walk, want);
	snprintf(
	    want, sizeof(want), "ipsmQmSaEncryption.%lu = AES-GCM-128\n", spi);
	must_say(walk, want);
	snprintf(want, sizeof(want), "ipsmQmSaMode.%lu = tunnel\n", spi);
	must_say(walk, want);
	snprintf(want, sizeof(want), "ipsmQmSaPfsGroup.%lu = 19\n", spi);
	must_say(walk, want);
	snprintf(want, sizeof(want), "ipsmQmSaLocalAddressLast.%lu = ", spi);
	must_say(walk, want);
	/* one row: each column once */
	assert_null(strstr(strstr(walk, "ipsmQmSaRule.") + 1, "ipsmQmSaRule."));
	free(walk);
	snprintf(
	    args, sizeof(args), "IPSECMON-MIB::ipsmQmSaTunnelRemote.%lu", spi);
	walk = snmp("snmpget", args, &st);
	assert_int_equal(st, 0);
	must_say(walk, "= \"0A 63 00 02 \"");
	free(walk);
	/* an SPI with no pair: no such instance */
	walk = snmp("snmpget", "IPSECMON-MIB::ipsmQmSaRule.300", &st);
	must_say(walk, "No Such Instance");
	free(walk);
	free(json);
}

static void pair_up(void);

/* Rows of a JSON view: how many "rule" keys it has. */
static int
rows_of(const char *json)
{
	int n = 0;

	for (const char *p = json; (p = strstr(p, "\"rule\": ")) != NULL; p++)
		n++;
	return n;
}

/* An SA view's rows for these options. */
static int
sa_rows(const char *args)
{
	char *out = ourd_cli(&lab.d, args);
	int n = rows_of(out);

	free(out);
	return n;
}

/*
 * The SA views and the event view with real SAs, every format, against
 * golden files: what changes from run to run (cookies, SPIs, ages,
 * traffic, times) masked, the rest exact; the JSON against the schema.
 */
static void
test_sa_views_golden(void **state)
{
	static const char *const vary[] = {"Cookies", "cookies", "Age (s)",
	    "age_s", "Inbound SPI", "inbound_spi", "Outbound SPI",
	    "outbound_spi", "Bytes In", "bytes_in", "Bytes Out", "bytes_out",
	    "packets_in", "packets_out", "idle_s", "Time", "time"};
	static const struct {
		const char *args, *golden, *schema;
	} views[] = {
	    {"show mmsas", "mmsas", "mmsas"},
	    {"show qmsas", "qmsas", "qmsas"},
	    {"show events id=541 max=2", "events", "events"},
	};
	static const char *const formats[] = {"table", "list", "json"};

	(void)state;
	pair_up();
	for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++)
		for (size_t f = 0; f < 3; f++) {
			char args[200], name[100], *out, *norm;

			snprintf(args, sizeof(args), "%s format=%s",
			    views[v].args, formats[f]);
			out = ourd_cli(&lab.d, args);
			if (f == 2)
				tl_check_json(views[v].schema, out, false);
			norm = tl_mask_fields(
			    out, vary, sizeof(vary) / sizeof(vary[0]));
			snprintf(name, sizeof(name), "agent/%s.%s",
			    views[v].golden, formats[f]);
			tl_golden(name, norm);
			free(norm);
			free(out);
		}
}

/* show mmsas|qmsas [all] srcaddr= dstaddr= protocol=: our side and the
 * peer's, by endpoint or inside a selector. */
static void
test_sa_searches(void **state)
{
	(void)state;
	pair_up();
	assert_int_equal(sa_rows("show qmsas all format=json"), 1);
	assert_int_equal(
	    sa_rows("show qmsas srcaddr=10.98.1.5 format=json"), 1);
	assert_int_equal(
	    sa_rows("show qmsas dstaddr=10.98.2.200 format=json"), 1);
	assert_int_equal(
	    sa_rows("show qmsas srcaddr=10.98.2.5 format=json"), 0);
	assert_int_equal(sa_rows("show qmsas protocol=any format=json"), 1);
	/* the pair's selectors are any protocol, not tcp alone */
	assert_int_equal(sa_rows("show qmsas protocol=tcp format=json"), 0);
	assert_true(sa_rows("show mmsas dstaddr=10.99.0.2 format=json") >= 1);
	assert_int_equal(
	    sa_rows("show mmsas dstaddr=10.99.0.7 format=json"), 0);
	assert_true(sa_rows("show mmsas srcaddr=me format=json") >= 1);
}

/* The IKE trace log (ikelogging=1): the exchange with the head office,
 * message by message, and not its key. */
static void
test_trace_log(void **state)
{
	char path[700], *t, psk[128];

	(void)state;
	pair_up();
	snprintf(path, sizeof(path), "%s/oakley.log", lab.d.dir);
	t = tl_read_file(path, NULL);
	assert_non_null(t);
	must_say(t, "send MAIN_MODE 10.99.0.1:500 -> 10.99.0.2:500");
	must_say(t, ": MM_I3 -> ESTABLISHED");
	must_say(t, "event 541 (sa_established)");
	must_say(t, "send QUICK_MODE");
	head_office_psk(psk);
	assert_null(strstr(t, psk));
	free(t);
}

/*
 * Syslog (RFC 5424): the SA's event 541 as one message to our receiver,
 * facility authpriv, its fields as structured data.
 */
static void
test_syslog(void **state)
{
	char m[4096];
	bool seen = false;

	(void)state;
	pair_up();
	for (int w = 0; w < 5000 && !seen; w += 100) {
		ssize_t n;

		while (!seen &&
		    (n = recv(lab.syslog_fd, m, sizeof(m) - 1, 0)) > 0) {
			m[n] = '\0';
			seen = strstr(m,
				   "[ipsecmon@32473 id=\"541\" "
				   "event=\"sa_established\" "
				   "mode=\"main\" "
				   "rule=\"to-head-office\"") != NULL;
			if (seen)
				assert_true(strncmp(m, "<85>1 ", 6) == 0);
		}
		if (!seen)
			usleep(100000);
	}
	if (!seen)
		fail_msg("no event 541 at the syslog receiver");
	must_say(m, "peer=\"10.99.0.2\"");
	must_say(m, "] IKE security association established");
}

/* `ipsecmon --host` reads the same view over SNMP as the control socket
 * gives, in every format, to the byte. */
static void
test_remote_view_equals_local(void **state)
{
	static const char *const formats[] = {"table", "list", "json"};

	(void)state;
	free(walk_when_up(10000));
	for (size_t i = 0; i < 3; i++) {
		char args[64], cmd[800], *local, *remote;
		int st;

		snprintf(
		    args, sizeof(args), "show stats format=%s", formats[i]);
		local = ourd_cli(&lab.d, args);
		snprintf(cmd, sizeof(cmd),
		    "ip netns exec %s %s --host 127.0.0.1:%d %s", lab.ns,
		    tl_env("IPSECMON"), SNMP_PORT, args);
		remote = tl_run(cmd, true, &st);
		if (st != 0 || strcmp(local, remote) != 0)
			fail_msg("format=%s (%d):\nlocal:\n%s\nremote:\n%s",
			    formats[i], st, local, remote);
		free(local);
		free(remote);
	}
	/* SNMPv3, authPriv with SHA-256 and AES: the same again, and a
	 * wrong passphrase is refused */
	for (int good = 1; good >= 0; good--) {
		char cmd[900], *local, *remote;
		int st;

		local = ourd_cli(&lab.d, "show stats format=json");
		snprintf(cmd, sizeof(cmd),
		    "ip netns exec %s env IPSECMON_SNMP_AUTH_PASS=%s "
		    "IPSECMON_SNMP_PRIV_PASS=v3-priv-phrase %s --host "
		    "127.0.0.1:%d --user ipsmv3 --timeout 2000 show stats "
		    "format=json",
		    lab.ns, good ? "v3-auth-phrase" : "not-the-phrase",
		    tl_env("IPSECMON"), SNMP_PORT);
		remote = tl_run(cmd, true, &st);
		if (good && (st != 0 || strcmp(local, remote) != 0))
			fail_msg("SNMPv3 (%d):\nlocal:\n%s\nremote:\n%s", st,
			    local, remote);
		if (!good)
			assert_int_equal(st, 3);
		free(local);
		free(remote);
	}
	/* a host with no agent: a clear error, exit 3 */
	{
		char cmd[800], *out;
		int st;

		snprintf(cmd, sizeof(cmd),
		    "ip netns exec %s %s --host 127.0.0.1:11199 --timeout 500 "
		    "show stats",
		    lab.ns, tl_env("IPSECMON"));
		out = tl_run(cmd, true, &st);
		assert_int_equal(st, 3);
		assert_non_null(strstr(out, "no answer over SNMP"));
		free(out);
	}
}

/* An SA pair with the head office, negotiated now if there is none. */
static void
pair_up(void)
{
	if (ourd_stat(&lab.d, "active_sas") == 0)
		free(ourd_cli(&lab.d, "initiate rule=to-head-office"));
	if (!ourd_wait_stat(&lab.d, "active_sas", 2, 15000))
		fail_msg("no SA pair with the head office:\n%s\n%s",
		    tl_read_file(lab.d.log, NULL),
		    tl_read_file(lab.peer.log, NULL));
}

/* ipsecmon --host ARGS in the namespace, over SNMPv2c. */
static char *
remote_cli(const char *args, int *st)
{
	char cmd[900];

	snprintf(cmd, sizeof(cmd), "ip netns exec %s %s --host 127.0.0.1:%d %s",
	    lab.ns, tl_env("IPSECMON"), SNMP_PORT, args);
	return tl_run(cmd, true, st);
}

/*
 * Every view over SNMP is the local view, to the byte, with real SAs
 * (a few tries: ages and idle times move on by the second).
 */
static void
test_remote_views(void **state)
{
	static const char *const views[] = {"show policy", "show mmpolicy",
	    "show qmpolicy", "show mmsas", "show qmsas",
	    "show mmfilter type=generic", "show mmfilter type=specific",
	    "show qmfilter type=generic", "show qmfilter type=specific"};
	static const char *const formats[] = {"table", "json"};

	(void)state;
	pair_up();
	/* a dynamic change shows on both sides (Dynamic Changes 1) */
	free(ourd_cli(&lab.d, "add filteraction name=extra action=permit"));
	{
		int st;
		char *get = snmp(
		    "snmpget", "IPSECMON-MIB::ipsmPolicyDynamicChanges.0", &st);

		assert_int_equal(st, 0);
		must_say(get, "ipsmPolicyDynamicChanges.0 = 1\n");
		free(get);
	}
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		for (size_t f = 0; f < 2; f++) {
			char args[128], *local = NULL, *remote = NULL;
			int st = 0;

			snprintf(args, sizeof(args), "%s format=%s", views[i],
			    formats[f]);
			for (int t = 0; t < 5; t++) {
				free(local);
				free(remote);
				local = ourd_cli(&lab.d, args);
				remote = remote_cli(args, &st);
				if (st == 0 && strcmp(local, remote) == 0)
					break;
			}
			if (st != 0 || strcmp(local, remote) != 0)
				fail_msg("%s (%d):\nlocal:\n%s\nremote:\n%s",
				    args, st, local, remote);
			free(local);
			free(remote);
		}
	/* what needs the host itself is refused, clearly */
	{
		int st;
		char *out = remote_cli("show qmfilter srcaddr=me", &st);

		assert_int_not_equal(st, 0);
		must_say(out, "run them on the host");
		free(out);
		out = remote_cli("reload", &st);
		assert_int_not_equal(st, 0);
		must_say(out, "control socket");
		free(out);
		out = remote_cli("delete filteraction name=extra", &st);
		assert_int_equal(st, 2);
		must_say(out, "control socket");
		free(out);
	}
	free(ourd_cli(&lab.d, "delete filteraction name=extra"));
}

/* snmptable of every table: rows, and the cells show what the views
 * show. */
static void
test_snmptable(void **state)
{
	static const struct {
		const char *table, *want;
	} t[] = {
	    {"ipsmQmSaTable", "STRING: to-head-office|"},
	    {"ipsmMmSaTable", "STRING: to-head-office|"},
	    {"ipsmMmFilterTable", "STRING: to-head-office/1|"},
	    {"ipsmQmFilterTable", "STRING: no-telnet/1|"},
	    {"ipsmIkePolicyTable", "STRING: mm-strong|"},
	    {"ipsmNegPolicyTable", "STRING: qm-transport|"},
	    {"ipsmNotifyTable", "INTEGER: true(1)|Gauge32: 10|"},
	};

	(void)state;
	pair_up();
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char args[128], *out;
		int st;

		snprintf(args, sizeof(args), "-Cf '|' -CH IPSECMON-MIB::%s",
		    t[i].table);
		out = snmp("snmptable", args, &st);
		if (st != 0 || strstr(out, t[i].want) == NULL)
			fail_msg("snmptable %s (%d) lacks %s:\n%s", t[i].table,
			    st, t[i].want, out);
		free(out);
	}
}

/*
 * The notifications, each from its real trigger, through snmpd to a real
 * snmptrapd: an SA pair up (541) and down (542, 543), a wrong key (545),
 * a proposal we cannot accept (546); and a burst held to the rate limit
 * set over SNMP, the rest counted.
 */
static void
test_notifications(void **state)
{
	char *out, *text;
	int st;

	(void)state;
	free(walk_when_up(10000));
	pair_up();
	if (!wait_traps("ipsmSaEstablished", 2, 10000))
		fail_msg("no ipsmSaEstablished (Main Mode, Quick Mode):\n%s",
		    tl_read_file(lab.trapd_log, NULL));
	/* the head office goes away, saying so: both SAs end */
	ourd_stop(&lab.peer, SIGTERM);
	if (!wait_traps("ipsmQmSaEnded", 1, 10000) ||
	    !wait_traps("ipsmMmSaEnded", 1, 10000))
		fail_msg("no ipsmQmSaEnded/ipsmMmSaEnded:\n%s",
		    tl_read_file(lab.trapd_log, NULL));
	/* back with the wrong key, and it begins: we are the responder */
	ourd_configure(&lab.peer, peer_fmt, "not-the-head-office-key");
	ourd_start(&lab.peer);
	free(ourd_cli(&lab.peer, "initiate rule=to-branch"));
	/* (a responder waits 30 s for an MM5 it can read before it calls
	 * the keys different) */
	if (!wait_traps("ipsmAuthFailure", 1, 45000))
		fail_msg("no ipsmAuthFailure:\n%s\n%s",
		    tl_read_file(lab.trapd_log, NULL),
		    tl_read_file(lab.d.log, NULL));
	out = tl_read_file(lab.trapd_log, NULL);
	must_say(out, "ipsmEventPeerAddress.0 = ");
	free(out);
	ourd_stop(&lab.peer, SIGTERM);

	/* at most 2 a minute of 546, set over SNMP; bad values refused */
	out = snmpset("IPSECMON-MIB::ipsmNotifyRateLimit.546 u 0", &st);
	assert_int_not_equal(st, 0);
	must_say(out, "wrongValue");
	free(out);
	out = snmpset("IPSECMON-MIB::ipsmNotifySent.546 c 1", &st);
	assert_int_not_equal(st, 0);
	free(out);
	out = snmpset("IPSECMON-MIB::ipsmNotifyRateLimit.546 u 2", &st);
	if (st != 0)
		fail_msg("snmpset: %s", out);
	free(out);
	/* a head office that offers what we do not accept, six times */
	text = tl_replace(peer_fmt,
	    "encryption: aes256, integrity: sha256, dh-group: 14",
	    "encryption: 3des, integrity: sha1, dh-group: 5");
	ourd_configure(&lab.peer, text, "k");
	free(text);
	ourd_start(&lab.peer);
	for (int i = 0; i < 6; i++) {
		uint64_t before = ourd_stat(&lab.d, "negotiation_failures");

		free(ourd_cli(&lab.peer, "initiate rule=to-branch"));
		if (!ourd_wait_stat(
			&lab.d, "negotiation_failures", before + 1, 5000))
			fail_msg("proposal %d not refused:\n%s", i,
			    tl_read_file(lab.d.log, NULL));
	}
	sleep(1); /* anything more would have arrived by now */
	assert_int_equal(traps("ipsmInvalidProposal"), 2);
	out = snmp("snmpget",
	    "IPSECMON-MIB::ipsmNotifySent.546 "
	    "IPSECMON-MIB::ipsmNotifySuppressed.546",
	    &st);
	assert_int_equal(st, 0);
	must_say(out, "ipsmNotifySent.546 = 2\n");
	must_say(out, "ipsmNotifySuppressed.546 = 4\n");
	free(out);
	ourd_stop(&lab.peer, SIGTERM);
}

/* Lines of a file that hold want. */
static int
count_in(const char *path, const char *want)
{
	char *t = tl_read_file(path, NULL);
	int n = 0;

	for (const char *p = t; p != NULL && (p = strstr(p, want)) != NULL; p++)
		n++;
	free(t);
	return n;
}

/*
 * `show events`: the daemon's recent audit events, filtered by number,
 * peer, time and count; and --follow, which prints a new event as it
 * happens and ends cleanly on Ctrl-C.  (After test_notifications: the
 * events it caused are there.)
 */
static void
test_show_events(void **state)
{
	char *out, log[700], *argv[8];
	pid_t f;
	int before;

	(void)state;
	peer_good(); /* after test_notifications: as it should be */
	pair_up();
	out = ourd_cli(&lab.d, "show events format=json");
	must_say(out, "\"event\": \"sa_established\"");
	free(out);
	out = ourd_cli(&lab.d, "show events id=541 max=1");
	must_say(out, "Events: 1\n");
	must_say(out, "sa_established");
	assert_null(strstr(out, "invalid_proposal"));
	free(out);
	out = ourd_cli(&lab.d, "show events --peer 10.99.0.2 --since 1h");
	must_say(out, "10.99.0.2");
	free(out);
	out = ourd_cli(&lab.d, "show events --peer 10.99.0.9");
	must_say(out, "Events: 0\n");
	free(out);
	/* a bad option, clearly */
	{
		char cmd[900];
		int st;

		snprintf(cmd, sizeof(cmd), "%s --socket %s show events id=600",
		    tl_env("IPSECMON"), lab.d.sock);
		out = tl_run(cmd, true, &st);
		assert_int_equal(st, 2);
		must_say(out, "541..547");
		free(out);
	}
	/* --follow: a proposal we refuse, as it happens */
	snprintf(log, sizeof(log), "%s/follow.log", lab.dir);
	argv[0] = (char *)tl_env("IPSECMON");
	argv[1] = (char *)"--socket";
	argv[2] = lab.d.sock;
	argv[3] = (char *)"show";
	argv[4] = (char *)"events";
	argv[5] = (char *)"--follow";
	argv[6] = NULL;
	f = tl_spawn(argv, log);
	for (int w = 0; w < 5000 && count_in(log, " 54") == 0; w += 100)
		usleep(100000);
	before = count_in(log, " 546 invalid_proposal");
	if (lab.peer.pid > 0)
		ourd_stop(&lab.peer, SIGTERM);
	{
		char *text = tl_replace(peer_fmt,
		    "encryption: aes256, integrity: sha256, dh-group: 14",
		    "encryption: 3des, integrity: sha1, dh-group: 5");

		ourd_configure(&lab.peer, text, "k");
		free(text);
	}
	ourd_start(&lab.peer);
	free(ourd_cli(&lab.peer, "initiate rule=to-branch"));
	for (int w = 0;
	     w < 10000 && count_in(log, " 546 invalid_proposal") == before;
	     w += 100)
		usleep(100000);
	assert_int_equal(count_in(log, " 546 invalid_proposal"), before + 1);
	assert_int_equal(tl_stop(f, SIGINT), 0);
	ourd_stop(&lab.peer, SIGTERM);
}

/*
 * A soft association (the head office silent, a packet for it): a row of
 * ipsmQmSoftTable, and `show qmsas` over SNMP lists it as the socket
 * does, after the pairs.
 */
static void
test_soft_association(void **state)
{
	char *local = NULL, *remote = NULL;
	int st = 0;

	(void)state;
	if (lab.peer.pid > 0) /* run alone: silence the head office */
		ourd_stop(&lab.peer, SIGTERM);
	tl_sh("ip -n %s addr replace 10.98.1.1/32 dev lo", lab.ns);
	if (!ourd_sh_retry(&lab.d, 5000,
		"ip route replace 10.98.2.0/24 dev %s src 10.98.1.1",
		lab.d.tun))
		fail_msg("no route through %s", lab.d.tun);
	for (int w = 0;
	     w < 20000 && ourd_stat(&lab.d, "soft_associations") == 0;
	     w += 500) {
		tl_sh("ip netns exec %s ping -c1 -W1 -I 10.98.1.1 10.98.2.1 "
		      ">/dev/null 2>&1 || true",
		    lab.ns);
		usleep(500000);
	}
	if (ourd_stat(&lab.d, "soft_associations") == 0)
		fail_msg(
		    "no soft association:\n%s", tl_read_file(lab.d.log, NULL));
	for (int t = 0; t < 5; t++) {
		free(local);
		free(remote);
		local = ourd_cli(&lab.d, "show qmsas format=json");
		remote = remote_cli("show qmsas format=json", &st);
		if (st == 0 && strcmp(local, remote) == 0)
			break;
	}
	if (st != 0 || strcmp(local, remote) != 0 ||
	    strstr(local, "\"soft\": true") == NULL)
		fail_msg("show qmsas (%d):\nlocal:\n%s\nremote:\n%s", st, local,
		    remote);
	free(local);
	free(remote);
	local = snmp("snmpwalk", "IPSECMON-MIB::ipsmQmSoftRule", &st);
	must_say(local, "ipsmQmSoftRule.1 = to-head-office\n");
	free(local);
	local =
	    snmp("snmptable", "-Cf '|' -CH IPSECMON-MIB::ipsmQmSoftTable", &st);
	must_say(local, "STRING: to-head-office|");
	free(local);
}

/* snmpd restarted: the subagent re-registers within seconds (AgentX
 * ping every AGENT_RETRY_S), and the engine ran on meanwhile. */
static void
test_master_restart(void **state)
{
	char *walk;

	(void)state;
	free(walk_when_up(10000));
	tl_stop(lab.snmpd, SIGTERM);
	lab.snmpd = 0;
	free(ourd_cli(&lab.d, "show stats")); /* the daemon is fine */
	snmpd_start();
	walk = walk_when_up(5000);
	assert_non_null(strstr(walk, "ipsmMmIKEMainMode.0 = "));
	/* and counts it: two registrations, one loss */
	must_say(walk, "ipsmAgentRegistrations.0 = 2\n");
	must_say(walk, "ipsmAgentMasterLosses.0 = 1\n");
	free(walk);
	/* and the daemon said so, at notice level: the loss, the return */
	{
		char *log = tl_read_file(lab.d.log, NULL);

		must_say(log, "snmp: registered with the AgentX master");
		must_say(log, "snmp: lost the AgentX master");
		must_say(log, "snmp: re-registered with the AgentX master");
		free(log);
	}
}

/*
 * Datapath drop events (ipsecdiagnostics=1, ipsecloginterval=60, set at
 * setup): the bad-SPI packets setup sent, as one line a minute later,
 * however many there were.
 */
static void
test_drop_events(void **state)
{
	const char *want = "ipsec diagnostics: 3 inbound packets with an "
			   "unknown SPI in the last 60 s";
	char *log = NULL;

	(void)state;
	for (int w = 0; w < 75000; w += 500) {
		free(log);
		log = tl_read_file(lab.d.log, NULL);
		if (log != NULL && strstr(log, want) != NULL)
			break;
		usleep(500000);
	}
	must_say(log, want);
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk_equals_show_stats),
	    cmocka_unit_test(test_remote_view_equals_local),
	    cmocka_unit_test(test_qm_sa_table),
	    cmocka_unit_test(test_sa_views_golden),
	    cmocka_unit_test(test_sa_searches),
	    cmocka_unit_test(test_trace_log),
	    cmocka_unit_test(test_syslog),
	    cmocka_unit_test(test_remote_views),
	    cmocka_unit_test(test_snmptable),
	    cmocka_unit_test(test_notifications),
	    cmocka_unit_test(test_show_events),
	    cmocka_unit_test(test_soft_association),
	    cmocka_unit_test(test_master_restart),
	    cmocka_unit_test(test_drop_events),
	};

	if (getenv("IPS_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("IPS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
