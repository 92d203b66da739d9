#include <stdio.h>

#include "diag.h"

static const struct {
	unsigned bit;
	const char *what;
} kinds[DIAG_N] = {
#define IPS_DIAG_DESC(n, b, w) {b, w},
    IPS_DIAG_KINDS(IPS_DIAG_DESC)
#undef IPS_DIAG_DESC
};

void
diag_counts(const struct ips_qm_stats *qm, const struct dp_drops *dd,
    struct diag_counts *out)
{
	out->v[DIAG_bad_spi] = qm->bad_spi_packets;
	out->v[DIAG_replay] = qm->packets_with_replay_detection;
	out->v[DIAG_not_authenticated] = qm->packets_not_authenticated;
	out->v[DIAG_not_decrypted] = qm->packets_not_decrypted;
	out->v[DIAG_inner_mismatch] = dd->inner_mismatch;
	out->v[DIAG_no_sa] = dd->no_sa;
	out->v[DIAG_expired] = dd->expired;
	out->v[DIAG_not_transportable] = dd->not_transportable;
	out->v[DIAG_blocked] = dd->blocked;
	out->v[DIAG_unmatched] = dd->unmatched;
}

size_t
diag_report(const struct diag_counts *prev, const struct diag_counts *cur,
    unsigned level, uint32_t interval_s,
    void (*emit)(void *ctx, const char *line), void *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < DIAG_N; i++) {
		char line[200];

		if ((level & kinds[i].bit) == 0 || cur->v[i] <= prev->v[i])
			continue;
		snprintf(line, sizeof(line),
		    "ipsec diagnostics: %llu %s in the last %u s",
		    (unsigned long long)(cur->v[i] - prev->v[i]), kinds[i].what,
		    interval_s);
		emit(ctx, line);
		n++;
	}
	return n;
}
