/*
 * hostenv: the facts about this host that filter keywords stand for: its
 * own addresses ("me"), its DNS servers ("dns") and its default gateways
 * ("gateway").  Each set is kept sorted and free of duplicates so that
 * expansion is deterministic and two snapshots compare cheaply.
 */
#ifndef IPS_HOSTENV_H
#define IPS_HOSTENV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/addr.h"
#include "base/ips_err.h"

enum hostenv_set { HOSTENV_LOCAL, HOSTENV_DNS, HOSTENV_GATEWAY, HOSTENV_NSETS };

struct hostenv;

struct hostenv *hostenv_new(void);
void hostenv_free(struct hostenv *h);
/* Add a (copied) address to a set; duplicates are ignored. */
IPS_MUST_USE ips_res hostenv_add(
    struct hostenv *h, enum hostenv_set set, const struct ips_addr *a);
size_t hostenv_count(const struct hostenv *h, enum hostenv_set set);
const struct ips_addr *hostenv_get(
    const struct hostenv *h, enum hostenv_set set, size_t i);
bool hostenv_contains(
    const struct hostenv *h, enum hostenv_set set, const struct ips_addr *a);
bool hostenv_equal(const struct hostenv *a, const struct hostenv *b);

/*
 * Fill from the running system: interface addresses from getifaddrs()
 * (loopback and IPv6 link-local left out: they cannot be filter
 * endpoints), name servers from /etc/resolv.conf, default gateways from
 * /proc/net/route and /proc/net/ipv6_route.  Missing files leave a set
 * empty; only a getifaddrs() failure is an error.
 */
IPS_MUST_USE ips_res hostenv_load_system(struct hostenv *h);

#endif
