/*
 * The policy file parser: YAML through libyaml's document API, then a walk
 * over the node tree that checks every key and value against the schema in
 * docs/POLICY.md.  Every error names the node it is about, so the operator
 * gets file:line:column and a reason.
 *
 * Sections are processed in dependency order (offers, filter lists, filter
 * actions, rules), whatever their order in the file, so that a reference
 * is resolved the moment it is read.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "crypto/ike_x509.h"
#include "policy_int.h"
#include "policy_walk.h"

/* A policy larger than this is a mistake, not a policy. */
#define POLICY_MAX_BYTES (4u << 20)

/* ---- policy metadata ------------------------------------------------ */

static ips_res
meta_name(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(c, v, "policy name", &((struct pol_meta *)o)->name);
}

static ips_res
meta_description(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_str(
	    c, v, "description", &((struct pol_meta *)o)->description);
}

static ips_res
meta_last_modified(struct pctx *c, yaml_node_t *v, void *o)
{
	static const char *const formats[] = {
	    "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"};
	const char *s = NULL;

	GUARD(pw_scalar(c, v, "last-modified", &s));
	for (size_t i = 0; i < 3; i++) {
		struct tm tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, formats[i], &tm);
		if (end != NULL && *end == '\0') {
			((struct pol_meta *)o)->last_modified = timegm(&tm);
			return IPS_OK;
		}
	}
	return pw_fail(c, v,
	    "last-modified '%s' is not a UTC time such as "
	    "2026-11-20T10:00:00Z",
	    s);
}

static ips_res
meta_store(struct pctx *c, yaml_node_t *v, void *o)
{
	static const char *const names[] = {"local", "directory"};
	unsigned i;

	GUARD(pw_get_token(c, v, "store", names, 2, &i));
	((struct pol_meta *)o)->store = (enum pol_store)i;
	return IPS_OK;
}

static ips_res
meta_path(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(c, v, "path", &((struct pol_meta *)o)->path);
}

static ips_res
meta_ou(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_str(
	    c, v, "organizational-unit", &((struct pol_meta *)o)->ou);
}

static ips_res
meta_gpo(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_str(
	    c, v, "group-policy-object", &((struct pol_meta *)o)->gpo);
}

static ips_res
parse_meta(struct pctx *c, yaml_node_t *n)
{
	static const struct field f[] = {
	    {"name", meta_name, true},
	    {"description", meta_description, false},
	    {"last-modified", meta_last_modified, false},
	    {"store", meta_store, false},
	    {"path", meta_path, false},
	    {"organizational-unit", meta_ou, false},
	    {"group-policy-object", meta_gpo, false},
	};
	struct pol_meta *m = &c->p->meta;

	GUARD(pw_walk_map(c, n, "policy", f, sizeof(f) / sizeof(f[0]), m));
	if (m->store == POL_STORE_DIRECTORY && pw_map_get(c, n, "path") == NULL)
		return pw_fail(c, n,
		    "a policy in the directory store needs "
		    "'path' (its distinguished name)");
	return IPS_OK;
}

/* ---- IKE policies (Main Mode offers) -------------------------------- */

static ips_res
mmo_encr(struct pctx *c, yaml_node_t *v, void *o)
{
#define IPS_TOK(e, tok, disp) tok,
	static const char *const names[] = {IPS_IKE_ENCRS(IPS_TOK)};
#undef IPS_TOK
	unsigned i;

	GUARD(pw_get_token(
	    c, v, "Main Mode encryption", names, IPS_IKE_ENCR_COUNT, &i));
	((struct pol_mm_offer *)o)->encr = (enum ips_ike_encr)i;
	return IPS_OK;
}

static ips_res
mmo_hash(struct pctx *c, yaml_node_t *v, void *o)
{
#define IPS_TOK(e, tok, disp) tok,
	static const char *const names[] = {IPS_IKE_HASHES(IPS_TOK)};
#undef IPS_TOK
	unsigned i;

	GUARD(pw_get_token(
	    c, v, "Main Mode integrity", names, IPS_IKE_HASH_COUNT, &i));
	((struct pol_mm_offer *)o)->hash = (enum ips_ike_hash)i;
	return IPS_OK;
}

static ips_res
mmo_dh(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_dh_group(
	    c, v, "dh-group", false, &((struct pol_mm_offer *)o)->dh_group);
}

/* RFC 2409 sets no bounds; these keep a typo from making a useless SA. */
#define MM_LIFETIME_MIN 60u
#define MM_LIFETIME_MAX (48u * 3600)
#define MM_LIFETIME_DEFAULT (8u * 3600)
#define QM_LIFETIME_MIN 60u
#define QM_LIFETIME_MAX (48u * 3600)
#define QM_LIFETIME_DEFAULT 3600u
#define QM_LIFETIME_KB_DEFAULT 100000u

static ips_res
mmo_lifetime(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_duration(c, v, "lifetime", MM_LIFETIME_MIN,
	    MM_LIFETIME_MAX, &((struct pol_mm_offer *)o)->lifetime_s);
}

static ips_res
mmo_qm_limit(struct pctx *c, yaml_node_t *v, void *o)
{
	uint64_t x;

	GUARD(pw_get_uint(c, v, "qm-limit", 0, UINT32_MAX, &x));
	((struct pol_mm_offer *)o)->qm_limit = (uint32_t)x;
	return IPS_OK;
}

struct ike_pol_ctx {
	struct pol_ike_policy *ip;
	yaml_node_t *offers;
	uint32_t lifetime_s;
	uint64_t qm_limit;
};

#define DPD_DELAY_DEFAULT 30u
#define DPD_TIMEOUT_DEFAULT 150u

static ips_res
ikp_dpd_delay(struct pctx *c, yaml_node_t *v, void *o)
{
	/* 0 turns probing off */
	return pw_get_duration(c, v, "dpd-delay", 0, 3600,
	    &((struct ike_pol_ctx *)o)->ip->dpd_delay_s);
}

static ips_res
ikp_dpd_timeout(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_duration(c, v, "dpd-timeout", 1, 86400,
	    &((struct ike_pol_ctx *)o)->ip->dpd_timeout_s);
}

static ips_res
ikp_name(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(
	    c, v, "ike-policy name", &((struct ike_pol_ctx *)o)->ip->name);
}

static ips_res
ikp_offers(struct pctx *c, yaml_node_t *v, void *o)
{
	(void)c;
	((struct ike_pol_ctx *)o)->offers = v;
	return IPS_OK;
}

static ips_res
ikp_lifetime(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_duration(c, v, "lifetime", MM_LIFETIME_MIN,
	    MM_LIFETIME_MAX, &((struct ike_pol_ctx *)o)->lifetime_s);
}

static ips_res
ikp_qm_limit(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_uint(c, v, "qm-limit", 0, UINT32_MAX,
	    &((struct ike_pol_ctx *)o)->qm_limit);
}

static ips_res
parse_ike_policy(struct pctx *c, yaml_node_t *n, struct pol_ike_policy *ip)
{
	static const struct field f[] = {
	    {"name", ikp_name, true},
	    {"offers", ikp_offers, true},
	    {"lifetime", ikp_lifetime, false},
	    {"qm-limit", ikp_qm_limit, false},
	    {"dpd-delay", ikp_dpd_delay, false},
	    {"dpd-timeout", ikp_dpd_timeout, false},
	};
	static const struct field of[] = {
	    {"encryption", mmo_encr, true},
	    {"integrity", mmo_hash, true},
	    {"dh-group", mmo_dh, true},
	    {"lifetime", mmo_lifetime, false},
	    {"qm-limit", mmo_qm_limit, false},
	};
	struct ike_pol_ctx ctx = {ip, NULL, MM_LIFETIME_DEFAULT, 0};

	ip->dpd_delay_s = DPD_DELAY_DEFAULT;
	ip->dpd_timeout_s = DPD_TIMEOUT_DEFAULT;
	struct pol_mm_offer *offers;
	yaml_node_item_t *items;
	size_t count;

	GUARD(
	    pw_walk_map(c, n, "ike-policy", f, sizeof(f) / sizeof(f[0]), &ctx));
	GUARD(pw_seq_items(c, ctx.offers, "offers", true, &items, &count));
	GUARD(pw_seq_alloc(c, count, sizeof(*offers), (void **)&offers));
	for (size_t i = 0; i < count; i++) {
		offers[i].lifetime_s = ctx.lifetime_s;
		offers[i].qm_limit = (uint32_t)ctx.qm_limit;
		GUARD(pw_walk_map(c, pw_node(c, items[i]), "Main Mode offer",
		    of, sizeof(of) / sizeof(of[0]), &offers[i]));
	}
	ip->offers = offers;
	ip->noffers = count;
	return IPS_OK;
}

/* ---- negotiation policies (Quick Mode offers) ----------------------- */

/* "aes128gcm16", or "<cipher>-<integrity>" such as "aes128-sha256". */
static ips_res
qmo_esp(struct pctx *c, yaml_node_t *v, void *o)
{
#define IPS_TOK(e, tok, disp) tok,
	static const char *const encrs[] = {IPS_ESP_ENCRS(IPS_TOK)};
	static const char *const integs[] = {IPS_INTEGS(IPS_TOK)};
#undef IPS_TOK
	struct pol_qm_offer *q = o;
	char enc[32];
	const char *s, *dash;
	size_t i, j, elen;

	GUARD(pw_scalar(c, v, "esp", &s));
	dash = strchr(s, '-');
	elen = dash ? (size_t)(dash - s) : strlen(s);
	if (elen >= sizeof(enc))
		elen = sizeof(enc) - 1;
	memcpy(enc, s, elen);
	enc[elen] = '\0';
	for (i = 0; i < IPS_ESP_ENCR_COUNT; i++)
		if (strcmp(enc, encrs[i]) == 0)
			break;
	if (i == IPS_ESP_ENCR_COUNT)
		return pw_fail(c, v,
		    "unknown ESP cipher '%s' (expected one of: "
		    "aes128gcm16, aes256gcm16, aes128, aes192, "
		    "aes256, 3des, null)",
		    enc);
	j = IPS_INTEG_NONE;
	if (dash != NULL) {
		for (j = 1; j < IPS_INTEG_COUNT; j++)
			if (strcmp(dash + 1, integs[j]) == 0)
				break;
		if (j == IPS_INTEG_COUNT)
			return pw_fail(c, v,
			    "unknown ESP integrity '%s' "
			    "(expected sha1 or sha256)",
			    dash + 1);
	}
	if (ips_esp_encr_is_aead((enum ips_esp_encr)i) && j != IPS_INTEG_NONE)
		return pw_fail(c, v,
		    "'%s' is an AEAD cipher and carries its own "
		    "integrity; write just '%s'",
		    enc, enc);
	if (!ips_esp_encr_is_aead((enum ips_esp_encr)i) && j == IPS_INTEG_NONE)
		return pw_fail(c, v,
		    "ESP '%s' without integrity is not offered "
		    "(write %s-sha256, or use an AEAD cipher)",
		    enc, enc);
	q->esp = true;
	q->esp_encr = (enum ips_esp_encr)i;
	q->esp_integ = (enum ips_integ)j;
	return IPS_OK;
}

static ips_res
qmo_ah(struct pctx *c, yaml_node_t *v, void *o)
{
	static const char *const names[] = {NULL, "sha1", "sha256"};
	struct pol_qm_offer *q = o;
	unsigned i;

	GUARD(pw_get_token(c, v, "AH integrity", names, 3, &i));
	q->ah = true;
	q->ah_integ = (enum ips_integ)i;
	return IPS_OK;
}

static ips_res
qmo_lifetime(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_duration(c, v, "lifetime", QM_LIFETIME_MIN,
	    QM_LIFETIME_MAX, &((struct pol_qm_offer *)o)->lifetime_s);
}

static ips_res
qmo_lifetime_kb(struct pctx *c, yaml_node_t *v, void *o)
{
	/* RFC 2407 4.5: kilobytes; 0 leaves the volume unlimited. */
	return pw_get_uint(c, v, "lifetime-kb", 0, UINT32_MAX,
	    &((struct pol_qm_offer *)o)->lifetime_kb);
}

static ips_res
qmo_esn(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_bool(c, v, "esn", &((struct pol_qm_offer *)o)->esn);
}

struct neg_pol_ctx {
	struct pol_neg_policy *np;
	yaml_node_t *offers;
};

static ips_res
ngp_name(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(c, v, "negotiation-policy name",
	    &((struct neg_pol_ctx *)o)->np->name);
}

static ips_res
ngp_pfs(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_dh_group(
	    c, v, "pfs-group", true, &((struct neg_pol_ctx *)o)->np->pfs_group);
}

static ips_res
ngp_soft(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_bool(c, v, "soft", &((struct neg_pol_ctx *)o)->np->soft);
}

static ips_res
ngp_replay(struct pctx *c, yaml_node_t *v, void *o)
{
	uint64_t n;

	/* RFC 4303 3.4.3: 32 at least, 64 by default; our bitmap holds
	 * counts in words of 64 */
	GUARD(pw_get_uint(c, v, "replay-window", 64, POL_REPLAY_MAX, &n));
	if (n % 64 != 0)
		return pw_fail(c, v, "replay-window must be a multiple of 64");
	((struct neg_pol_ctx *)o)->np->replay_window = (unsigned)n;
	return IPS_OK;
}

static ips_res
ngp_offers(struct pctx *c, yaml_node_t *v, void *o)
{
	(void)c;
	((struct neg_pol_ctx *)o)->offers = v;
	return IPS_OK;
}

static ips_res
parse_neg_policy(struct pctx *c, yaml_node_t *n, struct pol_neg_policy *np)
{
	static const struct field f[] = {
	    {"name", ngp_name, true},
	    {"offers", ngp_offers, true},
	    {"pfs-group", ngp_pfs, false},
	    {"soft", ngp_soft, false},
	    {"replay-window", ngp_replay, false},
	};
	static const struct field of[] = {
	    {"esp", qmo_esp, false},
	    {"ah", qmo_ah, false},
	    {"lifetime", qmo_lifetime, false},
	    {"lifetime-kb", qmo_lifetime_kb, false},
	    {"esn", qmo_esn, false},
	};
	struct neg_pol_ctx ctx = {np, NULL};
	struct pol_qm_offer *offers;
	yaml_node_item_t *items;
	size_t count;

	np->replay_window = POL_REPLAY_DEFAULT;
	GUARD(pw_walk_map(
	    c, n, "negotiation-policy", f, sizeof(f) / sizeof(f[0]), &ctx));
	GUARD(pw_seq_items(c, ctx.offers, "offers", true, &items, &count));
	GUARD(pw_seq_alloc(c, count, sizeof(*offers), (void **)&offers));
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *on = pw_node(c, items[i]);

		offers[i].lifetime_s = QM_LIFETIME_DEFAULT;
		offers[i].lifetime_kb = QM_LIFETIME_KB_DEFAULT;
		GUARD(pw_walk_map(c, on, "Quick Mode offer", of,
		    sizeof(of) / sizeof(of[0]), &offers[i]));
		if (!offers[i].ah && !offers[i].esp)
			return pw_fail(c, on,
			    "Quick Mode offer needs 'esp', "
			    "'ah' or both");
	}
	np->offers = offers;
	np->noffers = count;
	return IPS_OK;
}

/* ---- filter lists ---------------------------------------------------- */

static ips_res
flt_src(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_aspec(c, v, "source", &((struct pol_filter *)o)->src);
}

static ips_res
flt_dst(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_aspec(
	    c, v, "destination", &((struct pol_filter *)o)->dst);
}

static ips_res
flt_proto(struct pctx *c, yaml_node_t *v, void *o)
{
	const char *s = NULL;
	uint64_t x;

	GUARD(pw_scalar(c, v, "protocol", &s));
	if (!isdigit((unsigned char)*s)) {
		if (!pol_proto_parse(s, &((struct pol_filter *)o)->proto))
			return pw_fail(c, v,
			    "unknown protocol '%s' (expected any, icmp, "
			    "tcp, udp, ipv6-icmp or a number 0-255)",
			    s);
		return IPS_OK;
	}
	/* numbers through the common reader: its range error names 0-255 */
	GUARD(pw_get_uint(c, v, "protocol", 0, 255, &x));
	((struct pol_filter *)o)->proto = (uint8_t)x;
	return IPS_OK;
}

static ips_res
get_port(struct pctx *c, yaml_node_t *v, const char *what, uint16_t *out)
{
	const char *s = NULL;
	uint64_t x;

	GUARD(pw_scalar(c, v, what, &s));
	if (strcmp(s, "any") == 0) {
		*out = 0;
		return IPS_OK;
	}
	GUARD(pw_get_uint(c, v, what, 0, 65535, &x));
	*out = (uint16_t)x;
	return IPS_OK;
}

static ips_res
flt_sport(struct pctx *c, yaml_node_t *v, void *o)
{
	return get_port(c, v, "source-port", &((struct pol_filter *)o)->sport);
}

static ips_res
flt_dport(struct pctx *c, yaml_node_t *v, void *o)
{
	return get_port(
	    c, v, "destination-port", &((struct pol_filter *)o)->dport);
}

static ips_res
flt_mirrored(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_bool(
	    c, v, "mirrored", &((struct pol_filter *)o)->mirrored);
}

static ips_res
flt_desc(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_str(
	    c, v, "description", &((struct pol_filter *)o)->description);
}

static bool
is_server_keyword(const struct ips_aspec *a)
{
	return a->kind == IPS_ASPEC_DNS || a->kind == IPS_ASPEC_GATEWAY;
}

/* Checks that need more than one field of a filter. */
static ips_res
check_filter(struct pctx *c, yaml_node_t *n, const struct pol_filter *f)
{
	int sf = ips_aspec_family(&f->src), df = ips_aspec_family(&f->dst);

	if (sf != 0 && df != 0 && sf != df)
		return pw_fail(c, n, "filter mixes IPv4 and IPv6 addresses");
	if (f->src.kind == IPS_ASPEC_ME && f->dst.kind == IPS_ASPEC_ME)
		return pw_fail(c, n,
		    "filter source and destination are both "
		    "'me'");
	/* A server keyword is one end of a conversation with this host. */
	if ((is_server_keyword(&f->src) && f->dst.kind != IPS_ASPEC_ME) ||
	    (is_server_keyword(&f->dst) && f->src.kind != IPS_ASPEC_ME))
		return pw_fail(c, n,
		    "a dns or gateway keyword needs 'me' as "
		    "the other address");
	if ((f->sport != 0 || f->dport != 0) && f->proto != 6 && f->proto != 17)
		return pw_fail(c, n, "ports need protocol tcp or udp");
	return IPS_OK;
}

struct flist_ctx {
	struct pol_filter_list *fl;
	yaml_node_t *filters;
};

static ips_res
fl_name(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(
	    c, v, "filter-list name", &((struct flist_ctx *)o)->fl->name);
}

static ips_res
fl_desc(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_str(
	    c, v, "description", &((struct flist_ctx *)o)->fl->description);
}

static ips_res
fl_filters(struct pctx *c, yaml_node_t *v, void *o)
{
	(void)c;
	((struct flist_ctx *)o)->filters = v;
	return IPS_OK;
}

static ips_res
parse_filter_list(struct pctx *c, yaml_node_t *n, struct pol_filter_list *fl)
{
	static const struct field f[] = {
	    {"name", fl_name, true},
	    {"filters", fl_filters, true},
	    {"description", fl_desc, false},
	};
	static const struct field ff[] = {
	    {"source", flt_src, true},
	    {"destination", flt_dst, true},
	    {"protocol", flt_proto, false},
	    {"source-port", flt_sport, false},
	    {"destination-port", flt_dport, false},
	    {"mirrored", flt_mirrored, false},
	    {"description", flt_desc, false},
	};
	struct flist_ctx ctx = {fl, NULL};
	struct pol_filter *filters;
	yaml_node_item_t *items;
	size_t count;

	fl->description = "";
	GUARD(pw_walk_map(
	    c, n, "filter-list", f, sizeof(f) / sizeof(f[0]), &ctx));
	GUARD(pw_seq_items(c, ctx.filters, "filters", true, &items, &count));
	GUARD(pw_seq_alloc(c, count, sizeof(*filters), (void **)&filters));
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *fn = pw_node(c, items[i]);

		filters[i].description = "";
		filters[i].mirrored = true; /* the snap-in's default */
		filters[i].pos = pw_pos_of(fn);
		GUARD(pw_walk_map(c, fn, "filter", ff,
		    sizeof(ff) / sizeof(ff[0]), &filters[i]));
		GUARD(check_filter(c, fn, &filters[i]));
	}
	fl->filters = filters;
	fl->nfilters = count;
	return IPS_OK;
}

/* ---- filter actions ------------------------------------------------- */

/* Find a named record in an array of records whose first field is name. */
#define FIND_BY_NAME(arr, n, key, out) \
	do { \
		(out) = NULL; \
		for (size_t fbn_i_ = 0; fbn_i_ < (n); fbn_i_++) \
			if ((arr)[fbn_i_].name != NULL && \
			    strcmp((arr)[fbn_i_].name, (key)) == 0) { \
				(out) = &(arr)[fbn_i_]; \
				break; \
			} \
	} while (0)

struct fact_ctx {
	struct pol_filter_action *fa;
	yaml_node_t *neg_ref;
};

static ips_res
fa_name(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(
	    c, v, "filter-action name", &((struct fact_ctx *)o)->fa->name);
}

static ips_res
fa_action(struct pctx *c, yaml_node_t *v, void *o)
{
	static const char *const names[] = {"permit", "block", "negotiate"};
	unsigned i;

	GUARD(pw_get_token(c, v, "action", names, 3, &i));
	((struct fact_ctx *)o)->fa->action = (enum pol_action)i;
	return IPS_OK;
}

static ips_res
fa_neg(struct pctx *c, yaml_node_t *v, void *o)
{
	const char *s = NULL;

	GUARD(pw_scalar(c, v, "negotiation-policy", &s));
	((struct fact_ctx *)o)->neg_ref = v;
	return IPS_OK;
}

static ips_res
parse_filter_action(
    struct pctx *c, yaml_node_t *n, struct pol_filter_action *fa)
{
	static const struct field f[] = {
	    {"name", fa_name, true},
	    {"action", fa_action, true},
	    {"negotiation-policy", fa_neg, false},
	};
	struct fact_ctx ctx = {fa, NULL};
	const struct pol_neg_policy *np;
	const char *ref;

	GUARD(pw_walk_map(
	    c, n, "filter-action", f, sizeof(f) / sizeof(f[0]), &ctx));
	if (fa->action != POL_ACTION_NEGOTIATE) {
		if (ctx.neg_ref != NULL)
			return pw_fail(c, ctx.neg_ref,
			    "only a negotiate action "
			    "takes a negotiation-policy");
		return IPS_OK;
	}
	if (ctx.neg_ref == NULL)
		return pw_fail(c, n,
		    "filter-action '%s' negotiates but names no "
		    "negotiation-policy",
		    fa->name);
	ref = (const char *)ctx.neg_ref->data.scalar.value;
	FIND_BY_NAME(c->p->neg, c->p->nneg, ref, np);
	if (np == NULL)
		return pw_fail(
		    c, ctx.neg_ref, "no negotiation-policy named '%s'", ref);
	fa->neg_policy = np;
	return IPS_OK;
}

/* ---- rules ----------------------------------------------------------- */

struct rule_ctx {
	struct pol_rule *r;
	yaml_node_t *list_ref, *action_ref, *ike_ref, *auth, *tunnel;
};

static ips_res
rl_name(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(c, v, "rule name", &((struct rule_ctx *)o)->r->name);
}

static ips_res
rl_desc(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_str(
	    c, v, "description", &((struct rule_ctx *)o)->r->description);
}

static ips_res
rl_list(struct pctx *c, yaml_node_t *v, void *o)
{
	const char *s = NULL;

	GUARD(pw_scalar(c, v, "filter-list", &s));
	((struct rule_ctx *)o)->list_ref = v;
	return IPS_OK;
}

static ips_res
rl_action(struct pctx *c, yaml_node_t *v, void *o)
{
	const char *s = NULL;

	GUARD(pw_scalar(c, v, "filter-action", &s));
	((struct rule_ctx *)o)->action_ref = v;
	return IPS_OK;
}

static ips_res
rl_ike(struct pctx *c, yaml_node_t *v, void *o)
{
	const char *s = NULL;

	GUARD(pw_scalar(c, v, "ike-policy", &s));
	((struct rule_ctx *)o)->ike_ref = v;
	return IPS_OK;
}

static ips_res
rl_auth(struct pctx *c, yaml_node_t *v, void *o)
{
	(void)c;
	((struct rule_ctx *)o)->auth = v;
	return IPS_OK;
}

static ips_res
rl_tunnel(struct pctx *c, yaml_node_t *v, void *o)
{
	struct pol_rule *r = ((struct rule_ctx *)o)->r;
	struct ips_aspec sp;

	GUARD(pw_get_aspec(c, v, "tunnel endpoint", &sp));
	if (sp.kind != IPS_ASPEC_HOST)
		return pw_fail(c, v, "tunnel endpoint must be one IP address");
	r->tunnel = true;
	r->tunnel_remote = sp.lo;
	((struct rule_ctx *)o)->tunnel = v;
	return IPS_OK;
}

static ips_res
rl_tunnel_local(struct pctx *c, yaml_node_t *v, void *o)
{
	struct pol_rule *r = ((struct rule_ctx *)o)->r;

	GUARD(pw_get_aspec(c, v, "local tunnel endpoint", &r->tunnel_local));
	if (r->tunnel_local.kind != IPS_ASPEC_HOST &&
	    r->tunnel_local.kind != IPS_ASPEC_ME)
		return pw_fail(c, v,
		    "local tunnel endpoint must be 'me' or one "
		    "IP address");
	return IPS_OK;
}

static ips_res
rl_conn(struct pctx *c, yaml_node_t *v, void *o)
{
	static const char *const names[] = {"all", "lan", "dialup"};
	unsigned i;

	GUARD(pw_get_token(c, v, "connection-type", names, 3, &i));
	((struct rule_ctx *)o)->r->conn = (enum pol_conn)i;
	return IPS_OK;
}

static ips_res
au_method(struct pctx *c, yaml_node_t *v, void *o)
{
	static const char *const names[] = {"psk", "certificate"};
	unsigned i;

	GUARD(pw_get_token(c, v, "authentication method", names, 2, &i));
	((struct pol_auth *)o)->method = (enum pol_auth_method)i;
	return IPS_OK;
}

static ips_res
au_secret(struct pctx *c, yaml_node_t *v, void *o)
{
	return pw_get_name(c, v, "secret", &((struct pol_auth *)o)->secret);
}

/* A file named in the policy: relative names are the policy's dir's. */
static ips_res
get_path(struct pctx *c, yaml_node_t *v, const char *what, const char **out)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	const char *s = NULL;

	GUARD(pw_scalar(c, v, what, &s));
	if (*s == '\0')
		return pw_fail(c, v, "%s must name a file", what);
	if (s[0] == '/') {
		snprintf(buf, sizeof(buf), "%s", s);
	} else {
		snprintf(dir, sizeof(dir), "%s", c->file);
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", dirname(dir),
			s) >= sizeof(buf))
			return pw_fail(c, v, "%s path is too long", what);
	}
	if ((*out = arena_strdup(c->p->arena, buf)) == NULL)
		return pw_nomem(c);
	return IPS_OK;
}

static ips_res
au_ca(struct pctx *c, yaml_node_t *v, void *o)
{
	return get_path(c, v, "ca", &((struct pol_auth *)o)->ca);
}

static ips_res
au_cert(struct pctx *c, yaml_node_t *v, void *o)
{
	return get_path(c, v, "cert", &((struct pol_auth *)o)->cert);
}

static ips_res
au_key(struct pctx *c, yaml_node_t *v, void *o)
{
	return get_path(c, v, "key", &((struct pol_auth *)o)->key);
}

static ips_res
au_crl(struct pctx *c, yaml_node_t *v, void *o)
{
	return get_path(c, v, "crl", &((struct pol_auth *)o)->crl);
}

static ips_res
au_crl_check(struct pctx *c, yaml_node_t *v, void *o)
{
	static const char *const names[] = {"none", "revoked", "strict"};
	unsigned i;

	GUARD(pw_get_token(c, v, "crl-check", names, 3, &i));
	((struct pol_auth *)o)->crl_check = (enum pol_crl_check)i;
	((struct pol_auth *)o)->crl_check_set = true;
	return IPS_OK;
}

static ips_res
au_peer_id(struct pctx *c, yaml_node_t *v, void *o)
{
	const char **id = &((struct pol_auth *)o)->peer_id;
	uint8_t der[1024];
	size_t len;

	GUARD(pw_get_name(c, v, "peer-id", id));
	if (!ips_ok(ike_dn_parse(*id, der, sizeof(der), &len)))
		return pw_fail(c, v,
		    "peer-id '%s' is not a distinguished name like "
		    "\"O=example, CN=gateway\"",
		    *id);
	return IPS_OK;
}

/* Keys that only a certificate method takes. */
static const char *const cert_only[] = {
    "ca", "cert", "key", "crl", "crl-check", "peer-id"};

static ips_res
parse_auth(struct pctx *c, yaml_node_t *n, struct pol_rule *r)
{
	static const struct field f[] = {
	    {"method", au_method, true},
	    {"secret", au_secret, false},
	    {"ca", au_ca, false},
	    {"cert", au_cert, false},
	    {"key", au_key, false},
	    {"crl", au_crl, false},
	    {"crl-check", au_crl_check, false},
	    {"peer-id", au_peer_id, false},
	};
	struct pol_auth *auth;
	yaml_node_item_t *items;
	size_t count;

	GUARD(pw_seq_items(c, n, "authentication", true, &items, &count));
	GUARD(pw_seq_alloc(c, count, sizeof(*auth), (void **)&auth));
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *an = pw_node(c, items[i]);

		auth[i].ca = auth[i].cert = auth[i].key = "";
		auth[i].crl = auth[i].peer_id = "";
		auth[i].crl_check = POL_CRL_REVOKED; /* as Windows' default */
		auth[i].pos = pw_pos_of(an);
		GUARD(pw_walk_map(c, an, "authentication method", f,
		    sizeof(f) / sizeof(f[0]), &auth[i]));
		if (auth[i].method == POL_AUTH_PSK && auth[i].secret == NULL)
			return pw_fail(c, an,
			    "psk authentication needs 'secret' "
			    "(a name in the secrets file)");
		for (size_t k = 0; auth[i].method == POL_AUTH_PSK &&
		     k < sizeof(cert_only) / sizeof(cert_only[0]);
		     k++)
			if (pw_map_get(c, an, cert_only[k]) != NULL)
				return pw_fail(c,
				    pw_map_get(c, an, cert_only[k]),
				    "'%s' applies to certificate "
				    "authentication only",
				    cert_only[k]);
		if (auth[i].method == POL_AUTH_CERT && auth[i].secret != NULL)
			return pw_fail(c, pw_map_get(c, an, "secret"),
			    "'secret' applies to psk authentication only");
		if ((*auth[i].cert == '\0') != (*auth[i].key == '\0'))
			return pw_fail(c, an,
			    "certificate authentication needs "
			    "both 'cert' and 'key'");
		/* Signing for a rule means trusting peers for it: name the
		 * authority, never fall back to the system's web bundle. */
		if (*auth[i].cert != '\0' && *auth[i].ca == '\0')
			return pw_fail(c, an,
			    "certificate authentication with 'cert' needs "
			    "'ca' (the authorities its peers' certificates "
			    "chain to)");
		/* Strict means "a list must vouch for it": no list, no
		 * peer could ever pass. */
		if (auth[i].crl_check == POL_CRL_STRICT && *auth[i].crl == '\0')
			return pw_fail(c, pw_map_get(c, an, "crl-check"),
			    "crl-check: strict needs 'crl' (the revocation "
			    "lists of the authorities)");
	}
	r->auth = auth;
	r->nauth = count;
	return IPS_OK;
}

static ips_res
parse_rule(struct pctx *c, yaml_node_t *n, struct pol_rule *r)
{
	static const struct field f[] = {
	    {"name", rl_name, true},
	    {"filter-list", rl_list, true},
	    {"filter-action", rl_action, true},
	    {"description", rl_desc, false},
	    {"authentication", rl_auth, false},
	    {"tunnel", rl_tunnel, false},
	    {"tunnel-local", rl_tunnel_local, false},
	    {"connection-type", rl_conn, false},
	    {"ike-policy", rl_ike, false},
	};
	struct rule_ctx ctx = {r, NULL, NULL, NULL, NULL, NULL};
	struct policy *p = c->p;
	const char *ref;

	r->description = "";
	r->tunnel_local.kind = IPS_ASPEC_ME;
	GUARD(pw_walk_map(c, n, "rule", f, sizeof(f) / sizeof(f[0]), &ctx));

	ref = (const char *)ctx.list_ref->data.scalar.value;
	FIND_BY_NAME(p->lists, p->nlists, ref, r->filter_list);
	if (r->filter_list == NULL)
		return pw_fail(
		    c, ctx.list_ref, "no filter-list named '%s'", ref);
	ref = (const char *)ctx.action_ref->data.scalar.value;
	FIND_BY_NAME(p->actions, p->nactions, ref, r->filter_action);
	if (r->filter_action == NULL)
		return pw_fail(
		    c, ctx.action_ref, "no filter-action named '%s'", ref);

	if (r->filter_action->action != POL_ACTION_NEGOTIATE) {
		if (ctx.auth != NULL)
			return pw_fail(c, ctx.auth,
			    "authentication applies only "
			    "to rules that negotiate");
		if (ctx.ike_ref != NULL)
			return pw_fail(c, ctx.ike_ref,
			    "ike-policy applies only "
			    "to rules that negotiate");
		if (ctx.tunnel != NULL)
			return pw_fail(c, ctx.tunnel,
			    "a tunnel applies only to "
			    "rules that negotiate");
		return IPS_OK;
	}
	if (ctx.auth == NULL)
		return pw_fail(c, n,
		    "rule '%s' negotiates but has no "
		    "authentication",
		    r->name);
	GUARD(parse_auth(c, ctx.auth, r));
	if (ctx.ike_ref != NULL) {
		ref = (const char *)ctx.ike_ref->data.scalar.value;
		FIND_BY_NAME(p->ike, p->nike, ref, r->ike_policy);
		if (r->ike_policy == NULL)
			return pw_fail(
			    c, ctx.ike_ref, "no ike-policy named '%s'", ref);
	} else if (p->nike > 0) {
		r->ike_policy = &p->ike[0];
	} else {
		return pw_fail(c, n,
		    "rule '%s' negotiates but the policy has no "
		    "ike-policies",
		    r->name);
	}
	if (r->tunnel && ips_aspec_family(&r->tunnel_local) != 0 &&
	    r->tunnel_local.lo.af != r->tunnel_remote.af)
		return pw_fail(c, n, "tunnel endpoints mix IPv4 and IPv6");
	return IPS_OK;
}

/* ---- the document ----------------------------------------------------- */

/* Names must be unique within a section: they are how records are found. */
#define CHECK_UNIQUE(c, arr, i, items, what) \
	do { \
		for (size_t cu_j_ = 0; cu_j_ < (i); cu_j_++) \
			if (strcmp((arr)[cu_j_].name, (arr)[i].name) == 0) \
				return pw_fail((c), \
				    pw_map_get((c), pw_node((c), (items)[i]), \
					"name"), \
				    "duplicate %s name '%s'", (what), \
				    (arr)[i].name); \
	} while (0)

/* Run parse_one over every item of a section's list. */
#define PARSE_SECTION(c, sect, arr, n, parse_one, what) \
	do { \
		yaml_node_item_t *ps_items_; \
		size_t ps_count_ = 0; \
		if ((sect) != NULL) \
			GUARD(pw_seq_items((c), (sect), what "s", false, \
			    &ps_items_, &ps_count_)); \
		GUARD(pw_seq_alloc( \
		    (c), ps_count_, sizeof(*(arr)), (void **)&(arr))); \
		for (size_t ps_i_ = 0; ps_i_ < ps_count_; ps_i_++) { \
			GUARD(parse_one((c), pw_node((c), ps_items_[ps_i_]), \
			    &(arr)[ps_i_])); \
			(n) = ps_i_ + 1; \
			CHECK_UNIQUE((c), (arr), ps_i_, ps_items_, what); \
		} \
	} while (0)

struct top_ctx {
	yaml_node_t *policy, *secrets, *ike, *neg, *lists, *actions, *rules;
};

#define TOP_FIELD(fn, member) \
	static ips_res fn(struct pctx *c, yaml_node_t *v, void *o) \
	{ \
		(void)c; \
		((struct top_ctx *)o)->member = v; \
		return IPS_OK; \
	}
TOP_FIELD(top_policy, policy)
TOP_FIELD(top_secrets, secrets)
TOP_FIELD(top_ike, ike)
TOP_FIELD(top_neg, neg)
TOP_FIELD(top_lists, lists)
TOP_FIELD(top_actions, actions)
TOP_FIELD(top_rules, rules)
#undef TOP_FIELD

static ips_res
resolve_secrets_path(struct pctx *c, yaml_node_t *v)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	const char *s = NULL;

	GUARD(pw_scalar(c, v, "secrets", &s));
	if (*s == '\0')
		return pw_fail(c, v, "secrets must name a file");
	if (s[0] == '/') {
		snprintf(buf, sizeof(buf), "%s", s);
	} else {
		snprintf(dir, sizeof(dir), "%s", c->file);
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", dirname(dir),
			s) >= sizeof(buf))
			return pw_fail(c, v, "secrets path is too long");
	}
	if ((c->p->secrets_path = arena_strdup(c->p->arena, buf)) == NULL)
		return pw_nomem(c);
	return IPS_OK;
}

static ips_res
parse_document(struct pctx *c, yaml_node_t *root)
{
	static const struct field f[] = {
	    {"policy", top_policy, true},
	    {"secrets", top_secrets, false},
	    {"ike-policies", top_ike, false},
	    {"negotiation-policies", top_neg, false},
	    {"filter-lists", top_lists, false},
	    {"filter-actions", top_actions, false},
	    {"rules", top_rules, false},
	};
	struct top_ctx t = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
	struct policy *p = c->p;

	GUARD(pw_walk_map(
	    c, root, "the policy file", f, sizeof(f) / sizeof(f[0]), &t));
	GUARD(parse_meta(c, t.policy));
	if (t.secrets != NULL)
		GUARD(resolve_secrets_path(c, t.secrets));
	PARSE_SECTION(
	    c, t.ike, p->ike, p->nike, parse_ike_policy, "ike-policy");
	PARSE_SECTION(
	    c, t.neg, p->neg, p->nneg, parse_neg_policy, "negotiation-policy");
	PARSE_SECTION(
	    c, t.lists, p->lists, p->nlists, parse_filter_list, "filter-list");
	PARSE_SECTION(c, t.actions, p->actions, p->nactions,
	    parse_filter_action, "filter-action");
	PARSE_SECTION(c, t.rules, p->rules, p->nrules, parse_rule, "rule");
	return IPS_OK;
}

static struct policy *
policy_alloc(const char *name)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if ((p->arena = arena_new()) == NULL) {
		free(p);
		return NULL;
	}
	p->meta.description = "";
	p->meta.ou = "";
	p->meta.gpo = "";
	p->meta.path = arena_strdup(p->arena, name);
	if (p->meta.path == NULL) {
		policy_free(p);
		return NULL;
	}
	return p;
}

static void
err_init(struct policy_error *err, const char *name)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
}

ips_res
policy_load_buffer(const char *name, const char *buf, size_t len,
    struct policy **out, struct policy_error *err)
{
	struct pctx c = {NULL, NULL, err, name};
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	ips_res r = IPS_ERR(CONFIG);

	err_init(err, name);
	if (len > POLICY_MAX_BYTES)
		return pw_fail(&c, NULL, "policy file is larger than %u bytes",
		    POLICY_MAX_BYTES);
	if ((c.p = policy_alloc(name)) == NULL)
		return pw_nomem(&c);
	if (!yaml_parser_initialize(&parser)) {
		policy_free(c.p);
		return pw_nomem(&c);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err->line = (unsigned)parser.problem_mark.line + 1;
		err->col = (unsigned)parser.problem_mark.column + 1;
		snprintf(err->msg, sizeof(err->msg), "YAML syntax: %s%s%s",
		    parser.problem ? parser.problem : "error",
		    parser.context ? " " : "",
		    parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		policy_free(c.p);
		return IPS_ERR(CONFIG);
	}
	c.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		r = pw_fail(&c, NULL, "policy file is empty");
		goto out;
	}
	/* A second document would be silently ignored: refuse it. */
	if (!yaml_parser_load(&parser, &extra)) {
		r = pw_fail(
		    &c, NULL, "YAML syntax error after the first document");
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		yaml_node_t *x = yaml_document_get_root_node(&extra);

		err->line = (unsigned)x->start_mark.line + 1;
		err->col = (unsigned)x->start_mark.column + 1;
		snprintf(err->msg, sizeof(err->msg),
		    "a policy file holds one YAML document, not several");
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);
	r = parse_document(&c, root);
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (!ips_ok(r)) {
		policy_free(c.p);
		return r;
	}
	*out = c.p;
	return IPS_OK;
}

ips_res
policy_read_file(const char *path, char **text, size_t *len, time_t *mtime,
    struct policy_error *err)
{
	struct stat sb;
	char *buf;
	ssize_t got;
	size_t n = 0;
	int fd;

	err_init(err, path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot read: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return IPS_ERR(IO);
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)POLICY_MAX_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "%s",
		    S_ISREG(sb.st_mode) ? "policy file is too large"
					: "not a regular file");
		close(fd);
		return IPS_ERR(CONFIG);
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return IPS_ERR(NOMEM);
	}
	while (n < (size_t)sb.st_size &&
	    (got = read(fd, buf + n, (size_t)sb.st_size - n)) > 0)
		n += (size_t)got;
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	*mtime = sb.st_mtime;
	return IPS_OK;
}

ips_res
policy_load_text(const char *path, const char *text, size_t len, time_t mtime,
    struct policy **out, struct policy_error *err)
{
	struct policy *p = NULL;
	char abspath[PATH_MAX];
	ips_res r;

	if (realpath(path, abspath) == NULL)
		snprintf(abspath, sizeof(abspath), "%s", path);
	r = policy_load_buffer(abspath, text, len, &p, err);
	/* Messages name the file the way the operator wrote it. */
	snprintf(err->file, sizeof(err->file), "%s", path);
	if (!ips_ok(r))
		return r;
	if (p->meta.last_modified == 0)
		p->meta.last_modified = mtime;
	*out = p;
	return IPS_OK;
}

ips_res
policy_load_file(
    const char *path, struct policy **out, struct policy_error *err)
{
	char *text;
	size_t len;
	time_t mtime;
	ips_res r;

	GUARD(policy_read_file(path, &text, &len, &mtime, err));
	r = policy_load_text(path, text, len, mtime, out, err);
	free(text);
	return r;
}
