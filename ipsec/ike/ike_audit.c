/*
 * The engine's audit events (audit/audit.h): built here from an ISAKMP SA,
 * a Quick Mode or an SA pair, handed to ops->audit.  Which number an
 * outcome gets:
 *
 *   541  Main Mode established, or a Quick Mode's SA pair installed
 *   542  an SA pair ended (lifetime, peer's DELETE, shutdown, dead peer)
 *   543  an established ISAKMP SA ended
 *   544  the peer's certificate does not chain or is revoked
 *   545  the peer failed authentication: wrong hash or signature, no
 *        key for it, not the peer the rule names, or a pre-shared key
 *        mismatch (its encrypted messages do not decrypt)
 *   546  no acceptable proposal (with the closest attribute that differed)
 *   547  any other failed negotiation: timeout, invalid ID, refusal
 */
#include <stdio.h>
#include <string.h>

#include "ike_int.h"

static void
emit(struct ike *ike, const struct audit_event *ev)
{
	/* the trace has every decision, whether audits are on or not */
	ike_trace(ike, "event %u (%s): rule %s%s%s%s%s", ev->id,
	    audit_key(ev->id), ev->rule != NULL && *ev->rule ? ev->rule : "-",
	    ev->failure_point != NULL ? ", failed at " : "",
	    ev->failure_point != NULL ? ev->failure_point : "",
	    ev->reason != NULL && *ev->reason ? ": " : "",
	    ev->reason != NULL ? ev->reason : "");
	if (ike->ops->audit != NULL && !ike->audits_off)
		ike->ops->audit(ike->ctx, ev);
}

static unsigned
failure_event(enum ips_err e)
{
	switch (e) {
	case IPS_E_IKE_CERT_UNTRUSTED:
	case IPS_E_IKE_CERT_REVOKED:
		return AUDIT_CERT_TRUST;
	case IPS_E_IKE_BAD_HASH:
	case IPS_E_IKE_NO_SECRET:
	case IPS_E_IKE_PEER_UNEXPECTED:
		return AUDIT_AUTH_FAILED;
	case IPS_E_IKE_NO_PROPOSAL:
	case IPS_E_IKE_PROPOSAL:
		return AUDIT_BAD_PROPOSAL;
	default:
		return AUDIT_NEG_FAILED;
	}
}

/* Our own shortcomings fail at "me"; the rest is the peer's doing. */
static const char *
failure_point(enum ips_err e)
{
	switch (e) {
	case IPS_E_IKE_NO_POLICY:
	case IPS_E_IKE_NO_SECRET:
	case IPS_E_NOMEM:
	case IPS_E_INVAL:
	case IPS_E_IO:
		return "me";
	default:
		return "peer";
	}
}

/* What every event of an ISAKMP SA says. */
struct sa_text {
	char ident[256], cookies[IKE_COOKIES_TEXT], params[96];
};

static void
from_sa(const struct ike_sa *sa, unsigned id, const char *mode,
    struct audit_event *ev, struct sa_text *t)
{
	char eb[32];

	memset(ev, 0, sizeof(*ev));
	ev->id = id;
	ev->mode = mode;
	ev->rule = sa->rule;
	ev->local = sa->local.addr;
	ev->local_port = sa->local.port;
	ev->remote = sa->remote.addr;
	ev->remote_port = sa->remote.port;
	ike_peer_identity_text(sa, t->ident, sizeof(t->ident));
	ev->peer_identity = t->ident;
	ike_cookies_text(sa->cky_i, sa->cky_r, t->cookies);
	ev->cookies = t->cookies;
	t->params[0] = '\0';
	if (sa->chosen.encr != 0)
		snprintf(t->params, sizeof(t->params), "%s %s %s %s",
		    ike_encr_text(
			sa->chosen.encr, sa->chosen.keybits, eb, sizeof(eb)),
		    ike_hash_text(sa->chosen.hash),
		    ips_dh_group_name(sa->chosen.group)
			? ips_dh_group_name(sa->chosen.group)
			: "-",
		    ike_auth_method_text(sa->chosen.auth));
}

void
ike_audit_mm_up(struct ike_sa *sa)
{
	struct audit_event ev;
	struct sa_text t;

	from_sa(sa, AUDIT_SA_ESTABLISHED, "main", &ev, &t);
	ev.parameters = t.params;
	emit(sa->ike, &ev);
}

void
ike_audit_mm_end(struct ike_sa *sa, const char *why)
{
	struct audit_event ev;
	struct sa_text t;

	from_sa(sa, AUDIT_MM_ENDED, "main", &ev, &t);
	ev.parameters = t.params;
	ev.reason = why;
	emit(sa->ike, &ev);
}

/*
 * Anyone can send an MM1 that we refuse: unauthenticated failures pass a
 * token bucket, so a flood cannot push real events out of the rotated
 * log.  The next event that passes says how many were left out.
 */
static bool
unauth_allowed(struct ike *ike, unsigned long *suppressed)
{
	uint64_t now = ike->ops->now_ms(ike->ctx);

	if (ike->audit_at_ms == 0)
		ike->audit_tokens = IKE_AUDIT_BURST;
	else
		ike->audit_tokens +=
		    (double)(now - ike->audit_at_ms) * IKE_AUDIT_RATE / 1000;
	if (ike->audit_tokens > IKE_AUDIT_BURST)
		ike->audit_tokens = IKE_AUDIT_BURST;
	ike->audit_at_ms = now ? now : 1;
	if (ike->audit_tokens < 1) {
		ike->audit_suppressed++;
		return false;
	}
	ike->audit_tokens -= 1;
	*suppressed = ike->audit_suppressed;
	ike->audit_suppressed = 0;
	return true;
}

void
ike_audit_mm_fail(struct ike_sa *sa, ips_res r, const char *why,
    const struct ike_mm_mismatch *m)
{
	struct audit_event ev;
	unsigned long suppressed = 0;
	struct sa_text t;

	if (sa->peer_id_len == 0 && !unauth_allowed(sa->ike, &suppressed))
		return;
	from_sa(sa, failure_event(r.err), "main", &ev, &t);
	ev.failure_point = failure_point(r.err);
	ev.reason = why != NULL ? why : ips_strerror(r.err);
	if (m != NULL && m->attribute[0] != '\0') {
		ev.attribute = m->attribute;
		ev.expected = m->expected;
		ev.received = m->received;
	}
	ev.suppressed = suppressed;
	emit(sa->ike, &ev);
}

/* "ours <-> theirs proto[/ports]", for the filter field. */
static void
filter_text(const struct ips_aspec *ours, const struct ips_aspec *theirs,
    uint8_t proto, uint16_t lport, uint16_t rport, char *buf, size_t len)
{
	char a[IPS_ASPECSTRLEN], b[IPS_ASPECSTRLEN], pb[8];

	snprintf(buf, len, "%s <-> %s %s", ips_aspec_str(ours, a, sizeof(a)),
	    ips_aspec_str(theirs, b, sizeof(b)),
	    pol_proto_name(proto, pb, sizeof(pb)));
	if (lport != 0 || rport != 0)
		snprintf(buf + strlen(buf), len - strlen(buf), " %u->%u", lport,
		    rport);
}

static void
qm_params(const struct sad_params *p, char *buf, size_t len)
{
	char eb[32];

	if (p->proto == ISAKMP_PROTO_AH)
		snprintf(buf, len, "AH %s %s", ike_ipsec_auth_text(p->auth),
		    ike_encap_text(p->encap));
	else if (p->auth == 0) /* AEAD: integrity is the cipher's own */
		snprintf(buf, len, "ESP %s %s",
		    ike_esp_encr_text(p->transform, p->keybits, eb, sizeof(eb)),
		    ike_encap_text(p->encap));
	else
		snprintf(buf, len, "ESP %s %s %s",
		    ike_esp_encr_text(p->transform, p->keybits, eb, sizeof(eb)),
		    ike_ipsec_auth_text(p->auth), ike_encap_text(p->encap));
	if (p->pfs_group != 0 && ips_dh_group_name(p->pfs_group) != NULL)
		snprintf(buf + strlen(buf), len - strlen(buf), " PFS %s",
		    ips_dh_group_name(p->pfs_group));
}

void
ike_audit_qm_pair(struct ike *ike, struct ike_sa *sa, unsigned id,
    const struct sad_info *out, const char *why)
{
	const struct sad_params *p = &out->p;
	char filter[2 * IPS_ASPECSTRLEN + 32], params[96];
	struct audit_event ev;
	struct sa_text t;

	if (sa != NULL) {
		from_sa(sa, id, "quick", &ev, &t);
		ev.cookies = NULL;
	} else {
		memset(&ev, 0, sizeof(ev));
		ev.id = id;
		ev.mode = "quick";
		ev.rule = p->rule;
		ev.local = p->local;
		ev.remote = p->remote;
	}
	ev.rule = p->rule;
	filter_text(&p->src, &p->dst, p->sel_proto, p->sel_sport, p->sel_dport,
	    filter, sizeof(filter));
	ev.filter = filter;
	qm_params(p, params, sizeof(params));
	ev.parameters = params;
	ev.spi_out = out->spi;
	ev.spi_in = out->pair_spi;
	ev.reason = why;
	emit(ike, &ev);
}

void
ike_audit_qm_fail(struct ike_sa *sa, const struct ike_qm *qm, ips_res r,
    const struct ike_mm_mismatch *m)
{
	char filter[2 * IPS_ASPECSTRLEN + 32];
	struct audit_event ev;
	struct sa_text t;

	from_sa(sa, failure_event(r.err), "quick", &ev, &t);
	ev.cookies = NULL;
	ev.parameters = NULL;
	if (qm->rule[0] != '\0')
		ev.rule = qm->rule;
	filter_text(&qm->local_sel, &qm->remote_sel, qm->sel_proto,
	    qm->local_port, qm->remote_port, filter, sizeof(filter));
	ev.filter = filter;
	ev.failure_point = failure_point(r.err);
	ev.reason = ips_strerror(r.err);
	if (m != NULL && m->attribute[0] != '\0') {
		ev.attribute = m->attribute;
		ev.expected = m->expected;
		ev.received = m->received;
	}
	emit(sa->ike, &ev);
}
