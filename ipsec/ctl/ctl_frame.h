/*
 * ctl_frame: the control protocol's framing, a 4-byte big-endian length and
 * that many bytes of payload, read and written through rbuf/wbuf.
 */
#ifndef IPS_CTL_FRAME_H
#define IPS_CTL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"
#include "wire/rbuf.h"

/* No view of a sane policy comes near this; anything larger is hostile. */
#define CTL_FRAME_MAX (16u << 20)
#define CTL_FRAME_HDR 4

/*
 * Take one frame from the front of rb: *payload becomes a view of its body.
 * IPS_E_SHORT if the frame is not complete yet (nothing consumed),
 * IPS_E_TOOBIG if its length exceeds CTL_FRAME_MAX (nothing consumed).
 */
IPS_MUST_USE ips_res ctl_frame_parse(struct rbuf *rb, struct rbuf *payload);

/* Append one frame carrying n bytes of p. */
IPS_MUST_USE ips_res ctl_frame_write(struct wbuf *wb, const void *p, size_t n);

#endif
