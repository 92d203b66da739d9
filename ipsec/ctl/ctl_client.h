/*
 * ctl_client: a blocking client of the control socket, for the command
 * line and the collector.  Every call has a timeout, connecting included
 * (a daemon that stops accepting fills its backlog), so a wedged daemon
 * gives an error instead of a hung shell.
 */
#ifndef IPS_CTL_CLIENT_H
#define IPS_CTL_CLIENT_H

#include <signal.h>

#include "base/ips_err.h"
#include "ctl.pb-c.h"

#define CTL_DEFAULT_SOCKET "/run/ipsecmon/ipsecmond.sock"

struct ctl_client;

/* Connect to the daemon at path; errbuf explains a failure. */
IPS_MUST_USE ips_res ctl_client_connect(const char *path, int timeout_ms,
    struct ctl_client **out, char *errbuf, size_t errlen);
void ctl_client_close(struct ctl_client *c);
/* Once *flag is set (by a signal handler), a call that a signal
 * interrupts gives up ("interrupted") instead of waiting on. */
void ctl_client_stop_on(
    struct ctl_client *c, const volatile sig_atomic_t *flag);

/*
 * Send req and wait for the response, which the caller owns and frees with
 * ipsm__response__free_unpacked(resp, NULL).
 */
IPS_MUST_USE ips_res ctl_client_call(struct ctl_client *c,
    const Ipsm__Request *req, Ipsm__Response **resp, char *errbuf,
    size_t errlen);

#endif
