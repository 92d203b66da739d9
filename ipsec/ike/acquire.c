/*
 * Acquires: the datapath asks for an SA pair that a negotiate filter needs
 * (what XFRM_MSG_ACQUIRE is to a kernel IKE daemon).  An acquire waits for
 * an ISAKMP SA with the peer (starting Main Mode if there is none), runs
 * one Quick Mode for its filter, and ends when that pair is installed or
 * the negotiation fails.  A peer that never answers Main Mode, under a
 * negotiation policy with "soft: yes", gets a soft SA: the filter's
 * traffic passes in clear while Main Mode goes on trying.
 *
 *   state        event                           next         counters
 *   (new)        ike_acquire, no ISAKMP SA      WAIT_MM      Total Acquire
 *   (new)        ike_acquire, ISAKMP SA up      QM           Total Acquire
 *   (any live)   same filter and peer again     (unchanged)  Total Acquire
 *   WAIT_MM      Main Mode established          QM
 *   WAIT_MM      silent peer, policy soft       WAIT_MM+soft Soft Assoc.
 *   WAIT_MM      Main Mode failed               ENDED        Acquire Fail.
 *   QM           pair installed                 ENDED
 *   QM           Quick Mode failed              ENDED        Acquire Fail.
 *                (not once fallen back to clear)
 *
 * Active Acquire counts live acquires that have not fallen back to clear;
 * Acquire Heap Size counts every record until the tick that frees it.
 * A soft acquire ends without counting a failure: clear traffic is what
 * its policy asked for when the peer is silent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ike_int.h"

/* The outbound specific filter that decides pkt's fate, or NULL. */
static const struct flt *
deciding_filter(const struct ike *ike, const struct ike_packet *pkt)
{
	const struct flt_set *fs = ike->pv.filters;
	const struct flt_qaddr src = {.kind = FLT_Q_ADDR, .addr = pkt->src};
	const struct flt_qaddr dst = {.kind = FLT_Q_ADDR, .addr = pkt->dst};
	size_t idx[64], n;

	if (fs == NULL)
		return NULL;
	n = flt_search(fs, FLT_QM, FLT_SPECIFIC, &src, &dst, ike->pv.host, idx,
	    sizeof(idx) / sizeof(idx[0]));
	if (n > sizeof(idx) / sizeof(idx[0]))
		n = sizeof(idx) / sizeof(idx[0]);
	/* Most specific first: the first whose protocol and ports fit. */
	for (size_t i = 0; i < n; i++) {
		const struct flt *f = flt_get(fs, FLT_QM, FLT_SPECIFIC, idx[i]);

		if (f->dir == FLT_DIR_INBOUND ||
		    (f->proto != 0 && f->proto != pkt->proto) ||
		    (f->sport != 0 && f->sport != pkt->sport) ||
		    (f->dport != 0 && f->dport != pkt->dport))
			continue;
		return f;
	}
	return NULL;
}

static bool
same_request(const struct ike_acq *a, const struct ike_acq *b)
{
	return strcmp(a->rule, b->rule) == 0 &&
	    ips_addr_cmp(&a->remote.addr, &b->remote.addr) == 0 &&
	    ips_aspec_cmp(&a->src, &b->src) == 0 &&
	    ips_aspec_cmp(&a->dst, &b->dst) == 0 && a->proto == b->proto &&
	    a->sport == b->sport && a->dport == b->dport;
}

/* An ISAKMP SA for the acquire's rule and peer: an established one (one
 * not being replaced first, but one that is still works), else (when
 * in_progress) one of ours still in Main Mode. */
static struct ike_sa *
sa_for(struct ike *ike, const struct ike_acq *a, bool in_progress)
{
	struct ike_sa *pending = NULL, *replacing = NULL;

	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		if (sa->state == IKE_SA_DEAD ||
		    strcmp(sa->rule, a->rule) != 0 ||
		    ips_addr_cmp(&sa->remote.addr, &a->remote.addr) != 0)
			continue;
		if (sa->state == IKE_SA_ESTABLISHED && !sa->rekeyed)
			return sa;
		if (sa->state == IKE_SA_ESTABLISHED)
			replacing = sa;
		else if (sa->role == IKE_INITIATOR)
			pending = sa;
	}
	if (replacing != NULL)
		return replacing;
	return in_progress ? pending : NULL;
}

static void
acq_end(struct ike *ike, struct ike_acq *a, bool ok, const char *why)
{
	char buf[IPS_ADDRSTRLEN];

	if (a->state == ACQ_ENDED)
		return;
	a->state = ACQ_ENDED;
	if (!ok && !a->soft)
		stats_on_acquire_failed(ike->stats);
	ips_log(ok ? IPS_LOG_INFO : IPS_LOG_NOTICE,
	    "ike: %s: acquire for %s %s", a->rule,
	    ips_addr_str(&a->remote.addr, buf, sizeof(buf)), why);
}

/* Start the acquire's Quick Mode on an established SA. */
static void
acq_start_qm(struct ike_sa *sa, struct ike_acq *a)
{
	const struct pol_rule *r = ike_rule_named(sa->ike, a->rule);

	a->state = ACQ_QM;
	if (r == NULL || r->filter_action->action != POL_ACTION_NEGOTIATE) {
		acq_end(sa->ike, a, false, "lost its rule");
		return;
	}
	/* On failure qm_for_acquire has ended the acquire already. */
	if (!ips_ok(qm_for_acquire(sa, r, a)))
		acq_end(sa->ike, a, false, "could not start Quick Mode");
}

bool
ike_outbound_action(const struct ike *ike, const struct ike_packet *pkt,
    enum pol_action *action)
{
	const struct flt *f = deciding_filter(ike, pkt);

	if (f != NULL)
		*action = f->outbound_action;
	return f != NULL;
}

ips_res
ike_acquire(struct ike *ike, const struct ike_packet *pkt)
{
	const struct flt *f;
	const struct pol_rule *r;
	struct ike_acq *a, *o;
	struct ike_sa *sa;
	ips_res res;

	stats_on_acquire(ike->stats);
	f = deciding_filter(ike, pkt);
	if (f == NULL || f->outbound_action != POL_ACTION_NEGOTIATE ||
	    f->rule->ike_policy == NULL) {
		stats_on_acquire_failed(ike->stats);
		BAIL(NOTFOUND);
	}
	r = f->rule;
	ENSURE((a = calloc(1, sizeof(*a))) != NULL, NOMEM);
	snprintf(a->rule, sizeof(a->rule), "%s", r->name);
	a->src = f->src;
	a->dst = f->dst;
	a->proto = f->proto;
	a->sport = f->sport;
	a->dport = f->dport;
	a->remote.port = a->local.port = IKE_PORT;
	a->remote.addr = r->tunnel ? r->tunnel_remote : pkt->dst;
	/* Transport: the packet leaves from our address; a tunnel speaks
	 * from its local endpoint, else from where the route says. */
	a->local.addr = pkt->src;
	if (r->tunnel && r->tunnel_local.kind == IPS_ASPEC_HOST)
		a->local.addr = r->tunnel_local.lo;
	else if (r->tunnel &&
	    (ike->ops->local_for == NULL ||
		!ike->ops->local_for(
		    ike->ctx, &a->remote.addr, &a->local.addr))) {
		free(a);
		stats_on_acquire_failed(ike->stats);
		BAIL(IO);
	}
	for (o = ike->acqs; o != NULL; o = o->next)
		if (o->state != ACQ_ENDED && same_request(o, a)) {
			free(a); /* coalesced: that one is on its way */
			return IPS_OK;
		}
	if (++ike->acq_last_id == 0) /* 0 tags no acquire */
		ike->acq_last_id = 1;
	a->id = ike->acq_last_id;
	a->started_ms = ike->ops->now_ms(ike->ctx);
	a->state = ACQ_WAIT_MM;
	a->next = ike->acqs;
	ike->acqs = a;
	if ((sa = sa_for(ike, a, true)) != NULL) {
		if (sa->state == IKE_SA_ESTABLISHED)
			acq_start_qm(sa, a);
		return IPS_OK; /* else it waits for that Main Mode */
	}
	res = ike_sa_initiate(ike, r, &a->local, &a->remote, false);
	if (!ips_ok(res))
		acq_end(ike, a, false, "could not start Main Mode");
	return res;
}

void
acq_mm_up(struct ike_sa *sa)
{
	for (struct ike_acq *a = sa->ike->acqs; a != NULL; a = a->next)
		if (a->state == ACQ_WAIT_MM && strcmp(a->rule, sa->rule) == 0 &&
		    ips_addr_cmp(&a->remote.addr, &sa->remote.addr) == 0)
			acq_start_qm(sa, a);
}

void
acq_mm_down(struct ike_sa *sa)
{
	for (struct ike_acq *a = sa->ike->acqs; a != NULL; a = a->next) {
		struct ike_sa *other;

		if (a->state != ACQ_WAIT_MM || strcmp(a->rule, sa->rule) != 0 ||
		    ips_addr_cmp(&a->remote.addr, &sa->remote.addr) != 0)
			continue;
		/* Another Main Mode with the peer may still make it. */
		other = sa_for(sa->ike, a, true);
		if (other == NULL || other == sa)
			acq_end(sa->ike, a, false, "failed in Main Mode");
	}
}

void
acq_qm_end(struct ike *ike, uint32_t id, bool ok)
{
	for (struct ike_acq *a = ike->acqs; a != NULL; a = a->next)
		if (a->id == id && a->state == ACQ_QM)
			acq_end(ike, a, ok,
			    ok ? "completed" : "failed in Quick Mode");
}

/* Windows' "fall back to clear": a silent peer under a soft policy. */
static void
acq_fall_back(struct ike *ike, struct ike_acq *a, uint64_t now)
{
	const struct pol_rule *r = ike_rule_named(ike, a->rule);
	const struct ike_sa *sa = sa_for(ike, a, true);
	struct sad_soft s;

	if (r == NULL || r->filter_action->neg_policy == NULL ||
	    !r->filter_action->neg_policy->soft || sa == NULL ||
	    sa->state != IKE_SA_MM_I1 ||
	    now - a->started_ms < IKE_SOFT_AFTER_MS)
		return;
	memset(&s, 0, sizeof(s));
	s.remote = a->remote.addr;
	s.src = a->src;
	s.dst = a->dst;
	s.proto = a->proto;
	s.sport = a->sport;
	s.dport = a->dport;
	memcpy(s.rule, a->rule, sizeof(s.rule));
	s.created_ms = now;
	s.expires_ms = now + IKE_SOFT_SA_LIFE_MS;
	if (!ips_ok(sad_add_soft(ike->sad, &s)))
		return; /* out of memory: try again on the next tick */
	a->soft = true;
	stats_on_soft_sa(ike->stats);
	ips_log(IPS_LOG_NOTICE,
	    "ike: %s: peer silent, falling back to clear (soft SA)", a->rule);
}

void
acq_tick(struct ike *ike, uint64_t now)
{
	struct ike_acq **pp = &ike->acqs, *a;

	while ((a = *pp) != NULL) {
		if (a->state == ACQ_ENDED) {
			*pp = a->next;
			free(a);
			continue;
		}
		if (a->state == ACQ_WAIT_MM && !a->soft)
			acq_fall_back(ike, a, now);
		pp = &a->next;
	}
	sad_soft_expire(ike->sad, now);
}

void
acq_free_all(struct ike *ike)
{
	while (ike->acqs != NULL) {
		struct ike_acq *a = ike->acqs;

		ike->acqs = a->next;
		free(a);
	}
}

size_t
ike_acquire_active(const struct ike *ike)
{
	size_t n = 0;

	for (const struct ike_acq *a = ike->acqs; a != NULL; a = a->next)
		n += a->state != ACQ_ENDED && !a->soft;
	return n;
}

size_t
ike_acquire_heap(const struct ike *ike)
{
	size_t n = 0;

	for (const struct ike_acq *a = ike->acqs; a != NULL; a = a->next)
		n++;
	return n;
}
