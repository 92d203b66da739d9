#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ourd.h"
#include "testlib.h"

void
ourd_init(struct ourd *d, const char *parent, const char *name, const char *ns,
    const char *tun)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->ns, sizeof(d->ns), "%s", ns);
	snprintf(d->tun, sizeof(d->tun), "%s", tun);
	snprintf(d->dir, sizeof(d->dir), "%s/%s", parent, name);
	snprintf(d->sock, sizeof(d->sock), "%s/%s.sock", parent, name);
	snprintf(d->log, sizeof(d->log), "%s/%s.log", parent, name);
	tl_sh("mkdir -p %s", d->dir);
}

void
ourd_configure(struct ourd *d, const char *policy, const char *psk)
{
	char path[700], text[512];

	snprintf(path, sizeof(path), "%s/policy.yaml", d->dir);
	tl_write_file(path, policy, 0644);
	snprintf(text, sizeof(text), "k: \"%s\"\n", psk);
	snprintf(path, sizeof(path), "%s/secrets.yaml", d->dir);
	tl_write_file(path, text, 0600);
	if (d->pid > 0)
		free(ourd_cli(d, "reload"));
}

void
ourd_start(struct ourd *d)
{
	char policy[700], events[700], mark[32], config[700], ikelog[700];
	char *argv[26] = {(char *)"ip", (char *)"netns", (char *)"exec", d->ns,
	    (char *)tl_env("IPSECMOND"), (char *)"-p", policy, (char *)"-s",
	    d->sock, (char *)"-e", events, (char *)"-t", d->tun,
	    (char *)"--agentx", (char *)(d->agentx ? d->agentx : "none"),
	    (char *)"--config", config, (char *)"--ike-log", ikelog,
	    (char *)"--audit-syslog",
	    (char *)(d->syslog != NULL ? d->syslog : "none"), NULL};

	snprintf(policy, sizeof(policy), "%s/policy.yaml", d->dir);
	snprintf(events, sizeof(events), "%s/events.jsonl", d->dir);
	snprintf(config, sizeof(config), "%s/config.json", d->dir);
	snprintf(ikelog, sizeof(ikelog), "%s/oakley.log", d->dir);
	if (d->mark != 0) {
		snprintf(mark, sizeof(mark), "%u", d->mark);
		argv[21] = (char *)"--fwmark";
		argv[22] = mark;
		argv[23] = NULL;
	}
	d->pid = tl_spawn(argv, d->log);
	if (!tl_wait_socket(d->sock, 10000))
		fail_msg(
		    "ipsecmond did not start:\n%s", tl_read_file(d->log, NULL));
}

void
ourd_stop(struct ourd *d, int sig)
{
	int st = 0;

	if (d->pid > 0)
		st = tl_stop(d->pid, sig);
	d->pid = 0;
	/* a clean exit on SIGTERM: the sanitizers abort on an error at
	 * shutdown (a leak, a use after free), which must not pass */
	if (sig == SIGTERM && st != 0)
		fail_msg("ipsecmond exited with %d on SIGTERM:\n%s", st,
		    tl_read_file(d->log, NULL));
}

char *
ourd_cli(struct ourd *d, const char *args)
{
	char cmd[1024], *out;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --socket %s %s", tl_env("IPSECMON"),
	    d->sock, args);
	out = tl_run(cmd, true, &st);
	if (st != 0)
		fail_msg("ipsecmon %s failed (%d): %s", args, st, out);
	return out;
}

uint64_t
ourd_stat(struct ourd *d, const char *key)
{
	char *out = ourd_cli(d, "show stats format=json"), want[128];
	const char *s;
	uint64_t v;

	snprintf(want, sizeof(want), "\"%s\": ", key);
	if ((s = strstr(out, want)) == NULL)
		fail_msg("no %s in:\n%s", key, out);
	v = strtoull(s + strlen(want), NULL, 10);
	free(out);
	return v;
}

bool
ourd_wait_stat(struct ourd *d, const char *key, uint64_t want, int timeout_ms)
{
	for (int w = 0; w <= timeout_ms; w += 100) {
		if (ourd_stat(d, key) == want)
			return true;
		usleep(100000);
	}
	return false;
}

bool
ourd_sh_retry(struct ourd *d, int timeout_ms, const char *fmt, ...)
{
	char body[1024], cmd[1200];
	va_list ap;
	int st = 1;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s sh -c '%s'", d->ns, body);
	for (int w = 0; w <= timeout_ms; w += 50) {
		free(tl_run(cmd, true, &st));
		if (st == 0)
			return true;
		usleep(50000);
	}
	return false;
}
