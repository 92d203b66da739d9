/*
 * The control protocol end to end: a real ipsecmond, started by this test
 * in a network namespace it creates (so "me", "dns" and "gateway" have
 * known values), queried by the real ipsecmon; every view in every format
 * is compared with tests/golden/ctl/.  Then the things an operator relies
 * on: filters follow address changes, a bad reload keeps the old policy,
 * SIGHUP reloads, hostile clients are survived, bad start-ups are refused,
 * and no secret ever appears in any output.
 */
#include <ctype.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testlib.h"

static const char *const psks[] = {
    "ctl-test-psk-BRANCH-5b1e0c", "ctl-test-psk-MGMT-77aa90"};

struct lab {
	char ns[64];
	char *dir;
	char sock[100]; /* fits sun_path */
	char policy[512];
	char log[512];
	char events[512];
	pid_t pid;
};

static struct lab lab;

/* Every output any command gives is checked for secrets. */
static void
no_secrets(const char *what, const char *text)
{
	for (size_t i = 0; i < sizeof(psks) / sizeof(psks[0]); i++)
		if (strstr(text, psks[i]) != NULL)
			fail_msg("a pre-shared key appeared in %s", what);
}

/* ipsecmon with args; stdout only unless merge. */
static char *
cli(const char *args, bool merge, int *status)
{
	char cmd[2048], *out;

	snprintf(cmd, sizeof(cmd), "%s --socket %s %s", tl_env("IPSECMON"),
	    lab.sock, args);
	out = tl_run(cmd, merge, status);
	no_secrets(args, out);
	return out;
}

/*
 * Make an output comparable across runs: the test directory becomes @DIR@
 * and every time stamp other than the policy's fixed 2001 one becomes
 * @NOW@ (the daemon's start and apply times).
 */
static char *
normalize(const char *s)
{
	char *a = tl_replace(s, lab.dir, "@DIR@"), *out, *o;
	const char *p;

	out = malloc(strlen(a) + 1);
	assert_non_null(out);
	for (p = a, o = out; *p;) {
		/* YYYY-MM-DD[ T]HH:MM:SS */
		bool ts = strlen(p) >= 19 && isdigit((unsigned char)p[0]) &&
		    isdigit((unsigned char)p[3]) && p[4] == '-' &&
		    p[7] == '-' && (p[10] == ' ' || p[10] == 'T') &&
		    p[13] == ':' && p[16] == ':';

		if (ts && strncmp(p, "2001-", 5) != 0) {
			memcpy(o, "@NOW@", 5);
			o += 5;
			p += 19;
			/* Keep the width of aligned columns stable. */
			for (int pad = 0; pad < 14; pad++)
				*o++ = ' ';
			continue;
		}
		*o++ = *p++;
	}
	*o = '\0';
	free(a);
	return out;
}

static void
start_daemon(const char *policy_src, const char *secrets_mode_src)
{
	char src[1024], *text, config[700], ikelog[700];
	char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec", lab.ns,
	    (char *)tl_env("IPSECMOND"), (char *)"-p", lab.policy, (char *)"-s",
	    lab.sock, (char *)"-e", lab.events, (char *)"--config", config,
	    (char *)"--ike-log", ikelog, (char *)"--audit-syslog",
	    (char *)"none", (char *)"--agentx", (char *)"none", NULL};

	(void)secrets_mode_src;
	snprintf(config, sizeof(config), "%s/config.json", lab.dir);
	snprintf(ikelog, sizeof(ikelog), "%s/oakley.log", lab.dir);
	snprintf(
	    src, sizeof(src), "%s/ctl/%s", tl_env("IPS_TEST_DATA"), policy_src);
	text = tl_read_file(src, NULL);
	assert_non_null(text);
	tl_write_file(lab.policy, text, 0644);
	free(text);
	/* ASan keeps freed memory in quarantine (256 MB by default), which
	 * would hide whether our own buffering is bounded: keep it small. */
	setenv("ASAN_OPTIONS",
	    "detect_leaks=1:abort_on_error=1:"
	    "quarantine_size_mb=8",
	    1);
	lab.pid = tl_spawn(argv, lab.log);
	if (!tl_wait_socket(lab.sock, 10000)) {
		char *log = tl_read_file(lab.log, NULL);

		fail_msg("ipsecmond did not start:\n%s", log ? log : "");
	}
}

static int
setup(void **state)
{
	char path[1024], *text;

	(void)state;
	memset(&lab, 0, sizeof(lab));
	tl_netns_create("ctl", lab.ns, sizeof(lab.ns));
	/* What the keywords stand for inside the namespace. */
	/* No dummy driver on these kernels: a veth pair kept inside. */
	tl_sh("ip -n %s link add ipsm0 type veth peer name ipsm1", lab.ns);
	tl_sh("ip -n %s link set ipsm1 up", lab.ns);
	tl_sh("ip -n %s addr add 192.0.2.2/24 dev ipsm0", lab.ns);
	tl_sh("ip -n %s addr add 198.51.100.7/24 dev ipsm0", lab.ns);
	tl_sh("ip -n %s addr add 2001:db8:1::2/64 dev ipsm0 nodad", lab.ns);
	tl_sh("ip -n %s link set ipsm0 up", lab.ns);
	tl_sh("ip -n %s route add default via 192.0.2.1", lab.ns);
	/* ip netns exec bind-mounts this over /etc/resolv.conf. */
	tl_sh("mkdir -p /etc/netns/%s && echo 'nameserver 192.0.2.53' > "
	      "/etc/netns/%s/resolv.conf",
	    lab.ns, lab.ns);

	lab.dir = tl_mkdtemp();
	snprintf(lab.sock, sizeof(lab.sock), "%s/ctl.sock", lab.dir);
	snprintf(lab.events, sizeof(lab.events), "%s/events.jsonl", lab.dir);
	snprintf(lab.policy, sizeof(lab.policy), "%s/policy.yaml", lab.dir);
	snprintf(lab.log, sizeof(lab.log), "%s/ipsecmond.log", lab.dir);
	snprintf(
	    path, sizeof(path), "%s/ctl/secrets.yaml", tl_env("IPS_TEST_DATA"));
	text = tl_read_file(path, NULL);
	assert_non_null(text);
	snprintf(path, sizeof(path), "%s/secrets.yaml", lab.dir);
	tl_write_file(path, text, 0600);
	free(text);
	start_daemon("policy.yaml", NULL);
	return 0;
}

static int
teardown(void **state)
{
	char *log;

	(void)state;
	if (lab.pid > 0)
		tl_stop(lab.pid, SIGTERM);
	if ((log = tl_read_file(lab.log, NULL)) != NULL) {
		no_secrets("the daemon's log", log);
		free(log);
	}
	tl_sh("rm -rf /etc/netns/%s", lab.ns);
	tl_sh("rm -rf /etc/netns/%s", lab.ns); /* test_resolvedns's */
	tl_netns_delete(lab.ns);
	tl_rmrf(lab.dir);
	free(lab.dir);
	return 0;
}

/* Every view, every format, against its golden file. */
static void
test_views_match_golden(void **state)
{
	static const struct {
		const char *args, *golden, *schema;
	} views[] = {
	    {"show policy", "policy", "policy"},
	    {"show mmfilter", "mmfilter-generic", "filters"},
	    {"show mmfilter type=specific", "mmfilter-specific", "filters"},
	    {"show qmfilter", "qmfilter-generic", "filters"},
	    {"show qmfilter type=specific", "qmfilter-specific", "filters"},
	    {"show mmpolicy", "mmpolicy", "mmpolicy"},
	    {"show qmpolicy", "qmpolicy", "qmpolicy"},
	    {"show stats", "stats", "stats"},
	    {"show config", "config", "config"},
	    {"show all", "all", "all"},
	};
	static const char *const formats[] = {"table", "list", "json"};

	(void)state;
	for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
		for (size_t f = 0; f < 3; f++) {
			char args[256], name[128], *out, *norm;
			int st;

			snprintf(args, sizeof(args), "%s format=%s",
			    views[v].args, formats[f]);
			out = cli(args, false, &st);
			assert_int_equal(st, 0);
			/* the output as it is, against
			 * docs/ipsecmon.schema.json */
			if (f == 2)
				tl_check_json(views[v].schema, out, false);
			norm = normalize(out);
			snprintf(name, sizeof(name), "ctl/%s.%s",
			    views[v].golden, formats[f]);
			tl_golden(name, norm);
			free(norm);
			free(out);
		}
	}
}

/* IP Security Monitor's "Search for specific filters". */
static void
test_search_golden(void **state)
{
	static const struct {
		const char *args, *golden;
	} searches[] = {
	    {"show qmfilter type=specific srcaddr=me", "search-src-me"},
	    {"show qmfilter type=specific dstaddr=192.0.2.2",
		"search-dst-address"},
	    {"show qmfilter type=specific srcaddr=10.98.2.7 dstaddr=10.98.1.9",
		"search-tunnel-reply"},
	    {"show mmfilter type=specific srcaddr=10.99.0.2", "search-mm-peer"},
	    {"show qmfilter type=generic dstaddr=192.0.2.53",
		"search-generic-dns"},
	    {"show qmfilter type=specific srcaddr=192.0.2.200 "
	     "dstaddr=198.51.100.99",
		"search-nothing"},
	    /* a subnet: the filters that cover any of its addresses */
	    {"show qmfilter type=generic dstaddr=203.0.113.128 dstmask=25",
		"search-dst-subnet"},
	    {"show qmfilter type=specific srcaddr=10.98.7.7 "
	     "srcmask=255.255.0.0",
		"search-src-mask"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(searches) / sizeof(searches[0]); i++) {
		char name[128], *out, *norm;
		int st;

		out = cli(searches[i].args, false, &st);
		assert_int_equal(st, 0);
		norm = normalize(out);
		snprintf(
		    name, sizeof(name), "ctl/%s.table", searches[i].golden);
		tl_golden(name, norm);
		free(norm);
		free(out);
	}
}

/*
 * resolvedns=yes: addresses shown by their names, here from a hosts file
 * (the CLI runs in the lab's namespace, where ip netns exec puts
 * /etc/netns/NS/hosts over /etc/hosts, and a resolv.conf whose server
 * answers nothing).  An address without a name stays an address, and so
 * does one whose name is not fit for a terminal.
 */
static void
test_resolvedns(void **state)
{
	char cmd[2048], *out;
	int st;

	(void)state;
	tl_sh("mkdir -p /etc/netns/%s && cd /etc/netns/%s && "
	      "printf '192.0.2.53 dns1.lab.example\\n"
	      "10.99.0.2 branch-gw.lab.example\\n"
	      "198.51.100.7 bad!name\\n"
	      "192.0.2.2 10.98.1.5\\n' > hosts && "
	      "echo 'nameserver 127.0.0.1' > resolv.conf",
	    lab.ns, lab.ns);
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s timeout -k 2 20 %s --socket %s show qmfilter "
	    "type=specific resolvedns=yes",
	    lab.ns, tl_env("IPSECMON"), lab.sock);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("resolvedns=yes failed (%d): %s", st, out);
	assert_non_null(strstr(out, "dns1.lab.example"));
	assert_non_null(strstr(out, "branch-gw.lab.example"));
	assert_null(strstr(out, "192.0.2.53 "));
	assert_non_null(strstr(out, "198.51.100.7"));
	assert_null(strstr(out, "bad!name"));
	/* nor a name that reads as some other address */
	assert_null(strstr(out, "10.98.1.5"));
	assert_non_null(strstr(out, "192.0.2.2"));
	free(out);
	/* JSON too; and without the option, addresses */
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s timeout -k 2 20 %s --socket %s show qmfilter "
	    "type=specific resolvedns=yes format=json",
	    lab.ns, tl_env("IPSECMON"), lab.sock);
	out = tl_run(cmd, true, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out,
	    "\"tunnel_destination\": "
	    "\"branch-gw.lab.example\""));
	free(out);
	out = cli("show qmfilter type=specific", false, &st);
	assert_int_equal(st, 0);
	assert_null(strstr(out, "lab.example"));
	free(out);
	out = cli("show qmfilter resolvedns=perhaps", true, &st);
	assert_int_equal(st, 2);
	free(out);
	tl_sh("rm -rf /etc/netns/%s", lab.ns);
}

/* Specific filters whose source is exactly addr (as an expanded "me"). */
static int
count_filters_from(const char *addr)
{
	char args[256], key[128], *out;
	int st, n = 0;
	const char *p;

	snprintf(args, sizeof(args),
	    "show qmfilter type=specific srcaddr=%s "
	    "format=json",
	    addr);
	snprintf(key, sizeof(key), "\"source\": \"%s\"", addr);
	out = cli(args, false, &st);
	assert_int_equal(st, 0);
	for (p = out; (p = strstr(p, key)) != NULL; p++)
		n++;
	free(out);
	return n;
}

/* A new interface address shows up in the specific filters by itself. */
static void
test_filters_follow_address_changes(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(count_filters_from("203.0.113.9"), 0);
	tl_sh("ip -n %s addr add 203.0.113.9/24 dev ipsm0", lab.ns);
	for (int waited = 0; waited < 10000 && n == 0; waited += 50) {
		usleep(50000);
		n = count_filters_from("203.0.113.9");
	}
	/* me -> 2001:db8:9::/48 does not apply to an IPv4 address; the
	 * management and DNS filters do. */
	assert_int_equal(n, 2);
	tl_sh("ip -n %s addr del 203.0.113.9/24 dev ipsm0", lab.ns);
	for (int waited = 0; waited < 10000 && n != 0; waited += 50) {
		usleep(50000);
		n = count_filters_from("203.0.113.9");
	}
	assert_int_equal(n, 0);
}

static void
install_policy(const char *name)
{
	char src[1024], tmp[600], *text;

	snprintf(src, sizeof(src), "%s/ctl/%s", tl_env("IPS_TEST_DATA"), name);
	text = tl_read_file(src, NULL);
	assert_non_null(text);
	/* Atomically, as an editor or config manager would. */
	snprintf(tmp, sizeof(tmp), "%s.new", lab.policy);
	tl_write_file(tmp, text, 0644);
	assert_int_equal(rename(tmp, lab.policy), 0);
	free(text);
}

static bool
policy_name_is(const char *name)
{
	char *out = cli("show policy format=json", false, NULL), want[256];
	bool yes;

	snprintf(want, sizeof(want), "\"name\": \"%s\"", name);
	yes = strstr(out, want) != NULL;
	free(out);
	return yes;
}

/* An invalid reload is refused with file:line:col, the old policy stays;
 * a valid one applies, by command or by SIGHUP. */
static void
test_reload(void **state)
{
	char *out, want[1024];
	int st;

	(void)state;
	install_policy("policy-broken.yaml");
	out = cli("reload", true, &st);
	assert_int_equal(st, 1);
	snprintf(want, sizeof(want),
	    "ipsecmon: %s:5:18: no filter-list named "
	    "'missing'\n",
	    lab.policy);
	assert_string_equal(out, want);
	free(out);
	assert_true(policy_name_is("Test lab"));

	install_policy("policy-renamed.yaml");
	out = cli("reload", true, &st);
	assert_int_equal(st, 0);
	assert_string_equal(out, "Policy 'Test lab (reloaded)' reloaded.\n");
	free(out);
	assert_true(policy_name_is("Test lab (reloaded)"));
	out = cli("show qmfilter format=json", false, &st);
	assert_string_equal(out,
	    "{\n  \"mode\": \"quick\",\n  \"type\": "
	    "\"generic\",\n  \"filters\": []\n}\n");
	free(out);

	install_policy("policy.yaml");
	kill(lab.pid, SIGHUP);
	for (int waited = 0; waited < 10000 && !policy_name_is("Test lab");
	     waited += 50)
		usleep(50000);
	assert_true(policy_name_is("Test lab"));
}

static int
raw_connect(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", lab.sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Garbage, an oversized frame and a client that vanishes mid-frame: each
 * costs that client its connection and nothing else. */
static void
test_hostile_clients(void **state)
{
	static const unsigned char garbage[] = {
	    0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char huge[] = {0x7f, 0, 0, 0};
	static const unsigned char partial[] = {0, 0, 1, 0, 1, 2};
	unsigned char reply[512];
	ssize_t n;
	int fd;
	char *out;

	(void)state;
	fd = raw_connect();
	assert_int_equal(write(fd, garbage, sizeof(garbage)), sizeof(garbage));
	/* An error response arrives, then the daemon hangs up. */
	n = read(fd, reply, sizeof(reply));
	assert_true(n > 4);
	assert_non_null(
	    memmem(reply, (size_t)n, "not a valid control message", 27));
	close(fd);

	fd = raw_connect();
	assert_int_equal(write(fd, huge, sizeof(huge)), sizeof(huge));
	assert_int_equal(read(fd, reply, sizeof(reply)), 0);
	close(fd);

	fd = raw_connect();
	assert_int_equal(write(fd, partial, sizeof(partial)), sizeof(partial));
	close(fd);

	out = cli("show policy format=json", false, NULL);
	assert_non_null(strstr(out, "\"name\": \"Test lab\""));
	free(out);
}

static long
daemon_rss_kb(void)
{
	char path[64], *status, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)lab.pid);
	status = tl_read_file(path, NULL);
	assert_non_null(status);
	if ((p = strstr(status, "VmRSS:")) != NULL)
		kb = strtol(p + 6, NULL, 10);
	free(status);
	return kb;
}

/*
 * A client that sends requests without reading the answers: the daemon
 * stops reading from it once its unread answers pass a bound, so memory
 * stays bounded, and everyone else is still served.
 */
static void
test_slow_reader_is_bounded(void **state)
{
	/* show qmfilter type=specific: the largest view */
	static const unsigned char req[] = {
	    0, 0, 0, 6, 0x12, 4, 0x08, 1, 0x10, 1};
	unsigned char burst[sizeof(req) * 512];
	long before, after;
	size_t sent = 0;
	int fd, flags;
	char *out;

	(void)state;
	for (size_t i = 0; i < 512; i++)
		memcpy(burst + i * sizeof(req), req, sizeof(req));
	before = daemon_rss_kb();
	fd = raw_connect();
	flags = fcntl(fd, F_GETFL);
	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
	/* Write until the daemon stops reading (our socket fills), or
	 * 100,000 requests, whichever comes first. */
	for (int stalls = 0; sent < 100000 * sizeof(req) && stalls < 50;) {
		ssize_t n = write(fd, burst, sizeof(burst));

		if (n > 0) {
			sent += (size_t)n;
			stalls = 0;
		} else {
			stalls++;
			usleep(20000);
		}
	}
	after = daemon_rss_kb();
	/* Unbounded, 100,000 answers of ~2 KB each would be ~200 MB. */
	if (after - before > 64 * 1024)
		fail_msg("daemon grew from %ld kB to %ld kB for one client "
			 "that does not read",
		    before, after);
	out = cli("show policy format=json", false, NULL);
	assert_non_null(strstr(out, "\"name\": \"Test lab\""));
	free(out);
	close(fd);
	out = cli("show policy format=json", false, NULL);
	assert_non_null(strstr(out, "\"name\": \"Test lab\""));
	free(out);
}

/* Usage errors, unreachable daemons and their exit codes. */
static void
test_cli_errors(void **state)
{
	static const struct {
		const char *args;
		int status;
		const char *msg;
	} cases[] = {
	    {"show nothing", 2,
		"ipsecmon: unknown command 'nothing' (try: "
		"ipsecmon --help)\n"},
	    {"show policy type=generic", 2,
		"ipsecmon: 'type' is not an "
		"option of this command (try: ipsecmon --help)\n"},
	    {"show qmfilter srcaddr=example.com", 2,
		"ipsecmon: address must "
		"be any, me or an IP address, not 'example.com' (try: "
		"ipsecmon --help)\n"},
	    {"show stats format=xml", 2,
		"ipsecmon: format must be table, "
		"list or json, not 'xml' (try: ipsecmon --help)\n"},
	    {"show stats verbose", 2,
		"ipsecmon: expected key=value, got "
		"'verbose' (try: ipsecmon --help)\n"},
	};
	char cmd[1024], *out;
	int st;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = cli(cases[i].args, true, &st);
		assert_int_equal(st, cases[i].status);
		assert_string_equal(out, cases[i].msg);
		free(out);
	}
	snprintf(cmd, sizeof(cmd), "%s --socket %s/nobody.sock show stats",
	    tl_env("IPSECMON"), lab.dir);
	out = tl_run(cmd, true, &st);
	assert_int_equal(st, 3);
	assert_non_null(strstr(out, "is ipsecmond running?"));
	free(out);
}

/* The daemon refuses to start on a bad policy or an exposed secrets file,
 * and says why. */
static void
test_refuses_to_start(void **state)
{
	char dir_policy[600], dir_secrets[600], cmd[2048], *out, *text;
	char src[1024];
	int st;

	(void)state;
	snprintf(dir_policy, sizeof(dir_policy), "%s/bad/policy.yaml", lab.dir);
	snprintf(
	    dir_secrets, sizeof(dir_secrets), "%s/bad/secrets.yaml", lab.dir);
	tl_sh("mkdir -p %s/bad", lab.dir);
	snprintf(
	    src, sizeof(src), "%s/ctl/policy.yaml", tl_env("IPS_TEST_DATA"));
	text = tl_read_file(src, NULL);
	tl_write_file(dir_policy, text, 0644);
	free(text);
	tl_write_file(dir_secrets,
	    "branch: \"ctl-test-psk-BRANCH-5b1e0c\"\n"
	    "management: \"ctl-test-psk-MGMT-77aa90\"\n",
	    0644);
	snprintf(cmd, sizeof(cmd),
	    "%s -p %s -s %s/bad/s.sock -e %s --config %s/config.json "
	    "--ike-log %s/oakley.log",
	    tl_env("IPSECMOND"), dir_policy, lab.dir, lab.events, lab.dir,
	    lab.dir);
	out = tl_run(cmd, true, &st);
	no_secrets("ipsecmond's refusal", out);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out,
	    "secrets.yaml: group or others may access "
	    "it (mode 0644); run chmod 600 on it"));
	free(out);

	snprintf(src, sizeof(src), "%s/ctl/policy-broken.yaml",
	    tl_env("IPS_TEST_DATA"));
	text = tl_read_file(src, NULL);
	tl_write_file(dir_policy, text, 0644);
	free(text);
	out = tl_run(cmd, true, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out,
	    "policy.yaml:5:18: no filter-list named "
	    "'missing'"));
	free(out);
	/* --check says the same without starting anything. */
	snprintf(cmd, sizeof(cmd), "%s --check -p %s", tl_env("IPSECMOND"),
	    dir_policy);
	out = tl_run(cmd, true, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out,
	    "policy.yaml:5:18: no filter-list named "
	    "'missing'"));
	free(out);
}

/* The fleet view: a live daemon and a dead one, side by side. */
static void
test_collector(void **state)
{
	char cmd[2048], *out, *norm;
	int st;

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s lab=%s gone=%s/gone.sock",
	    tl_env("IPSECMON_COLLECTOR"), lab.sock, lab.dir);
	out = tl_run(cmd, false, &st);
	assert_int_equal(st, 0);
	norm = normalize(out);
	tl_golden("ctl/collector.table", norm);
	free(norm);
	free(out);
}

/*
 * The command line's conveniences: show stats type=, --help on a
 * command, --refresh until Ctrl-C (status 0), and bash completion from
 * the command table.
 */
/* ipsecmon with args, given at most 20 s: a hang fails the test at the
 * step that hung (status 124), not at ctest's timeout. */
static char *
cli_bounded(const char *args, bool merge, int *status)
{
	char cmd[2048], *out;

	snprintf(cmd, sizeof(cmd), "timeout -k 2 20 %s --socket %s %s",
	    tl_env("IPSECMON"), lab.sock, args);
	out = tl_run(cmd, merge, status);
	if (*status == 124 || *status == 137)
		fail_msg("ipsecmon %s did not finish in 20 s:\n%s", args, out);
	return out;
}

static void
test_cli_conveniences(void **state)
{
	char *out, cmd[2048];
	int st;

	(void)state;
	out = cli_bounded("show stats type=ike", false, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "IKE Main Mode statistics"));
	assert_null(strstr(out, "IPsec Quick Mode statistics"));
	free(out);
	out = cli_bounded("show stats type=ipsec format=json", false, &st);
	assert_int_equal(st, 0);
	assert_null(strstr(out, "main_mode"));
	assert_non_null(strstr(out, "\"quick_mode\""));
	free(out);
	out = cli_bounded("show stats type=both", true, &st);
	assert_int_equal(st, 2);
	free(out);
	out = cli_bounded("show qmfilter --help", false, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "usage: ipsecmon show qmfilter"));
	assert_non_null(strstr(out, "type=generic|specific"));
	free(out);
	/* the filters that match traffic of a protocol and ports: a
	 * filter's any covers them all */
	out = cli_bounded("show qmfilter protocol=udp format=json", false, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "\"protocol\": \"udp\""));
	assert_null(strstr(out, "\"protocol\": \"tcp\""));
	free(out);
	out = cli(
	    "show qmfilter protocol=tcp dstport=22 format=json", false, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "203.0.113.0/24"));
	assert_null(strstr(out, "\"protocol\": \"udp\""));
	assert_null(strstr(out, "\"destination_port\": 23"));
	assert_non_null(strstr(out, "\"destination_port\": 22"));
	free(out);
	out = cli_bounded("show qmfilter srcport=70000", true, &st);
	assert_int_equal(st, 2);
	free(out);
	/* a mask needs an address and must be one */
	static const char *const bad_masks[] = {
	    "show qmfilter srcmask=24",
	    "show mmfilter srcaddr=me srcmask=24",
	    "show qmfilter dstaddr=10.0.0.1 dstmask=255.0.255.0",
	    "show qmfilter dstaddr=10.0.0.1 dstmask=33",
	    "show qmfilter dstaddr=2001:db8::1 dstmask=255.255.0.0",
	};
	for (size_t i = 0; i < sizeof(bad_masks) / sizeof(*bad_masks); i++) {
		out = cli_bounded(bad_masks[i], true, &st);
		assert_int_equal(st, 2);
		assert_non_null(strstr(out, "mask"));
		free(out);
	}
	/* show all: every view under its title; in JSON one object */
	out = cli_bounded("show all", false, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "=== Active Policy ===\n"));
	assert_non_null(strstr(out, "=== Quick Mode Generic Filters ===\n"));
	assert_non_null(strstr(out, "=== Settings ===\n"));
	free(out);
	out = cli_bounded("show all format=json", false, &st);
	assert_int_equal(st, 0);
	{
		json_error_t je;
		json_t *j = json_loads(out, 0, &je);

		if (j == NULL)
			fail_msg("show all format=json: %s:\n%s", je.text, out);
		assert_non_null(json_object_get(j, "policy"));
		assert_non_null(json_object_get(j, "qmsas"));
		assert_non_null(json_object_get(j, "config"));
		json_decref(j);
	}
	tl_check_json("all", out, false);
	free(out);
	/* redrawn every second until SIGINT, which ends it cleanly */
	snprintf(cmd, sizeof(cmd),
	    "timeout -k 5 --preserve-status -s INT 3.5 %s --socket %s "
	    "--refresh 1 "
	    "show stats type=ike",
	    tl_env("IPSECMON"), lab.sock);
	out = tl_run(cmd, false, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "Every 1s: ipsecmon show stats"));
	assert_non_null(strstr(strstr(out, "Every 1s") + 1, "Every 1s"));
	free(out);
	/* bash completion asks ipsecmon itself */
	snprintf(cmd, sizeof(cmd),
	    "PATH=$(dirname %s):$PATH timeout -k 2 20 bash -c 'source %s/cli/"
	    "ipsecmon-completion.bash; COMP_WORDS=(ipsecmon show q); "
	    "COMP_CWORD=2; _ipsecmon; echo \"${COMPREPLY[*]}\"'",
	    tl_env("IPSECMON"), tl_env("IPS_SOURCE_DIR"));
	out = tl_run(cmd, true, &st);
	assert_int_equal(st, 0);
	assert_string_equal(out, "qmfilter qmpolicy qmsas\n");
	free(out);
	/* and a dynamic change's keys */
	snprintf(cmd, sizeof(cmd),
	    "PATH=$(dirname %s):$PATH timeout -k 2 20 bash -c 'source %s/cli/"
	    "ipsecmon-completion.bash; COMP_WORDS=(ipsecmon add mmoffer d); "
	    "COMP_CWORD=3; _ipsecmon; echo \"${COMPREPLY[*]}\"'",
	    tl_env("IPSECMON"), tl_env("IPS_SOURCE_DIR"));
	out = tl_run(cmd, true, &st);
	assert_int_equal(st, 0);
	assert_string_equal(out, "dhgroup=\n");
	free(out);
}

/* One setting's value in `show config format=json`; -1 if absent. */
static long
setting(const char *name)
{
	char want[64], *out = cli("show config format=json", false, NULL);
	const char *p;
	long v = -1;

	snprintf(want, sizeof(want), "\"name\": \"%s\",", name);
	if ((p = strstr(out, want)) != NULL &&
	    (p = strstr(p, "\"value\": ")) != NULL)
		v = strtol(p + 9, NULL, 10);
	free(out);
	return v;
}

/*
 * `set config` (netsh's): every setting shown with its default and range;
 * a change applies at once, is logged, and survives a restart; a bad name
 * or value is refused and changes nothing, even beside good ones; a
 * damaged settings file stops the daemon, naming the file.
 */
static void
test_config(void **state)
{
	char *out, path[1100];
	int st;

	(void)state;
	out = cli("show config", false, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "ikeaudits"));
	assert_non_null(strstr(out, "ipsecloginterval"));
	free(out);
	assert_int_equal(setting("ikeaudits"), 1);
	assert_int_equal(setting("ipsecloginterval"), 3600);
	out = cli("set config ikeaudits=0 ipsecloginterval=120", true, &st);
	assert_int_equal(st, 0);
	free(out);
	assert_int_equal(setting("ikeaudits"), 0);
	assert_int_equal(setting("ipsecloginterval"), 120);
	/* refused, all of it */
	out = cli("set config ikelogging=1 strongcrlcheck=9", true, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "strongcrlcheck must be 0..2, not 9"));
	free(out);
	assert_int_equal(setting("ikelogging"), 0);
	out = cli("set config nosuch=1", true, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "no setting 'nosuch'"));
	free(out);
	out = cli("set config ikelogging=yes", true, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "must be a number"));
	free(out);
	out = cli("set config", true, &st);
	assert_int_equal(st, 2);
	free(out);
	/* said in the log */
	out = tl_read_file(lab.log, NULL);
	assert_non_null(strstr(out, "config: ikeaudits 1 -> 0"));
	assert_non_null(strstr(out, "IKE audit events are off"));
	free(out);
	/* every setting, at the far end of its range, round-trips and is
	 * kept across a restart */
	static const struct {
		const char *name;
		long value;
	} far[] = {{"ikelogging", 1}, {"ikeaudits", 0}, {"strongcrlcheck", 2},
	    {"ipsecdiagnostics", 7}, {"ipsecloginterval", 86400}};
	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		char args[100];

		snprintf(args, sizeof(args), "set config %s=%ld", far[i].name,
		    far[i].value);
		free(cli(args, true, &st));
		assert_int_equal(st, 0);
		assert_int_equal(setting(far[i].name), far[i].value);
	}
	tl_stop(lab.pid, SIGTERM);
	start_daemon("policy.yaml", NULL);
	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++)
		if (setting(far[i].name) != far[i].value)
			fail_msg("%s not kept across the restart", far[i].name);
	/* and back */
	free(cli("set config ikelogging=0 ikeaudits=1 strongcrlcheck=1 "
		 "ipsecdiagnostics=0 ipsecloginterval=3600",
	    true, &st));
	assert_int_equal(st, 0);
	/* a damaged file: the daemon will not start, and says where */
	tl_stop(lab.pid, SIGTERM);
	snprintf(path, sizeof(path), "%s/config.json", lab.dir);
	tl_write_file(path, "{\"ikeaudits\": 5}\n", 0644);
	{
		char cmd[4096];

		snprintf(cmd, sizeof(cmd),
		    "ip netns exec %s %s -p %s -s %s/c2.sock -e %s --config %s "
		    "--ike-log %s/oakley.log",
		    lab.ns, tl_env("IPSECMOND"), lab.policy, lab.dir,
		    lab.events, path, lab.dir);
		out = tl_run(cmd, true, &st);
		assert_int_equal(st, 1);
		assert_non_null(
		    strstr(out, "config.json: ikeaudits must be 0..1"));
		free(out);
	}
	tl_write_file(path, "{}\n", 0644);
	start_daemon("policy.yaml", NULL);
	assert_int_equal(setting("ikeaudits"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_views_match_golden),
	    cmocka_unit_test(test_search_golden),
	    cmocka_unit_test(test_resolvedns),
	    cmocka_unit_test(test_filters_follow_address_changes),
	    cmocka_unit_test(test_reload),
	    cmocka_unit_test(test_hostile_clients),
	    cmocka_unit_test(test_slow_reader_is_bounded),
	    cmocka_unit_test(test_cli_errors),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_cli_conveniences),
	    cmocka_unit_test(test_refuses_to_start),
	    cmocka_unit_test(test_collector),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
