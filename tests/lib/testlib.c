#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testlib.h"

const char *
tl_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		fail_msg(
		    "environment variable %s is not set (run via ctest)", name);
	return v;
}

char *
tl_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

void
tl_write_file(const char *path, const char *content, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);
	size_t len = strlen(content);

	if (fd < 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, (mode_t)mode), 0);
	close(fd);
}

char *
tl_mkdtemp(void)
{
	char *d = strdup("/tmp/ipsm-test-XXXXXX");

	assert_non_null(d);
	if (mkdtemp(d) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	return d;
}

void
tl_rmrf(const char *path)
{
	char cmd[1024];

	if (path == NULL || strncmp(path, "/tmp/ipsm-test-", 15) != 0)
		return; /* never anything else */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

char *
tl_run(const char *cmd, bool merge_stderr, int *exit_status)
{
	char *full, buf[4096];
	char *out = NULL;
	size_t n = 0;
	FILE *p;
	int st;

	if (asprintf(&full, "%s%s", cmd, merge_stderr ? " 2>&1" : "") < 0)
		fail_msg("out of memory");
	if ((p = popen(full, "r")) == NULL)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	out = calloc(1, 1);
	for (;;) {
		size_t got = fread(buf, 1, sizeof(buf), p);

		if (got == 0)
			break;
		out = realloc(out, n + got + 1);
		assert_non_null(out);
		memcpy(out + n, buf, got);
		n += got;
		out[n] = '\0';
	}
	st = pclose(p);
	free(full);
	if (exit_status != NULL)
		*exit_status =
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return out;
}

void
tl_sh(const char *fmt, ...)
{
	char *cmd, *out;
	va_list ap;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		fail_msg("out of memory");
	va_end(ap);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("command failed (%d): %s\n%s", st, cmd, out);
	free(out);
	free(cmd);
}

char *
tl_replace(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), count = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		count++;
	out = malloc(strlen(s) + count * tl + 1);
	assert_non_null(out);
	for (o = out, p = s;;) {
		const char *hit = strstr(p, from);

		if (hit == NULL) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, to, tl);
		o += tl;
		p = hit + fl;
	}
	return out;
}

pid_t
tl_spawn(char *const argv[], const char *logpath)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int
tl_wait_exit(pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st)
					     : 128 + WTERMSIG(st);
		usleep(10000);
	}
	return -1;
}

int
tl_stop(pid_t pid, int sig)
{
	int st;

	kill(pid, sig);
	if ((st = tl_wait_exit(pid, 10000)) >= 0)
		return st;
	kill(pid, SIGKILL);
	return tl_wait_exit(pid, 5000);
}

bool
tl_wait_socket(const char *path, int timeout_ms)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));

		close(fd);
		if (rc == 0)
			return true;
		usleep(20000);
	}
	return false;
}

const char *
tl_netns_create(const char *tag, char *buf, size_t len)
{
	char *out;
	int st;

	snprintf(buf, len, "ipsm-%s-%d", tag, (int)getpid());
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "ip netns add %s", buf);
		out = tl_run(cmd, true, &st);
		if (st != 0)
			fail_msg("cannot create network namespace %s (root and "
				 "iproute2 are required): %s",
			    buf, out);
		free(out);
	}
	tl_sh("ip -n %s link set lo up", buf);
	return buf;
}

void
tl_netns_delete(const char *name)
{
	char cmd[256];
	char *out;

	snprintf(cmd, sizeof(cmd), "ip netns delete %s", name);
	out = tl_run(cmd, true, NULL);
	free(out);
}

void
tl_netns_udp_send(const char *ns, const char *src, const char *dst,
    unsigned port, const void *data, size_t len)
{
	char path[256];
	pid_t pid;
	int st = 0;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	/* a child enters the namespace; the test stays where it is */
	if ((pid = fork()) == 0) {
		struct sockaddr_in from = {.sin_family = AF_INET},
				   to = {.sin_family = AF_INET};
		int fd = open(path, O_RDONLY | O_CLOEXEC), s;

		to.sin_port = htons((uint16_t)port);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0 ||
		    inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
		    inet_pton(AF_INET, dst, &to.sin_addr) != 1 ||
		    (s = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
		    bind(s, (struct sockaddr *)&from, sizeof(from)) != 0 ||
		    sendto(s, data, len, 0, (struct sockaddr *)&to,
			sizeof(to)) != (ssize_t)len)
			_exit(1);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		fail_msg("cannot send a datagram from %s in %s", src, ns);
}

uint8_t *
tl_pcap_record(const char *path, size_t n, size_t *len)
{
	size_t flen, at = 24;
	char *f = tl_read_file(path, &flen);
	uint8_t *out = NULL;

	/* libpcap format: a 24-byte header, then per record 16 bytes
	 * (captured length at 8) and the frame, in the writer's order */
	for (size_t i = 0; f != NULL && at + 16 <= flen; i++) {
		uint32_t cap;

		memcpy(&cap, f + at + 8, 4);
		if (at + 16 + cap > flen)
			break;
		if (i == n) {
			out = malloc(cap ? cap : 1);
			memcpy(out, f + at + 16, cap);
			*len = cap;
			break;
		}
		at += 16 + cap;
	}
	free(f);
	if (out == NULL)
		fail_msg("no record %zu in %s", n, path);
	return out;
}

void
tl_golden(const char *name, const char *actual)
{
	char path[1024], *expected;
	const char *update = getenv("IPS_UPDATE_GOLDEN");

	snprintf(path, sizeof(path), "%s/%s", tl_env("IPS_GOLDEN_DIR"), name);
	if (update != NULL && strcmp(update, "1") == 0) {
		tl_write_file(path, actual, 0644);
		return;
	}
	if ((expected = tl_read_file(path, NULL)) == NULL)
		fail_msg(
		    "no golden file %s (IPS_UPDATE_GOLDEN=1 writes it)", path);
	if (strcmp(expected, actual) != 0) {
		char tmp[] = "/tmp/ipsm-actual-XXXXXX", cmd[1200], *diff;
		int fd = mkstemp(tmp);

		assert_true(fd >= 0);
		close(fd);
		tl_write_file(tmp, actual, 0644);
		snprintf(cmd, sizeof(cmd), "diff -u '%s' '%s'", path, tmp);
		diff = tl_run(cmd, true, NULL);
		unlink(tmp);
		fail_msg("output differs from %s:\n%s", path, diff);
	}
	free(expected);
}

void
tl_make_pki(const char *dir)
{
	/* Leaves: a, b, c under the CA (c revoked by crl.pem), d under an
	 * intermediate; each with DNS and e-mail subjectAltNames. */
	static const char leaf[] =
	    "leaf() { openssl req -newkey rsa:2048 -nodes -subj "
	    "/O=ipsecmon/CN=site-$1 -keyout $1.key -out $1.csr 2>/dev/null && "
	    "printf 'subjectAltName=DNS:site-%s.example,"
	    "email:site-%s@example.org\\n' $1 $1 > $1.ext && "
	    "openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key "
	    "-CAcreateserial -days 2 -extfile $1.ext -out $1.pem 2>/dev/null "
	    "&& chmod 600 $1.key; }";

	tl_sh("mkdir -p %s && cd %s && %s && "
	      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
	      "/CN=lab-ca -keyout ca.key -out ca.pem 2>/dev/null && "
	      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
	      "/CN=other-ca -keyout other.key -out other.pem 2>/dev/null && "
	      "openssl req -newkey rsa:2048 -nodes -subj /CN=lab-int "
	      "-keyout int.key -out int.csr 2>/dev/null && "
	      "printf 'basicConstraints=critical,CA:true\\n"
	      "keyUsage=keyCertSign,cRLSign\\n' > int.ext && "
	      "openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key "
	      "-CAcreateserial -days 2 -extfile int.ext -out int.pem "
	      "2>/dev/null && "
	      "leaf a ca && leaf b ca && leaf c ca && leaf d int && "
	      "cat d.pem int.pem > d-chain.pem && "
	      "printf '[ca]\\ndefault_ca=lab\\n[lab]\\ndatabase=index.txt\\n"
	      "crlnumber=crlnumber\\ndefault_md=sha256\\n"
	      "default_crl_days=2\\n' > ca.cnf && "
	      "touch index.txt && echo 01 > crlnumber && "
	      "openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem "
	      "-revoke c.pem 2>/dev/null && "
	      "openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem "
	      "-gencrl -out crl.pem 2>/dev/null",
	    dir, dir, leaf);
}
void
tl_tcp_transfer(const char *dir, const char *from_ns, const char *src,
    const char *to_ns, const char *dst, size_t bytes, const char *why_log)
{
	char data[700], got[700], cmd[2048], *want, *have, log[700];
	pid_t server;
	int st;

	snprintf(data, sizeof(data), "%s/tcp.data", dir);
	snprintf(got, sizeof(got), "%s/tcp.sha", dir);
	snprintf(log, sizeof(log), "%s/nc.log", dir);
	tl_sh("head -c %zu /dev/urandom > %s", bytes, data);
	snprintf(cmd, sizeof(cmd), "sha256sum < %s", data);
	want = tl_run(cmd, false, &st);
	{
		char sh[900];
		char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec",
		    (char *)to_ns, (char *)"sh", (char *)"-c", sh, NULL};

		snprintf(
		    sh, sizeof(sh), "nc -l %s 5001 | sha256sum > %s", dst, got);
		server = tl_spawn(argv, log);
	}
	/* until it listens */
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s sh -c 'ss -ltn | grep -q %s:5001'", to_ns, dst);
	for (int w = 0; w < 5000; w += 50) {
		free(tl_run(cmd, true, &st));
		if (st == 0)
			break;
		usleep(50000);
	}
	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s timeout 120 nc -N -s %s %s 5001 < %s", from_ns,
	    src, dst, data);
	free(have = tl_run(cmd, true, &st));
	if (st != 0 || tl_wait_exit(server, 30000) != 0)
		fail_msg("the TCP transfer %s -> %s failed (%d):\n%s", src, dst,
		    st, tl_read_file(why_log, NULL));
	have = tl_read_file(got, NULL);
	if (have == NULL || strcmp(have, want) != 0)
		fail_msg("%zu bytes %s -> %s: sent %s, received %s", bytes, src,
		    dst, want, have ? have : "nothing");
	free(want);
	free(have);
	tl_sh("rm -f %s %s", data, got);
}

size_t
tl_unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		assert_int_equal(sscanf(h, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

void
tl_stat_mib_name(const char *key, char *out, size_t len)
{
	static const char *const caps[] = {"sa", "sas", "spi", "ike", "isadb"};
	size_t n = 0;

	out[0] = '\0';
	while (*key != '\0' && n < len) {
		char word[32];
		size_t w = strcspn(key, "_");

		snprintf(word, sizeof(word), "%.*s", (int)w, key);
		key += w + (key[w] == '_');
		for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
			if (strcmp(word, caps[i]) == 0)
				for (char *c = word; *c != '\0'; c++)
					*c = (char)toupper((unsigned char)*c);
		if (strcmp(word, "SAS") == 0)
			snprintf(word, sizeof(word), "SAs");
		word[0] = (char)toupper((unsigned char)word[0]);
		n += (size_t)snprintf(out + n, len - n, "%s", word);
	}
}

pid_t
tl_syslog_receiver(const char *sock, const char *out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), of;
	pid_t pid;

	assert_true(fd >= 0);
	assert_true(strlen(sock) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	unlink(sock);
	/* bound before the fork: nothing sent after this returns is lost */
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	of = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(of >= 0);
	if ((pid = fork()) == 0) {
		char m[8192];

		for (;;) {
			ssize_t n = recv(fd, m, sizeof(m) - 1, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				_exit(1);
			m[n] = '\n';
			if (write(of, m, (size_t)n + 1) < 0)
				_exit(1);
		}
	}
	assert_true(pid > 0);
	close(fd);
	close(of);
	return pid;
}

void
tl_check_json(const char *def, const char *json, bool lines)
{
	char tmp[] = "/tmp/ipsm-json-XXXXXX", cmd[1400], *out;
	int fd = mkstemp(tmp), st;

	assert_true(fd >= 0);
	close(fd);
	tl_write_file(tmp, json, 0600);
	snprintf(cmd, sizeof(cmd), "%s/tests/tools/check-json %s%s '%s'",
	    tl_env("IPS_SOURCE_DIR"), lines ? "--lines " : "", def, tmp);
	out = tl_run(cmd, true, &st);
	unlink(tmp);
	if (st != 0)
		fail_msg("JSON does not fit the schema's '%s' (%d):\n%s\n%s",
		    def, st, out, json);
	free(out);
}

static bool
masked(const char *name, size_t len, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(fields[i]) == len &&
		    strncmp(name, fields[i], len) == 0)
			return true;
	return false;
}

/* JSON: every member named in fields, at any depth, becomes "@". */
static void
mask_json(json_t *j, const char *const *fields, size_t n)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
		{
			if (masked(k, strlen(k), fields, n))
				json_object_set_new(j, k, json_string("@"));
			else
				mask_json(v, fields, n);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) mask_json(v, fields, n);
	}
}

char *
tl_mask_fields(const char *out, const char *const *fields, size_t n)
{
	const char *p = out;
	char *res, *line, *save = NULL, *copy;
	size_t cap = strlen(out) + 1, len = 0;
	/* a table's columns: from its row of dashes */
	size_t start[64], width[64], ncol = 0;
	bool mask[64] = {false};
	char *header = NULL;

	while (*p == ' ' || *p == '\n')
		p++;
	if (*p == '{' || *p == '[') {
		json_error_t je;
		json_t *j = json_loads(out, 0, &je);

		if (j == NULL)
			fail_msg("not JSON (%s):\n%s", je.text, out);
		mask_json(j, fields, n);
		res = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(j);
		return res;
	}
	res = calloc(1, cap + 1);
	copy = strdup(out);
	assert_non_null(res);
	assert_non_null(copy);
	/* line by line, blank lines too: a blank line ends a table */
	for (line = copy; line != NULL; line = save) {
		char *nl = strchr(line, '\n');
		size_t ll;
		char *colon;

		save = nl != NULL ? nl + 1 : NULL;
		if (nl != NULL)
			*nl = '\0';
		else if (*line == '\0')
			break; /* after the last newline */
		ll = strlen(line);
		colon = strstr(line, " : ");

		if (ll > 0 && strspn(line, "- ") == ll && header != NULL) {
			/* the dashes under the header: the columns */
			ncol = 0;
			for (size_t i = 0; i < ll && ncol < 64;) {
				size_t w = strspn(line + i, "-");

				start[ncol] = i;
				width[ncol] = w;
				mask[ncol] = false;
				{
					size_t hl = strlen(header);
					size_t e = i + w < hl ? i + w : hl;
					size_t b = i < hl ? i : hl;

					while (e > b && header[e - 1] == ' ')
						e--;
					mask[ncol] = masked(
					    header + b, e - b, fields, n);
				}
				ncol++;
				i += w;
				i += strspn(line + i, " ");
			}
		} else if (ncol > 0 && colon == NULL) {
			for (size_t c = 0; c < ncol; c++)
				for (size_t k = 0; mask[c] && k < width[c] &&
				     start[c] + k < ll;
				     k++)
					line[start[c] + k] = k == 0 ? '@' : ' ';
		} else if (colon != NULL) {
			size_t kl = (size_t)(colon - line);

			while (kl > 0 && line[kl - 1] == ' ')
				kl--;
			if (masked(line, kl, fields, n))
				strcpy(colon + 3, "@");
			ncol = 0;
		}
		if (ll == 0)
			ncol = 0;
		/* the line before the dashes is the header */
		header = line;
		len += (size_t)snprintf(res + len, cap + 1 - len, "%s\n", line);
	}
	free(copy);
	return res;
}
