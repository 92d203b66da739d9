#include <string.h>

#include "replay.h"

/*
 * The bitmap is circular: sequence number s lives at bit s % size, so
 * moving the window forward clears the bits it uncovers and shifts
 * nothing.
 */
static bool
bit(const struct replay *w, uint64_t seq)
{
	uint64_t i = seq % w->size;

	return (w->bits[i / 64] >> (i % 64)) & 1;
}

static void
set_bit(struct replay *w, uint64_t seq, bool on)
{
	uint64_t i = seq % w->size;
	uint64_t m = (uint64_t)1 << (i % 64);

	if (on)
		w->bits[i / 64] |= m;
	else
		w->bits[i / 64] &= ~m;
}

ips_res
replay_init(struct replay *w, unsigned size, bool esn)
{
	if (size == 0)
		size = REPLAY_DEFAULT;
	ENSURE(size <= REPLAY_MAX, INVAL);
	memset(w, 0, sizeof(*w));
	w->size = (size + 63) / 64 * 64;
	w->esn = esn;
	return IPS_OK;
}

uint64_t
replay_infer(const struct replay *w, uint32_t seq_lo)
{
	uint32_t tl = (uint32_t)w->top, th = (uint32_t)(w->top >> 32);
	uint32_t bottom = tl - (w->size - 1); /* may wrap */

	if (!w->esn)
		return seq_lo;
	/* RFC 4303 A2.2: the window lies within one 2^32 block, or spans
	 * the boundary into the previous one. */
	if (tl >= w->size - 1) {
		if (seq_lo >= bottom)
			return (uint64_t)th << 32 | seq_lo;
		return (uint64_t)(th + 1) << 32 | seq_lo;
	}
	if (seq_lo >= bottom && th > 0)
		return (uint64_t)(th - 1) << 32 | seq_lo;
	return (uint64_t)th << 32 | seq_lo;
}

bool
replay_check(const struct replay *w, uint64_t seq)
{
	if (seq == 0) /* never sent: the counter starts at 1 (RFC 4303 3.3.3) */
		return false;
	if (seq > w->top)
		return true;
	if (w->top - seq >= w->size)
		return false; /* left of the window */
	return !bit(w, seq);
}

void
replay_accept(struct replay *w, uint64_t seq)
{
	if (seq > w->top) {
		uint64_t d = seq - w->top;

		if (d >= w->size)
			memset(w->bits, 0, sizeof(w->bits));
		else
			for (uint64_t s = w->top + 1; s < seq; s++)
				set_bit(w, s, false);
		w->top = seq;
	}
	set_bit(w, seq, true);
}
