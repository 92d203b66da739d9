/*
 * ourd: one of our own ipsecmond daemons in a network namespace, for the
 * integration tests: started with its own policy directory, control
 * socket, event log and TUN device, driven through the real ipsecmon.
 */
#ifndef IPS_TEST_OURD_H
#define IPS_TEST_OURD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ourd {
	char ns[64];
	char tun[16]; /* its datapath's TUN device */
	char sock[512];
	char log[512];
	char dir[512]; /* policy.yaml, secrets.yaml, events.jsonl */
	unsigned mark; /* --fwmark, 0 for none */
	const char *agentx; /* --agentx master socket; NULL: none */
	const char *syslog; /* --audit-syslog socket; NULL: none */
	pid_t pid;
};

/* Lay out d under parent/name, in namespace ns, TUN device tun. */
void ourd_init(struct ourd *d, const char *parent, const char *name,
    const char *ns, const char *tun);
/* Write its policy and its one secret (name k). */
void ourd_configure(struct ourd *d, const char *policy, const char *psk);
/* Start it; fails the test if its control socket does not appear. */
void ourd_start(struct ourd *d);
/* Stop it with sig; after SIGTERM it must have exited 0. */
void ourd_stop(struct ourd *d, int sig);
/* ipsecmon --socket ... args; fails the test on a non-zero exit. */
char *ourd_cli(struct ourd *d, const char *args);
/* One counter of `show stats format=json`. */
uint64_t ourd_stat(struct ourd *d, const char *key);
bool ourd_wait_stat(
    struct ourd *d, const char *key, uint64_t want, int timeout_ms);
/* Run a shell command in its namespace, retrying for up to timeout_ms
 * until it succeeds (a TUN device that is not up yet); false if never. */
bool ourd_sh_retry(struct ourd *d, int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
