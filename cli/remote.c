#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "base/addr.h"
#include "base/arena.h"
#include "ctl/ctl_view.h"
#include "ike/ike.h"
#include "ike/proposal.h"
#include "ipsm_mib_oids.h"
#include "remote.h"
#include "spd/filter.h"
#include "spd/policy.h"
#include "stats/stats.h"
#include "wire/ike_wire.h"

#define MAX_IDX 2
#define MAX_COLS 40
#define BULK_CELLS 120 /* varbinds asked for per GETBULK, to start */

/* A response and the arena everything in it comes from. */
struct remote_resp {
	Ipsm__Response r; /* first: remote_free() casts back */
	struct arena *a;
};

struct rs {
	netsnmp_session *ss;
	const char *host;
	struct arena *a;
	char *err;
	size_t errlen;
};

/* ---- values ------------------------------------------------------------ */

static uint64_t
v_u64(const netsnmp_variable_list *v)
{
	if (v == NULL)
		return 0;
	if (v->type == ASN_COUNTER64 && v->val.counter64 != NULL)
		return (uint64_t)v->val.counter64->high << 32 |
		    (v->val.counter64->low & 0xffffffffu);
	if ((v->type == ASN_GAUGE || v->type == ASN_UNSIGNED ||
		v->type == ASN_COUNTER || v->type == ASN_TIMETICKS) &&
	    v->val.integer != NULL)
		return (uint64_t)(*v->val.integer & 0xffffffffu);
	return 0;
}

static long
v_int(const netsnmp_variable_list *v)
{
	return v != NULL && v->type == ASN_INTEGER && v->val.integer != NULL
	    ? *v->val.integer
	    : 0;
}

static bool
v_true(const netsnmp_variable_list *v)
{
	return v_int(v) == 1; /* TruthValue */
}

static char *
v_str(struct rs *rs, const netsnmp_variable_list *v)
{
	char *s;
	size_t n = v != NULL && v->type == ASN_OCTET_STR ? v->val_len : 0;

	if ((s = arena_alloc(rs->a, n + 1)) == NULL)
		return (char *)"";
	if (n > 0)
		memcpy(s, v->val.string, n);
	s[n] = '\0';
	return s;
}

static char *
a_dup(struct rs *rs, const char *s)
{
	char *p = arena_strdup(rs->a, s != NULL ? s : "");

	return p != NULL ? p : (char *)"";
}

/* InetAddressType and InetAddress (RFC 4001) to ours. */
static struct ips_addr
v_addr(const netsnmp_variable_list *type, const netsnmp_variable_list *v)
{
	struct ips_addr a;
	long t = v_int(type);

	memset(&a, 0, sizeof(a));
	if (v == NULL || v->type != ASN_OCTET_STR)
		return a;
	if (t == 1 && v->val_len == 4)
		a.af = AF_INET;
	else if (t == 2 && v->val_len == 16)
		a.af = AF_INET6;
	else
		return a;
	memcpy(a.b, v->val.string, v->val_len);
	return a;
}

/* DateAndTime (SNMPv2-TC) to time_t, UTC or with its zone. */
static int64_t
v_date(const netsnmp_variable_list *v)
{
	const uint8_t *d;
	struct tm tm;
	int64_t t;

	if (v == NULL || v->type != ASN_OCTET_STR || v->val_len < 8)
		return 0;
	d = v->val.string;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (d[0] << 8 | d[1]) - 1900;
	if (tm.tm_year < 70)
		return 0;
	tm.tm_mon = d[2] - 1;
	tm.tm_mday = d[3];
	tm.tm_hour = d[4];
	tm.tm_min = d[5];
	tm.tm_sec = d[6];
	t = (int64_t)timegm(&tm);
	if (v->val_len >= 11) /* the zone: local = UTC + zone */
		t -= (d[8] == '-' ? -1 : 1) * (d[9] * 3600 + d[10] * 60);
	return t;
}

/* IpsmAddressKind and the three address columns after it, as the
 * daemon writes the spec ("any", "me", "10.0.0.0/24", ...). */
static char *
v_aspec(struct rs *rs, netsnmp_variable_list *const *c)
{
	static const enum ips_aspec_kind kinds[] = {IPS_ASPEC_ANY, IPS_ASPEC_ME,
	    IPS_ASPEC_DNS, IPS_ASPEC_GATEWAY, IPS_ASPEC_HOST, IPS_ASPEC_PREFIX,
	    IPS_ASPEC_RANGE};
	struct ips_aspec sp;
	char buf[IPS_ASPECSTRLEN];
	long k = v_int(c[0]);

	memset(&sp, 0, sizeof(sp));
	sp.kind = k >= 1 && k <= 7 ? kinds[k - 1] : IPS_ASPEC_ANY;
	sp.lo = v_addr(c[1], c[2]);
	sp.hi = v_addr(c[1], c[3]);
	if (sp.kind == IPS_ASPEC_PREFIX) {
		/* the prefix: where the first and last addresses part */
		unsigned n = sp.lo.af == AF_INET ? 32 : 128;

		sp.plen = 0;
		while (sp.plen < n &&
		    ((sp.lo.b[sp.plen / 8] ^ sp.hi.b[sp.plen / 8]) &
			(0x80 >> (sp.plen % 8))) == 0)
			sp.plen++;
	}
	return a_dup(rs, ips_aspec_str(&sp, buf, sizeof(buf)));
}

static char *
v_endpoint(struct rs *rs, const netsnmp_variable_list *type,
    const netsnmp_variable_list *addr, uint16_t port)
{
	struct ips_addr a = v_addr(type, addr);
	char buf[IPS_ADDRSTRLEN + 8];

	return a_dup(rs, ips_addr_port_str(&a, port, buf, sizeof(buf)));
}

/* ---- the session --------------------------------------------------------- */

/* SNMPv3 USM, authPriv: keys localised from the passphrases by
 * Net-SNMP (RFC 3414 2.6, RFC 7860 for SHA-256). */
static int
usm(netsnmp_session *s, const struct remote_auth *a, char *errbuf,
    size_t errlen)
{
	s->version = SNMP_VERSION_3;
	s->securityName = (char *)a->user;
	s->securityNameLen = strlen(a->user);
	s->securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
	s->securityAuthProto = usmHMAC192SHA256AuthProtocol;
	s->securityAuthProtoLen = OID_LENGTH(usmHMAC192SHA256AuthProtocol);
	s->securityAuthKeyLen = USM_AUTH_KU_LEN;
	s->securityPrivProto = usmAESPrivProtocol;
	s->securityPrivProtoLen = OID_LENGTH(usmAESPrivProtocol);
	s->securityPrivKeyLen = USM_PRIV_KU_LEN;
	if (a->auth_pass == NULL || a->priv_pass == NULL ||
	    strlen(a->auth_pass) < 8 || strlen(a->priv_pass) < 8) {
		snprintf(errbuf, errlen,
		    "SNMPv3 needs both passphrases, 8 characters or more");
		return -1;
	}
	if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
		(const u_char *)a->auth_pass, strlen(a->auth_pass),
		s->securityAuthKey,
		&s->securityAuthKeyLen) != SNMPERR_SUCCESS ||
	    generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
		(const u_char *)a->priv_pass, strlen(a->priv_pass),
		s->securityPrivKey,
		&s->securityPrivKeyLen) != SNMPERR_SUCCESS) {
		snprintf(errbuf, errlen, "cannot derive the SNMPv3 keys");
		return -1;
	}
	return 0;
}

static netsnmp_session *
open_session(const char *host, const struct remote_auth *auth, int timeout_ms,
    char *errbuf, size_t errlen)
{
	netsnmp_session s, *ss;

	setenv("MIBS", "", 1); /* OIDs, not names: no MIB files read */
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	init_snmp("ipsecmon");
	snmp_sess_init(&s);
	s.peername = (char *)host;
	if (auth->user != NULL) {
		if (usm(&s, auth, errbuf, errlen) != 0)
			return NULL;
	} else {
		s.version = SNMP_VERSION_2c;
		s.community = (u_char *)auth->community;
		s.community_len = strlen(auth->community);
	}
	s.timeout = (long)timeout_ms * 1000 / 2; /* two tries */
	s.retries = 1;
	if ((ss = snmp_open(&s)) == NULL)
		snprintf(errbuf, errlen, "cannot reach %s over SNMP", host);
	return ss;
}

/* One request and its answer; NULL with rs->err set on failure.  A
 * tooBig answer is returned only to a GETBULK, which can ask for less. */
static netsnmp_pdu *
call(struct rs *rs, netsnmp_pdu *pdu)
{
	bool bulk = pdu->command == SNMP_MSG_GETBULK;
	netsnmp_pdu *resp = NULL;
	int st = snmp_synch_response(rs->ss, pdu, &resp);

	if (st == STAT_SUCCESS && resp != NULL &&
	    (resp->errstat == SNMP_ERR_NOERROR ||
		(bulk && resp->errstat == SNMP_ERR_TOOBIG)))
		return resp;
	snprintf(rs->err, rs->errlen, "%s: %s", rs->host,
	    st == STAT_TIMEOUT ? "no answer over SNMP"
		: resp != NULL ? snmp_errstring((int)resp->errstat)
			       : "SNMP request failed");
	if (resp != NULL)
		snmp_free_pdu(resp);
	return NULL;
}

static void
not_served(struct rs *rs)
{
	snprintf(rs->err, rs->errlen,
	    "%s does not serve IPSECMON-MIB (is ipsecmond's subagent "
	    "registered?)",
	    rs->host);
}

/* ---- scalars ------------------------------------------------------------ */

/* GET of n scalars (base.sub[i].0); the response's varbinds in order. */
static netsnmp_pdu *
get_scalars(
    struct rs *rs, const oid *base, size_t blen, const oid *subs, size_t n)
{
	netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET), *resp;
	oid name[MAX_OID_LEN];
	size_t got = 0;

	memcpy(name, base, blen * sizeof(oid));
	for (size_t i = 0; i < n; i++) {
		name[blen] = subs[i];
		name[blen + 1] = 0;
		snmp_add_null_var(pdu, name, blen + 2);
	}
	if ((resp = call(rs, pdu)) == NULL)
		return NULL;
	/* every one answered, with a value */
	for (netsnmp_variable_list *v = resp->variables; v != NULL;
	     v = v->next_variable) {
		if (v->type == SNMP_NOSUCHOBJECT ||
		    v->type == SNMP_NOSUCHINSTANCE ||
		    v->type == SNMP_ENDOFMIBVIEW || v->type == ASN_NULL)
			break;
		got++;
	}
	if (got != n) {
		not_served(rs);
		snmp_free_pdu(resp);
		return NULL;
	}
	return resp;
}

/* Whether the host serves IPSECMON-MIB at all: an empty table and a
 * subagent that is not there look alike to a walk. */
static bool
served(struct rs *rs)
{
	static const oid base[] = {IPSM_OID_ipsmAgent};
	static const oid sub[] = {IPSM_SUB_ipsmAgentRegistrations};
	netsnmp_pdu *resp = get_scalars(rs, base, OID_LENGTH(base), sub, 1);

	if (resp == NULL)
		return false;
	snmp_free_pdu(resp);
	return true;
}

/* ---- tables: GETBULK, every column of a row in one request ------------- */

typedef bool (*row_fn)(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c);

/* Is v a cell of column col of the table at entry? Its index in idx. */
static bool
cell_of(const netsnmp_variable_list *v, const oid *entry, size_t elen, oid col,
    size_t nidx, uint32_t *idx)
{
	if (v->type == SNMP_ENDOFMIBVIEW || v->type == SNMP_NOSUCHOBJECT ||
	    v->type == SNMP_NOSUCHINSTANCE || v->type == ASN_NULL ||
	    v->name_length != elen + 1 + nidx ||
	    snmp_oid_compare(v->name, elen, entry, elen) != 0 ||
	    v->name[elen] != col)
		return false;
	for (size_t i = 0; i < nidx; i++)
		idx[i] = (uint32_t)v->name[elen + 1 + i];
	return true;
}

/*
 * Every row of the table at entry, columns first..last, in index order:
 * fn is called with the row's cells (c[0] is column first).  Rows are
 * asked for a few at a time; a too-big answer halves the batch.
 */
static int
walk(struct rs *rs, const oid *entry, size_t elen, oid first, oid last,
    size_t nidx, row_fn fn, void *ctx)
{
	size_t ncols = last - first + 1;
	uint32_t after[MAX_IDX] = {0};
	bool started = false;
	long reps = BULK_CELLS / (long)ncols;

	if (ncols > MAX_COLS)
		return -1;
	for (;;) {
		netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GETBULK), *resp;
		netsnmp_variable_list *cells[MAX_COLS], *v;
		oid name[MAX_OID_LEN];
		size_t rows = 0, k = 0;
		bool end = false;

		pdu->non_repeaters = 0;
		pdu->max_repetitions = reps > 0 ? reps : 1;
		memcpy(name, entry, elen * sizeof(oid));
		for (size_t i = 0; i < nidx; i++)
			name[elen + 1 + i] = after[i];
		for (oid col = first; col <= last; col++) {
			name[elen] = col;
			snmp_add_null_var(
			    pdu, name, elen + 1 + (started ? nidx : 0));
		}
		if ((resp = call(rs, pdu)) == NULL)
			return -1;
		if (resp->errstat == SNMP_ERR_TOOBIG) {
			snmp_free_pdu(resp);
			if (reps > 1) {
				reps /= 2;
				continue;
			}
			snprintf(rs->err, rs->errlen,
			    "%s: one row is too big for the agent's messages",
			    rs->host);
			return -1;
		}
		/* repetition r's cells are varbinds r*ncols .. +ncols-1 */
		for (v = resp->variables; v != NULL && !end;
		     v = v->next_variable) {
			uint32_t idx[MAX_IDX], cidx[MAX_IDX];

			cells[k++] = v;
			if (k < ncols)
				continue;
			k = 0;
			if (!cell_of(cells[0], entry, elen, first, nidx, idx)) {
				end = true;
				break;
			}
			for (size_t c = 1; c < ncols; c++)
				if (!cell_of(cells[c], entry, elen, first + c,
					nidx, cidx) ||
				    memcmp(idx, cidx, nidx * sizeof(idx[0])) !=
					0) {
					snprintf(rs->err, rs->errlen,
					    "%s: a row of the table changed "
					    "while it was read; try again",
					    rs->host);
					snmp_free_pdu(resp);
					return -1;
				}
			if (!fn(rs, ctx, idx, cells)) {
				snmp_free_pdu(resp);
				snprintf(rs->err, rs->errlen, "out of memory");
				return -1;
			}
			memcpy(after, idx, sizeof(after));
			started = true;
			rows++;
		}
		snmp_free_pdu(resp);
		if (end)
			return 0;
		if (rows == 0) { /* not one whole row, and not the end */
			snprintf(rs->err, rs->errlen,
			    "%s: a short answer to a table request", rs->host);
			return -1;
		}
	}
}

/* Append to a growing array of pointers in the arena. */
static bool
push(struct rs *rs, void ***v, size_t *n, size_t *cap, void *x)
{
	if (x == NULL)
		return false;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void **b = arena_calloc(rs->a, nc, sizeof(*b));

		if (b == NULL)
			return false;
		if (*n > 0)
			memcpy(b, *v, *n * sizeof(*b));
		*v = b;
		*cap = nc;
	}
	(*v)[(*n)++] = x;
	return true;
}

/* ---- the views ------------------------------------------------------------
 */

/* The statistics' subids, in MIB order (test_mib: the engine's order). */
#define SUBID(id, name, sub) sub,
static const oid mm_subids[] = {IPSM_MIB_MM_STATS(SUBID)};
static const oid qm_subids[] = {IPSM_MIB_QM_STATS(SUBID)};
#undef SUBID

static Ipsm__Stat **
stat_list(struct rs *rs, const struct stats_desc *d, size_t n,
    netsnmp_variable_list **v)
{
	Ipsm__Stat **list = arena_calloc(rs->a, n ? n : 1, sizeof(*list));

	for (size_t i = 0; list != NULL && i < n; i++) {
		if ((list[i] = arena_alloc(rs->a, sizeof(*list[i]))) == NULL)
			return NULL;
		ipsm__stat__init(list[i]);
		list[i]->key = (char *)d[i].key;
		list[i]->name = (char *)d[i].name;
		list[i]->gauge = d[i].kind == STATS_GAUGE;
		list[i]->value = v_u64(*v);
		*v = (*v)->next_variable;
	}
	return list;
}

static int
show_stats(struct rs *rs, Ipsm__Response *r)
{
	static const oid mm_base[] = {IPSM_OID_ipsmMmStats};
	static const oid qm_base[] = {IPSM_OID_ipsmQmStats};
	static const oid st_base[] = {IPSM_OID_ipsmStats};
	static const oid since[] = {IPSM_SUB_ipsmStatsCountingSince};
	const struct stats_desc *mmd, *qmd;
	netsnmp_pdu *mm, *qm, *st = NULL;
	netsnmp_variable_list *v;
	Ipsm__StatsView *sv;
	size_t nmm, nqm;
	int rc = -1;

	mmd = stats_mm_desc(&nmm);
	qmd = stats_qm_desc(&nqm);
	if (nmm != OID_LENGTH(mm_subids) || nqm != OID_LENGTH(qm_subids)) {
		snprintf(rs->err, rs->errlen,
		    "this ipsecmon's MIB and statistics differ (a build "
		    "error)");
		return -1;
	}
	mm = get_scalars(rs, mm_base, OID_LENGTH(mm_base), mm_subids, nmm);
	qm = mm != NULL
	    ? get_scalars(rs, qm_base, OID_LENGTH(qm_base), qm_subids, nqm)
	    : NULL;
	st = qm != NULL
	    ? get_scalars(rs, st_base, OID_LENGTH(st_base), since, 1)
	    : NULL;
	if (st == NULL || (sv = arena_alloc(rs->a, sizeof(*sv))) == NULL)
		goto out;
	ipsm__stats_view__init(sv);
	v = mm->variables;
	sv->main_mode = stat_list(rs, mmd, nmm, &v);
	v = qm->variables;
	sv->quick_mode = stat_list(rs, qmd, nqm, &v);
	if (sv->main_mode == NULL || sv->quick_mode == NULL)
		goto out;
	sv->n_main_mode = nmm;
	sv->n_quick_mode = nqm;
	sv->discontinuity_time = v_date(st->variables);
	r->view_case = IPSM__RESPONSE__VIEW_STATS;
	r->stats = sv;
	rc = 0;
out:
	if (mm != NULL)
		snmp_free_pdu(mm);
	if (qm != NULL)
		snmp_free_pdu(qm);
	if (st != NULL)
		snmp_free_pdu(st);
	return rc;
}

static int
show_policy(struct rs *rs, Ipsm__Response *r)
{
	static const oid base[] = {IPSM_OID_ipsmPolicy};
	static const oid subs[] = {IPSM_SUB_ipsmPolicyName,
	    IPSM_SUB_ipsmPolicyDescription, IPSM_SUB_ipsmPolicyLastModified,
	    IPSM_SUB_ipsmPolicyStore, IPSM_SUB_ipsmPolicyPath,
	    IPSM_SUB_ipsmPolicyOrganizationalUnit,
	    IPSM_SUB_ipsmPolicyGroupPolicyObject, IPSM_SUB_ipsmPolicyRules,
	    IPSM_SUB_ipsmPolicyLoadedAt, IPSM_SUB_ipsmPolicyDynamicChanges};
	netsnmp_pdu *resp =
	    get_scalars(rs, base, OID_LENGTH(base), subs, OID_LENGTH(subs));
	netsnmp_variable_list *c[OID_LENGTH(subs)], *v;
	Ipsm__PolicyView *pv;
	size_t i = 0;

	if (resp == NULL)
		return -1;
	for (v = resp->variables; v != NULL && i < OID_LENGTH(subs);
	     v = v->next_variable)
		c[i++] = v;
	if (i < OID_LENGTH(subs) ||
	    (pv = arena_alloc(rs->a, sizeof(*pv))) == NULL) {
		snmp_free_pdu(resp);
		not_served(rs);
		return -1;
	}
	ipsm__policy_view__init(pv);
	pv->name = v_str(rs, c[0]);
	pv->description = v_str(rs, c[1]);
	pv->last_modified = v_date(c[2]);
	pv->store = v_str(rs, c[3]);
	pv->path = v_str(rs, c[4]);
	pv->organizational_unit = v_str(rs, c[5]);
	pv->group_policy_object = v_str(rs, c[6]);
	pv->rules = (uint32_t)v_u64(c[7]);
	pv->loaded_at = v_date(c[8]);
	pv->dynamic_changes = (uint32_t)v_u64(c[9]);
	snmp_free_pdu(resp);
	r->view_case = IPSM__RESPONSE__VIEW_POLICY;
	r->policy = pv;
	return 0;
}

struct list {
	void **v;
	size_t n, cap;
};

/* Column col of a row whose first column is first. */
#define COL(name, first) (c[IPSM_COL_##name - (first)])

static bool
mmsa_row(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c)
{
	const oid f = IPSM_COL_ipsmMmSaRule;
	struct list *l = ctx;
	Ipsm__MmSa *m = arena_alloc(rs->a, sizeof(*m));
	netsnmp_variable_list *ci = COL(ipsmMmSaInitiatorCookie, f),
			      *cr = COL(ipsmMmSaResponderCookie, f);
	uint8_t cki[8] = {0}, ckr[8] = {0};
	char ck[IKE_COOKIES_TEXT];
	long state = v_int(COL(ipsmMmSaState, f));

	(void)idx;
	if (m == NULL)
		return false;
	ipsm__mm_sa__init(m);
	m->me = v_endpoint(rs, COL(ipsmMmSaLocalAddressType, f),
	    COL(ipsmMmSaLocalAddress, f),
	    (uint16_t)v_u64(COL(ipsmMmSaLocalPort, f)));
	m->peer = v_endpoint(rs, COL(ipsmMmSaRemoteAddressType, f),
	    COL(ipsmMmSaRemoteAddress, f),
	    (uint16_t)v_u64(COL(ipsmMmSaRemotePort, f)));
	if (ci->type == ASN_OCTET_STR && ci->val_len == 8)
		memcpy(cki, ci->val.string, 8);
	if (cr->type == ASN_OCTET_STR && cr->val_len == 8)
		memcpy(ckr, cr->val.string, 8);
	ike_cookies_text(cki, ckr, ck);
	m->cookies = a_dup(rs, ck);
	m->role = a_dup(
	    rs, v_int(COL(ipsmMmSaRole, f)) == 1 ? "initiator" : "responder");
	m->state = a_dup(rs,
	    state >= 1 && state <= IKE_SA_NSTATES
		? ike_sa_state_name((enum ike_sa_state)(state - 1))
		: "?");
	m->rule = v_str(rs, COL(ipsmMmSaRule, f));
	m->authentication = v_str(rs, COL(ipsmMmSaAuthentication, f));
	m->encryption = v_str(rs, COL(ipsmMmSaEncryption, f));
	m->integrity = v_str(rs, COL(ipsmMmSaIntegrity, f));
	m->dh_group = (uint32_t)v_u64(COL(ipsmMmSaDhGroup, f));
	m->dh_name = a_dup(rs, ips_dh_group_name(m->dh_group));
	m->lifetime_s = (uint32_t)v_u64(COL(ipsmMmSaLifetime, f));
	m->age_s = v_u64(COL(ipsmMmSaAge, f));
	m->nat = v_true(COL(ipsmMmSaNatDetected, f));
	m->peer_identity = v_str(rs, COL(ipsmMmSaPeerIdentity, f));
	return push(rs, &l->v, &l->n, &l->cap, m);
}

static int
show_mmsas(struct rs *rs, Ipsm__Response *r)
{
	static const oid entry[] = {IPSM_OID_ipsmMmSaEntry};
	struct list l = {0};
	Ipsm__MmSaView *v = arena_alloc(rs->a, sizeof(*v));

	if (v == NULL ||
	    walk(rs, entry, OID_LENGTH(entry), IPSM_COL_ipsmMmSaRule,
		IPSM_COL_ipsmMmSaPeerIdentity, 1, mmsa_row, &l) != 0)
		return -1;
	ipsm__mm_sa_view__init(v);
	v->sas = (Ipsm__MmSa **)l.v;
	v->n_sas = l.n;
	r->view_case = IPSM__RESPONSE__VIEW_MMSAS;
	r->mmsas = v;
	return 0;
}

/* ipsmQmSaMode back to the encapsulation it stands for. */
static const char *
mode_text(long m)
{
	return ike_encap_text(m == 2 ? IPSEC_ENCAP_TRANSPORT
		: m == 3	     ? IPSEC_ENCAP_UDP_TUNNEL
		: m == 4	     ? IPSEC_ENCAP_UDP_TRANSPORT
				     : IPSEC_ENCAP_TUNNEL);
}

static char *
spi_text(struct rs *rs, uint64_t spi)
{
	char buf[12];

	snprintf(buf, sizeof(buf), "%08x", (unsigned)spi);
	return a_dup(rs, buf);
}

/* The four columns of an address spec, given the first of them. */
static char *
qm_sel(struct rs *rs, netsnmp_variable_list **c, oid f, oid kind, oid type,
    oid addr, oid last)
{
	netsnmp_variable_list *four[4] = {
	    c[kind - f], c[type - f], c[addr - f], c[last - f]};

	return v_aspec(rs, four);
}

static bool
qmsa_row(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c)
{
	const oid f = IPSM_COL_ipsmQmSaRule;
	struct list *l = ctx;
	Ipsm__QmSa *q = arena_alloc(rs->a, sizeof(*q));
	char pb[8];

	if (q == NULL)
		return false;
	ipsm__qm_sa__init(q);
	q->rule = v_str(rs, COL(ipsmQmSaRule, f));
	q->me = qm_sel(rs, c, f, IPSM_COL_ipsmQmSaLocalKind,
	    IPSM_COL_ipsmQmSaLocalAddressType, IPSM_COL_ipsmQmSaLocalAddress,
	    IPSM_COL_ipsmQmSaLocalAddressLast);
	q->peer = qm_sel(rs, c, f, IPSM_COL_ipsmQmSaRemoteKind,
	    IPSM_COL_ipsmQmSaRemoteAddressType, IPSM_COL_ipsmQmSaRemoteAddress,
	    IPSM_COL_ipsmQmSaRemoteAddressLast);
	q->protocol = a_dup(rs,
	    pol_proto_name(
		(uint8_t)v_u64(COL(ipsmQmSaProtocol, f)), pb, sizeof(pb)));
	q->my_port = (uint32_t)v_u64(COL(ipsmQmSaLocalPort, f));
	q->peer_port = (uint32_t)v_u64(COL(ipsmQmSaRemotePort, f));
	q->mode = a_dup(rs, mode_text(v_int(COL(ipsmQmSaMode, f))));
	q->tunnel_me = v_endpoint(rs, COL(ipsmQmSaTunnelLocalType, f),
	    COL(ipsmQmSaTunnelLocal, f),
	    (uint16_t)v_u64(COL(ipsmQmSaTunnelLocalPort, f)));
	q->tunnel_peer = v_endpoint(rs, COL(ipsmQmSaTunnelRemoteType, f),
	    COL(ipsmQmSaTunnelRemote, f),
	    (uint16_t)v_u64(COL(ipsmQmSaTunnelRemotePort, f)));
	q->ipsec_protocol = a_dup(rs,
	    isakmp_proto_name((unsigned)v_int(COL(ipsmQmSaIpsecProtocol, f))));
	q->inbound_spi = spi_text(rs, idx[0]);
	q->outbound_spi = spi_text(rs, v_u64(COL(ipsmQmSaOutboundSpi, f)));
	q->encryption = v_str(rs, COL(ipsmQmSaEncryption, f));
	q->integrity = v_str(rs, COL(ipsmQmSaIntegrity, f));
	q->pfs_group = (uint32_t)v_u64(COL(ipsmQmSaPfsGroup, f));
	q->lifetime_s = (uint32_t)v_u64(COL(ipsmQmSaLifetime, f));
	q->lifetime_kb = v_u64(COL(ipsmQmSaLifetimeKbytes, f));
	q->age_s = v_u64(COL(ipsmQmSaAge, f));
	q->bytes_in = v_u64(COL(ipsmQmSaInOctets, f));
	q->bytes_out = v_u64(COL(ipsmQmSaOutOctets, f));
	q->packets_in = v_u64(COL(ipsmQmSaInPackets, f));
	q->packets_out = v_u64(COL(ipsmQmSaOutPackets, f));
	q->replay_drops = v_u64(COL(ipsmQmSaReplayDrops, f));
	q->icv_failures = v_u64(COL(ipsmQmSaIcvFailures, f));
	q->esn = v_true(COL(ipsmQmSaEsn, f));
	q->replay_window = (uint32_t)v_u64(COL(ipsmQmSaReplayWindow, f));
	q->idle_s = v_int(COL(ipsmQmSaIdle, f));
	return push(rs, &l->v, &l->n, &l->cap, q);
}

/* A soft association, as the daemon's view shows one (ctl_view.c). */
static bool
soft_row(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c)
{
	const oid f = IPSM_COL_ipsmQmSoftRule;
	struct list *l = ctx;
	Ipsm__QmSa *q = arena_alloc(rs->a, sizeof(*q));
	char pb[8];

	(void)idx;
	if (q == NULL)
		return false;
	ipsm__qm_sa__init(q);
	q->soft = true;
	q->idle_s = -1;
	q->rule = v_str(rs, COL(ipsmQmSoftRule, f));
	q->me = v_aspec(rs, &COL(ipsmQmSoftLocalKind, f));
	q->peer = v_aspec(rs, &COL(ipsmQmSoftRemoteKind, f));
	q->protocol = a_dup(rs,
	    pol_proto_name(
		(uint8_t)v_u64(COL(ipsmQmSoftProtocol, f)), pb, sizeof(pb)));
	q->my_port = (uint32_t)v_u64(COL(ipsmQmSoftLocalPort, f));
	q->peer_port = (uint32_t)v_u64(COL(ipsmQmSoftRemotePort, f));
	q->mode = a_dup(rs, CTL_SOFT_MODE);
	q->tunnel_me = a_dup(rs, "");
	q->tunnel_peer = v_endpoint(rs, COL(ipsmQmSoftPeerAddressType, f),
	    COL(ipsmQmSoftPeerAddress, f), 0);
	q->ipsec_protocol = a_dup(rs, "none");
	q->inbound_spi = a_dup(rs, "");
	q->outbound_spi = a_dup(rs, "");
	q->encryption = a_dup(rs, "");
	q->integrity = a_dup(rs, CTL_SOFT_INTEGRITY);
	q->lifetime_s = (uint32_t)v_u64(COL(ipsmQmSoftLifetimeRemaining, f));
	q->age_s = v_u64(COL(ipsmQmSoftAge, f));
	return push(rs, &l->v, &l->n, &l->cap, q);
}

static int
show_qmsas(struct rs *rs, Ipsm__Response *r)
{
	static const oid entry[] = {IPSM_OID_ipsmQmSaEntry};
	static const oid soft[] = {IPSM_OID_ipsmQmSoftEntry};
	struct list l = {0};
	Ipsm__QmSaView *v = arena_alloc(rs->a, sizeof(*v));

	/* the pairs, then the soft associations, as the daemon lists them */
	if (v == NULL ||
	    walk(rs, entry, OID_LENGTH(entry), IPSM_COL_ipsmQmSaRule,
		IPSM_COL_ipsmQmSaIdle, 1, qmsa_row, &l) != 0 ||
	    walk(rs, soft, OID_LENGTH(soft), IPSM_COL_ipsmQmSoftRule,
		IPSM_COL_ipsmQmSoftLifetimeRemaining, 1, soft_row, &l) != 0)
		return -1;
	ipsm__qm_sa_view__init(v);
	v->sas = (Ipsm__QmSa **)l.v;
	v->n_sas = l.n;
	r->view_case = IPSM__RESPONSE__VIEW_QMSAS;
	r->qmsas = v;
	return 0;
}

struct filter_walk {
	struct list l;
	uint32_t type; /* IpsmFilterType: the rows wanted */
};

static const char *
dir_text(long d)
{
	return flt_dir_name(d == 2 ? FLT_DIR_OUTBOUND
		: d == 3	   ? FLT_DIR_INBOUND
				   : FLT_DIR_BOTH);
}

static const char *
action_text(long x)
{
	return pol_action_name(x == 1 ? POL_ACTION_PERMIT
		: x == 2	      ? POL_ACTION_BLOCK
				      : POL_ACTION_NEGOTIATE);
}

/* Where the next method of "psk; certificate (ca x)" begins: at a "; "
 * followed by a method's name (a CA path may hold "; " itself). */
static const char *
next_method(const char *s)
{
	for (const char *p = s; (p = strstr(p, "; ")) != NULL; p += 2)
		if (strncmp(p + 2, "psk", 3) == 0 ||
		    strncmp(p + 2, "certificate", 11) == 0)
			return p;
	return NULL;
}

/* The MIB's "; "-joined methods back into the list the view carries. */
static bool
auth_split(struct rs *rs, Ipsm__Filter *f, const char *s)
{
	size_t n = *s != '\0';

	for (const char *p = s; (p = next_method(p)) != NULL; p += 2)
		n++;
	if ((f->authentication =
		    arena_calloc(rs->a, n ? n : 1, sizeof(char *))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *e = next_method(s);
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
		char *x = arena_alloc(rs->a, len + 1);

		if (x == NULL)
			return false;
		memcpy(x, s, len);
		x[len] = '\0';
		f->authentication[i] = x;
		s += len + (e != NULL ? 2 : 0);
	}
	f->n_authentication = n;
	return true;
}

static bool
mmf_row(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c)
{
	const oid f0 = IPSM_COL_ipsmMmFilterName;
	struct filter_walk *w = ctx;
	Ipsm__Filter *f;

	if (idx[0] != w->type)
		return true;
	if ((f = arena_alloc(rs->a, sizeof(*f))) == NULL)
		return false;
	ipsm__filter__init(f);
	f->name = v_str(rs, COL(ipsmMmFilterName, f0));
	f->rule = v_str(rs, COL(ipsmMmFilterRule, f0));
	f->src = v_aspec(rs, &COL(ipsmMmFilterSrcKind, f0));
	f->dst = v_aspec(rs, &COL(ipsmMmFilterDstKind, f0));
	f->protocol = a_dup(rs, "");
	f->mirrored = v_true(COL(ipsmMmFilterMirrored, f0));
	f->direction =
	    a_dup(rs, dir_text(v_int(COL(ipsmMmFilterDirection, f0))));
	f->weight = (uint32_t)v_u64(COL(ipsmMmFilterWeight, f0));
	f->connection_type = v_str(rs, COL(ipsmMmFilterConnectionType, f0));
	f->ike_policy = v_str(rs, COL(ipsmMmFilterIkePolicy, f0));
	f->negotiation_policy = a_dup(rs, "");
	f->inbound_action = a_dup(rs, "");
	f->outbound_action = a_dup(rs, "");
	f->tunnel_src = a_dup(rs, "");
	f->tunnel_dst = a_dup(rs, "");
	if (!auth_split(rs, f, v_str(rs, COL(ipsmMmFilterAuthentication, f0))))
		return false;
	return push(rs, &w->l.v, &w->l.n, &w->l.cap, f);
}

static bool
qmf_row(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c)
{
	const oid f0 = IPSM_COL_ipsmQmFilterName;
	struct filter_walk *w = ctx;
	Ipsm__Filter *f;
	char pb[8];

	if (idx[0] != w->type)
		return true;
	if ((f = arena_alloc(rs->a, sizeof(*f))) == NULL)
		return false;
	ipsm__filter__init(f);
	f->name = v_str(rs, COL(ipsmQmFilterName, f0));
	f->rule = v_str(rs, COL(ipsmQmFilterRule, f0));
	f->src = v_aspec(rs, &COL(ipsmQmFilterSrcKind, f0));
	f->dst = v_aspec(rs, &COL(ipsmQmFilterDstKind, f0));
	f->protocol = a_dup(rs,
	    pol_proto_name(
		(uint8_t)v_u64(COL(ipsmQmFilterProtocol, f0)), pb, sizeof(pb)));
	f->src_port = (uint32_t)v_u64(COL(ipsmQmFilterSrcPort, f0));
	f->dst_port = (uint32_t)v_u64(COL(ipsmQmFilterDstPort, f0));
	f->mirrored = v_true(COL(ipsmQmFilterMirrored, f0));
	f->direction =
	    a_dup(rs, dir_text(v_int(COL(ipsmQmFilterDirection, f0))));
	f->weight = (uint32_t)v_u64(COL(ipsmQmFilterWeight, f0));
	f->tunnel = v_true(COL(ipsmQmFilterTunnel, f0));
	f->tunnel_src = f->tunnel
	    ? v_aspec(rs, &COL(ipsmQmFilterTunnelSrcKind, f0))
	    : a_dup(rs, "");
	f->tunnel_dst = f->tunnel
	    ? v_aspec(rs, &COL(ipsmQmFilterTunnelDstKind, f0))
	    : a_dup(rs, "");
	f->inbound_action =
	    a_dup(rs, action_text(v_int(COL(ipsmQmFilterInboundAction, f0))));
	f->outbound_action =
	    a_dup(rs, action_text(v_int(COL(ipsmQmFilterOutboundAction, f0))));
	f->connection_type = v_str(rs, COL(ipsmQmFilterConnectionType, f0));
	f->ike_policy = a_dup(rs, "");
	f->negotiation_policy =
	    v_str(rs, COL(ipsmQmFilterNegotiationPolicy, f0));
	return push(rs, &w->l.v, &w->l.n, &w->l.cap, f);
}

static int
show_filters(struct rs *rs, const Ipsm__ShowFilters *q, Ipsm__Response *r)
{
	static const oid mm_entry[] = {IPSM_OID_ipsmMmFilterEntry};
	static const oid qm_entry[] = {IPSM_OID_ipsmQmFilterEntry};
	struct filter_walk w = {{0}, 0};
	bool mm = q->mode == IPSM__FILTER_MODE__MAIN_MODE;
	Ipsm__FilterView *v = arena_alloc(rs->a, sizeof(*v));
	int rc;

	if ((q->src != NULL && q->src->kind != IPSM__ADDR_QUERY__KIND__ANY) ||
	    (q->dst != NULL && q->dst->kind != IPSM__ADDR_QUERY__KIND__ANY)) {
		snprintf(rs->err, rs->errlen,
		    "srcaddr= and dstaddr= need the host's own addresses: "
		    "run them on the host (without --host)");
		return -1;
	}
	if (v == NULL)
		return -1;
	w.type = q->type == IPSM__FILTER_TYPE__SPECIFIC ? 2 : 1;
	rc = mm ? walk(rs, mm_entry, OID_LENGTH(mm_entry),
		      IPSM_COL_ipsmMmFilterName,
		      IPSM_COL_ipsmMmFilterAuthentication, 2, mmf_row, &w)
		: walk(rs, qm_entry, OID_LENGTH(qm_entry),
		      IPSM_COL_ipsmQmFilterName,
		      IPSM_COL_ipsmQmFilterNegotiationPolicy, 2, qmf_row, &w);
	if (rc != 0)
		return -1;
	ipsm__filter_view__init(v);
	v->mode = q->mode;
	v->type = q->type;
	v->filters = (Ipsm__Filter **)w.l.v;
	v->n_filters = w.l.n;
	r->view_case = IPSM__RESPONSE__VIEW_FILTERS;
	r->filters = v;
	return 0;
}

/* Offer rows, grouped back into their policies by the first index. */
struct offer_walk {
	struct list policies;
	uint32_t current; /* the policy index of the last policy */
	struct list offers; /* of the last policy */
};

/* The policy an offer row belongs to: the last one, or a new one of size
 * bytes (*fresh, for the caller to fill) when the first index moves on. */
static void *
policy_of(struct rs *rs, struct offer_walk *w, uint32_t pidx, size_t size,
    bool *fresh)
{
	*fresh = w->policies.n == 0 || pidx != w->current;
	if (*fresh) {
		void *p = arena_alloc(rs->a, size);

		if (p == NULL ||
		    !push(rs, &w->policies.v, &w->policies.n, &w->policies.cap,
			p))
			return NULL;
		w->current = pidx;
		memset(&w->offers, 0, sizeof(w->offers));
	}
	return w->policies.v[w->policies.n - 1];
}

static bool
ikep_row(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c)
{
	const oid f = IPSM_COL_ipsmIkePolicyName;
	struct offer_walk *w = ctx;
	bool fresh;
	Ipsm__MmPolicy *p = policy_of(rs, w, idx[0], sizeof(*p), &fresh);
	Ipsm__MmOffer *o = arena_alloc(rs->a, sizeof(*o));

	if (o == NULL || p == NULL)
		return false;
	if (fresh) {
		ipsm__mm_policy__init(p);
		p->name = v_str(rs, COL(ipsmIkePolicyName, f));
	}
	ipsm__mm_offer__init(o);
	o->encryption = v_str(rs, COL(ipsmIkePolicyEncryption, f));
	o->integrity = v_str(rs, COL(ipsmIkePolicyIntegrity, f));
	o->dh_group = (uint32_t)v_u64(COL(ipsmIkePolicyDhGroup, f));
	o->dh_name = a_dup(rs, ips_dh_group_name(o->dh_group));
	o->lifetime_s = (uint32_t)v_u64(COL(ipsmIkePolicyLifetime, f));
	o->qm_limit = (uint32_t)v_u64(COL(ipsmIkePolicyQmLimit, f));
	if (!push(rs, &w->offers.v, &w->offers.n, &w->offers.cap, o))
		return false;
	p->offers = (Ipsm__MmOffer **)w->offers.v;
	p->n_offers = w->offers.n;
	return true;
}

static bool
negp_row(
    struct rs *rs, void *ctx, const uint32_t *idx, netsnmp_variable_list **c)
{
	const oid f = IPSM_COL_ipsmNegPolicyName;
	struct offer_walk *w = ctx;
	bool fresh;
	Ipsm__QmPolicy *p = policy_of(rs, w, idx[0], sizeof(*p), &fresh);
	Ipsm__QmOffer *o = arena_alloc(rs->a, sizeof(*o));

	if (o == NULL || p == NULL)
		return false;
	if (fresh) {
		ipsm__qm_policy__init(p);
		p->name = v_str(rs, COL(ipsmNegPolicyName, f));
		p->pfs_group = (uint32_t)v_u64(COL(ipsmNegPolicyPfsGroup, f));
		p->soft = v_true(COL(ipsmNegPolicySoft, f));
	}
	ipsm__qm_offer__init(o);
	o->ah = v_str(rs, COL(ipsmNegPolicyAh, f));
	o->esp_encryption = v_str(rs, COL(ipsmNegPolicyEspEncryption, f));
	o->esp_integrity = v_str(rs, COL(ipsmNegPolicyEspIntegrity, f));
	o->lifetime_s = (uint32_t)v_u64(COL(ipsmNegPolicyLifetime, f));
	o->lifetime_kb = v_u64(COL(ipsmNegPolicyLifetimeKbytes, f));
	if (!push(rs, &w->offers.v, &w->offers.n, &w->offers.cap, o))
		return false;
	p->offers = (Ipsm__QmOffer **)w->offers.v;
	p->n_offers = w->offers.n;
	return true;
}

static int
show_offers(struct rs *rs, bool mm, Ipsm__Response *r)
{
	static const oid ike_entry[] = {IPSM_OID_ipsmIkePolicyEntry};
	static const oid neg_entry[] = {IPSM_OID_ipsmNegPolicyEntry};
	struct offer_walk w;

	memset(&w, 0, sizeof(w));
	if (mm) {
		Ipsm__MmPolicyView *v = arena_alloc(rs->a, sizeof(*v));

		if (v == NULL ||
		    walk(rs, ike_entry, OID_LENGTH(ike_entry),
			IPSM_COL_ipsmIkePolicyName,
			IPSM_COL_ipsmIkePolicyQmLimit, 2, ikep_row, &w) != 0)
			return -1;
		ipsm__mm_policy_view__init(v);
		v->policies = (Ipsm__MmPolicy **)w.policies.v;
		v->n_policies = w.policies.n;
		r->view_case = IPSM__RESPONSE__VIEW_MMPOLICY;
		r->mmpolicy = v;
	} else {
		Ipsm__QmPolicyView *v = arena_alloc(rs->a, sizeof(*v));

		if (v == NULL ||
		    walk(rs, neg_entry, OID_LENGTH(neg_entry),
			IPSM_COL_ipsmNegPolicyName,
			IPSM_COL_ipsmNegPolicyLifetimeKbytes, 2, negp_row,
			&w) != 0)
			return -1;
		ipsm__qm_policy_view__init(v);
		v->policies = (Ipsm__QmPolicy **)w.policies.v;
		v->n_policies = w.policies.n;
		r->view_case = IPSM__RESPONSE__VIEW_QMPOLICY;
		r->qmpolicy = v;
	}
	return 0;
}

int
remote_show(const char *host, const struct remote_auth *auth, int timeout_ms,
    const Ipsm__Request *req, Ipsm__Response **out, char *errbuf, size_t errlen)
{
	struct remote_resp *rr = calloc(1, sizeof(*rr));
	struct rs rs = {NULL, host, NULL, errbuf, errlen};
	int rc = -1;

	if (rr == NULL || (rr->a = arena_new()) == NULL) {
		free(rr);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	ipsm__response__init(&rr->r);
	rs.a = rr->a;
	snprintf(errbuf, errlen, "SNMP request failed");
	if ((rs.ss = open_session(host, auth, timeout_ms, errbuf, errlen)) !=
	    NULL) {
		if (!served(&rs))
			req = NULL; /* rs.err says why */
		switch (
		    req != NULL ? req->op_case : IPSM__REQUEST__OP__NOT_SET) {
		case IPSM__REQUEST__OP__NOT_SET:
			break;
		case IPSM__REQUEST__OP_SHOW_STATS:
			rc = show_stats(&rs, &rr->r);
			break;
		case IPSM__REQUEST__OP_SHOW_POLICY:
			rc = show_policy(&rs, &rr->r);
			break;
		case IPSM__REQUEST__OP_SHOW_MMSAS:
			rc = show_mmsas(&rs, &rr->r);
			break;
		case IPSM__REQUEST__OP_SHOW_QMSAS:
			rc = show_qmsas(&rs, &rr->r);
			break;
		case IPSM__REQUEST__OP_SHOW_FILTERS:
			rc = show_filters(&rs, req->show_filters, &rr->r);
			break;
		case IPSM__REQUEST__OP_SHOW_MMPOLICY:
			rc = show_offers(&rs, true, &rr->r);
			break;
		case IPSM__REQUEST__OP_SHOW_QMPOLICY:
			rc = show_offers(&rs, false, &rr->r);
			break;
		default:
			snprintf(errbuf, errlen,
			    "--host shows views only; run this on the host");
			break;
		}
		snmp_close(rs.ss);
	}
	if (rc != 0) {
		remote_free(&rr->r);
		return -1;
	}
	*out = &rr->r;
	return 0;
}

void
remote_free(Ipsm__Response *r)
{
	struct remote_resp *rr = (struct remote_resp *)r;

	if (rr == NULL)
		return;
	arena_free(rr->a);
	free(rr);
}
