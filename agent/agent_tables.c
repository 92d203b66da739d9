/*
 * The tables of IPSECMON-MIB.  One handler serves them all: a table is its
 * entry OID, its columns, and two functions, seek (the first row at or
 * after an index, O(log n) or better) and value (one cell of that row).
 * GETNEXT never walks: it seeks once per column it moves through.
 */
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "base/log.h"
#include "ike/proposal.h"
#include "ipsm_mib_oids.h"
#include "wire/ike_wire.h"

#define MAX_IDX 2 /* index subids of the longest index */

struct agent_table {
	const char *name;
	const oid *entry;
	size_t entry_len;
	oid col_first, col_last; /* the accessible columns */
	size_t nidx;
	/* The first row with an index >= idx (> idx when after), its
	 * index in found and the row in a->row. */
	bool (*seek)(
	    struct agent *a, const uint32_t *idx, bool after, uint32_t *found);
	void (*value)(struct agent *a, netsnmp_variable_list *v, oid col);
	/* Writable tables only: an SNMP error for a bad SET, and its
	 * effect once every varbind has passed. */
	int (*check)(const netsnmp_variable_list *v, oid col);
	void (*apply)(struct agent *a, const netsnmp_variable_list *v, oid col);
};

/* ---- one-number indexes ----------------------------------------------- */

/* The first n >= lo (> lo when after) as a starting point; false if
 * there is none in 32 bits. */
static bool
start_at(uint32_t lo, bool after, uint32_t *out)
{
	if (after && lo == UINT32_MAX)
		return false;
	*out = after ? lo + 1 : lo;
	return true;
}

static bool
qm_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	uint32_t from;

	if (!start_at(idx[0], after, &from))
		return false;
	/* qm_next finds the pair above its argument: SPI 0 is never one */
	if (!a->ops->qm_next(a->ctx, from > 0 ? from - 1 : 0, &a->row.qm))
		return false;
	found[0] = a->row.qm.in.spi;
	return true;
}

static bool
mm_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	uint32_t from;

	if (!start_at(idx[0], after, &from) ||
	    !a->ops->mm_next(a->ctx, from > 0 ? from - 1 : 0, &a->row.mm))
		return false;
	found[0] = a->row.mm.index;
	return true;
}

static bool
soft_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	uint32_t from;

	if (!start_at(idx[0], after, &from) ||
	    !a->ops->soft_next(a->ctx, from > 0 ? from - 1 : 0, &a->row.soft))
		return false;
	found[0] = a->row.soft.s.index;
	return true;
}

static bool
notify_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	uint32_t from;

	if (!start_at(idx[0], after, &from))
		return false;
	if (from < AGENT_EVENT_FIRST)
		from = AGENT_EVENT_FIRST;
	if (from >= AGENT_EVENT_FIRST + AGENT_NEVENTS)
		return false;
	a->row.notify = &a->notify[from - AGENT_EVENT_FIRST];
	found[0] = from;
	return true;
}

/* ---- two-number indexes: (group, member), members 1..count(group) --- */

/*
 * The first (g, m) at or after idx, where group g (1..ngroups) has
 * count(a, g) members numbered from 1.  O(1) per empty group skipped.
 */
static bool
seek2(struct agent *a, const uint32_t *idx, bool after, uint32_t ngroups,
    size_t (*count)(struct agent *a, uint32_t g), uint32_t *found)
{
	for (uint32_t g = idx[0] < 1 ? 1 : idx[0]; g >= 1 && g <= ngroups;
	     g++) {
		uint32_t m = 1;

		if (g == idx[0] && !start_at(idx[1], after, &m))
			continue;
		if (m < 1)
			m = 1;
		if (m <= count(a, g)) {
			found[0] = g;
			found[1] = m;
			return true;
		}
	}
	return false;
}

/* IpsmFilterType: generic(1), specific(2). */
static enum flt_type
ftype(uint32_t g)
{
	return g == 1 ? FLT_GENERIC : FLT_SPECIFIC;
}

static size_t
mmf_count(struct agent *a, uint32_t g)
{
	return a->snap.filters != NULL
	    ? flt_count(a->snap.filters, FLT_MM, ftype(g))
	    : 0;
}

static size_t
qmf_count(struct agent *a, uint32_t g)
{
	return a->snap.filters != NULL
	    ? flt_count(a->snap.filters, FLT_QM, ftype(g))
	    : 0;
}

static bool
flt_seek(struct agent *a, enum flt_mode m, const uint32_t *idx, bool after,
    uint32_t *found)
{
	if (!seek2(
		a, idx, after, 2, m == FLT_MM ? mmf_count : qmf_count, found))
		return false;
	a->row.flt.type = ftype(found[0]);
	a->row.flt.f =
	    flt_get(a->snap.filters, m, a->row.flt.type, found[1] - 1);
	return a->row.flt.f != NULL;
}

static bool
mmf_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	return flt_seek(a, FLT_MM, idx, after, found);
}

static bool
qmf_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	return flt_seek(a, FLT_QM, idx, after, found);
}

static size_t
ikep_count(struct agent *a, uint32_t g)
{
	return policy_ike_policy(a->snap.pol, g - 1)->noffers;
}

static bool
ikep_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	if (a->snap.pol == NULL ||
	    !seek2(a, idx, after, (uint32_t)policy_nike_policies(a->snap.pol),
		ikep_count, found))
		return false;
	a->row.ikep.p = policy_ike_policy(a->snap.pol, found[0] - 1);
	a->row.ikep.offer = found[1] - 1;
	return true;
}

static size_t
negp_count(struct agent *a, uint32_t g)
{
	return policy_neg_policy(a->snap.pol, g - 1)->noffers;
}

static bool
negp_seek(struct agent *a, const uint32_t *idx, bool after, uint32_t *found)
{
	if (a->snap.pol == NULL ||
	    !seek2(a, idx, after, (uint32_t)policy_nneg_policies(a->snap.pol),
		negp_count, found))
		return false;
	a->row.negp.p = policy_neg_policy(a->snap.pol, found[0] - 1);
	a->row.negp.offer = found[1] - 1;
	return true;
}

/* ---- addresses ---------------------------------------------------------- */

/* IpsmAddressKind */
static long
addr_kind(enum ips_aspec_kind k)
{
	switch (k) {
	case IPS_ASPEC_ANY:
		return 1;
	case IPS_ASPEC_ME:
		return 2;
	case IPS_ASPEC_DNS:
		return 3;
	case IPS_ASPEC_GATEWAY:
		return 4;
	case IPS_ASPEC_HOST:
		return 5;
	case IPS_ASPEC_PREFIX:
		return 6;
	default:
		return 7;
	}
}

/* A selector's first or last address: exact for an address, a subnet
 * or a range; "any" and the keywords have none (type unknown, empty). */
static struct ips_addr
sel_end(const struct ips_aspec *s, bool last)
{
	struct ips_addr a = s->lo;

	if (s->kind == IPS_ASPEC_ANY || s->kind == IPS_ASPEC_ME ||
	    s->kind == IPS_ASPEC_DNS || s->kind == IPS_ASPEC_GATEWAY ||
	    (s->lo.af != AF_INET && s->lo.af != AF_INET6)) {
		memset(&a, 0, sizeof(a));
		return a;
	}
	if (!last || s->kind == IPS_ASPEC_HOST)
		return a;
	if (s->kind == IPS_ASPEC_RANGE)
		return s->hi;
	/* a prefix: its host bits set */
	for (size_t i = 0; i < (a.af == AF_INET ? 4u : 16u); i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= s->plen)
			a.b[i] = 0xff;
		else if (bit + 8 > s->plen)
			a.b[i] |= (uint8_t)(0xff >> (s->plen - bit));
	}
	return a;
}

/* The four columns of an address spec: Kind, AddressType, Address,
 * AddressLast; which is which is the column's offset from kind_col. */
static void
set_aspec(
    netsnmp_variable_list *v, oid col, oid kind_col, const struct ips_aspec *s)
{
	struct ips_addr first = sel_end(s, false), last;

	switch (col - kind_col) {
	case 0:
		agent_set_int(v, addr_kind(s->kind));
		break;
	case 1:
		agent_set_int(v, agent_addr_type(first.af));
		break;
	case 2:
		agent_set_addr(v, &first);
		break;
	default:
		last = sel_end(s, true);
		agent_set_addr(v, &last);
		break;
	}
}

static bool
in_aspec(oid col, oid kind_col)
{
	return col >= kind_col && col < kind_col + 4;
}

/* ---- ipsmQmSaTable ---------------------------------------------------- */

/* IPSECMON-MIB's ipsmQmSaMode */
static long
mode_of(uint16_t encap)
{
	switch (encap) {
	case IPSEC_ENCAP_TRANSPORT:
		return 2;
	case IPSEC_ENCAP_UDP_TUNNEL:
	case IPSEC_ENCAP_UDP_TUNNEL_DRAFT:
		return 3;
	case IPSEC_ENCAP_UDP_TRANSPORT:
	case IPSEC_ENCAP_UDP_TRANSPORT_DRAFT:
		return 4;
	default:
		return 1;
	}
}

/* Since the pair last carried a packet either way; -1: never. */
static long
qm_idle(const struct agent_qm_row *r)
{
	uint64_t last = r->in.packets != 0 ? r->in.last_use_ms : 0;

	if (r->has_out && r->out.packets != 0 && r->out.last_use_ms > last)
		last = r->out.last_use_ms;
	return last != 0 && r->now_ms >= last
	    ? (long)((r->now_ms - last) / 1000)
	    : -1;
}

static void
qm_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	const struct agent_qm_row *r = &ag->row.qm;
	const struct sad_info *o = r->has_out ? &r->out : NULL;
	/* the outbound half's parameters and age, as `show qmsas` */
	const struct sad_params *p = o != NULL ? &o->p : &r->in.p;
	struct ips_addr a;
	char buf[64];
	uint64_t age =
	    (r->now_ms - (o != NULL ? o->created_ms : r->in.created_ms)) / 1000;

	switch (col) {
	case IPSM_COL_ipsmQmSaRule:
		agent_set_string(v, p->rule);
		break;
	case IPSM_COL_ipsmQmSaLocalAddressType:
		agent_set_int(v, agent_addr_type(sel_end(&p->src, false).af));
		break;
	case IPSM_COL_ipsmQmSaLocalAddress:
	case IPSM_COL_ipsmQmSaLocalAddressLast:
		a = sel_end(&p->src, col == IPSM_COL_ipsmQmSaLocalAddressLast);
		agent_set_addr(v, &a);
		break;
	case IPSM_COL_ipsmQmSaRemoteAddressType:
		agent_set_int(v, agent_addr_type(sel_end(&p->dst, false).af));
		break;
	case IPSM_COL_ipsmQmSaRemoteAddress:
	case IPSM_COL_ipsmQmSaRemoteAddressLast:
		a = sel_end(&p->dst, col == IPSM_COL_ipsmQmSaRemoteAddressLast);
		agent_set_addr(v, &a);
		break;
	case IPSM_COL_ipsmQmSaProtocol:
		agent_set_u32(v, ASN_UNSIGNED, p->sel_proto);
		break;
	case IPSM_COL_ipsmQmSaLocalPort: /* a pair keeps ours first */
		agent_set_u32(v, ASN_UNSIGNED, p->sel_sport);
		break;
	case IPSM_COL_ipsmQmSaRemotePort:
		agent_set_u32(v, ASN_UNSIGNED, p->sel_dport);
		break;
	case IPSM_COL_ipsmQmSaMode:
		agent_set_int(v, mode_of(p->encap));
		break;
	case IPSM_COL_ipsmQmSaTunnelLocalType:
		agent_set_int(v, agent_addr_type(p->local.af));
		break;
	case IPSM_COL_ipsmQmSaTunnelLocal:
		agent_set_addr(v, &p->local);
		break;
	case IPSM_COL_ipsmQmSaTunnelRemoteType:
		agent_set_int(v, agent_addr_type(p->remote.af));
		break;
	case IPSM_COL_ipsmQmSaTunnelRemote:
		agent_set_addr(v, &p->remote);
		break;
	case IPSM_COL_ipsmQmSaIpsecProtocol:
		agent_set_int(v, p->proto);
		break;
	case IPSM_COL_ipsmQmSaOutboundSpi:
		agent_set_u32(v, ASN_UNSIGNED, r->in.pair_spi);
		break;
	case IPSM_COL_ipsmQmSaEncryption:
		agent_set_string(v,
		    p->proto == ISAKMP_PROTO_ESP
			? ike_esp_encr_text(
			      p->transform, p->keybits, buf, sizeof(buf))
			: "");
		break;
	case IPSM_COL_ipsmQmSaIntegrity:
		agent_set_string(v, ike_ipsec_auth_text(p->auth));
		break;
	case IPSM_COL_ipsmQmSaPfsGroup:
		agent_set_u32(v, ASN_UNSIGNED, p->pfs_group);
		break;
	case IPSM_COL_ipsmQmSaLifetimeRemaining:
		agent_set_u32(v, ASN_UNSIGNED,
		    p->life_s > age ? (uint64_t)p->life_s - age : 0);
		break;
	case IPSM_COL_ipsmQmSaInOctets:
		agent_set_counter64(v, r->in.bytes);
		break;
	case IPSM_COL_ipsmQmSaOutOctets:
		agent_set_counter64(v, o ? o->bytes : 0);
		break;
	case IPSM_COL_ipsmQmSaInPackets:
		agent_set_counter64(v, r->in.packets);
		break;
	case IPSM_COL_ipsmQmSaOutPackets:
		agent_set_counter64(v, o ? o->packets : 0);
		break;
	case IPSM_COL_ipsmQmSaReplayDrops:
		agent_set_counter64(v, r->in.replay_drops);
		break;
	case IPSM_COL_ipsmQmSaIcvFailures:
		agent_set_counter64(v, r->in.icv_failures);
		break;
	case IPSM_COL_ipsmQmSaEsn:
		agent_set_int(v, p->esn ? 1 : 2); /* TruthValue */
		break;
	case IPSM_COL_ipsmQmSaLocalKind:
		agent_set_int(v, addr_kind(p->src.kind));
		break;
	case IPSM_COL_ipsmQmSaRemoteKind:
		agent_set_int(v, addr_kind(p->dst.kind));
		break;
	case IPSM_COL_ipsmQmSaTunnelLocalPort:
		agent_set_u32(v, ASN_UNSIGNED, p->local_port);
		break;
	case IPSM_COL_ipsmQmSaTunnelRemotePort:
		agent_set_u32(v, ASN_UNSIGNED, p->remote_port);
		break;
	case IPSM_COL_ipsmQmSaLifetime:
		agent_set_u32(v, ASN_UNSIGNED, p->life_s);
		break;
	case IPSM_COL_ipsmQmSaLifetimeKbytes:
		agent_set_u32(v, ASN_UNSIGNED, p->life_kb);
		break;
	case IPSM_COL_ipsmQmSaAge:
		agent_set_u32(v, ASN_UNSIGNED, age);
		break;
	case IPSM_COL_ipsmQmSaReplayWindow:
		agent_set_u32(v, ASN_UNSIGNED, p->replay_window);
		break;
	case IPSM_COL_ipsmQmSaIdle:
		agent_set_int(v, qm_idle(r));
		break;
	}
}

/* ---- ipsmQmSoftTable -------------------------------------------------- */

static void
soft_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	const struct agent_soft_row *r = &ag->row.soft;
	const struct sad_soft *s = &r->s;

	if (in_aspec(col, IPSM_COL_ipsmQmSoftLocalKind)) {
		set_aspec(v, col, IPSM_COL_ipsmQmSoftLocalKind, &s->src);
		return;
	}
	if (in_aspec(col, IPSM_COL_ipsmQmSoftRemoteKind)) {
		set_aspec(v, col, IPSM_COL_ipsmQmSoftRemoteKind, &s->dst);
		return;
	}
	switch (col) {
	case IPSM_COL_ipsmQmSoftRule:
		agent_set_string(v, s->rule);
		break;
	case IPSM_COL_ipsmQmSoftPeerAddressType:
		agent_set_int(v, agent_addr_type(s->remote.af));
		break;
	case IPSM_COL_ipsmQmSoftPeerAddress:
		agent_set_addr(v, &s->remote);
		break;
	case IPSM_COL_ipsmQmSoftProtocol:
		agent_set_u32(v, ASN_UNSIGNED, s->proto);
		break;
	case IPSM_COL_ipsmQmSoftLocalPort:
		agent_set_u32(v, ASN_UNSIGNED, s->sport);
		break;
	case IPSM_COL_ipsmQmSoftRemotePort:
		agent_set_u32(v, ASN_UNSIGNED, s->dport);
		break;
	case IPSM_COL_ipsmQmSoftAge:
		agent_set_u32(
		    v, ASN_UNSIGNED, (r->now_ms - s->created_ms) / 1000);
		break;
	case IPSM_COL_ipsmQmSoftLifetimeRemaining:
		agent_set_u32(v, ASN_UNSIGNED,
		    s->expires_ms > r->now_ms
			? (s->expires_ms - r->now_ms) / 1000
			: 0);
		break;
	}
}

/* ---- ipsmMmSaTable ---------------------------------------------------- */

static void
mm_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	const struct ike_sa_info *s = &ag->row.mm;
	uint64_t age = s->age_ms / 1000;
	char buf[32];

	switch (col) {
	case IPSM_COL_ipsmMmSaRule:
		agent_set_string(v, s->rule);
		break;
	case IPSM_COL_ipsmMmSaLocalAddressType:
		agent_set_int(v, agent_addr_type(s->local.addr.af));
		break;
	case IPSM_COL_ipsmMmSaLocalAddress:
		agent_set_addr(v, &s->local.addr);
		break;
	case IPSM_COL_ipsmMmSaLocalPort:
		agent_set_u32(v, ASN_UNSIGNED, s->local.port);
		break;
	case IPSM_COL_ipsmMmSaRemoteAddressType:
		agent_set_int(v, agent_addr_type(s->remote.addr.af));
		break;
	case IPSM_COL_ipsmMmSaRemoteAddress:
		agent_set_addr(v, &s->remote.addr);
		break;
	case IPSM_COL_ipsmMmSaRemotePort:
		agent_set_u32(v, ASN_UNSIGNED, s->remote.port);
		break;
	case IPSM_COL_ipsmMmSaInitiatorCookie:
		snmp_set_var_typed_value(v, ASN_OCTET_STR, s->cky_i, 8);
		break;
	case IPSM_COL_ipsmMmSaResponderCookie:
		snmp_set_var_typed_value(v, ASN_OCTET_STR, s->cky_r, 8);
		break;
	case IPSM_COL_ipsmMmSaRole:
		agent_set_int(v, s->initiator ? 1 : 2);
		break;
	case IPSM_COL_ipsmMmSaState: /* the enum, from 1 */
		agent_set_int(v, (long)s->state + 1);
		break;
	case IPSM_COL_ipsmMmSaAuthentication:
		agent_set_string(v, ike_auth_method_text(s->auth));
		break;
	case IPSM_COL_ipsmMmSaEncryption:
		agent_set_string(
		    v, ike_encr_text(s->encr, s->keybits, buf, sizeof(buf)));
		break;
	case IPSM_COL_ipsmMmSaIntegrity:
		agent_set_string(v, ike_hash_text(s->hash));
		break;
	case IPSM_COL_ipsmMmSaDhGroup:
		agent_set_u32(v, ASN_UNSIGNED, s->group);
		break;
	case IPSM_COL_ipsmMmSaLifetime:
		agent_set_u32(v, ASN_UNSIGNED, s->lifetime_s);
		break;
	case IPSM_COL_ipsmMmSaLifetimeRemaining:
		agent_set_u32(v, ASN_UNSIGNED,
		    s->lifetime_s > age ? s->lifetime_s - age : 0);
		break;
	case IPSM_COL_ipsmMmSaAge:
		agent_set_u32(v, ASN_UNSIGNED, age);
		break;
	case IPSM_COL_ipsmMmSaNatDetected:
		agent_set_int(v, s->nat ? 1 : 2);
		break;
	case IPSM_COL_ipsmMmSaPeerIdentity:
		agent_set_string(v, s->peer_identity);
		break;
	}
}

/* ---- the filter tables ------------------------------------------------ */

/* IpsmFilterDirection, IpsmFilterAction */
static long
dir_of(enum flt_dir d)
{
	return d == FLT_DIR_OUTBOUND ? 2 : d == FLT_DIR_INBOUND ? 3 : 1;
}

static long
action_of(enum pol_action x)
{
	return x == POL_ACTION_PERMIT ? 1 : x == POL_ACTION_BLOCK ? 2 : 3;
}

/* The rule's methods in order, "; " between (the MIB's text). */
static void
set_auth_list(netsnmp_variable_list *v, const struct pol_rule *r)
{
	char out[1024], one[320];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->nauth && n < sizeof(out); i++) {
		int k = snprintf(out + n, sizeof(out) - n, "%s%s",
		    i > 0 ? "; " : "",
		    pol_auth_text(&r->auth[i], one, sizeof(one)));

		if (k < 0)
			break;
		n += (size_t)k;
	}
	agent_set_string(v, out);
}

static void
mmf_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	const struct flt *f = ag->row.flt.f;
	bool generic = ag->row.flt.type == FLT_GENERIC;

	if (in_aspec(col, IPSM_COL_ipsmMmFilterSrcKind)) {
		set_aspec(v, col, IPSM_COL_ipsmMmFilterSrcKind, &f->src);
		return;
	}
	if (in_aspec(col, IPSM_COL_ipsmMmFilterDstKind)) {
		set_aspec(v, col, IPSM_COL_ipsmMmFilterDstKind, &f->dst);
		return;
	}
	switch (col) {
	case IPSM_COL_ipsmMmFilterName:
		agent_set_string(v, f->name);
		break;
	case IPSM_COL_ipsmMmFilterRule:
		agent_set_string(v, f->rule->name);
		break;
	case IPSM_COL_ipsmMmFilterMirrored:
		agent_set_int(v, generic && f->mirrored ? 1 : 2);
		break;
	case IPSM_COL_ipsmMmFilterDirection:
		agent_set_int(v, dir_of(f->dir));
		break;
	case IPSM_COL_ipsmMmFilterWeight:
		agent_set_u32(v, ASN_UNSIGNED, generic ? 0 : f->weight);
		break;
	case IPSM_COL_ipsmMmFilterConnectionType:
		agent_set_string(v, pol_conn_name(f->rule->conn));
		break;
	case IPSM_COL_ipsmMmFilterIkePolicy:
		agent_set_string(v,
		    f->rule->ike_policy != NULL ? f->rule->ike_policy->name
						: "");
		break;
	case IPSM_COL_ipsmMmFilterAuthentication:
		set_auth_list(v, f->rule);
		break;
	}
}

static void
qmf_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	static const struct ips_aspec none = {.kind = IPS_ASPEC_ANY};
	const struct flt *f = ag->row.flt.f;
	const struct pol_neg_policy *np = f->rule->filter_action->neg_policy;
	bool generic = ag->row.flt.type == FLT_GENERIC;

	if (in_aspec(col, IPSM_COL_ipsmQmFilterSrcKind)) {
		set_aspec(v, col, IPSM_COL_ipsmQmFilterSrcKind, &f->src);
		return;
	}
	if (in_aspec(col, IPSM_COL_ipsmQmFilterDstKind)) {
		set_aspec(v, col, IPSM_COL_ipsmQmFilterDstKind, &f->dst);
		return;
	}
	if (in_aspec(col, IPSM_COL_ipsmQmFilterTunnelSrcKind)) {
		set_aspec(v, col, IPSM_COL_ipsmQmFilterTunnelSrcKind,
		    f->tunnel ? &f->tunnel_src : &none);
		return;
	}
	if (in_aspec(col, IPSM_COL_ipsmQmFilterTunnelDstKind)) {
		set_aspec(v, col, IPSM_COL_ipsmQmFilterTunnelDstKind,
		    f->tunnel ? &f->tunnel_dst : &none);
		return;
	}
	switch (col) {
	case IPSM_COL_ipsmQmFilterName:
		agent_set_string(v, f->name);
		break;
	case IPSM_COL_ipsmQmFilterRule:
		agent_set_string(v, f->rule->name);
		break;
	case IPSM_COL_ipsmQmFilterProtocol:
		agent_set_u32(v, ASN_UNSIGNED, f->proto);
		break;
	case IPSM_COL_ipsmQmFilterSrcPort:
		agent_set_u32(v, ASN_UNSIGNED, f->sport);
		break;
	case IPSM_COL_ipsmQmFilterDstPort:
		agent_set_u32(v, ASN_UNSIGNED, f->dport);
		break;
	case IPSM_COL_ipsmQmFilterMirrored:
		agent_set_int(v, generic && f->mirrored ? 1 : 2);
		break;
	case IPSM_COL_ipsmQmFilterDirection:
		agent_set_int(v, dir_of(f->dir));
		break;
	case IPSM_COL_ipsmQmFilterWeight:
		agent_set_u32(v, ASN_UNSIGNED, generic ? 0 : f->weight);
		break;
	case IPSM_COL_ipsmQmFilterTunnel:
		agent_set_int(v, f->tunnel ? 1 : 2);
		break;
	case IPSM_COL_ipsmQmFilterInboundAction:
		agent_set_int(v, action_of(f->inbound_action));
		break;
	case IPSM_COL_ipsmQmFilterOutboundAction:
		agent_set_int(v, action_of(f->outbound_action));
		break;
	case IPSM_COL_ipsmQmFilterConnectionType:
		agent_set_string(v, pol_conn_name(f->rule->conn));
		break;
	case IPSM_COL_ipsmQmFilterNegotiationPolicy:
		agent_set_string(v, np != NULL ? np->name : "");
		break;
	}
}

/* ---- the offer tables ------------------------------------------------- */

static void
ikep_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	const struct pol_ike_policy *p = ag->row.ikep.p;
	const struct pol_mm_offer *o = &p->offers[ag->row.ikep.offer];

	switch (col) {
	case IPSM_COL_ipsmIkePolicyName:
		agent_set_string(v, p->name);
		break;
	case IPSM_COL_ipsmIkePolicyEncryption:
		agent_set_string(v, ips_ike_encr_name(o->encr));
		break;
	case IPSM_COL_ipsmIkePolicyIntegrity:
		agent_set_string(v, ips_ike_hash_name(o->hash));
		break;
	case IPSM_COL_ipsmIkePolicyDhGroup:
		agent_set_u32(v, ASN_UNSIGNED, o->dh_group);
		break;
	case IPSM_COL_ipsmIkePolicyLifetime:
		agent_set_u32(v, ASN_UNSIGNED, o->lifetime_s);
		break;
	case IPSM_COL_ipsmIkePolicyQmLimit:
		agent_set_u32(v, ASN_UNSIGNED, o->qm_limit);
		break;
	}
}

static void
negp_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	const struct pol_neg_policy *p = ag->row.negp.p;
	const struct pol_qm_offer *o = &p->offers[ag->row.negp.offer];

	switch (col) {
	case IPSM_COL_ipsmNegPolicyName:
		agent_set_string(v, p->name);
		break;
	case IPSM_COL_ipsmNegPolicyPfsGroup:
		agent_set_u32(v, ASN_UNSIGNED, p->pfs_group);
		break;
	case IPSM_COL_ipsmNegPolicySoft:
		agent_set_int(v, p->soft ? 1 : 2);
		break;
	case IPSM_COL_ipsmNegPolicyAh:
		agent_set_string(v, o->ah ? ips_integ_name(o->ah_integ) : "");
		break;
	case IPSM_COL_ipsmNegPolicyEspEncryption:
		agent_set_string(
		    v, o->esp ? ips_esp_encr_name(o->esp_encr) : "");
		break;
	case IPSM_COL_ipsmNegPolicyEspIntegrity:
		agent_set_string(v, o->esp ? ips_integ_name(o->esp_integ) : "");
		break;
	case IPSM_COL_ipsmNegPolicyLifetime:
		agent_set_u32(v, ASN_UNSIGNED, o->lifetime_s);
		break;
	case IPSM_COL_ipsmNegPolicyLifetimeKbytes:
		agent_set_u32(v, ASN_UNSIGNED, o->lifetime_kb);
		break;
	}
}

/* ---- ipsmNotifyTable: the one writable table -------------------------- */

static void
notify_value(struct agent *ag, netsnmp_variable_list *v, oid col)
{
	const struct agent_notify *n = ag->row.notify;

	switch (col) {
	case IPSM_COL_ipsmNotifyEnabled:
		agent_set_int(v, n->enabled ? 1 : 2);
		break;
	case IPSM_COL_ipsmNotifyRateLimit:
		agent_set_u32(v, ASN_UNSIGNED, n->rate);
		break;
	case IPSM_COL_ipsmNotifySent:
		agent_set_counter64(v, n->sent);
		break;
	case IPSM_COL_ipsmNotifySuppressed:
		agent_set_counter64(v, n->suppressed);
		break;
	}
}

static int
notify_check(const netsnmp_variable_list *v, oid col)
{
	long x;

	switch (col) {
	case IPSM_COL_ipsmNotifyEnabled:
		if (v->type != ASN_INTEGER)
			return SNMP_ERR_WRONGTYPE;
		x = *v->val.integer;
		return x == 1 || x == 2 ? SNMP_ERR_NOERROR
					: SNMP_ERR_WRONGVALUE;
	case IPSM_COL_ipsmNotifyRateLimit:
		if (v->type != ASN_UNSIGNED)
			return SNMP_ERR_WRONGTYPE;
		x = (long)(*v->val.integer & 0xffffffffu);
		return x >= 1 && x <= 6000 ? SNMP_ERR_NOERROR
					   : SNMP_ERR_WRONGVALUE;
	default:
		return SNMP_ERR_NOTWRITABLE;
	}
}

static void
notify_apply(struct agent *ag, const netsnmp_variable_list *v, oid col)
{
	struct agent_notify *n = ag->row.notify;

	if (col == IPSM_COL_ipsmNotifyEnabled) {
		n->enabled = *v->val.integer == 1;
		ips_log(IPS_LOG_NOTICE, "snmp: notification %u %s over SNMP",
		    (unsigned)(n - ag->notify) + AGENT_EVENT_FIRST,
		    n->enabled ? "enabled" : "disabled");
	} else {
		n->rate = (uint32_t)(*v->val.integer & 0xffffffffu);
		if (n->tokens > n->rate)
			n->tokens = n->rate;
		ips_log(IPS_LOG_NOTICE,
		    "snmp: notification %u limited to %u a minute over SNMP",
		    (unsigned)(n - ag->notify) + AGENT_EVENT_FIRST, n->rate);
	}
}

/* ---- the tables ------------------------------------------------------- */

#define ENTRY(e) e, sizeof(e) / sizeof(e[0])
static const oid qm_entry[] = {IPSM_OID_ipsmQmSaEntry};
static const oid mm_entry[] = {IPSM_OID_ipsmMmSaEntry};
static const oid mmf_entry[] = {IPSM_OID_ipsmMmFilterEntry};
static const oid qmf_entry[] = {IPSM_OID_ipsmQmFilterEntry};
static const oid ikep_entry[] = {IPSM_OID_ipsmIkePolicyEntry};
static const oid negp_entry[] = {IPSM_OID_ipsmNegPolicyEntry};
static const oid notify_entry[] = {IPSM_OID_ipsmNotifyEntry};
static const oid soft_entry[] = {IPSM_OID_ipsmQmSoftEntry};

static const struct agent_table tables[] = {
    {"ipsmQmSaTable", ENTRY(qm_entry), IPSM_COL_ipsmQmSaRule,
	IPSM_COL_ipsmQmSaIdle, 1, qm_seek, qm_value, NULL, NULL},
    {"ipsmMmSaTable", ENTRY(mm_entry), IPSM_COL_ipsmMmSaRule,
	IPSM_COL_ipsmMmSaPeerIdentity, 1, mm_seek, mm_value, NULL, NULL},
    {"ipsmMmFilterTable", ENTRY(mmf_entry), IPSM_COL_ipsmMmFilterName,
	IPSM_COL_ipsmMmFilterAuthentication, 2, mmf_seek, mmf_value, NULL,
	NULL},
    {"ipsmQmFilterTable", ENTRY(qmf_entry), IPSM_COL_ipsmQmFilterName,
	IPSM_COL_ipsmQmFilterNegotiationPolicy, 2, qmf_seek, qmf_value, NULL,
	NULL},
    {"ipsmIkePolicyTable", ENTRY(ikep_entry), IPSM_COL_ipsmIkePolicyName,
	IPSM_COL_ipsmIkePolicyQmLimit, 2, ikep_seek, ikep_value, NULL, NULL},
    {"ipsmNegPolicyTable", ENTRY(negp_entry), IPSM_COL_ipsmNegPolicyName,
	IPSM_COL_ipsmNegPolicyLifetimeKbytes, 2, negp_seek, negp_value, NULL,
	NULL},
    {"ipsmNotifyTable", ENTRY(notify_entry), IPSM_COL_ipsmNotifyEnabled,
	IPSM_COL_ipsmNotifySuppressed, 1, notify_seek, notify_value,
	notify_check, notify_apply},
    {"ipsmQmSoftTable", ENTRY(soft_entry), IPSM_COL_ipsmQmSoftRule,
	IPSM_COL_ipsmQmSoftLifetimeRemaining, 1, soft_seek, soft_value, NULL,
	NULL},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* ---- the one handler -------------------------------------------------- */

/* The row an exact instance names (GET, SET); false: no such instance. */
static bool
exact(struct agent *a, const struct agent_table *t,
    const netsnmp_variable_list *v)
{
	uint32_t idx[MAX_IDX], found[MAX_IDX];

	for (size_t i = 0; i < t->nidx; i++)
		idx[i] = agent_sub32(v->name[t->entry_len + 1 + i]);
	if (!t->seek(a, idx, false, found))
		return false;
	return memcmp(idx, found, t->nidx * sizeof(idx[0])) == 0;
}

/* Is v one of t's accessible cells (right length, column in range)? */
static bool
is_cell(const struct agent_table *t, const netsnmp_variable_list *v)
{
	size_t el = t->entry_len;

	return v->name_length == el + 1 + t->nidx &&
	    snmp_oid_compare(v->name, el, t->entry, el) == 0 &&
	    v->name[el] >= t->col_first && v->name[el] <= t->col_last;
}

static void
get_next(struct agent *a, const struct agent_table *t, netsnmp_variable_list *v)
{
	size_t el = t->entry_len;
	uint32_t idx[MAX_IDX] = {0}, found[MAX_IDX];
	oid col = t->col_first, name[MAX_OID_LEN];
	bool after = false;

	/* where the request points, in (column, index) order; before the
	 * table or its first column: the start */
	if (v->name_length > el &&
	    snmp_oid_compare(v->name, el, t->entry, el) == 0 &&
	    v->name[el] >= t->col_first) {
		size_t have = v->name_length - el - 1;

		col = v->name[el];
		for (size_t i = 0; i < t->nidx && i < have; i++)
			idx[i] = agent_sub32(v->name[el + 1 + i]);
		/* a whole index: the next row; part of one: the first row
		 * at or after it (indexes start at 1) */
		after = have >= t->nidx;
	}
	for (; col <= t->col_last; col++) {
		if (!t->seek(a, idx, after, found)) {
			/* the next column starts at its first row */
			memset(idx, 0, sizeof(idx));
			after = false;
			continue;
		}
		memcpy(name, t->entry, el * sizeof(oid));
		name[el] = col;
		for (size_t i = 0; i < t->nidx; i++)
			name[el + 1 + i] = found[i];
		snmp_set_var_objid(v, name, el + 1 + t->nidx);
		t->value(a, v, col);
		return;
	}
	/* past the last column: nothing here, the master moves on */
}

static int
table_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	struct agent_treg *tr = h->myvoid;
	struct agent *a = tr->a;
	const struct agent_table *t = tr->t;

	(void)reg;
	a->ops->snapshot(a->ctx, &a->snap);
	for (; req != NULL; req = req->next) {
		netsnmp_variable_list *v = req->requestvb;
		int err;

		if (req->processed)
			continue;
		switch (ri->mode) {
		case MODE_GET:
			if (!is_cell(t, v))
				netsnmp_set_request_error(
				    ri, req, SNMP_NOSUCHOBJECT);
			else if (!exact(a, t, v))
				netsnmp_set_request_error(
				    ri, req, SNMP_NOSUCHINSTANCE);
			else
				t->value(a, v, v->name[t->entry_len]);
			break;
		case MODE_GETNEXT:
			get_next(a, t, v);
			break;
		case MODE_SET_RESERVE1:
			/* every varbind is checked before any applies */
			if (!is_cell(t, v) || t->check == NULL)
				err = SNMP_ERR_NOTWRITABLE;
			else if (!exact(a, t, v))
				err = SNMP_ERR_NOCREATION;
			else
				err = t->check(v, v->name[t->entry_len]);
			if (err != SNMP_ERR_NOERROR)
				netsnmp_set_request_error(ri, req, err);
			break;
		case MODE_SET_COMMIT:
			if (t->apply != NULL && is_cell(t, v) && exact(a, t, v))
				t->apply(a, v, v->name[t->entry_len]);
			break;
		default: /* RESERVE2, ACTION, FREE, UNDO: nothing held */
			break;
		}
	}
	return SNMP_ERR_NOERROR;
}

int
agent_tables_register(struct agent *a)
{
	struct agent_treg *regs = a->tregs;

	_Static_assert(NTABLES == AGENT_NTABLES, "agent_int.h: AGENT_NTABLES");
	for (size_t i = 0; i < NTABLES; i++) {
		const struct agent_table *t = &tables[i];
		netsnmp_handler_registration *reg =
		    netsnmp_create_handler_registration(t->name, table_handler,
			t->entry, t->entry_len,
			t->check != NULL ? HANDLER_CAN_RWRITE
					 : HANDLER_CAN_RONLY);

		if (reg == NULL)
			return -1;
		regs[i].a = a;
		regs[i].t = t;
		reg->handler->myvoid = &regs[i];
		if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK)
			return -1;
	}
	return 0;
}
