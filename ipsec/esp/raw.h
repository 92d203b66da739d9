/*
 * raw: ESP as IP protocol 50 (RFC 4303 over IPv4), for peers with no NAT
 * between: one raw socket, since this kernel has no ESP of its own to
 * take the packets first.  Received packets come with their IPv4 header,
 * which is stripped here.  Needs CAP_NET_RAW.
 */
#ifndef IPS_RAW_H
#define IPS_RAW_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/addr.h"
#include "base/ips_err.h"

struct raw_esp;

/* Each ESP packet received (header stripped) goes to cb. */
typedef void (*raw_esp_cb)(void *ctx, const uint8_t *pkt, size_t len);

IPS_MUST_USE ips_res raw_esp_open(uv_loop_t *loop, raw_esp_cb cb, void *ctx,
    struct raw_esp **out, char *errbuf, size_t errlen);
/* 0 or a negative errno; the kernel writes the IP header, from the
 * source address routing picks. */
int raw_esp_send(struct raw_esp *r, const struct ips_addr *remote,
    const uint8_t *pkt, size_t len);
/* Close; memory goes with libuv's close callback. */
void raw_esp_close(struct raw_esp *r);

#endif
