#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

struct stats {
	struct ips_mm_stats mm; /* counters only; gauges stay zero */
	struct ips_qm_stats qm;
	time_t discontinuity;
};

static const struct stats_desc mm_desc[] = {
#define IPS_STATS_DESC(k, kind, n) \
	{#k, n, STATS_##kind, offsetof(struct ips_mm_stats, k)},
    IPS_MM_STATS(IPS_STATS_DESC)
#undef IPS_STATS_DESC
};

static const struct stats_desc qm_desc[] = {
#define IPS_STATS_DESC(k, kind, n) \
	{#k, n, STATS_##kind, offsetof(struct ips_qm_stats, k)},
    IPS_QM_STATS(IPS_STATS_DESC)
#undef IPS_STATS_DESC
};

const struct stats_desc *
stats_mm_desc(size_t *n)
{
	*n = sizeof(mm_desc) / sizeof(mm_desc[0]);
	return mm_desc;
}

const struct stats_desc *
stats_qm_desc(size_t *n)
{
	*n = sizeof(qm_desc) / sizeof(qm_desc[0]);
	return qm_desc;
}

struct stats *
stats_new(void)
{
	struct stats *st = calloc(1, sizeof(*st));

	if (st != NULL)
		st->discontinuity = time(NULL);
	return st;
}

void
stats_free(struct stats *st)
{
	free(st);
}

void
stats_reset(struct stats *st)
{
	memset(&st->mm, 0, sizeof(st->mm));
	memset(&st->qm, 0, sizeof(st->qm));
	st->discontinuity = time(NULL);
}

time_t
stats_discontinuity_time(const struct stats *st)
{
	return st->discontinuity;
}

void
stats_snapshot(const struct stats *st, const struct stats_gauges *g,
    struct ips_mm_stats *mm, struct ips_qm_stats *qm)
{
	*mm = st->mm;
	*qm = st->qm;
	mm->active_acquire = g->active_acquire;
	mm->active_receive = g->active_receive;
	mm->acquire_heap_size = g->acquire_heap_size;
	mm->receive_heap_size = g->receive_heap_size;
	mm->isadb_list_size = g->isadb_list_size;
	mm->connection_list_size = g->connection_list_size;
	qm->active_sas = g->active_sas;
	qm->offloaded_sas = g->offloaded_sas;
	qm->pending_key_operations = g->pending_key_operations;
	qm->active_tunnels = g->active_tunnels;
}

void
stats_on_acquire(struct stats *st)
{
	st->mm.total_acquire++;
}

void
stats_on_acquire_failed(struct stats *st)
{
	st->mm.acquire_failures++;
}

void
stats_on_ike_receive_error(struct stats *st)
{
	st->mm.receive_failures++;
}

void
stats_on_ike_send_error(struct stats *st)
{
	st->mm.send_failures++;
}

void
stats_on_negotiation_failed(struct stats *st, enum stats_neg_failure why)
{
	st->mm.negotiation_failures++;
	if (why == STATS_NEG_AUTH)
		st->mm.authentication_failures++;
}

void
stats_on_invalid_cookie(struct stats *st)
{
	st->mm.invalid_cookies_received++;
}

void
stats_on_get_spi(struct stats *st, bool ok)
{
	st->mm.total_get_spi++;
	if (!ok)
		st->mm.get_spi_failures++;
}

void
stats_on_sa_install(struct stats *st, enum stats_dir dir, bool ok)
{
	if (dir == STATS_OUTBOUND) {
		if (ok)
			st->mm.key_additions++;
		else
			st->mm.key_addition_failures++;
	} else {
		if (ok)
			st->mm.key_updates++;
		else
			st->mm.key_update_failures++;
	}
	if (ok)
		st->qm.key_additions++;
}

void
stats_on_mm_established(struct stats *st)
{
	st->mm.ike_main_mode++;
}

void
stats_on_qm_established(struct stats *st)
{
	st->mm.ike_quick_mode++;
}

void
stats_on_soft_sa(struct stats *st)
{
	st->mm.soft_associations++;
}

void
stats_on_invalid_packet(struct stats *st)
{
	st->mm.invalid_packets_received++;
}

void
stats_on_sa_deleted(struct stats *st)
{
	st->qm.key_deletions++;
}

void
stats_on_rekey(struct stats *st)
{
	st->qm.rekeys++;
}

void
stats_on_bad_spi(struct stats *st)
{
	st->qm.bad_spi_packets++;
}

void
stats_on_decrypt_failed(struct stats *st)
{
	st->qm.packets_not_decrypted++;
}

void
stats_on_icv_failed(struct stats *st)
{
	st->qm.packets_not_authenticated++;
}

void
stats_on_replay(struct stats *st)
{
	st->qm.packets_with_replay_detection++;
}

void
stats_on_packet(struct stats *st, enum stats_dir dir,
    const struct stats_sa_kind *kind, uint64_t bytes)
{
	struct ips_qm_stats *q = &st->qm;
	bool out = dir == STATS_OUTBOUND;

	if (kind->confidential)
		*(out ? &q->confidential_bytes_sent
		      : &q->confidential_bytes_received) += bytes;
	if (kind->authenticated)
		*(out ? &q->authenticated_bytes_sent
		      : &q->authenticated_bytes_received) += bytes;
	if (kind->tunnel)
		*(out ? &q->bytes_sent_in_tunnels
		      : &q->bytes_received_in_tunnels) += bytes;
	else
		*(out ? &q->transport_bytes_sent
		      : &q->transport_bytes_received) += bytes;
	if (kind->offloaded)
		*(out ? &q->offloaded_bytes_sent
		      : &q->offloaded_bytes_received) += bytes;
}
