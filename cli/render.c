#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "render.h"
#include "table.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *
utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

static json_t *
json_utc(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static int
emit_json(json_t *j, FILE *f)
{
	int rc;

	if (j == NULL)
		return -1;
	rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(j);
	return rc == 0 ? 0 : -1;
}

static int
emit_table(struct table *t, enum render_format fmt, const char *title, FILE *f)
{
	if (t == NULL)
		return -1;
	fprintf(f, "%s: %zu\n\n", title, table_rows(t));
	if (table_rows(t) > 0) {
		if (fmt == RENDER_LIST)
			table_print_list(t, f);
		else
			table_print(t, f);
	}
	table_free(t);
	return 0;
}

/* ---- policy ----------------------------------------------------------- */

static int
render_policy(const Ipsm__PolicyView *v, enum render_format fmt, FILE *f)
{
	static const char *const hdr[] = {"Field", "Value"};
	char lm[40], la[40], rules[16], changes[16];
	const char *rows[][2] = {
	    {"Policy Name", v->name},
	    {"Description", v->description},
	    {"Last Modified", utc(v->last_modified, lm, sizeof(lm))},
	    {"Store",
		strcmp(v->store, "directory") == 0 ? "Directory Store"
						   : "Local Store"},
	    {"Path", v->path},
	    {"Organizational Unit", v->organizational_unit},
	    {"Group Policy Object", v->group_policy_object},
	    {"Rules", rules},
	    {"Applied", utc(v->loaded_at, la, sizeof(la))},
	    {"Dynamic Changes", changes},
	};
	struct table *t;

	snprintf(rules, sizeof(rules), "%u", v->rules);
	snprintf(changes, sizeof(changes), "%u", v->dynamic_changes);
	if (fmt == RENDER_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, "
				      "s:I, s:o, s:I}",
		    "name", v->name, "description", v->description,
		    "last_modified", json_utc(v->last_modified), "store",
		    v->store, "path", v->path, "organizational_unit",
		    v->organizational_unit, "group_policy_object",
		    v->group_policy_object, "rules", (json_int_t)v->rules,
		    "applied", json_utc(v->loaded_at), "dynamic_changes",
		    (json_int_t)v->dynamic_changes);

		return emit_json(j, f);
	}
	if (fmt == RENDER_TABLE) {
		if ((t = table_new(2, hdr)) == NULL)
			return -1;
		for (size_t i = 0; i < N(rows); i++)
			table_add(t, rows[i]);
		table_print(t, f);
		table_free(t);
		return 0;
	}
	for (size_t i = 0; i < N(rows); i++)
		fprintf(f, "%-20s:%s%s\n", rows[i][0], *rows[i][1] ? " " : "",
		    rows[i][1]);
	return 0;
}

/* ---- filters ------------------------------------------------------------ */

static const char *
port_text(uint32_t p, char *buf, size_t len)
{
	if (p == 0)
		return "any";
	snprintf(buf, len, "%u", p);
	return buf;
}

static char *
join_auth(const Ipsm__Filter *x)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < x->n_authentication; i++)
		len += strlen(x->authentication[i]) + 2;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	for (size_t i = 0; i < x->n_authentication; i++) {
		if (i > 0)
			strcat(s, ", ");
		strcat(s, x->authentication[i]);
	}
	return s;
}

static json_t *
filter_json(const Ipsm__Filter *x, bool mm, bool specific)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(x->name));
	json_object_set_new(o, "rule", json_string(x->rule));
	json_object_set_new(o, "source", json_string(x->src));
	json_object_set_new(o, "destination", json_string(x->dst));
	if (specific) {
		json_object_set_new(o, "direction", json_string(x->direction));
		json_object_set_new(o, "weight", json_integer(x->weight));
	} else {
		json_object_set_new(o, "mirrored", json_boolean(x->mirrored));
	}
	if (mm) {
		json_t *a = json_array();

		for (size_t i = 0; i < x->n_authentication; i++)
			json_array_append_new(
			    a, json_string(x->authentication[i]));
		json_object_set_new(o, "authentication", a);
		json_object_set_new(
		    o, "ike_policy", json_string(x->ike_policy));
	} else {
		json_object_set_new(o, "protocol", json_string(x->protocol));
		json_object_set_new(
		    o, "source_port", json_integer(x->src_port));
		json_object_set_new(
		    o, "destination_port", json_integer(x->dst_port));
		json_object_set_new(o, "tunnel", json_boolean(x->tunnel));
		json_object_set_new(o, "tunnel_source",
		    x->tunnel ? json_string(x->tunnel_src) : json_null());
		json_object_set_new(o, "tunnel_destination",
		    x->tunnel ? json_string(x->tunnel_dst) : json_null());
		json_object_set_new(
		    o, "inbound_action", json_string(x->inbound_action));
		json_object_set_new(
		    o, "outbound_action", json_string(x->outbound_action));
		json_object_set_new(o, "negotiation_policy",
		    json_string(x->negotiation_policy));
	}
	json_object_set_new(
	    o, "connection_type", json_string(x->connection_type));
	return o;
}

static int
render_mm_filters(const Ipsm__FilterView *v, bool specific,
    enum render_format fmt, const char *title, FILE *f)
{
	static const char *const gen[] = {"Name", "Source", "Destination",
	    "Authentication", "Connection", "IKE Policy"};
	static const char *const spec[] = {"Name", "Source", "Destination",
	    "Direction", "Weight", "Authentication", "Connection",
	    "IKE Policy"};
	struct table *t =
	    specific ? table_new(N(spec), spec) : table_new(N(gen), gen);

	for (size_t i = 0; t != NULL && i < v->n_filters; i++) {
		const Ipsm__Filter *x = v->filters[i];
		char w[16], *auth = join_auth(x);

		snprintf(w, sizeof(w), "%u", x->weight);
		if (specific) {
			const char *row[] = {x->name, x->src, x->dst,
			    x->direction, w, auth, x->connection_type,
			    x->ike_policy};
			table_add(t, row);
		} else {
			const char *row[] = {x->name, x->src, x->dst, auth,
			    x->connection_type, x->ike_policy};
			table_add(t, row);
		}
		free(auth);
	}
	return emit_table(t, fmt, title, f);
}

static int
render_qm_filters(const Ipsm__FilterView *v, bool specific,
    enum render_format fmt, const char *title, FILE *f)
{
	static const char *const gen[] = {"Name", "Source", "Destination",
	    "Protocol", "Src Port", "Dst Port", "Mirrored", "Tunnel Source",
	    "Tunnel Destination", "Inbound", "Outbound", "Negotiation Policy",
	    "Connection"};
	static const char *const spec[] = {"Name", "Source", "Destination",
	    "Protocol", "Src Port", "Dst Port", "Direction", "Weight",
	    "Tunnel Source", "Tunnel Destination", "Inbound", "Outbound",
	    "Negotiation Policy", "Connection"};
	struct table *t =
	    specific ? table_new(N(spec), spec) : table_new(N(gen), gen);

	for (size_t i = 0; t != NULL && i < v->n_filters; i++) {
		const Ipsm__Filter *x = v->filters[i];
		char sp[12], dp[12], w[16];
		const char *ts = x->tunnel ? x->tunnel_src : "-";
		const char *td = x->tunnel ? x->tunnel_dst : "-";
		const char *np =
		    *x->negotiation_policy ? x->negotiation_policy : "-";

		snprintf(w, sizeof(w), "%u", x->weight);
		if (specific) {
			const char *row[] = {x->name, x->src, x->dst,
			    x->protocol, port_text(x->src_port, sp, sizeof(sp)),
			    port_text(x->dst_port, dp, sizeof(dp)),
			    x->direction, w, ts, td, x->inbound_action,
			    x->outbound_action, np, x->connection_type};
			table_add(t, row);
		} else {
			const char *row[] = {x->name, x->src, x->dst,
			    x->protocol, port_text(x->src_port, sp, sizeof(sp)),
			    port_text(x->dst_port, dp, sizeof(dp)),
			    x->mirrored ? "yes" : "no", ts, td,
			    x->inbound_action, x->outbound_action, np,
			    x->connection_type};
			table_add(t, row);
		}
	}
	return emit_table(t, fmt, title, f);
}

static int
render_filters(const Ipsm__FilterView *v, enum render_format fmt, FILE *f)
{
	bool mm = v->mode == IPSM__FILTER_MODE__MAIN_MODE;
	bool specific = v->type == IPSM__FILTER_TYPE__SPECIFIC;
	char title[64];

	if (fmt == RENDER_JSON) {
		json_t *a = json_array();

		for (size_t i = 0; i < v->n_filters; i++)
			json_array_append_new(
			    a, filter_json(v->filters[i], mm, specific));
		return emit_json(
		    json_pack("{s:s, s:s, s:o}", "mode", mm ? "main" : "quick",
			"type", specific ? "specific" : "generic", "filters",
			a),
		    f);
	}
	snprintf(title, sizeof(title), "%s %s filters",
	    specific ? "Specific" : "Generic", mm ? "Main Mode" : "Quick Mode");
	if (fmt == RENDER_DEFAULT)
		fmt = RENDER_TABLE;
	return mm ? render_mm_filters(v, specific, fmt, title, f)
		  : render_qm_filters(v, specific, fmt, title, f);
}

/* ---- offers ----------------------------------------------------------------
 */

static const char *
dh_text(uint32_t group, const char *name, char *buf, size_t len)
{
	if (group == 0)
		return "none";
	snprintf(buf, len, "%s (%u)", name, group);
	return buf;
}

static int
render_mmpolicy(const Ipsm__MmPolicyView *v, enum render_format fmt, FILE *f)
{
	static const char *const hdr[] = {"IKE Policy", "Offer", "Encryption",
	    "Integrity", "DH Group", "Lifetime (s)", "QM Limit"};
	struct table *t;

	if (fmt == RENDER_JSON) {
		json_t *a = json_array();

		for (size_t i = 0; i < v->n_policies; i++) {
			const Ipsm__MmPolicy *p = v->policies[i];
			json_t *offers = json_array();

			for (size_t j = 0; j < p->n_offers; j++) {
				const Ipsm__MmOffer *o = p->offers[j];

				json_array_append_new(offers,
				    json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}",
					"encryption", o->encryption,
					"integrity", o->integrity, "dh_group",
					(json_int_t)o->dh_group, "dh_name",
					o->dh_name, "lifetime_s",
					(json_int_t)o->lifetime_s, "qm_limit",
					(json_int_t)o->qm_limit));
			}
			json_array_append_new(a,
			    json_pack("{s:s, s:o}", "name", p->name, "offers",
				offers));
		}
		return emit_json(json_pack("{s:o}", "ike_policies", a), f);
	}
	if ((t = table_new(N(hdr), hdr)) == NULL)
		return -1;
	for (size_t i = 0; i < v->n_policies; i++) {
		const Ipsm__MmPolicy *p = v->policies[i];

		for (size_t j = 0; j < p->n_offers; j++) {
			const Ipsm__MmOffer *o = p->offers[j];
			char n[24], dh[32], life[16], qml[16];
			const char *row[] = {p->name, n, o->encryption,
			    o->integrity,
			    dh_text(o->dh_group, o->dh_name, dh, sizeof(dh)),
			    life, qml};

			snprintf(n, sizeof(n), "%zu", j + 1);
			snprintf(life, sizeof(life), "%u", o->lifetime_s);
			snprintf(qml, sizeof(qml), "%u", o->qm_limit);
			table_add(t, row);
		}
	}
	return emit_table(t, fmt == RENDER_DEFAULT ? RENDER_TABLE : fmt,
	    "Main Mode offers (IKE policies)", f);
}

static int
render_qmpolicy(const Ipsm__QmPolicyView *v, enum render_format fmt, FILE *f)
{
	static const char *const hdr[] = {"Negotiation Policy", "Offer", "AH",
	    "ESP Encryption", "ESP Integrity", "PFS", "Lifetime (s)",
	    "Lifetime (KB)", "Soft"};
	struct table *t;

	if (fmt == RENDER_JSON) {
		json_t *a = json_array();

		for (size_t i = 0; i < v->n_policies; i++) {
			const Ipsm__QmPolicy *p = v->policies[i];
			json_t *offers = json_array();

			for (size_t j = 0; j < p->n_offers; j++) {
				const Ipsm__QmOffer *o = p->offers[j];

				json_array_append_new(offers,
				    json_pack("{s:s?, s:s?, s:s?, s:I, s:I}",
					"ah", *o->ah ? o->ah : NULL,
					"esp_encryption",
					*o->esp_encryption ? o->esp_encryption
							   : NULL,
					"esp_integrity",
					*o->esp_encryption ? o->esp_integrity
							   : NULL,
					"lifetime_s", (json_int_t)o->lifetime_s,
					"lifetime_kb",
					(json_int_t)o->lifetime_kb));
			}
			json_array_append_new(a,
			    json_pack("{s:s, s:I, s:b, s:o}", "name", p->name,
				"pfs_group", (json_int_t)p->pfs_group, "soft",
				(int)p->soft, "offers", offers));
		}
		return emit_json(
		    json_pack("{s:o}", "negotiation_policies", a), f);
	}
	if ((t = table_new(N(hdr), hdr)) == NULL)
		return -1;
	for (size_t i = 0; i < v->n_policies; i++) {
		const Ipsm__QmPolicy *p = v->policies[i];

		for (size_t j = 0; j < p->n_offers; j++) {
			const Ipsm__QmOffer *o = p->offers[j];
			char n[24], pfs[32], life[16], kb[24];
			const char *row[] = {p->name, n, *o->ah ? o->ah : "-",
			    *o->esp_encryption ? o->esp_encryption : "-",
			    *o->esp_encryption ? o->esp_integrity : "-", pfs,
			    life, kb, p->soft ? "yes" : "no"};

			snprintf(n, sizeof(n), "%zu", j + 1);
			if (p->pfs_group == 0)
				snprintf(pfs, sizeof(pfs), "none");
			else
				snprintf(
				    pfs, sizeof(pfs), "group %u", p->pfs_group);
			snprintf(life, sizeof(life), "%u", o->lifetime_s);
			snprintf(kb, sizeof(kb), "%" PRIu64, o->lifetime_kb);
			table_add(t, row);
		}
	}
	return emit_table(t, fmt == RENDER_DEFAULT ? RENDER_TABLE : fmt,
	    "Quick Mode offers (negotiation policies)", f);
}

/* ---- statistics ---------------------------------------------------------- */

static void
stats_section(FILE *f, const char *title, Ipsm__Stat **s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (strlen(s[i]->name) > w)
			w = strlen(s[i]->name);
	fprintf(f, "%s\n", title);
	for (size_t i = 0; i < strlen(title); i++)
		fputc('-', f);
	fputc('\n', f);
	for (size_t i = 0; i < n; i++)
		fprintf(
		    f, "%-*s : %" PRIu64 "\n", (int)w, s[i]->name, s[i]->value);
}

static int
render_stats(const Ipsm__StatsView *v, enum render_format fmt, FILE *f)
{
	static const char *const hdr[] = {"Mode", "Statistic", "Value"};
	char since[40];

	/* A section without statistics (`show stats type=ike|ipsec` leaves
	 * one out) is not shown at all. */
	if (fmt == RENDER_JSON) {
		json_t *o = json_object(), *mm = json_object(),
		       *qm = json_object();

		for (size_t i = 0; i < v->n_main_mode; i++)
			json_object_set_new(mm, v->main_mode[i]->key,
			    json_integer((json_int_t)v->main_mode[i]->value));
		for (size_t i = 0; i < v->n_quick_mode; i++)
			json_object_set_new(qm, v->quick_mode[i]->key,
			    json_integer((json_int_t)v->quick_mode[i]->value));
		if (v->n_main_mode > 0)
			json_object_set(o, "main_mode", mm);
		if (v->n_quick_mode > 0)
			json_object_set(o, "quick_mode", qm);
		json_decref(mm);
		json_decref(qm);
		json_object_set_new(
		    o, "discontinuity_time", json_utc(v->discontinuity_time));
		return emit_json(o, f);
	}
	if (fmt == RENDER_TABLE) {
		struct table *t = table_new(N(hdr), hdr);

		if (t == NULL)
			return -1;
		for (size_t i = 0; i < v->n_main_mode + v->n_quick_mode; i++) {
			bool mm = i < v->n_main_mode;
			const Ipsm__Stat *s = mm
			    ? v->main_mode[i]
			    : v->quick_mode[i - v->n_main_mode];
			char val[24];
			const char *row[] = {
			    mm ? "Main Mode" : "Quick Mode", s->name, val};

			snprintf(val, sizeof(val), "%" PRIu64, s->value);
			table_add(t, row);
		}
		table_print(t, f);
		table_free(t);
	} else {
		if (v->n_main_mode > 0)
			stats_section(f, "IKE Main Mode statistics",
			    v->main_mode, v->n_main_mode);
		if (v->n_main_mode > 0 && v->n_quick_mode > 0)
			fputc('\n', f);
		if (v->n_quick_mode > 0)
			stats_section(f, "IPsec Quick Mode statistics",
			    v->quick_mode, v->n_quick_mode);
	}
	fprintf(f, "\nCounting since %s\n",
	    utc(v->discontinuity_time, since, sizeof(since)));
	return 0;
}

/* ---- Main Mode SAs ------------------------------------------------------- */

static int
render_mmsas(const Ipsm__MmSaView *v, enum render_format fmt, FILE *f)
{
	static const char *const hdr[] = {"Me", "Peer", "Peer Identity", "Role",
	    "State", "Rule", "Authentication", "Encryption", "Integrity",
	    "DH Group", "Lifetime (s)", "Age (s)", "NAT", "Cookies"};
	struct table *t;

	if (fmt == RENDER_JSON) {
		json_t *a = json_array();

		for (size_t i = 0; i < v->n_sas; i++) {
			const Ipsm__MmSa *m = v->sas[i];

			json_array_append_new(a,
			    json_pack("{s:s, s:s, s:s, s:s, "
				      "s:s, s:s, s:s, s:s, "
				      "s:s, s:I, s:s, s:I, "
				      "s:I, s:b, s:s}",
				"me", m->me, "peer", m->peer, "cookies",
				m->cookies, "role", m->role, "state", m->state,
				"rule", m->rule, "authentication",
				m->authentication, "encryption", m->encryption,
				"integrity", m->integrity, "dh_group",
				(json_int_t)m->dh_group, "dh_name", m->dh_name,
				"lifetime_s", (json_int_t)m->lifetime_s,
				"age_s", (json_int_t)m->age_s, "nat",
				(int)m->nat, "peer_identity",
				m->peer_identity));
		}
		return emit_json(json_pack("{s:o}", "main_mode_sas", a), f);
	}
	if ((t = table_new(N(hdr), hdr)) == NULL)
		return -1;
	for (size_t i = 0; i < v->n_sas; i++) {
		const Ipsm__MmSa *m = v->sas[i];
		char dh[32], life[16], age[24];
		const char *row[] = {m->me, m->peer,
		    m->peer_identity[0] ? m->peer_identity : "-", m->role,
		    m->state, m->rule, m->authentication, m->encryption,
		    m->integrity,
		    dh_text(m->dh_group, m->dh_name, dh, sizeof(dh)), life, age,
		    m->nat ? "yes" : "no", m->cookies};

		snprintf(life, sizeof(life), "%u", m->lifetime_s);
		snprintf(age, sizeof(age), "%" PRIu64, m->age_s);
		table_add(t, row);
	}
	return emit_table(t, fmt == RENDER_DEFAULT ? RENDER_TABLE : fmt,
	    "Main Mode security associations", f);
}

/* ---- Quick Mode SAs --------------------------------------------------------
 */

static int
render_qmsas(const Ipsm__QmSaView *v, enum render_format fmt, FILE *f)
{
	static const char *const hdr[] = {"Rule", "Me", "Peer", "Protocol",
	    "My Port", "Peer Port", "Mode", "Tunnel Me", "Tunnel Peer", "IPsec",
	    "Inbound SPI", "Outbound SPI", "Encryption", "Integrity", "PFS",
	    "Lifetime (s)", "Lifetime (KB)", "Age (s)", "Bytes In",
	    "Bytes Out"};
	struct table *t;

	if (fmt == RENDER_JSON) {
		json_t *a = json_array();

		for (size_t i = 0; i < v->n_sas; i++) {
			const Ipsm__QmSa *q = v->sas[i];
			json_t *o = json_object();

			json_object_set_new(o, "rule", json_string(q->rule));
			json_object_set_new(o, "me", json_string(q->me));
			json_object_set_new(o, "peer", json_string(q->peer));
			json_object_set_new(
			    o, "protocol", json_string(q->protocol));
			json_object_set_new(
			    o, "my_port", json_integer(q->my_port));
			json_object_set_new(
			    o, "peer_port", json_integer(q->peer_port));
			json_object_set_new(o, "mode", json_string(q->mode));
			json_object_set_new(
			    o, "tunnel_me", json_string(q->tunnel_me));
			json_object_set_new(
			    o, "tunnel_peer", json_string(q->tunnel_peer));
			json_object_set_new(o, "ipsec_protocol",
			    json_string(q->ipsec_protocol));
			json_object_set_new(
			    o, "inbound_spi", json_string(q->inbound_spi));
			json_object_set_new(
			    o, "outbound_spi", json_string(q->outbound_spi));
			json_object_set_new(o, "encryption",
			    *q->encryption ? json_string(q->encryption)
					   : json_null());
			json_object_set_new(
			    o, "integrity", json_string(q->integrity));
			json_object_set_new(
			    o, "pfs_group", json_integer(q->pfs_group));
			json_object_set_new(
			    o, "lifetime_s", json_integer(q->lifetime_s));
			json_object_set_new(o, "lifetime_kb",
			    json_integer((json_int_t)q->lifetime_kb));
			json_object_set_new(
			    o, "age_s", json_integer((json_int_t)q->age_s));
			json_object_set_new(o, "bytes_in",
			    json_integer((json_int_t)q->bytes_in));
			json_object_set_new(o, "bytes_out",
			    json_integer((json_int_t)q->bytes_out));
			json_object_set_new(o, "packets_in",
			    json_integer((json_int_t)q->packets_in));
			json_object_set_new(o, "packets_out",
			    json_integer((json_int_t)q->packets_out));
			json_object_set_new(o, "replay_drops",
			    json_integer((json_int_t)q->replay_drops));
			json_object_set_new(o, "icv_failures",
			    json_integer((json_int_t)q->icv_failures));
			json_object_set_new(o, "soft", json_boolean(q->soft));
			json_object_set_new(o, "esn", json_boolean(q->esn));
			json_object_set_new(
			    o, "replay_window", json_integer(q->replay_window));
			json_object_set_new(o, "idle_s",
			    q->idle_s < 0
				? json_null()
				: json_integer((json_int_t)q->idle_s));
			json_array_append_new(a, o);
		}
		return emit_json(json_pack("{s:o}", "quick_mode_sas", a), f);
	}
	if ((t = table_new(N(hdr), hdr)) == NULL)
		return -1;
	for (size_t i = 0; i < v->n_sas; i++) {
		const Ipsm__QmSa *q = v->sas[i];
		char mp[12], pp[12], pfs[24], ls[16], lk[24], age[24], bi[24],
		    bo[24];
		const char *row[] = {q->rule, q->me, q->peer, q->protocol,
		    port_text(q->my_port, mp, sizeof(mp)),
		    port_text(q->peer_port, pp, sizeof(pp)), q->mode,
		    q->tunnel_me, q->tunnel_peer, q->ipsec_protocol,
		    q->inbound_spi, q->outbound_spi,
		    *q->encryption ? q->encryption : "-", q->integrity, pfs, ls,
		    lk, age, bi, bo};

		if (q->pfs_group == 0)
			snprintf(pfs, sizeof(pfs), "none");
		else
			snprintf(pfs, sizeof(pfs), "group %u", q->pfs_group);
		snprintf(ls, sizeof(ls), "%u", q->lifetime_s);
		snprintf(lk, sizeof(lk), "%" PRIu64, q->lifetime_kb);
		snprintf(age, sizeof(age), "%" PRIu64, q->age_s);
		snprintf(bi, sizeof(bi), "%" PRIu64, q->bytes_in);
		snprintf(bo, sizeof(bo), "%" PRIu64, q->bytes_out);
		table_add(t, row);
	}
	return emit_table(t, fmt == RENDER_DEFAULT ? RENDER_TABLE : fmt,
	    "Quick Mode security associations", f);
}

/* ---- config ----------------------------------------------------------- */

static int
render_config(const Ipsm__ConfigView *v, enum render_format fmt, FILE *f)
{
	static const char *const hdr[] = {
	    "Setting", "Value", "Default", "Range", "Meaning"};
	struct table *t;

	if (fmt == RENDER_JSON) {
		json_t *list = json_array();

		for (size_t i = 0; list != NULL && i < v->n_settings; i++) {
			const Ipsm__Setting *s = v->settings[i];

			json_array_append_new(list,
			    json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "name",
				s->key, "value", (json_int_t)s->value,
				"default", (json_int_t)s->default_value, "min",
				(json_int_t)s->min, "max", (json_int_t)s->max,
				"meaning", s->meaning));
		}
		return emit_json(json_pack("{s:o, s:s}", "settings", list,
				     "kept_in", v->path),
		    f);
	}
	if ((t = table_new(5, hdr)) == NULL)
		return -1;
	for (size_t i = 0; i < v->n_settings; i++) {
		const Ipsm__Setting *s = v->settings[i];
		char val[16], def[16], range[32];
		const char *row[5] = {s->key, val, def, range, s->meaning};

		snprintf(val, sizeof(val), "%u", s->value);
		snprintf(def, sizeof(def), "%u", s->default_value);
		snprintf(range, sizeof(range), "%u..%u", s->min, s->max);
		table_add(t, row);
	}
	fprintf(f, "Kept in: %s\n", *v->path ? v->path : "(not kept)");
	return emit_table(t, fmt, "Settings", f);
}

/* ---- export-keys ------------------------------------------------------- */

/* Wireshark's two UAT tables, as its files hold them: a row per line,
 * text fields quoted and byte fields bare hex, '#' lines comments.  Lines
 * beginning "ikev1:" and "esp:" are not Wireshark's: the prefix names the
 * table, and a script (or the reader) strips it. */
static int
render_keys(const Ipsm__KeysView *v, FILE *f)
{
	fprintf(f,
	    "# ikev1_decryption_table (ISAKMP): initiator cookie, "
	    "encryption key\n");
	for (size_t i = 0; i < v->n_ike; i++)
		/* bytes fields: bare hex, as UAT files hold them */
		fprintf(f, "ikev1:%s,%s\n", v->ike[i]->icookie, v->ike[i]->key);
	fprintf(f,
	    "# esp_sa (ESP): protocol, source, destination, SPI, "
	    "encryption, key, authentication, key\n");
	for (size_t i = 0; i < v->n_esp; i++) {
		const Ipsm__EspKey *e = v->esp[i];

		fprintf(f,
		    "esp:\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%"
		    "s\"\n",
		    e->family, e->src, e->dst, e->spi, e->encryption,
		    e->encryption_key, e->integrity, e->integrity_key);
	}
	return 0;
}

int
render_response(const Ipsm__Response *resp, enum render_format fmt, FILE *f)
{
	switch (resp->view_case) {
	case IPSM__RESPONSE__VIEW_POLICY:
		return render_policy(resp->policy, fmt, f);
	case IPSM__RESPONSE__VIEW_FILTERS:
		return render_filters(resp->filters, fmt, f);
	case IPSM__RESPONSE__VIEW_MMPOLICY:
		return render_mmpolicy(resp->mmpolicy, fmt, f);
	case IPSM__RESPONSE__VIEW_QMPOLICY:
		return render_qmpolicy(resp->qmpolicy, fmt, f);
	case IPSM__RESPONSE__VIEW_STATS:
		return render_stats(resp->stats, fmt, f);
	case IPSM__RESPONSE__VIEW_MMSAS:
		return render_mmsas(resp->mmsas, fmt, f);
	case IPSM__RESPONSE__VIEW_QMSAS:
		return render_qmsas(resp->qmsas, fmt, f);
	case IPSM__RESPONSE__VIEW_CONFIG:
		return render_config(resp->config, fmt, f);
	case IPSM__RESPONSE__VIEW_EVENTS:
		return render_events(resp->events, fmt, false, f);
	case IPSM__RESPONSE__VIEW_KEYS:
		return render_keys(resp->keys, f);
	case IPSM__RESPONSE__VIEW_INITIATE:
		if (fmt == RENDER_JSON)
			return emit_json(json_pack("{s:s, s:s}", "initiated",
					     resp->initiate->rule, "peer",
					     resp->initiate->peer),
			    f);
		fprintf(f, "Main Mode started for rule '%s'.\n",
		    resp->initiate->rule);
		return 0;
	case IPSM__RESPONSE__VIEW_RELOAD:
		if (fmt == RENDER_JSON)
			return emit_json(
			    json_pack("{s:s}", "policy", resp->reload->policy),
			    f);
		fprintf(f, "Policy '%s' reloaded.\n", resp->reload->policy);
		return 0;
	case IPSM__RESPONSE__VIEW_EDIT:
		if (fmt == RENDER_JSON)
			return emit_json(
			    json_pack("{s:s, s:s, s:i, s:i}", "done",
				resp->edit->done, "policy", resp->edit->policy,
				"rules", (int)resp->edit->rules,
				"dynamic_changes",
				(int)resp->edit->dynamic_changes),
			    f);
		if (*resp->edit->done == '\0')
			return -1;
		fprintf(f,
		    "%c%s.  Policy '%s' now has %u rule%s; dynamic changes: "
		    "%u (reload or a restart discards them).\n",
		    toupper((unsigned char)resp->edit->done[0]),
		    resp->edit->done + 1, resp->edit->policy, resp->edit->rules,
		    resp->edit->rules == 1 ? "" : "s",
		    resp->edit->dynamic_changes);
		return 0;
	default:
		return -1;
	}
}
