/*
 * tun: the host side of the datapath, a Linux TUN device carrying bare IP
 * packets (IFF_TUN, no packet information header), opened non-blocking
 * and brought up with the datapath's MTU.  Routes into it are the
 * operator's, or the test's: they say which traffic is protected.
 */
#ifndef IPS_TUN_H
#define IPS_TUN_H

#include <stddef.h>

#include "base/ips_err.h"

/* Create (or attach to) TUN device name, set its MTU and bring it up;
 * *fd is its descriptor.  The message says what failed. */
IPS_MUST_USE ips_res tun_open(
    const char *name, unsigned mtu, int *fd, char *errbuf, size_t errlen);

#endif
