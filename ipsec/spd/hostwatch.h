/*
 * hostwatch: tell the daemon when this host's addresses, routes or name
 * servers may have changed, so filters can be re-expanded.  Listens to
 * rtnetlink address and route notifications and watches /etc/resolv.conf;
 * bursts (an interface coming up adds several addresses) are coalesced
 * into one callback after a short quiet period.
 */
#ifndef IPS_HOSTWATCH_H
#define IPS_HOSTWATCH_H

#include <uv.h>

#include "base/ips_err.h"

typedef void (*hostwatch_cb)(void *ctx);

struct hostwatch;

IPS_MUST_USE ips_res hostwatch_start(uv_loop_t *loop, unsigned quiet_ms,
    hostwatch_cb cb, void *ctx, struct hostwatch **out);
/* Stop; memory is released by close callbacks on the next loop turn. */
void hostwatch_stop(struct hostwatch *hw);

#endif
