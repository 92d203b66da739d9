/*
 * replay: the anti-replay window of an inbound SA (RFC 4303 3.4.3 and
 * Appendix A), a bitmap of the last `size` sequence numbers below the
 * highest one accepted, with extended (64-bit) sequence numbers inferred
 * from the 32 bits on the wire when the SA uses them (RFC 4304).
 *
 * Checking and recording are separate, as RFC 4303 3.4.3 orders them: a
 * packet is checked before its ICV (cheap rejection of duplicates), and
 * recorded only after the ICV verified, so a forged packet never moves
 * the window.
 */
#ifndef IPS_REPLAY_H
#define IPS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"

#define REPLAY_DEFAULT 64
#define REPLAY_MAX 4096 /* bits; a multiple of 64 */

struct replay {
	uint64_t top; /* highest sequence number accepted, 0 = none yet */
	unsigned size; /* window bits, a multiple of 64 */
	bool esn;
	uint64_t bits[REPLAY_MAX / 64]; /* bit (seq % size) set: seen */
};

/* A window of size bits (rounded up to a multiple of 64; 0 means the
 * default); IPS_E_INVAL past REPLAY_MAX. */
IPS_MUST_USE ips_res replay_init(struct replay *w, unsigned size, bool esn);

/*
 * The full sequence number a packet carrying seq_lo stands for (with ESN,
 * the high half is inferred from the window, RFC 4303 A2.2; without, it
 * is seq_lo).  Then whether it may be accepted: not zero, not left of the
 * window, not seen.  Changes nothing.
 */
uint64_t replay_infer(const struct replay *w, uint32_t seq_lo);
bool replay_check(const struct replay *w, uint64_t seq);
/* Record seq, which replay_check accepted and whose ICV verified. */
void replay_accept(struct replay *w, uint64_t seq);

#endif
