#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/grow.h"
#include "filter.h"

struct flt_vec {
	struct flt *v;
	size_t n, cap;
};

struct flt_set {
	struct arena *arena; /* names */
	struct flt_vec view[2][2]; /* [mode][type] */
};

const char *
flt_dir_name(enum flt_dir d)
{
	switch (d) {
	case FLT_DIR_OUTBOUND:
		return "outbound";
	case FLT_DIR_INBOUND:
		return "inbound";
	default:
		return "both";
	}
}

static ips_res
vec_push(struct flt_vec *fv, const struct flt *f)
{
	struct flt *nv = ips_grow(fv->v, fv->n, &fv->cap, sizeof(*nv));

	ENSURE(nv != NULL, NOMEM);
	fv->v = nv;
	fv->v[fv->n++] = *f;
	return IPS_OK;
}

void
flt_set_free(struct flt_set *fs)
{
	if (fs == NULL)
		return;
	for (int m = 0; m < 2; m++)
		for (int t = 0; t < 2; t++)
			free(fs->view[m][t].v);
	arena_free(fs->arena);
	free(fs);
}

/*
 * Weight of a specific filter: bigger wins.  Address specificity dominates
 * (source and destination on a common 0..128 scale each), then a named
 * protocol, then the number of named ports; among filters equal in all of
 * those, an explicit block beats an explicit permit beats negotiate, so an
 * exemption written next to a negotiate rule takes effect.
 */
static uint32_t
flt_weight(const struct flt *f, enum flt_mode m)
{
	uint32_t w =
	    (ips_aspec_specificity(&f->src) + ips_aspec_specificity(&f->dst))
	    << 8;

	if (m == FLT_MM)
		return w;
	if (f->proto != POL_PROTO_ANY)
		w |= 1u << 7;
	/* Each named port counts the same, so both halves of a mirrored
	 * filter weigh alike. */
	w |= (uint32_t)((f->sport != 0) + (f->dport != 0)) << 5;
	if (f->outbound_action == POL_ACTION_BLOCK)
		w |= 2;
	else if (f->outbound_action == POL_ACTION_PERMIT)
		w |= 1;
	return w;
}

/*
 * What one end of a filter stands for on this host: either one spec as
 * written, or the addresses of a host set, optionally only those inside a
 * spec (our addresses within a prefix, say).  Iterated in place, so no
 * host is too big for it.
 */
struct spec_list {
	const struct hostenv *h;
	enum hostenv_set set;
	bool from_host; /* iterate the host set, else the single spec */
	const struct ips_aspec *keep; /* from_host: keep addresses in it */
	struct ips_aspec single;
};

/* Whether a host address belongs to the list's filter. */
static bool
sl_keeps(const struct spec_list *sl, const struct ips_addr *a)
{
	const struct ips_aspec *k = sl->keep;

	if (k == NULL || k->kind == IPS_ASPEC_ME)
		return true;
	if (k->kind == IPS_ASPEC_DNS)
		return hostenv_contains(sl->h, HOSTENV_DNS, a);
	if (k->kind == IPS_ASPEC_GATEWAY)
		return hostenv_contains(sl->h, HOSTENV_GATEWAY, a);
	return ips_aspec_contains(k, a);
}

/* The element at or after *pos (advancing *pos to it); false at the end. */
static bool
sl_at(const struct spec_list *sl, size_t *pos, struct ips_aspec *out)
{
	if (!sl->from_host) {
		*out = sl->single;
		return *pos == 0;
	}
	for (; *pos < hostenv_count(sl->h, sl->set); (*pos)++) {
		const struct ips_addr *a = hostenv_get(sl->h, sl->set, *pos);

		if (sl_keeps(sl, a)) {
			*out = ips_aspec_host(a);
			return true;
		}
	}
	return false;
}

/* Every concrete spec a filter end stands for. */
static void
expand_all(
    const struct ips_aspec *sp, const struct hostenv *h, struct spec_list *out)
{
	out->h = h;
	out->keep = NULL;
	out->from_host = true;
	switch (sp->kind) {
	case IPS_ASPEC_ME:
		out->set = HOSTENV_LOCAL;
		break;
	case IPS_ASPEC_DNS:
		out->set = HOSTENV_DNS;
		break;
	case IPS_ASPEC_GATEWAY:
		out->set = HOSTENV_GATEWAY;
		break;
	default:
		out->from_host = false;
		out->single = *sp;
		break;
	}
}

/* The host's own addresses within a filter end, each as a host spec. */
static void
expand_local(
    const struct ips_aspec *sp, const struct hostenv *h, struct spec_list *out)
{
	out->h = h;
	out->set = HOSTENV_LOCAL;
	out->from_host = true;
	out->keep = sp;
}

static bool
family_ok(const struct ips_aspec *a, const struct ips_aspec *b)
{
	int fa = ips_aspec_family(a), fb = ips_aspec_family(b);

	return fa == 0 || fb == 0 || fa == fb;
}

static bool
both_local(const struct ips_aspec *a, const struct ips_aspec *b,
    const struct hostenv *h)
{
	return a->kind == IPS_ASPEC_HOST && b->kind == IPS_ASPEC_HOST &&
	    hostenv_contains(h, HOSTENV_LOCAL, &a->lo) &&
	    hostenv_contains(h, HOSTENV_LOCAL, &b->lo);
}

static bool
same_specific(const struct flt *a, const struct flt *b)
{
	return a->rule == b->rule && a->dir == b->dir && a->proto == b->proto &&
	    a->sport == b->sport && a->dport == b->dport &&
	    ips_aspec_cmp(&a->src, &b->src) == 0 &&
	    ips_aspec_cmp(&a->dst, &b->dst) == 0;
}

/* Add a specific filter unless an identical one came from the same rule. */
static ips_res
emit(struct flt_vec *fv, size_t first, const struct flt *f)
{
	for (size_t i = first; i < fv->n; i++)
		if (same_specific(&fv->v[i], f))
			return IPS_OK;
	return vec_push(fv, f);
}

/*
 * One specific filter (a copy of *f) per pair of a x b, skipping pairs of
 * different families and, in transport mode, pairs of two of our own
 * addresses: that traffic never leaves the host.
 */
static ips_res
emit_pairs(struct flt_vec *fv, size_t first, struct flt *f,
    const struct spec_list *a, const struct spec_list *b, enum flt_mode m,
    const struct hostenv *h)
{
	bool transport = m == FLT_MM || !f->tunnel;

	for (size_t i = 0; sl_at(a, &i, &f->src); i++) {
		for (size_t j = 0; sl_at(b, &j, &f->dst); j++) {
			if (!family_ok(&f->src, &f->dst) ||
			    (transport && both_local(&f->src, &f->dst, h)))
				continue;
			f->weight = flt_weight(f, m);
			GUARD(emit(fv, first, f));
		}
	}
	return IPS_OK;
}

/*
 * Expand one direction of a filter (g with src/dst possibly swapped) into
 * specific filters.  In transport mode (and for Main Mode) this host is one
 * end: outbound filters start at one of its addresses, inbound ones end at
 * one.  In tunnel mode the selectors are the networks behind the gateways
 * and are taken as written; the tunnel endpoints say who carries them.
 */
static ips_res
expand_direction(struct flt_vec *fv, size_t first, const struct flt *g,
    const struct ips_aspec *src, const struct ips_aspec *dst, bool swapped,
    enum flt_mode m, const struct hostenv *h)
{
	struct spec_list a, b;
	struct flt f = *g;

	f.mirrored = false;
	if (swapped) {
		f.sport = g->dport;
		f.dport = g->sport;
	}
	if (m == FLT_QM && g->tunnel) {
		f.dir = swapped ? FLT_DIR_INBOUND : FLT_DIR_OUTBOUND;
		f.tunnel_src = swapped ? g->tunnel_dst : g->tunnel_src;
		f.tunnel_dst = swapped ? g->tunnel_src : g->tunnel_dst;
		expand_all(src, h, &a);
		expand_all(dst, h, &b);
		return emit_pairs(fv, first, &f, &a, &b, m, h);
	}
	/* Outbound: from each of our addresses in src. */
	f.dir = FLT_DIR_OUTBOUND;
	expand_local(src, h, &a);
	expand_all(dst, h, &b);
	GUARD(emit_pairs(fv, first, &f, &a, &b, m, h));
	/* Inbound: to each of our addresses in dst. */
	f.dir = FLT_DIR_INBOUND;
	expand_all(src, h, &a);
	expand_local(dst, h, &b);
	return emit_pairs(fv, first, &f, &a, &b, m, h);
}

/* Expand a generic filter; first is where its rule's specifics begin, so
 * that a rule never lists the same specific filter twice. */
static ips_res
expand_generic(struct flt_set *fs, enum flt_mode m, const struct flt *g,
    size_t first, const struct hostenv *h)
{
	struct flt_vec *fv = &fs->view[m][FLT_SPECIFIC];

	GUARD(expand_direction(fv, first, g, &g->src, &g->dst, false, m, h));
	if (g->mirrored)
		GUARD(expand_direction(
		    fv, first, g, &g->dst, &g->src, true, m, h));
	return IPS_OK;
}

static const char *
flt_name(struct flt_set *fs, const struct pol_rule *r, size_t n)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "%s/%zu", r->name, n);
	return arena_strdup(fs->arena, buf);
}

/* The Main Mode filter of one QM filter: the address pair IKE runs on. */
static void
mm_of_qm(const struct flt *q, struct flt *mm)
{
	memset(mm, 0, sizeof(*mm));
	mm->name = q->name;
	mm->rule = q->rule;
	mm->mirrored = true; /* IKE traffic always flows both ways */
	mm->dir = FLT_DIR_BOTH;
	mm->src = q->tunnel ? q->tunnel_src : q->src;
	mm->dst = q->tunnel ? q->tunnel_dst : q->dst;
}

static bool
mm_seen(const struct flt_vec *fv, const struct flt *mm)
{
	for (size_t i = 0; i < fv->n; i++)
		if (fv->v[i].rule == mm->rule &&
		    ips_aspec_cmp(&fv->v[i].src, &mm->src) == 0 &&
		    ips_aspec_cmp(&fv->v[i].dst, &mm->dst) == 0)
			return true;
	return false;
}

static ips_res
build_rule(
    struct flt_set *fs, const struct pol_rule *r, const struct hostenv *h)
{
	const struct pol_filter_list *fl = r->filter_list;
	bool negotiate = r->filter_action->action == POL_ACTION_NEGOTIATE;
	size_t first_qm = fs->view[FLT_QM][FLT_SPECIFIC].n;
	size_t first_mm = fs->view[FLT_MM][FLT_SPECIFIC].n;

	for (size_t k = 0; k < fl->nfilters; k++) {
		const struct pol_filter *pf = &fl->filters[k];
		struct flt q, mm;

		memset(&q, 0, sizeof(q));
		if ((q.name = flt_name(fs, r, k + 1)) == NULL)
			BAIL(NOMEM);
		q.rule = r;
		q.src = pf->src;
		q.dst = pf->dst;
		q.proto = pf->proto;
		q.sport = pf->sport;
		q.dport = pf->dport;
		q.mirrored = pf->mirrored;
		q.tunnel = r->tunnel;
		if (r->tunnel) {
			q.tunnel_src = r->tunnel_local;
			q.tunnel_dst = ips_aspec_host(&r->tunnel_remote);
		}
		q.inbound_action = q.outbound_action = r->filter_action->action;
		q.dir = FLT_DIR_BOTH;
		GUARD(vec_push(&fs->view[FLT_QM][FLT_GENERIC], &q));
		GUARD(expand_generic(fs, FLT_QM, &q, first_qm, h));
		if (!negotiate)
			continue;
		mm_of_qm(&q, &mm);
		if (mm_seen(&fs->view[FLT_MM][FLT_GENERIC], &mm))
			continue;
		GUARD(vec_push(&fs->view[FLT_MM][FLT_GENERIC], &mm));
		GUARD(expand_generic(fs, FLT_MM, &mm, first_mm, h));
	}
	return IPS_OK;
}

static int
cmp_specific(const void *a, const void *b)
{
	const struct flt *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return 0;
}

/* qsort is not stable; a merge keeps equal weights in policy order. */
static ips_res
stable_sort(struct flt_vec *fv)
{
	struct flt *tmp;

	if (fv->n < 2)
		return IPS_OK;
	ENSURE((tmp = malloc(fv->n * sizeof(*tmp))) != NULL, NOMEM);
	for (size_t width = 1; width < fv->n; width *= 2) {
		for (size_t lo = 0; lo < fv->n; lo += 2 * width) {
			size_t mid = lo + width < fv->n ? lo + width : fv->n;
			size_t hi =
			    lo + 2 * width < fv->n ? lo + 2 * width : fv->n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] =
				    cmp_specific(&fv->v[j], &fv->v[i]) < 0
				    ? fv->v[j++]
				    : fv->v[i++];
			while (i < mid)
				tmp[k++] = fv->v[i++];
			while (j < hi)
				tmp[k++] = fv->v[j++];
		}
		memcpy(fv->v, tmp, fv->n * sizeof(*tmp));
	}
	free(tmp);
	return IPS_OK;
}

ips_res
flt_set_build(
    const struct policy *p, const struct hostenv *h, struct flt_set **out)
{
	struct flt_set *fs = calloc(1, sizeof(*fs));
	ips_res r = IPS_OK;

	ENSURE(fs != NULL, NOMEM);
	if ((fs->arena = arena_new()) == NULL) {
		free(fs);
		BAIL(NOMEM);
	}
	for (size_t i = 0; i < policy_nrules(p) && ips_ok(r); i++)
		r = build_rule(fs, policy_rule(p, i), h);
	if (ips_ok(r))
		r = stable_sort(&fs->view[FLT_MM][FLT_SPECIFIC]);
	if (ips_ok(r))
		r = stable_sort(&fs->view[FLT_QM][FLT_SPECIFIC]);
	if (!ips_ok(r)) {
		flt_set_free(fs);
		return r;
	}
	*out = fs;
	return IPS_OK;
}

size_t
flt_count(const struct flt_set *fs, enum flt_mode m, enum flt_type t)
{
	return fs->view[m][t].n;
}

const struct flt *
flt_get(const struct flt_set *fs, enum flt_mode m, enum flt_type t, size_t i)
{
	return i < fs->view[m][t].n ? &fs->view[m][t].v[i] : NULL;
}

/* Whether a filter end (possibly a keyword) can hold the queried end. */
static bool
end_matches(const struct ips_aspec *sp, const struct flt_qaddr *q,
    const struct hostenv *h)
{
	switch (q->kind) {
	case FLT_Q_ANY:
		return true;
	case FLT_Q_ADDR:
		switch (sp->kind) {
		case IPS_ASPEC_ME:
			return hostenv_contains(h, HOSTENV_LOCAL, &q->addr);
		case IPS_ASPEC_DNS:
			return hostenv_contains(h, HOSTENV_DNS, &q->addr);
		case IPS_ASPEC_GATEWAY:
			return hostenv_contains(h, HOSTENV_GATEWAY, &q->addr);
		default:
			return ips_aspec_contains(sp, &q->addr);
		}
	case FLT_Q_PREFIX:
		if (ips_aspec_is_keyword(sp)) {
			enum hostenv_set k = sp->kind == IPS_ASPEC_ME
			    ? HOSTENV_LOCAL
			    : sp->kind == IPS_ASPEC_DNS ? HOSTENV_DNS
							: HOSTENV_GATEWAY;

			for (size_t i = 0; i < hostenv_count(h, k); i++)
				if (ips_aspec_contains(
					&q->prefix, hostenv_get(h, k, i)))
					return true;
			return false;
		}
		return ips_aspec_overlaps(sp, &q->prefix);
	case FLT_Q_ME:
		if (sp->kind == IPS_ASPEC_ME)
			return hostenv_count(h, HOSTENV_LOCAL) > 0;
		for (size_t i = 0; i < hostenv_count(h, HOSTENV_LOCAL); i++) {
			struct flt_qaddr one = {.kind = FLT_Q_ADDR,
			    .addr = *hostenv_get(h, HOSTENV_LOCAL, i)};

			if (end_matches(sp, &one, h))
				return true;
		}
		return false;
	}
	return false;
}

size_t
flt_search(const struct flt_set *fs, enum flt_mode m, enum flt_type t,
    const struct flt_qaddr *src, const struct flt_qaddr *dst,
    const struct hostenv *h, size_t *idx, size_t max)
{
	const struct flt_vec *fv = &fs->view[m][t];
	size_t found = 0;

	for (size_t i = 0; i < fv->n; i++) {
		const struct flt *f = &fv->v[i];
		bool hit = end_matches(&f->src, src, h) &&
		    end_matches(&f->dst, dst, h);

		/* A mirrored generic filter also carries the reply. */
		if (!hit && f->mirrored)
			hit = end_matches(&f->dst, src, h) &&
			    end_matches(&f->src, dst, h);
		if (!hit)
			continue;
		if (found < max)
			idx[found] = i;
		found++;
	}
	return found;
}
