#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "ipsm_mib_oids.h"
#include "remote.h"
#include "stats/stats.h"

/* The statistics' subids, in MIB order (test_mib: the engine's order). */
#define SUBID(id, name, sub) sub,
static const oid mm_subids[] = {IPSM_MIB_MM_STATS(SUBID)};
static const oid qm_subids[] = {IPSM_MIB_QM_STATS(SUBID)};
#undef SUBID

static void
add_var(netsnmp_pdu *pdu, const oid *base, size_t blen, oid sub)
{
	oid name[MAX_OID_LEN];

	memcpy(name, base, blen * sizeof(oid));
	name[blen] = sub;
	name[blen + 1] = 0; /* the scalar's instance */
	snmp_add_null_var(pdu, name, blen + 2);
}

static bool
value_of(const netsnmp_variable_list *v, uint64_t *out)
{
	if (v->type == ASN_COUNTER64 && v->val.counter64 != NULL) {
		*out = (uint64_t)v->val.counter64->high << 32 |
		    (v->val.counter64->low & 0xffffffffu);
		return true;
	}
	if (v->type == ASN_GAUGE && v->val.integer != NULL) {
		*out = (uint64_t)(unsigned long)*v->val.integer;
		return true;
	}
	return false;
}

/* DateAndTime (SNMPv2-TC) to time_t, UTC or with its zone. */
static int64_t
date_of(const netsnmp_variable_list *v)
{
	const uint8_t *d = v->val.string;
	struct tm tm;
	int64_t t;

	if (v->type != ASN_OCTET_STR || v->val_len < 8 || d == NULL)
		return 0;
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

static Ipsm__Stat **
stat_list(const struct stats_desc *d, size_t n)
{
	Ipsm__Stat **v = calloc(n, sizeof(*v));

	for (size_t i = 0; v != NULL && i < n; i++) {
		if ((v[i] = malloc(sizeof(*v[i]))) == NULL)
			return v; /* remote_free copes */
		ipsm__stat__init(v[i]);
		v[i]->key = (char *)d[i].key;
		v[i]->name = (char *)d[i].name;
		v[i]->gauge = d[i].kind == STATS_GAUGE;
	}
	return v;
}

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

int
remote_show_stats(const char *host, const struct remote_auth *auth,
    int timeout_ms, Ipsm__Response **out, char *errbuf, size_t errlen)
{
	static const oid mm_base[] = {IPSM_OID_ipsmMmStats};
	static const oid qm_base[] = {IPSM_OID_ipsmQmStats};
	static const oid since[] = {IPSM_OID_ipsmStatsCountingSince, 0};
	const struct stats_desc *mmd, *qmd;
	size_t nmm, nqm;
	netsnmp_session s, *ss;
	netsnmp_pdu *pdu, *resp = NULL;
	Ipsm__Response *r;
	Ipsm__StatsView *v;
	int st, rc = -1;

	mmd = stats_mm_desc(&nmm);
	qmd = stats_qm_desc(&nqm);
	if (nmm != sizeof(mm_subids) / sizeof(mm_subids[0]) ||
	    nqm != sizeof(qm_subids) / sizeof(qm_subids[0])) {
		snprintf(errbuf, errlen,
		    "this ipsecmon's MIB and statistics "
		    "differ (a build error)");
		return -1;
	}
	setenv("MIBS", "", 1); /* OIDs, not names: no MIB files read */
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	init_snmp("ipsecmon");
	snmp_sess_init(&s);
	s.peername = (char *)host;
	if (auth->user != NULL) {
		if (usm(&s, auth, errbuf, errlen) != 0)
			return -1;
	} else {
		s.version = SNMP_VERSION_2c;
		s.community = (u_char *)auth->community;
		s.community_len = strlen(auth->community);
	}
	s.timeout = (long)timeout_ms * 1000 / 2; /* two tries */
	s.retries = 1;
	if ((ss = snmp_open(&s)) == NULL) {
		snprintf(errbuf, errlen, "cannot reach %s over SNMP", host);
		return -1;
	}
	pdu = snmp_pdu_create(SNMP_MSG_GET);
	for (size_t i = 0; i < nmm; i++)
		add_var(pdu, mm_base, OID_LENGTH(mm_base), mm_subids[i]);
	for (size_t i = 0; i < nqm; i++)
		add_var(pdu, qm_base, OID_LENGTH(qm_base), qm_subids[i]);
	snmp_add_null_var(pdu, since, OID_LENGTH(since));
	st = snmp_synch_response(ss, pdu, &resp);
	if (st != STAT_SUCCESS || resp == NULL ||
	    resp->errstat != SNMP_ERR_NOERROR) {
		snprintf(errbuf, errlen, "%s: %s", host,
		    st == STAT_TIMEOUT ? "no answer over SNMP"
			: resp != NULL ? snmp_errstring((int)resp->errstat)
				       : "SNMP request failed");
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (v = calloc(1, sizeof(*v))) == NULL) {
		free(r);
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	ipsm__response__init(r);
	ipsm__stats_view__init(v);
	r->view_case = IPSM__RESPONSE__VIEW_STATS;
	r->stats = v;
	v->main_mode = stat_list(mmd, nmm);
	v->n_main_mode = v->main_mode != NULL ? nmm : 0;
	v->quick_mode = stat_list(qmd, nqm);
	v->n_quick_mode = v->quick_mode != NULL ? nqm : 0;
	{
		netsnmp_variable_list *var = resp->variables;
		size_t i = 0;

		for (; var != NULL && i < nmm + nqm;
		     var = var->next_variable, i++) {
			Ipsm__Stat *x =
			    i < nmm ? v->main_mode[i] : v->quick_mode[i - nmm];
			uint64_t val;

			if (x == NULL || !value_of(var, &val)) {
				snprintf(errbuf, errlen,
				    "%s does not serve IPSECMON-MIB (is "
				    "ipsecmond's subagent registered?)",
				    host);
				remote_free(r);
				goto out;
			}
			x->value = val;
		}
		if (var != NULL)
			v->discontinuity_time = date_of(var);
	}
	*out = r;
	rc = 0;
out:
	if (resp != NULL)
		snmp_free_pdu(resp);
	snmp_close(ss);
	return rc;
}

static void
free_list(Ipsm__Stat **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
remote_free(Ipsm__Response *r)
{
	if (r == NULL)
		return;
	if (r->stats != NULL) {
		free_list(r->stats->main_mode, r->stats->n_main_mode);
		free_list(r->stats->quick_mode, r->stats->n_quick_mode);
		free(r->stats);
	}
	free(r);
}
