/*
 * charon: a real strongSwan charon for interoperability tests, started in
 * a network namespace with its own /run, vici socket and log (the recipe
 * of ../shared/docs/INTEROP.md), driven with swanctl from outside.  A
 * missing charon fails the test; nothing is skipped.
 */
#ifndef IPS_TEST_CHARON_H
#define IPS_TEST_CHARON_H

#include <stdbool.h>
#include <sys/types.h>

struct charon {
	char ns[64];
	char dir[256]; /* private: strongswan.conf, swanctl/, run/, log */
	pid_t pid;
};

/* Start charon in ns with its files under dir (created). */
void charon_start(struct charon *c, const char *ns, const char *dir);
/* Write swanctl.conf (connections and secrets) and load it. */
void charon_load(struct charon *c, const char *swanctl_conf);
/* Run swanctl with args; its output (stdout+stderr), *status set. */
char *charon_swanctl(struct charon *c, const char *args, int *status);
/* Poll swanctl --list-sas until its output contains want; false on
 * timeout. */
bool charon_wait_sa(struct charon *c, const char *want, int timeout_ms);
void charon_stop(struct charon *c);

#endif
