#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl_view.h"
#include "ike/proposal.h"
#include "wire/ike_wire.h"

/*
 * Every builder returns false only when the arena is exhausted; the
 * response then carries IPS_E_NOMEM instead of a partial view.
 */
static char *
dup(struct arena *a, const char *s)
{
	char *p = arena_strdup(a, s != NULL ? s : "");

	return p != NULL ? p : (char *)"";
}

static char *
aspec_text(struct arena *a, const struct ips_aspec *sp)
{
	char buf[IPS_ASPECSTRLEN];

	return dup(a, ips_aspec_str(sp, buf, sizeof(buf)));
}

static bool
view_policy(
    const struct ctl_view_src *src, Ipsm__Response *resp, struct arena *a)
{
	const struct pol_meta *m = policy_meta(src->policy);
	Ipsm__PolicyView *v = arena_alloc(a, sizeof(*v));

	if (v == NULL)
		return false;
	ipsm__policy_view__init(v);
	v->name = dup(a, m->name);
	v->description = dup(a, m->description);
	v->last_modified = (int64_t)m->last_modified;
	v->store = dup(a, pol_store_name(m->store));
	v->path = dup(a, m->path);
	v->organizational_unit = dup(a, m->ou);
	v->group_policy_object = dup(a, m->gpo);
	v->rules = (uint32_t)policy_nrules(src->policy);
	v->loaded_at = (int64_t)src->loaded_at;
	v->dynamic_changes = src->dynamic_changes;
	resp->view_case = IPSM__RESPONSE__VIEW_POLICY;
	resp->policy = v;
	return true;
}

static bool
auth_list(const struct pol_rule *r, Ipsm__Filter *f, struct arena *a)
{
	f->n_authentication = r->nauth;
	f->authentication =
	    arena_calloc(a, r->nauth ? r->nauth : 1, sizeof(char *));
	if (f->authentication == NULL)
		return false;
	for (size_t i = 0; i < r->nauth; i++) {
		char buf[320];

		f->authentication[i] =
		    dup(a, pol_auth_text(&r->auth[i], buf, sizeof(buf)));
	}
	return true;
}

static Ipsm__Filter *
filter_msg(
    const struct flt *x, enum flt_mode m, enum flt_type t, struct arena *a)
{
	Ipsm__Filter *f = arena_alloc(a, sizeof(*f));
	const struct pol_rule *r = x->rule;
	char pbuf[8];

	if (f == NULL)
		return NULL;
	ipsm__filter__init(f);
	f->name = dup(a, x->name);
	f->rule = dup(a, r->name);
	f->src = aspec_text(a, &x->src);
	f->dst = aspec_text(a, &x->dst);
	f->direction = dup(a, flt_dir_name(x->dir));
	f->mirrored = t == FLT_GENERIC && x->mirrored;
	f->weight = t == FLT_SPECIFIC ? x->weight : 0;
	f->connection_type = dup(a, pol_conn_name(r->conn));
	if (m == FLT_MM) {
		f->protocol = dup(a, "");
		f->ike_policy =
		    dup(a, r->ike_policy ? r->ike_policy->name : "");
		f->negotiation_policy = dup(a, "");
		f->inbound_action = dup(a, "");
		f->outbound_action = dup(a, "");
		f->tunnel_src = dup(a, "");
		f->tunnel_dst = dup(a, "");
		if (!auth_list(r, f, a))
			return NULL;
		return f;
	}
	f->protocol = dup(a, pol_proto_name(x->proto, pbuf, sizeof(pbuf)));
	f->src_port = x->sport;
	f->dst_port = x->dport;
	f->tunnel = x->tunnel;
	f->tunnel_src = x->tunnel ? aspec_text(a, &x->tunnel_src) : dup(a, "");
	f->tunnel_dst = x->tunnel ? aspec_text(a, &x->tunnel_dst) : dup(a, "");
	f->inbound_action = dup(a, pol_action_name(x->inbound_action));
	f->outbound_action = dup(a, pol_action_name(x->outbound_action));
	f->ike_policy = dup(a, "");
	f->negotiation_policy = dup(a,
	    r->filter_action->neg_policy ? r->filter_action->neg_policy->name
					 : "");
	return f;
}

static bool
parse_qaddr(const Ipsm__AddrQuery *q, struct flt_qaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (q == NULL || q->kind == IPSM__ADDR_QUERY__KIND__ANY) {
		out->kind = FLT_Q_ANY;
		return true;
	}
	if (q->kind == IPSM__ADDR_QUERY__KIND__ME) {
		out->kind = FLT_Q_ME;
		return true;
	}
	out->kind = FLT_Q_ADDR;
	if (q->kind != IPSM__ADDR_QUERY__KIND__ADDR ||
	    !ips_addr_parse(q->addr, &out->addr) ||
	    q->plen > ips_addr_bits(out->addr.af))
		return false;
	if (q->plen != 0 && q->plen < ips_addr_bits(out->addr.af)) {
		out->kind = FLT_Q_PREFIX;
		out->prefix = ips_aspec_prefix_of(&out->addr, q->plen);
	}
	return true;
}

static bool
view_filters(const struct ctl_view_src *src, const Ipsm__ShowFilters *q,
    Ipsm__Response *resp, struct arena *a)
{
	enum flt_mode m =
	    q->mode == IPSM__FILTER_MODE__QUICK_MODE ? FLT_QM : FLT_MM;
	enum flt_type t =
	    q->type == IPSM__FILTER_TYPE__SPECIFIC ? FLT_SPECIFIC : FLT_GENERIC;
	size_t total = flt_count(src->filters, m, t), n;
	uint8_t proto = 0;
	struct flt_qaddr qs, qd;
	Ipsm__FilterView *v;
	size_t *idx;

	if (!parse_qaddr(q->src, &qs) || !parse_qaddr(q->dst, &qd)) {
		resp->status = IPS_E_INVAL;
		resp->error = dup(a,
		    "srcaddr/dstaddr must be any, me or an IP "
		    "address");
		return true;
	}
	if ((v = arena_alloc(a, sizeof(*v))) == NULL ||
	    (idx = arena_calloc(a, total ? total : 1, sizeof(*idx))) == NULL)
		return false;
	ipsm__filter_view__init(v);
	v->mode = q->mode;
	v->type = q->type;
	if (q->protocol != NULL && *q->protocol != '\0' &&
	    !pol_proto_parse(q->protocol, &proto)) {
		resp->status = IPS_E_INVAL;
		resp->error = dup(a,
		    "protocol must be any, icmp, tcp, udp, ipv6-icmp or "
		    "0-255");
		return true;
	}
	n = flt_search(src->filters, m, t, &qs, &qd, src->host, idx, total);
	v->filters = arena_calloc(a, n ? n : 1, sizeof(*v->filters));
	if (v->filters == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct flt *f = flt_get(src->filters, m, t, idx[i]);

		/* the traffic searched for: a filter's "any" covers it */
		if ((proto != 0 && f->proto != 0 && f->proto != proto) ||
		    (q->src_port != 0 && f->sport != 0 &&
			f->sport != q->src_port) ||
		    (q->dst_port != 0 && f->dport != 0 &&
			f->dport != q->dst_port))
			continue;
		if ((v->filters[v->n_filters] = filter_msg(f, m, t, a)) == NULL)
			return false;
		v->n_filters++;
	}
	resp->view_case = IPSM__RESPONSE__VIEW_FILTERS;
	resp->filters = v;
	return true;
}

static bool
view_mmpolicy(
    const struct ctl_view_src *src, Ipsm__Response *resp, struct arena *a)
{
	size_t n = policy_nike_policies(src->policy);
	Ipsm__MmPolicyView *v = arena_alloc(a, sizeof(*v));

	if (v == NULL)
		return false;
	ipsm__mm_policy_view__init(v);
	if ((v->policies = arena_calloc(a, n ? n : 1, sizeof(void *))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct pol_ike_policy *ip =
		    policy_ike_policy(src->policy, i);
		Ipsm__MmPolicy *mp = arena_alloc(a, sizeof(*mp));

		if (mp == NULL)
			return false;
		ipsm__mm_policy__init(mp);
		mp->offers = arena_calloc(a, ip->noffers, sizeof(void *));
		if (mp->offers == NULL)
			return false;
		mp->name = dup(a, ip->name);
		for (size_t j = 0; j < ip->noffers; j++) {
			const struct pol_mm_offer *o = &ip->offers[j];
			Ipsm__MmOffer *mo = arena_alloc(a, sizeof(*mo));

			if (mo == NULL)
				return false;
			ipsm__mm_offer__init(mo);
			mo->encryption = dup(a, ips_ike_encr_name(o->encr));
			mo->integrity = dup(a, ips_ike_hash_name(o->hash));
			mo->dh_group = o->dh_group;
			mo->dh_name = dup(a, ips_dh_group_name(o->dh_group));
			mo->lifetime_s = o->lifetime_s;
			mo->qm_limit = o->qm_limit;
			mp->offers[j] = mo;
		}
		mp->n_offers = ip->noffers;
		v->policies[i] = mp;
	}
	v->n_policies = n;
	resp->view_case = IPSM__RESPONSE__VIEW_MMPOLICY;
	resp->mmpolicy = v;
	return true;
}

static bool
view_qmpolicy(
    const struct ctl_view_src *src, Ipsm__Response *resp, struct arena *a)
{
	size_t n = policy_nneg_policies(src->policy);
	Ipsm__QmPolicyView *v = arena_alloc(a, sizeof(*v));

	if (v == NULL)
		return false;
	ipsm__qm_policy_view__init(v);
	if ((v->policies = arena_calloc(a, n ? n : 1, sizeof(void *))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct pol_neg_policy *np =
		    policy_neg_policy(src->policy, i);
		Ipsm__QmPolicy *qp = arena_alloc(a, sizeof(*qp));

		if (qp == NULL)
			return false;
		ipsm__qm_policy__init(qp);
		qp->offers = arena_calloc(a, np->noffers, sizeof(void *));
		if (qp->offers == NULL)
			return false;
		qp->name = dup(a, np->name);
		qp->pfs_group = np->pfs_group;
		qp->soft = np->soft;
		for (size_t j = 0; j < np->noffers; j++) {
			const struct pol_qm_offer *o = &np->offers[j];
			Ipsm__QmOffer *qo = arena_alloc(a, sizeof(*qo));

			if (qo == NULL)
				return false;
			ipsm__qm_offer__init(qo);
			qo->ah =
			    dup(a, o->ah ? ips_integ_name(o->ah_integ) : "");
			qo->esp_encryption = dup(
			    a, o->esp ? ips_esp_encr_name(o->esp_encr) : "");
			qo->esp_integrity =
			    dup(a, o->esp ? ips_integ_name(o->esp_integ) : "");
			qo->lifetime_s = o->lifetime_s;
			qo->lifetime_kb = o->lifetime_kb;
			qp->offers[j] = qo;
		}
		qp->n_offers = np->noffers;
		v->policies[i] = qp;
	}
	v->n_policies = n;
	resp->view_case = IPSM__RESPONSE__VIEW_QMPOLICY;
	resp->qmpolicy = v;
	return true;
}

static Ipsm__Stat **
stat_list(
    const struct stats_desc *d, size_t n, const void *base, struct arena *a)
{
	Ipsm__Stat **list = arena_calloc(a, n, sizeof(*list));

	if (list == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		Ipsm__Stat *s = arena_alloc(a, sizeof(*s));

		if (s == NULL)
			return NULL;
		ipsm__stat__init(s);
		s->key = (char *)d[i].key;
		s->name = (char *)d[i].name;
		s->gauge = d[i].kind == STATS_GAUGE;
		memcpy(&s->value, (const char *)base + d[i].offset,
		    sizeof(s->value));
		list[i] = s;
	}
	return list;
}

static bool
view_stats(
    const struct ctl_view_src *src, Ipsm__Response *resp, struct arena *a)
{
	Ipsm__StatsView *v = arena_alloc(a, sizeof(*v));
	const struct stats_desc *d;
	size_t n;

	if (v == NULL)
		return false;
	ipsm__stats_view__init(v);
	d = stats_mm_desc(&n);
	if ((v->main_mode = stat_list(d, n, src->mm, a)) == NULL)
		return false;
	v->n_main_mode = n;
	d = stats_qm_desc(&n);
	if ((v->quick_mode = stat_list(d, n, src->qm, a)) == NULL)
		return false;
	v->n_quick_mode = n;
	v->discontinuity_time = (int64_t)src->discontinuity;
	resp->view_case = IPSM__RESPONSE__VIEW_STATS;
	resp->stats = v;
	return true;
}

static char *
endpoint_text(struct arena *a, const struct ike_endpoint *ep)
{
	char buf[IPS_ADDRSTRLEN + 8];

	return dup(a, ips_addr_port_str(&ep->addr, ep->port, buf, sizeof(buf)));
}

/* An SA's address against a query: any, one of ours, or that address
 * (exactly, or inside a selector). */
static bool
addr_matches(const struct flt_qaddr *q, const struct ctl_view_src *src,
    const struct ips_addr *a, const struct ips_aspec *sel)
{
	size_t n;

	switch (q->kind) {
	case FLT_Q_ANY:
		return true;
	case FLT_Q_ADDR:
		return sel != NULL ? ips_aspec_contains(sel, &q->addr)
				   : ips_addr_cmp(a, &q->addr) == 0;
	case FLT_Q_PREFIX:
		return sel != NULL ? ips_aspec_overlaps(sel, &q->prefix)
				   : ips_aspec_contains(&q->prefix, a);
	default: /* me */
		if (sel == NULL)
			return hostenv_contains(src->host, HOSTENV_LOCAL, a);
		n = hostenv_count(src->host, HOSTENV_LOCAL);
		for (size_t i = 0; i < n; i++)
			if (ips_aspec_contains(
				sel, hostenv_get(src->host, HOSTENV_LOCAL, i)))
				return true;
		return false;
	}
}

/* The SA views' srcaddr=/dstaddr=; false (and resp says why) if bad. */
static bool
sa_queries(const Ipsm__AddrQuery *s, const Ipsm__AddrQuery *d,
    struct flt_qaddr *qs, struct flt_qaddr *qd, Ipsm__Response *resp,
    struct arena *a)
{
	if (parse_qaddr(s, qs) && parse_qaddr(d, qd))
		return true;
	resp->status = IPS_E_INVAL;
	resp->error =
	    dup(a, "srcaddr/dstaddr must be any, me or an IP address");
	return false;
}

static bool
view_mmsas(const struct ctl_view_src *src, const Ipsm__ShowMmSas *q,
    Ipsm__Response *resp, struct arena *a)
{
	Ipsm__MmSaView *v = arena_alloc(a, sizeof(*v));
	struct flt_qaddr qs, qd;
	size_t n = 0;

	if (!sa_queries(
		q ? q->src : NULL, q ? q->dst : NULL, &qs, &qd, resp, a))
		return true;
	if (v == NULL)
		return false;
	ipsm__mm_sa_view__init(v);
	v->sas = arena_calloc(a, src->nmmsas ? src->nmmsas : 1, sizeof(void *));
	if (v->sas == NULL)
		return false;
	for (size_t i = 0; i < src->nmmsas; i++) {
		const struct ike_sa_info *s = &src->mmsas[i];
		Ipsm__MmSa *m;
		char ck[IKE_COOKIES_TEXT], eb[32];

		if (!addr_matches(&qs, src, &s->local.addr, NULL) ||
		    !addr_matches(&qd, src, &s->remote.addr, NULL))
			continue;
		if ((m = arena_alloc(a, sizeof(*m))) == NULL)
			return false;
		ipsm__mm_sa__init(m);
		m->me = endpoint_text(a, &s->local);
		m->peer = endpoint_text(a, &s->remote);
		ike_cookies_text(s->cky_i, s->cky_r, ck);
		m->cookies = dup(a, ck);
		m->role = dup(a, s->initiator ? "initiator" : "responder");
		m->state = dup(a, ike_sa_state_name(s->state));
		m->rule = dup(a, s->rule);
		m->authentication = dup(a, ike_auth_method_text(s->auth));
		m->encryption =
		    dup(a, ike_encr_text(s->encr, s->keybits, eb, sizeof(eb)));
		m->integrity = dup(a, ike_hash_text(s->hash));
		m->dh_group = s->group;
		m->dh_name = dup(a, ips_dh_group_name(s->group));
		m->lifetime_s = s->lifetime_s;
		m->age_s = s->age_ms / 1000;
		m->nat = s->nat;
		m->peer_identity = dup(a, s->peer_identity);
		v->sas[n++] = m;
	}
	v->n_sas = n;
	resp->view_case = IPSM__RESPONSE__VIEW_MMSAS;
	resp->mmsas = v;
	return true;
}

static char *
spi_text(struct arena *a, uint32_t spi)
{
	char buf[12];

	snprintf(buf, sizeof(buf), "%08x", spi);
	return dup(a, buf);
}

/* One row per pair: an outbound SA and the inbound one it pairs with. */
static int
by_spi(const void *a, const void *b)
{
	uint32_t x = (*(const struct sad_info *const *)a)->spi;
	uint32_t y = (*(const struct sad_info *const *)b)->spi;

	return x < y ? -1 : x > y;
}

static bool
view_qmsas(const struct ctl_view_src *src, const Ipsm__ShowQmSas *qq,
    Ipsm__Response *resp, struct arena *a)
{
	Ipsm__QmSaView *v = arena_alloc(a, sizeof(*v));
	const struct sad_info **ins, **outs;
	size_t n = 0, nin = 0, nout = 0;
	struct flt_qaddr qs, qd;
	uint8_t proto = 0;
	bool any_proto = qq == NULL || qq->protocol == NULL ||
	    *qq->protocol == '\0' || strcmp(qq->protocol, "any") == 0;

	if (!sa_queries(
		qq ? qq->src : NULL, qq ? qq->dst : NULL, &qs, &qd, resp, a))
		return true;
	if (!any_proto && !pol_proto_parse(qq->protocol, &proto)) {
		resp->status = IPS_E_INVAL;
		resp->error = dup(a,
		    "protocol must be any, icmp, tcp, udp, ipv6-icmp or "
		    "0-255");
		return true;
	}
	if (v == NULL)
		return false;
	ipsm__qm_sa_view__init(v);
	v->sas = arena_calloc(a, src->nqmsas + src->nsofts + 1, sizeof(void *));
	ins = arena_calloc(a, src->nqmsas ? src->nqmsas : 1, sizeof(*ins));
	if (v->sas == NULL || ins == NULL)
		return false;
	/*
	 * A row per pair, both halves keyed, by inbound SPI: the rows and
	 * the order of the MIB's ipsmQmSaTable, so that `--host` shows the
	 * same.  Outbound SAs are looked up by SPI: O(n log n) in all.
	 */
	outs = arena_calloc(a, src->nqmsas ? src->nqmsas : 1, sizeof(*outs));
	if (outs == NULL)
		return false;
	for (size_t i = 0; i < src->nqmsas; i++) {
		if (src->qmsas[i].state != SAD_MATURE)
			continue;
		if (src->qmsas[i].dir == SAD_INBOUND)
			ins[nin++] = &src->qmsas[i];
		else
			outs[nout++] = &src->qmsas[i];
	}
	qsort(ins, nin, sizeof(*ins), by_spi);
	qsort(outs, nout, sizeof(*outs), by_spi);
	for (size_t i = 0; i < nin; i++) {
		const struct sad_info *in = ins[i], *o;
		const struct sad_info key = {.spi = in->pair_spi}, *kp = &key,
				      **hit;
		const struct sad_params *p;
		Ipsm__QmSa *q;
		char pb[8], eb[32];
		struct ike_endpoint tme, tpeer;
		uint64_t last;

		hit = bsearch(&kp, outs, nout, sizeof(*outs), by_spi);
		if (hit == NULL)
			continue;
		o = *hit;
		p = &o->p;
		if (!addr_matches(&qs, src, NULL, &p->src) ||
		    !addr_matches(&qd, src, NULL, &p->dst) ||
		    (!any_proto && p->sel_proto != proto))
			continue;
		tme = (struct ike_endpoint){p->local, p->local_port};
		tpeer = (struct ike_endpoint){p->remote, p->remote_port};
		if ((q = arena_alloc(a, sizeof(*q))) == NULL)
			return false;
		ipsm__qm_sa__init(q);
		q->rule = dup(a, p->rule);
		q->me = aspec_text(a, &p->src);
		q->peer = aspec_text(a, &p->dst);
		q->protocol =
		    dup(a, pol_proto_name(p->sel_proto, pb, sizeof(pb)));
		q->my_port = p->sel_sport;
		q->peer_port = p->sel_dport;
		q->mode = dup(a, ike_encap_text(p->encap));
		q->tunnel_me = endpoint_text(a, &tme);
		q->tunnel_peer = endpoint_text(a, &tpeer);
		q->ipsec_protocol = dup(a, isakmp_proto_name(p->proto));
		q->inbound_spi = spi_text(a, o->pair_spi);
		q->outbound_spi = spi_text(a, o->spi);
		q->encryption = dup(a,
		    p->proto == ISAKMP_PROTO_ESP
			? ike_esp_encr_text(
			      p->transform, p->keybits, eb, sizeof(eb))
			: "");
		q->integrity = dup(a, ike_ipsec_auth_text(p->auth));
		q->pfs_group = p->pfs_group;
		q->lifetime_s = p->life_s;
		q->lifetime_kb = p->life_kb;
		q->age_s = (src->now_ms - o->created_ms) / 1000;
		q->bytes_out = o->bytes;
		q->packets_out = o->packets;
		q->esn = p->esn;
		last = o->packets != 0 ? o->last_use_ms : 0;
		q->replay_window = in->p.replay_window;
		if (in->packets != 0 && in->last_use_ms > last)
			last = in->last_use_ms;
		q->idle_s = last != 0 && src->now_ms >= last
		    ? (int64_t)((src->now_ms - last) / 1000)
		    : -1;
		q->bytes_in = in->bytes;
		q->packets_in = in->packets;
		q->replay_drops = in->replay_drops;
		q->icv_failures = in->icv_failures;
		v->sas[n++] = q;
	}
	for (size_t i = 0; i < src->nsofts; i++) {
		const struct sad_soft *s = &src->softs[i];
		struct ike_endpoint tpeer = {s->remote, 0};
		char pb[8];
		Ipsm__QmSa *q;

		if (!addr_matches(&qs, src, NULL, &s->src) ||
		    !addr_matches(&qd, src, NULL, &s->dst) ||
		    (!any_proto && s->proto != proto))
			continue;
		if ((q = arena_alloc(a, sizeof(*q))) == NULL)
			return false;
		ipsm__qm_sa__init(q);
		q->soft = true;
		q->idle_s = -1;
		q->rule = dup(a, s->rule);
		q->me = aspec_text(a, &s->src);
		q->peer = aspec_text(a, &s->dst);
		q->protocol = dup(a, pol_proto_name(s->proto, pb, sizeof(pb)));
		q->my_port = s->sport;
		q->peer_port = s->dport;
		q->mode = dup(a, CTL_SOFT_MODE);
		q->tunnel_me = dup(a, "");
		q->tunnel_peer = endpoint_text(a, &tpeer);
		q->ipsec_protocol = dup(a, "none");
		q->inbound_spi = dup(a, "");
		q->outbound_spi = dup(a, "");
		q->encryption = dup(a, "");
		q->integrity = dup(a, CTL_SOFT_INTEGRITY);
		q->lifetime_s = s->expires_ms > src->now_ms
		    ? (uint32_t)((s->expires_ms - src->now_ms) / 1000)
		    : 0;
		q->age_s = (src->now_ms - s->created_ms) / 1000;
		v->sas[n++] = q;
	}
	v->n_sas = n;
	resp->view_case = IPSM__RESPONSE__VIEW_QMSAS;
	resp->qmsas = v;
	return true;
}

static bool
view_config(
    const struct ctl_view_src *src, Ipsm__Response *resp, struct arena *a)
{
	Ipsm__ConfigView *v;

	if (src->settings == NULL) {
		resp->status = IPS_E_INVAL;
		resp->error = (char *)"no settings here";
		return true;
	}
	if ((v = arena_alloc(a, sizeof(*v))) == NULL)
		return false;
	ipsm__config_view__init(v);
	v->settings = arena_calloc(a, SETTINGS_N, sizeof(void *));
	if (v->settings == NULL)
		return false;
	for (size_t i = 0; i < SETTINGS_N; i++) {
		const struct settings_desc *d = settings_desc(i);
		Ipsm__Setting *s = arena_alloc(a, sizeof(*s));

		if (s == NULL)
			return false;
		ipsm__setting__init(s);
		s->key = (char *)d->name;
		s->value = src->settings->v[i];
		s->min = d->min;
		s->max = d->max;
		s->default_value = d->def;
		s->meaning = (char *)d->meaning;
		v->settings[i] = s;
	}
	v->n_settings = SETTINGS_N;
	v->path = dup(a, src->settings_path);
	resp->view_case = IPSM__RESPONSE__VIEW_CONFIG;
	resp->config = v;
	return true;
}

struct event_list {
	struct arena *a;
	Ipsm__Event **v;
	size_t n, cap;
	bool nomem;
};

static void
add_event(void *ctx, uint64_t seq, const char *json)
{
	struct event_list *l = ctx;
	Ipsm__Event *e;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		Ipsm__Event **v = arena_calloc(l->a, cap, sizeof(*v));

		if (v == NULL) {
			l->nomem = true;
			return;
		}
		if (l->n > 0)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	if ((e = arena_alloc(l->a, sizeof(*e))) == NULL) {
		l->nomem = true;
		return;
	}
	ipsm__event__init(e);
	e->seq = seq;
	e->json = dup(l->a, json);
	l->v[l->n++] = e;
}

static bool
view_events(const struct ctl_view_src *src, const Ipsm__ShowEvents *q,
    Ipsm__Response *resp, struct arena *a)
{
	struct event_list l = {a, NULL, 0, 0, false};
	struct audit_query aq = {q->after, q->since_ms, q->id, NULL, q->max};
	struct ips_addr peer;
	Ipsm__EventsView *v;

	if (q->peer != NULL && *q->peer != '\0') {
		if (!ips_addr_parse(q->peer, &peer)) {
			resp->status = IPS_E_INVAL;
			resp->error = dup(a, "peer= must be an IP address");
			return true;
		}
		aq.peer = &peer;
	}
	if ((v = arena_alloc(a, sizeof(*v))) == NULL)
		return false;
	ipsm__events_view__init(v);
	if (src->events != NULL)
		v->last = audit_ring_query(src->events, &aq, add_event, &l);
	if (l.nomem)
		return false;
	v->events = l.v;
	v->n_events = l.n;
	resp->view_case = IPSM__RESPONSE__VIEW_EVENTS;
	resp->events = v;
	return true;
}

void
ctl_view_build(const struct ctl_view_src *src, const Ipsm__Request *req,
    Ipsm__Response *resp, struct arena *a)
{
	bool ok;

	switch (req->op_case) {
	case IPSM__REQUEST__OP_SHOW_POLICY:
		ok = view_policy(src, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_FILTERS:
		ok = view_filters(src, req->show_filters, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_MMPOLICY:
		ok = view_mmpolicy(src, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_QMPOLICY:
		ok = view_qmpolicy(src, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_STATS:
		ok = view_stats(src, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_MMSAS:
		ok = view_mmsas(src, req->show_mmsas, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_QMSAS:
		ok = view_qmsas(src, req->show_qmsas, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_EVENTS:
		ok = view_events(src, req->show_events, resp, a);
		break;
	case IPSM__REQUEST__OP_SHOW_CONFIG:
	case IPSM__REQUEST__OP_SET_CONFIG: /* applied by now: the result */
		ok = view_config(src, resp, a);
		break;
	default:
		resp->status = IPS_E_INVAL;
		resp->error = (char *)"not a view request";
		return;
	}
	if (!ok) {
		resp->view_case = IPSM__RESPONSE__VIEW__NOT_SET;
		resp->status = IPS_E_NOMEM;
		resp->error = (char *)"out of memory";
	}
}
