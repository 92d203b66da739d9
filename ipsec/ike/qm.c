/*
 * Quick Mode (RFC 2409 5.5), under an established ISAKMP SA:
 *
 *   Initiator                                  Responder
 *   HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->
 *                          <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]
 *   HDR*, HASH(3)                               -->
 *
 *   HASH(1) = prf(SKEYID_a, M-ID | everything after HASH(1))
 *   HASH(2) = prf(SKEYID_a, M-ID | Ni_b | everything after HASH(2))
 *   HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
 *
 * Each exchange has its own message ID and CBC chain, starting from
 * hash(last phase 1 block | M-ID) (RFC 2409 App B).  On completion both
 * SAs go to the SAD: KEYMAT for each is derived with the SPI its receiver
 * chose (RFC 2409 5.5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "ike_int.h"

/* The initiator keeps a finished exchange through the responder's whole
 * retransmission schedule of QM2. */
#define QM_LINGER_MS ike_retx_span_ms()

static void
qm_free(struct ike_qm *qm)
{
	ike_dh_free(qm->dh);
	free(qm->out);
	OPENSSL_cleanse(qm, sizeof(*qm));
	free(qm);
}

static void
qm_unlink(struct ike_sa *sa, struct ike_qm *qm)
{
	for (struct ike_qm **pp = &sa->qms; *pp != NULL; pp = &(*pp)->next)
		if (*pp == qm) {
			*pp = qm->next;
			break;
		}
}

size_t
qm_count(const struct ike *ike)
{
	size_t n = 0;

	for (const struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		for (const struct ike_qm *q = sa->qms; q != NULL; q = q->next)
			n += q->state != QM_I_DONE;
	return n;
}

/* An exchange that will not complete: count it, release its SPI. */
static void
qm_fail(struct ike_sa *sa, struct ike_qm *qm, ips_res r, bool tell)
{
	ips_log(IPS_LOG_NOTICE, "ike: %s: Quick Mode failed: %s", qm->rule,
	    ips_strerror(r.err));
	stats_on_negotiation_failed(sa->ike->stats,
	    r.err == IPS_E_IKE_NO_PROPOSAL || r.err == IPS_E_IKE_PROPOSAL
		? STATS_NEG_NO_PROPOSAL
		: r.err == IPS_E_IKE_ID	      ? STATS_NEG_INVALID_ID
		: r.err == IPS_E_IKE_BAD_HASH ? STATS_NEG_AUTH
		: r.err == IPS_E_IKE_TIMEOUT  ? STATS_NEG_TIMEOUT
		: r.err == IPS_E_IKE_SA_GONE  ? STATS_NEG_PEER_DELETE
					      : STATS_NEG_OTHER);
	ike_audit_qm_fail(
	    sa, qm, r, r.err == IPS_E_IKE_NO_PROPOSAL ? &qm->mismatch : NULL);
	if (tell && ips_err_notify(r.err) != 0) {
		uint8_t spi[4];

		/* Protocol ESP and the initiator's SPI, so that it can tell
		 * which of its exchanges failed (zero if not yet read). */
		wire_put_be32(spi, qm->spi_out);
		if (!ips_ok(info_send_notify(sa, ISAKMP_PROTO_ESP, spi, 4,
			(uint16_t)ips_err_notify(r.err), NULL, 0)))
			ips_log(IPS_LOG_WARNING, "ike: cannot send notify");
	}
	if (qm->spi_in != 0 &&
	    !ips_ok(sad_delete(sa->ike->sad, SAD_INBOUND, qm->spi_in)))
		ips_log(IPS_LOG_WARNING, "ike: larval SA already gone");
	if (qm->acq_id != 0)
		acq_qm_end(sa->ike, qm->acq_id, false);
	qm_unlink(sa, qm);
	qm_free(qm);
}

void
qm_abandon_all(struct ike_sa *sa)
{
	while (sa->qms != NULL) {
		struct ike_qm *qm = sa->qms;

		if (qm->state == QM_I_DONE) {
			/* completed: only kept to answer a repeated QM2 */
			sa->qms = qm->next;
			qm_free(qm);
		} else {
			qm_fail(sa, qm, IPS_ERR(IKE_SA_GONE), false);
		}
	}
}

void
qm_free_all(struct ike_sa *sa)
{
	while (sa->qms != NULL) {
		struct ike_qm *qm = sa->qms;

		if (qm->spi_in != 0)
			(void)sad_delete(sa->ike->sad, SAD_INBOUND, qm->spi_in);
		if (qm->acq_id != 0)
			acq_qm_end(sa->ike, qm->acq_id, false);
		sa->qms = qm->next;
		qm_free(qm);
	}
}

/* ---- selectors and ID payloads ----------------------------------------- */

/* RFC 2407 4.6.2: an address, subnet or range as an ID payload body. */
static size_t
id_of(const struct ips_aspec *sp, int af, uint8_t proto, uint16_t port,
    uint8_t *out)
{
	size_t alen = ips_addr_bits(af) / 8;
	bool v4 = af == AF_INET;

	out[1] = proto;
	out[2] = (uint8_t)(port >> 8);
	out[3] = (uint8_t)port;
	switch (sp->kind) {
	case IPS_ASPEC_HOST:
		out[0] = v4 ? ISAKMP_ID_IPV4_ADDR : ISAKMP_ID_IPV6_ADDR;
		memcpy(out + 4, sp->lo.b, alen);
		return 4 + alen;
	case IPS_ASPEC_RANGE:
		out[0] =
		    v4 ? ISAKMP_ID_IPV4_ADDR_RANGE : ISAKMP_ID_IPV6_ADDR_RANGE;
		memcpy(out + 4, sp->lo.b, alen);
		memcpy(out + 4 + alen, sp->hi.b, alen);
		return 4 + 2 * alen;
	default: {
		/* a prefix; "any" is the zero-length prefix */
		unsigned plen = sp->kind == IPS_ASPEC_PREFIX ? sp->plen : 0;

		out[0] = v4 ? ISAKMP_ID_IPV4_ADDR_SUBNET
			    : ISAKMP_ID_IPV6_ADDR_SUBNET;
		memset(out + 4, 0, 2 * alen);
		if (sp->kind == IPS_ASPEC_PREFIX)
			memcpy(out + 4, sp->lo.b, alen);
		for (unsigned i = 0; i < plen; i++)
			out[4 + alen + i / 8] |= (uint8_t)(0x80 >> (i % 8));
		return 4 + 2 * alen;
	}
	}
}

/* An ID payload as a selector; IPS_E_IKE_ID for what cannot be one. */
static ips_res
sel_of(const struct isakmp_id *id, struct ips_aspec *sp)
{
	size_t alen;
	int af;

	memset(sp, 0, sizeof(*sp));
	switch (id->type) {
	case ISAKMP_ID_IPV4_ADDR:
	case ISAKMP_ID_IPV4_ADDR_SUBNET:
	case ISAKMP_ID_IPV4_ADDR_RANGE:
		af = AF_INET;
		break;
	case ISAKMP_ID_IPV6_ADDR:
	case ISAKMP_ID_IPV6_ADDR_SUBNET:
	case ISAKMP_ID_IPV6_ADDR_RANGE:
		af = AF_INET6;
		break;
	default:
		BAIL(IKE_ID);
	}
	alen = ips_addr_bits(af) / 8;
	sp->lo.af = sp->hi.af = af;
	memcpy(sp->lo.b, id->data, alen);
	if (id->type == ISAKMP_ID_IPV4_ADDR ||
	    id->type == ISAKMP_ID_IPV6_ADDR) {
		sp->kind = IPS_ASPEC_HOST;
		return IPS_OK;
	}
	if (id->type == ISAKMP_ID_IPV4_ADDR_RANGE ||
	    id->type == ISAKMP_ID_IPV6_ADDR_RANGE) {
		memcpy(sp->hi.b, id->data + alen, alen);
		ENSURE(ips_addr_cmp(&sp->lo, &sp->hi) <= 0, IKE_ID);
		sp->kind = ips_addr_cmp(&sp->lo, &sp->hi) == 0
		    ? IPS_ASPEC_HOST
		    : IPS_ASPEC_RANGE;
		return IPS_OK;
	}
	/* a subnet: the mask must be a prefix */
	{
		const uint8_t *m = id->data + alen;
		unsigned plen = 0;
		bool ended = false;

		for (size_t i = 0; i < alen * 8; i++) {
			bool bit = (m[i / 8] >> (7 - i % 8)) & 1;

			ENSURE(!(bit && ended), IKE_ID);
			if (bit)
				plen++;
			else
				ended = true;
		}
		for (size_t i = 0; i < alen; i++)
			sp->lo.b[i] &= m[i];
		sp->plen = plen;
		sp->kind = plen == 0   ? IPS_ASPEC_ANY
		    : plen == alen * 8 ? IPS_ASPEC_HOST
				       : IPS_ASPEC_PREFIX;
		if (sp->kind == IPS_ASPEC_ANY)
			sp->lo.af = sp->hi.af = 0;
	}
	return IPS_OK;
}

/* A filter end (maybe a keyword) as the concrete selector we send. */
static bool
concrete(const struct ips_aspec *end, const struct ips_addr *me,
    struct ips_aspec *out)
{
	if (end->kind == IPS_ASPEC_ME) {
		*out = ips_aspec_host(me);
		return true;
	}
	*out = *end;
	return !ips_aspec_is_keyword(end);
}

/* Whether a filter end stands for exactly the selector a peer proposed. */
static bool
sel_matches(const struct ips_aspec *end, const struct ips_aspec *sel,
    const struct hostenv *h)
{
	switch (end->kind) {
	case IPS_ASPEC_ME:
		return sel->kind == IPS_ASPEC_HOST &&
		    hostenv_contains(h, HOSTENV_LOCAL, &sel->lo);
	case IPS_ASPEC_DNS:
		return sel->kind == IPS_ASPEC_HOST &&
		    hostenv_contains(h, HOSTENV_DNS, &sel->lo);
	case IPS_ASPEC_GATEWAY:
		return sel->kind == IPS_ASPEC_HOST &&
		    hostenv_contains(h, HOSTENV_GATEWAY, &sel->lo);
	default:
		return ips_aspec_cmp(end, sel) == 0;
	}
}

/* The negotiating rule whose filter carries exactly these selectors. */
static const struct flt *
rule_for_selectors(const struct ike_sa *sa, const struct ips_aspec *ours,
    const struct ips_aspec *theirs, uint8_t proto, uint16_t our_port,
    uint16_t their_port)
{
	const struct ike_policy_view *pv = &sa->ike->pv;

	if (pv->filters == NULL)
		return NULL;
	for (size_t i = 0; i < flt_count(pv->filters, FLT_QM, FLT_GENERIC);
	     i++) {
		const struct flt *f =
		    flt_get(pv->filters, FLT_QM, FLT_GENERIC, i);
		const struct pol_rule *r = f->rule;
		bool fwd, rev;

		if (r->filter_action->action != POL_ACTION_NEGOTIATE ||
		    f->proto != proto ||
		    (r->tunnel &&
			ips_addr_cmp(&r->tunnel_remote, &sa->remote.addr) != 0))
			continue;
		fwd = sel_matches(&f->src, ours, pv->host) &&
		    sel_matches(&f->dst, theirs, pv->host) &&
		    f->sport == our_port && f->dport == their_port;
		rev = f->mirrored && sel_matches(&f->dst, ours, pv->host) &&
		    sel_matches(&f->src, theirs, pv->host) &&
		    f->dport == our_port && f->sport == their_port;
		if (fwd || rev)
			return f;
	}
	return NULL;
}

static uint16_t
encap_for(const struct ike_sa *sa, bool tunnel)
{
	if (sa->nat)
		return tunnel ? IPSEC_ENCAP_UDP_TUNNEL
			      : IPSEC_ENCAP_UDP_TRANSPORT;
	return tunnel ? IPSEC_ENCAP_TUNNEL : IPSEC_ENCAP_TRANSPORT;
}

/* ---- hashes and keys ------------------------------------------------------
 */

/* HASH(1) (ni NULL) or HASH(2) over what follows the HASH payload. */
static ips_res
qm_hash12(const struct ike_sa *sa, uint32_t msgid, const uint8_t *ni,
    size_t nilen, const uint8_t *after, size_t len, uint8_t *out)
{
	uint8_t mid[4];
	const struct ike_chunk in[] = {
	    {mid, 4}, {ni, ni ? nilen : 0}, {after, len}};

	wire_put_be32(mid, msgid);
	return ike_prf(
	    sa->ike->cx, sa->chosen.hash, sa->sk.a, sa->sk.len, in, 3, out);
}

static ips_res
qm_hash3(const struct ike_sa *sa, const struct ike_qm *qm, uint8_t *out)
{
	static const uint8_t zero = 0;
	uint8_t mid[4];
	const struct ike_chunk in[] = {
	    {&zero, 1}, {mid, 4}, {qm->ni, qm->nilen}, {qm->nr, qm->nrlen}};

	wire_put_be32(mid, qm->msgid);
	return ike_prf(
	    sa->ike->cx, sa->chosen.hash, sa->sk.a, sa->sk.len, in, 4, out);
}

/* A live outbound SA with p's peer and selectors. */
static bool
same_traffic(const struct sad_info *row, const void *arg)
{
	const struct sad_params *p = arg, *o = &row->p;

	return row->dir == SAD_OUTBOUND && row->state == SAD_MATURE &&
	    ips_addr_cmp(&o->remote, &p->remote) == 0 &&
	    ips_aspec_cmp(&o->src, &p->src) == 0 &&
	    ips_aspec_cmp(&o->dst, &p->dst) == 0 &&
	    o->sel_proto == p->sel_proto && o->sel_sport == p->sel_sport &&
	    o->sel_dport == p->sel_dport;
}

/* Whether a new pair replaces a live one: same peer, same selectors. */
static bool
replaces_pair(const struct sad *sad, const struct sad_params *p)
{
	return sad_any(sad, same_traffic, p);
}

/* Both SAs into the SAD, keyed from KEYMAT (RFC 2409 5.5). */
static ips_res
qm_install(struct ike_sa *sa, struct ike_qm *qm)
{
	struct ike *ike = sa->ike;
	uint64_t now = ike->ops->now_ms(ike->ctx);
	size_t need = ike_qm_keylen(&qm->chosen);
	uint8_t kin[SAD_KEY_MAX], kout[SAD_KEY_MAX], s[4];
	struct sad_params p;
	bool udp;
	ips_res r;

	ENSURE(need <= SAD_KEY_MAX, INVAL);
	wire_put_be32(s, qm->spi_in);
	r = ike_keymat(sa->ike->cx, sa->chosen.hash, &sa->sk, qm->gqm,
	    qm->gqmlen, qm->chosen.proto, s, qm->ni, qm->nilen, qm->nr,
	    qm->nrlen, need, kin);
	wire_put_be32(s, qm->spi_out);
	if (ips_ok(r))
		r = ike_keymat(sa->ike->cx, sa->chosen.hash, &sa->sk, qm->gqm,
		    qm->gqmlen, qm->chosen.proto, s, qm->ni, qm->nilen, qm->nr,
		    qm->nrlen, need, kout);
	memset(&p, 0, sizeof(p));
	p.proto = qm->chosen.proto;
	p.encap = qm->chosen.encap;
	p.transform = qm->chosen.transform;
	p.keybits = qm->chosen.keybits;
	p.auth = qm->chosen.auth;
	p.pfs_group = qm->chosen.group;
	p.esn = qm->chosen.esn;
	p.replay_window = qm->chosen.our_replay;
	p.life_s =
	    qm->chosen.life_s != 0 && qm->chosen.life_s < qm->chosen.our_life_s
	    ? qm->chosen.life_s
	    : qm->chosen.our_life_s;
	p.life_kb = qm->chosen.life_kb != 0 &&
		(qm->chosen.our_life_kb == 0 ||
		    qm->chosen.life_kb < qm->chosen.our_life_kb)
	    ? qm->chosen.life_kb
	    : qm->chosen.our_life_kb;
	udp = p.encap == IPSEC_ENCAP_UDP_TUNNEL ||
	    p.encap == IPSEC_ENCAP_UDP_TRANSPORT;
	p.local = sa->local.addr;
	p.remote = sa->remote.addr;
	p.local_port = udp ? sa->local.port : 0;
	p.remote_port = udp ? sa->remote.port : 0;
	p.src = qm->local_sel;
	p.dst = qm->remote_sel;
	p.sel_proto = qm->sel_proto;
	p.sel_sport = qm->local_port;
	p.sel_dport = qm->remote_port;
	snprintf(p.rule, sizeof(p.rule), "%s", qm->rule);
	p.initiator = qm->initiator;
	if (ips_ok(r) && replaces_pair(ike->sad, &p))
		stats_on_rekey(ike->stats); /* before its twin is added */
	if (ips_ok(r))
		r = sad_update_inbound(
		    ike->sad, qm->spi_in, &p, kin, need, qm->spi_out, now);
	if (ips_ok(r)) {
		uint32_t in = qm->spi_in;

		qm->spi_in = 0; /* the SAD owns it now */
		r = sad_add_outbound(
		    ike->sad, qm->spi_out, &p, kout, need, in, now);
		/* Half an SA pair is no SA: take the inbound one back. */
		if (!ips_ok(r))
			(void)sad_delete(ike->sad, SAD_INBOUND, in);
	}
	OPENSSL_cleanse(kin, sizeof(kin));
	OPENSSL_cleanse(kout, sizeof(kout));
	if (ips_ok(r)) {
		struct sad_info row;

		stats_on_qm_established(ike->stats);
		/* make-before-break: the old pair keeps what is in flight
		 * for a grace, then goes (qm_lifetimes) */
		(void)sad_mark_replaced(
		    ike->sad, same_traffic, &p, qm->spi_out, now);
		if (sad_get(ike->sad, SAD_OUTBOUND, qm->spi_out, &row))
			ike_audit_qm_pair(
			    ike, sa, AUDIT_SA_ESTABLISHED, &row, NULL);
		/* Protected now: no clear traffic to this peer for the rule. */
		(void)sad_soft_replace(ike->sad, p.rule, &p.remote);
		if (qm->acq_id != 0)
			acq_qm_end(ike, qm->acq_id, true);
		qm->acq_id = 0;
	}
	return r;
}

/* ---- building and sending --------------------------------------------- */

/* Send a built message of this exchange (encrypting it on qm->iv). */
static ips_res
qm_send(struct ike_sa *sa, struct ike_qm *qm, struct wbuf *wb, bool expect)
{
	struct ike *ike = sa->ike;

	GUARD(ike_crypt_encrypt(sa, wb, qm->iv));
	if (ike_send_dgram(ike, &sa->local, &sa->remote, wb->p, wb->len) != 0)
		stats_on_ike_send_error(ike->stats);
	free(qm->out);
	qm->out = NULL;
	qm->out_len = 0;
	qm->retx_at = 0;
	if ((qm->out = malloc(wb->len)) != NULL) {
		memcpy(qm->out, wb->p, wb->len);
		qm->out_len = wb->len;
	}
	qm->tries = 0;
	/* Both sides resend until answered: a lost QM3 shows up as a
	 * repeated QM2, which the initiator answers from its copy. */
	if (expect)
		qm->retx_at = ike->ops->now_ms(ike->ctx) + ike_retx_delay_ms(0);
	return IPS_OK;
}

/*
 * QM1 or QM2: HASH, SA, nonce, [KE], IDci, IDcr.  The hash is written
 * last, over what follows it (with Ni_b first for HASH(2)).
 */
static ips_res
qm_send_12(struct ike_sa *sa, struct ike_qm *qm)
{
	struct isakmp_builder b;
	struct isakmp_hdr h;
	struct wbuf wb;
	uint8_t hash[IKE_HASH_MAX];
	size_t hlen = ike_hash_len(sa->chosen.hash), hoff, after;
	const uint8_t *nonce = qm->initiator ? qm->ni : qm->nr;
	size_t nlen = qm->initiator ? qm->nilen : qm->nrlen;
	uint8_t *p;
	ips_res r;

	memset(&h, 0, sizeof(h));
	memcpy(h.icookie, sa->cky_i, 8);
	memcpy(h.rcookie, sa->cky_r, 8);
	h.exchange = ISAKMP_EXCH_QUICK;
	h.msgid = qm->msgid;
	wbuf_init(&wb, IKE_MSG_MAX);
	r = isakmp_build_begin(&b, &wb, &h);
	if (ips_ok(r))
		r = isakmp_build_open(&b, ISAKMP_PL_HASH);
	hoff = wb.len;
	if (ips_ok(r))
		r = wbuf_reserve(&wb, hlen, &p);
	if (ips_ok(r))
		r = isakmp_build_close(&b);
	after = wb.len;
	if (ips_ok(r))
		r = isakmp_build_open(&b, ISAKMP_PL_SA);
	if (ips_ok(r))
		r = qm->initiator
		    ? ike_qm_sa_write(&wb, qm->offers, qm->noffers, qm->spi_in)
		    : ike_qm_sa_write(&wb, &qm->chosen, 1, qm->spi_in);
	if (ips_ok(r))
		r = isakmp_build_close(&b);
	if (ips_ok(r))
		r = isakmp_build_raw(&b, ISAKMP_PL_NONCE, nonce, nlen);
	if (ips_ok(r) && qm->dh != NULL)
		r = isakmp_build_raw(&b, ISAKMP_PL_KE, qm->gx, qm->gxlen);
	if (ips_ok(r))
		r = isakmp_build_raw(&b, ISAKMP_PL_ID, qm->idci, qm->idcilen);
	if (ips_ok(r))
		r = isakmp_build_raw(&b, ISAKMP_PL_ID, qm->idcr, qm->idcrlen);
	if (ips_ok(r))
		r = isakmp_build_finish(&b);
	if (ips_ok(r))
		r = qm_hash12(sa, qm->msgid, qm->initiator ? NULL : qm->ni,
		    qm->nilen, wb.p + after, wb.len - after, hash);
	if (ips_ok(r)) {
		memcpy(wb.p + hoff, hash, hlen);
		r = qm_send(sa, qm, &wb, true);
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	wbuf_free(&wb);
	return r;
}

static ips_res
qm_send_3(struct ike_sa *sa, struct ike_qm *qm)
{
	struct isakmp_builder b;
	struct isakmp_hdr h;
	struct wbuf wb;
	uint8_t hash[IKE_HASH_MAX];
	ips_res r;

	memset(&h, 0, sizeof(h));
	memcpy(h.icookie, sa->cky_i, 8);
	memcpy(h.rcookie, sa->cky_r, 8);
	h.exchange = ISAKMP_EXCH_QUICK;
	h.msgid = qm->msgid;
	wbuf_init(&wb, IKE_MSG_MAX);
	r = qm_hash3(sa, qm, hash);
	if (ips_ok(r))
		r = isakmp_build_begin(&b, &wb, &h);
	if (ips_ok(r))
		r = isakmp_build_raw(
		    &b, ISAKMP_PL_HASH, hash, ike_hash_len(sa->chosen.hash));
	if (ips_ok(r))
		r = isakmp_build_finish(&b);
	if (ips_ok(r))
		r = qm_send(sa, qm, &wb, false);
	OPENSSL_cleanse(hash, sizeof(hash));
	wbuf_free(&wb);
	return r;
}

static ips_res
new_qm(struct ike_sa *sa, bool initiator, uint32_t msgid, struct ike_qm **out)
{
	struct ike_qm *qm = calloc(1, sizeof(*qm));

	ENSURE(qm != NULL, NOMEM);
	qm->initiator = initiator;
	qm->msgid = msgid;
	/* RFC 2409 App B: a new exchange's IV from the last phase 1 block */
	if (!ips_ok(ike_iv_phase2(sa->ike->cx, sa->chosen.hash, sa->iv,
		sa->block, msgid, qm->iv))) {
		free(qm);
		BAIL(INVAL);
	}
	qm->next = sa->qms;
	sa->qms = qm;
	*out = qm;
	return IPS_OK;
}

/* PFS: our KE now, g(qm)^xy once the peer's is known. */
static ips_res
pfs_keygen(struct ike_sa *sa, struct ike_qm *qm, unsigned group)
{
	qm->gxlen = ike_dh_public_len(group);
	GUARD(ike_dh_new(sa->ike->cx, group, &qm->dh));
	return ike_dh_public(qm->dh, qm->gx, qm->gxlen);
}

static ips_res
pfs_derive(struct ike_qm *qm, const struct isakmp_payload *ke)
{
	ENSURE(ke != NULL && qm->dh != NULL, IKE_NO_PROPOSAL);
	ENSURE(rbuf_left(&ke->body) == qm->gxlen, IKE_MALFORMED);
	return ike_dh_derive(
	    qm->dh, ke->body.p, qm->gxlen, qm->gqm, &qm->gqmlen);
}

/* ---- initiator ----------------------------------------------------------- */

/*
 * Start Quick Mode for rule r with these selectors (ours first, filter
 * keywords already made concrete).
 */
static ips_res
qm_start(struct ike_sa *sa, const struct pol_rule *r,
    const struct ips_aspec *local_sel, const struct ips_aspec *remote_sel,
    uint8_t proto, uint16_t lport, uint16_t rport, uint32_t acq_id)
{
	const struct pol_neg_policy *np = r->filter_action->neg_policy;
	struct ike_qm *qm;
	uint32_t msgid = 0;
	ips_res res;
	int af;

	while (msgid == 0)
		GUARD(ike_random(&msgid, sizeof(msgid)));
	GUARD(new_qm(sa, true, msgid, &qm));
	qm->state = QM_I1;
	qm->acq_id = acq_id;
	snprintf(qm->rule, sizeof(qm->rule), "%s", r->name);
	qm->tunnel = r->tunnel;
	qm->noffers = ike_qm_offers(
	    np, encap_for(sa, r->tunnel), qm->offers, IKE_MAX_QM_OFFERS);
	qm->sel_proto = proto;
	qm->local_port = lport;
	qm->remote_port = rport;
	qm->local_sel = *local_sel;
	qm->remote_sel = *remote_sel;
	/* the selectors' family, which a tunnel's need not share; "any"
	 * (no family of its own) takes the other's, or the ISAKMP SA's */
	af = local_sel->lo.af != 0   ? local_sel->lo.af
	    : remote_sel->lo.af != 0 ? remote_sel->lo.af
				     : sa->local.addr.af;
	qm->idcilen = id_of(local_sel, af, proto, lport, qm->idci);
	qm->idcrlen = id_of(remote_sel, af, proto, rport, qm->idcr);
	res = qm->noffers > 0 ? IPS_OK : IPS_ERR(IKE_NO_PROPOSAL);
	if (ips_ok(res))
		res = sad_get_spi(sa->ike->sad, &qm->spi_in,
		    sa->ike->ops->now_ms(sa->ike->ctx));
	qm->nilen = IKE_NONCE_LEN;
	if (ips_ok(res))
		res = ike_random(qm->ni, qm->nilen);
	if (ips_ok(res) && np->pfs_group != 0)
		res = pfs_keygen(sa, qm, np->pfs_group);
	if (ips_ok(res))
		res = qm_send_12(sa, qm);
	if (!ips_ok(res))
		qm_fail(sa, qm, res, false);
	return res;
}

static ips_res
qm_initiate(struct ike_sa *sa, const struct flt *f)
{
	struct ips_aspec ls, rs;

	if (!concrete(&f->src, &sa->local.addr, &ls) ||
	    !concrete(&f->dst, &sa->remote.addr, &rs))
		BAIL(IKE_ID);
	return qm_start(sa, f->rule, &ls, &rs, f->proto, f->sport, f->dport, 0);
}

ips_res
qm_for_acquire(
    struct ike_sa *sa, const struct pol_rule *r, const struct ike_acq *a)
{
	/* Main Mode may have started the rule's Quick Modes already. */
	for (struct ike_qm *qm = sa->qms; qm != NULL; qm = qm->next)
		if (qm->initiator && qm->state == QM_I1 && qm->acq_id == 0 &&
		    strcmp(qm->rule, r->name) == 0 &&
		    ips_aspec_cmp(&qm->local_sel, &a->src) == 0 &&
		    ips_aspec_cmp(&qm->remote_sel, &a->dst) == 0 &&
		    qm->sel_proto == a->proto && qm->local_port == a->sport &&
		    qm->remote_port == a->dport) {
			qm->acq_id = a->id;
			return IPS_OK;
		}
	return qm_start(
	    sa, r, &a->src, &a->dst, a->proto, a->sport, a->dport, a->id);
}

void
qm_start_for_rule(struct ike_sa *sa)
{
	const struct flt_set *fs = sa->ike->pv.filters;

	if (fs == NULL)
		return;
	for (size_t i = 0; i < flt_count(fs, FLT_QM, FLT_GENERIC); i++) {
		const struct flt *f = flt_get(fs, FLT_QM, FLT_GENERIC, i);

		if (strcmp(f->rule->name, sa->rule) == 0 &&
		    f->rule->filter_action->action == POL_ACTION_NEGOTIATE &&
		    !ips_ok(qm_initiate(sa, f)))
			ips_log(IPS_LOG_NOTICE,
			    "ike: %s: cannot start Quick Mode "
			    "for %s",
			    sa->rule, f->name);
	}
}

/* Check that the IDs came back as sent (RFC 2409 5.5). */
static ips_res
ids_echoed(const struct ike_qm *qm, const struct isakmp_chain *c)
{
	const struct isakmp_payload *a = isakmp_chain_find(c, ISAKMP_PL_ID, 0);
	const struct isakmp_payload *b = isakmp_chain_find(c, ISAKMP_PL_ID, 1);

	if (a == NULL && b == NULL)
		return IPS_OK;
	ENSURE(a != NULL && b != NULL && rbuf_left(&a->body) == qm->idcilen &&
		rbuf_left(&b->body) == qm->idcrlen &&
		memcmp(a->body.p, qm->idci, qm->idcilen) == 0 &&
		memcmp(b->body.p, qm->idcr, qm->idcrlen) == 0,
	    IKE_ID);
	return IPS_OK;
}

/*
 * QM1 and QM2 carry HASH, SA, NONCE, at most one KE and either no IDs or
 * both (RFC 2409 5.5); the handlers rely on this having been checked.
 */
static bool
qm12_shape_ok(const struct isakmp_chain *c)
{
	size_t ids = isakmp_chain_count(c, ISAKMP_PL_ID);

	return c->n >= 3 && isakmp_chain_count(c, ISAKMP_PL_SA) == 1 &&
	    isakmp_chain_count(c, ISAKMP_PL_NONCE) == 1 &&
	    isakmp_chain_count(c, ISAKMP_PL_KE) <= 1 && (ids == 0 || ids == 2);
}

static ips_res
i_qm2(struct ike_sa *sa, struct ike_qm *qm, const struct isakmp_chain *c)
{
	const struct isakmp_payload *no =
	    isakmp_chain_find(c, ISAKMP_PL_NONCE, 0);
	struct isakmp_sa s;

	GUARD(isakmp_sa_parse(isakmp_chain_find(c, ISAKMP_PL_SA, 0), &s));
	GUARD(ike_qm_sa_accept(
	    &s, qm->offers, qm->noffers, &qm->chosen, &qm->spi_out));
	GUARD(isakmp_nonce_check(no));
	qm->nrlen = rbuf_left(&no->body);
	memcpy(qm->nr, no->body.p, qm->nrlen);
	GUARD(ids_echoed(qm, c));
	if (qm->chosen.group != 0)
		GUARD(pfs_derive(qm, isakmp_chain_find(c, ISAKMP_PL_KE, 0)));
	GUARD(qm_send_3(sa, qm));
	return qm_install(sa, qm);
}

/* ---- responder -------------------------------------------------------------
 */

static ips_res
r_qm1(struct ike_sa *sa, struct ike_qm *qm, const struct isakmp_chain *c)
{
	const struct isakmp_payload *no =
	    isakmp_chain_find(c, ISAKMP_PL_NONCE, 0);
	const struct isakmp_payload *ida =
	    isakmp_chain_find(c, ISAKMP_PL_ID, 0);
	const struct isakmp_payload *idb =
	    isakmp_chain_find(c, ISAKMP_PL_ID, 1);
	const struct isakmp_payload *ke = isakmp_chain_find(c, ISAKMP_PL_KE, 0);
	struct isakmp_id ici, icr;
	const struct flt *f;
	struct isakmp_sa s;

	GUARD(isakmp_nonce_check(no));
	qm->nilen = rbuf_left(&no->body);
	memcpy(qm->ni, no->body.p, qm->nilen);
	if (ida != NULL) {
		ENSURE(idb != NULL, IKE_ID);
		GUARD(isakmp_id_parse(ida, &ici));
		GUARD(isakmp_id_parse(idb, &icr));
		GUARD(sel_of(&ici, &qm->remote_sel));
		GUARD(sel_of(&icr, &qm->local_sel));
		ENSURE(ici.proto == icr.proto, IKE_ID);
		ENSURE(rbuf_left(&ida->body) <= sizeof(qm->idci) &&
			rbuf_left(&idb->body) <= sizeof(qm->idcr),
		    IKE_ID);
		qm->sel_proto = ici.proto;
		qm->remote_port = ici.port;
		qm->local_port = icr.port;
		qm->idcilen = rbuf_left(&ida->body);
		qm->idcrlen = rbuf_left(&idb->body);
		memcpy(qm->idci, ida->body.p, qm->idcilen);
		memcpy(qm->idcr, idb->body.p, qm->idcrlen);
	} else {
		/* RFC 2409 5.5: no IDs means the ISAKMP peers themselves */
		qm->remote_sel = ips_aspec_host(&sa->remote.addr);
		qm->local_sel = ips_aspec_host(&sa->local.addr);
		qm->idcilen =
		    id_of(&qm->remote_sel, sa->remote.addr.af, 0, 0, qm->idci);
		qm->idcrlen =
		    id_of(&qm->local_sel, sa->local.addr.af, 0, 0, qm->idcr);
	}
	f = rule_for_selectors(sa, &qm->local_sel, &qm->remote_sel,
	    qm->sel_proto, qm->local_port, qm->remote_port);
	ENSURE(f != NULL, IKE_ID);
	snprintf(qm->rule, sizeof(qm->rule), "%s", f->rule->name);
	qm->tunnel = f->rule->tunnel;
	qm->noffers = ike_qm_offers(f->rule->filter_action->neg_policy,
	    encap_for(sa, f->rule->tunnel), qm->offers, IKE_MAX_QM_OFFERS);
	GUARD(isakmp_sa_parse(isakmp_chain_find(c, ISAKMP_PL_SA, 0), &s));
	if (!ips_ok(ike_qm_sa_select(&s, qm->offers, qm->noffers, &qm->chosen,
		&qm->spi_out, &qm->mismatch))) {
		ips_log(IPS_LOG_NOTICE,
		    "ike: %s: no acceptable Quick Mode "
		    "proposal: %s",
		    qm->rule, qm->mismatch.what);
		ike_trace(sa->ike,
		    "rule %s: no acceptable Quick Mode proposal: %s", qm->rule,
		    qm->mismatch.what);
		BAIL(IKE_NO_PROPOSAL);
	}
	if (sa->ike->tracing) {
		char eb[32];

		ike_trace(sa->ike,
		    "rule %s: Quick Mode proposal accepted: %s %s %s, PFS "
		    "group %u, %s, lifetime %u s",
		    qm->rule, isakmp_proto_name(qm->chosen.proto),
		    qm->chosen.proto == ISAKMP_PROTO_ESP
			? ike_esp_encr_text(qm->chosen.transform,
			      qm->chosen.keybits, eb, sizeof(eb))
			: "",
		    ike_ipsec_auth_text(qm->chosen.auth), qm->chosen.group,
		    ike_encap_text(qm->chosen.encap), qm->chosen.life_s);
	}
	ENSURE((qm->chosen.group != 0) == (ke != NULL), IKE_NO_PROPOSAL);
	GUARD(sad_get_spi(
	    sa->ike->sad, &qm->spi_in, sa->ike->ops->now_ms(sa->ike->ctx)));
	qm->nrlen = IKE_NONCE_LEN;
	GUARD(ike_random(qm->nr, qm->nrlen));
	if (qm->chosen.group != 0) {
		GUARD(pfs_keygen(sa, qm, qm->chosen.group));
		GUARD(pfs_derive(qm, ke));
	}
	qm->state = QM_R1;
	return qm_send_12(sa, qm);
}

static ips_res
r_qm3(struct ike_sa *sa, struct ike_qm *qm, const struct isakmp_chain *c)
{
	const struct isakmp_payload *hp = &c->pl[0];
	uint8_t want[IKE_HASH_MAX];
	size_t hlen = ike_hash_len(sa->chosen.hash);

	ENSURE(c->n == 1 && rbuf_left(&hp->body) == hlen, IKE_MALFORMED);
	GUARD(qm_hash3(sa, qm, want));
	ENSURE(ike_ct_equal(hp->body.p, want, hlen), IKE_BAD_HASH);
	return qm_install(sa, qm);
}

/* ---- dispatch
 * ---------------------------------------------------------------- */

static struct ike_qm *
find_qm(struct ike_sa *sa, uint32_t msgid)
{
	for (struct ike_qm *q = sa->qms; q != NULL; q = q->next)
		if (q->msgid == msgid)
			return q;
	return NULL;
}

/* Whether the peer started an exchange with this message ID lately
 * (RFC 2408 3.1: a message ID is not reused within a phase 1 SA). */
static bool
mid_seen(const struct ike_sa *sa, uint32_t msgid)
{
	for (size_t i = 0; i < IKE_MID_HISTORY; i++)
		if (sa->mids[i] == msgid)
			return true;
	return false;
}

static size_t
responder_qms(const struct ike_sa *sa)
{
	size_t n = 0;

	for (const struct ike_qm *q = sa->qms; q != NULL; q = q->next)
		n += !q->initiator;
	return n;
}

static void
qm_input_in(struct ike_sa *sa, const struct isakmp_hdr *h, const uint8_t *msg,
    size_t len, uint8_t plain[static IKE_MSG_MAX])
{
	uint8_t iv[IKE_BLOCK_MAX], next[IKE_BLOCK_MAX];
	uint8_t digest[32], want[IKE_HASH_MAX];
	size_t blen = len - ISAKMP_HDR_LEN,
	       hlen = ike_hash_len(sa->chosen.hash);
	const struct ike_chunk din[] = {{msg, len}};
	struct ike_qm *qm = find_qm(sa, h->msgid);
	const struct isakmp_payload *hp;
	const uint8_t *after, *end;
	struct isakmp_chain c;
	struct rbuf rb;
	bool fresh = qm == NULL;
	ips_res r;

	if (!ips_ok(ike_hash(sa->ike->cx, IKE_HASH_ALG_SHA256, din, 1, digest)))
		return;
	if (qm != NULL && qm->have_in &&
	    ike_ct_equal(digest, qm->in_digest, 32)) {
		/* a repeat: answer with what we sent */
		if (qm->out != NULL &&
		    ike_send_dgram(sa->ike, &sa->local, &sa->remote, qm->out,
			qm->out_len) != 0)
			stats_on_ike_send_error(sa->ike->stats);
		return;
	}
	if (sa->state != IKE_SA_ESTABLISHED || !(h->flags & ISAKMP_FLAG_E) ||
	    h->msgid == 0 || blen == 0 || blen % sa->block != 0 ||
	    blen > IKE_MSG_MAX || (qm != NULL && qm->state == QM_I_DONE)) {
		stats_on_invalid_packet(sa->ike->stats);
		return;
	}
	if (!fresh)
		memcpy(iv, qm->iv, sa->block);
	else if (!ips_ok(ike_iv_phase2(sa->ike->cx, sa->chosen.hash, sa->iv,
		     sa->block, h->msgid, iv))) {
		stats_on_invalid_packet(sa->ike->stats);
		return;
	}
	rbuf_init(&rb, plain, blen);
	if (!ips_ok(ike_crypt_decrypt(
		sa, iv, msg + ISAKMP_HDR_LEN, blen, plain, next)) ||
	    !ips_ok(isakmp_chain_parse(&rb, h->next, true, &c)) || c.n < 1 ||
	    (hp = &c.pl[0])->type != ISAKMP_PL_HASH ||
	    rbuf_left(&hp->body) != hlen) {
		stats_on_invalid_packet(sa->ike->stats);
		return;
	}
	ike_trace(sa->ike, "  decrypted payloads:");
	ike_trace_payloads(sa->ike, &c);
	after = hp->body.p + hlen;
	end = plain + blen - c.padding;
	if (fresh || qm->state == QM_I1) {
		/* HASH(1) on a new exchange, HASH(2) on our QM1's answer */
		if (!ips_ok(qm_hash12(sa, h->msgid, fresh ? NULL : qm->ni,
			fresh ? 0 : qm->nilen, after, (size_t)(end - after),
			want)) ||
		    !ike_ct_equal(hp->body.p, want, hlen)) {
			stats_on_invalid_packet(sa->ike->stats);
			return;
		}
	}
	if ((fresh || qm->state == QM_I1) && !qm12_shape_ok(&c)) {
		stats_on_invalid_packet(sa->ike->stats);
		return;
	}
	ike_sa_heard(sa);
	if (fresh) {
		/* A replayed QM1 of a finished exchange, or more exchanges
		 * at once than any peer needs: each would hold an SPI. */
		if (mid_seen(sa, h->msgid) ||
		    responder_qms(sa) >= IKE_MAX_RESPONDER_QMS ||
		    !ips_ok(new_qm(sa, false, h->msgid, &qm))) {
			stats_on_invalid_packet(sa->ike->stats);
			return;
		}
		sa->mids[sa->mid_next++ % IKE_MID_HISTORY] = h->msgid;
		memcpy(qm->iv, next, sa->block);
		memcpy(qm->in_digest, digest, 32);
		qm->have_in = true;
		if (!ips_ok(r = r_qm1(sa, qm, &c)))
			qm_fail(sa, qm, r, true);
		return;
	}
	memcpy(qm->iv, next, sa->block);
	memcpy(qm->in_digest, digest, 32);
	qm->have_in = true;
	r = qm->state == QM_I1 ? i_qm2(sa, qm, &c) : r_qm3(sa, qm, &c);
	if (!ips_ok(r)) {
		qm_fail(sa, qm, r, false);
		return;
	}
	if (qm->initiator) {
		/* Done, but keep QM3 for a repeated QM2 (see qm_send). */
		qm->state = QM_I_DONE;
		qm->spi_in = 0; /* the SAD owns the pair now */
		qm->retx_at = sa->ike->ops->now_ms(sa->ike->ctx) + QM_LINGER_MS;
		return;
	}
	qm_unlink(sa, qm);
	qm_free(qm);
}

void
qm_input(struct ike_sa *sa, const struct isakmp_hdr *h, const uint8_t *msg,
    size_t len)
{
	uint8_t plain[IKE_MSG_MAX];

	qm_input_in(sa, h, msg, len, plain);
	/* Nonces and KE: what KEYMAT is made of (RFC 2409 5.5). */
	OPENSSL_cleanse(plain,
	    len - ISAKMP_HDR_LEN < sizeof(plain) ? len - ISAKMP_HDR_LEN
						 : sizeof(plain));
}

/* DELETE for one of our inbound SPIs (RFC 2408 3.15: a receiver's SPI). */
static void
send_delete(struct ike_sa *sa, uint8_t proto, uint32_t spi)
{
	uint8_t b[4];

	wire_put_be32(b, spi);
	if (!ips_ok(info_send_delete_spis(sa, proto, 4, b, 1)))
		ips_log(IPS_LOG_WARNING, "ike: cannot send DELETE");
}

void
qm_tick(struct ike_sa *sa, uint64_t now)
{
	struct ike_qm *qm, *next;

	for (qm = sa->qms; qm != NULL; qm = next) {
		next = qm->next;
		if (qm->retx_at == 0 || now < qm->retx_at)
			continue;
		if (qm->state == QM_I_DONE) {
			qm_unlink(sa, qm);
			qm_free(qm);
			continue;
		}
		if (qm->tries >= IKE_RETX_TRIES) {
			/* The initiator may have installed the pair on our
			 * QM2 although its QM3 never came: name the SPI it
			 * would send to, so it removes the pair as well. */
			if (!qm->initiator && qm->spi_in != 0)
				send_delete(sa, qm->chosen.proto, qm->spi_in);
			qm_fail(sa, qm, IPS_ERR(IKE_TIMEOUT), false);
			continue;
		}
		qm->tries++;
		if (ike_send_dgram(sa->ike, &sa->local, &sa->remote, qm->out,
			qm->out_len) != 0)
			stats_on_ike_send_error(sa->ike->stats);
		qm->retx_at = now + ike_retx_delay_ms(qm->tries);
	}
}

/*
 * The peer refused a Quick Mode of ours.  The notify's SPI, when it has
 * one, is the SPI we proposed (our inbound one): that exchange alone
 * fails.  A zero SPI (charon refusing before it read our proposal) names
 * none: the oldest open exchange is taken, since a peer answers in order;
 * any others fail on their own, so none is counted twice.
 */
void
qm_refused(struct ike_sa *sa, const struct isakmp_notify *n)
{
	struct ike_qm *qm, *pick = NULL;
	uint32_t spi = 0;

	if (n->spi_size == 4)
		spi = wire_get_be32(n->spi);
	for (qm = sa->qms; qm != NULL; qm = qm->next)
		if (qm->initiator && qm->state == QM_I1 &&
		    (spi == 0 || qm->spi_in == spi))
			pick = qm; /* newest first: the last match is oldest */
	if (pick == NULL) {
		ips_log(IPS_LOG_INFO,
		    "ike: %s: refusal for no Quick Mode of ours (SPI %08x)",
		    sa->rule, spi);
		return;
	}
	qm_fail(sa, pick,
	    n->type == ISAKMP_N_INVALID_ID_INFORMATION
		? IPS_ERR(IKE_ID)
		: IPS_ERR(IKE_NO_PROPOSAL),
	    false);
}

/*
 * Whether an SA pair belongs to this ISAKMP SA's peer: its address, and
 * behind a NAT (UDP-encapsulated pairs) its port too, which is what tells
 * two hosts behind one NAT apart.
 */
static bool
pair_of_peer(const struct sad_params *p, const struct ike_sa *sa)
{
	return ips_addr_cmp(&p->remote, &sa->remote.addr) == 0 &&
	    (p->remote_port == 0 || p->remote_port == sa->remote.port);
}

/* An SA pair ends: its audit event (542), then both SAs go. */
static void
pair_end(struct ike *ike, struct ike_sa *sa, const struct sad_info *out,
    const char *why)
{
	ike_audit_qm_pair(ike, sa, AUDIT_QM_ENDED, out, why);
	(void)sad_delete(ike->sad, SAD_OUTBOUND, out->spi);
	if (out->pair_spi != 0)
		(void)sad_delete(ike->sad, SAD_INBOUND, out->pair_spi);
}

void
qm_peer_deleted(
    struct ike_sa *sa, uint8_t proto, const uint8_t *spis, uint16_t n)
{
	struct sad *sad = sa->ike->sad;

	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *p = spis + 4 * (size_t)i;
		uint32_t spi = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		struct sad_info out;

		/* the peer names its inbound SPI: our outbound one */
		/* only SAs negotiated with this peer: an authenticated peer
		 * must not delete another peer's SAs by naming their SPIs */
		if (!sad_get(sad, SAD_OUTBOUND, spi, &out) ||
		    out.p.proto != proto || !pair_of_peer(&out.p, sa))
			continue;
		/* and its pair, our inbound one */
		pair_end(sa->ike, sa, &out, "deleted by the peer");
		ips_log(IPS_LOG_NOTICE, "ike: %s: peer deleted %s SA %08x",
		    out.p.rule, isakmp_proto_name(proto), spi);
	}
}

void
qm_delete_all(struct ike_sa *sa)
{
	struct sad *sad = sa->ike->sad;
	size_t total = sad_count(sad);
	struct sad_info *rows = calloc(total ? total : 1, sizeof(*rows));

	if (rows == NULL)
		return;
	sad_list(sad, rows, total);
	for (size_t k = 0; k < total; k++) {
		const struct sad_info *s = &rows[k];

		if (s->dir != SAD_INBOUND || s->state != SAD_MATURE ||
		    !pair_of_peer(&s->p, sa))
			continue;
		struct sad_info out;

		send_delete(sa, s->p.proto, s->spi);
		if (sad_get(sad, SAD_OUTBOUND, s->pair_spi, &out))
			pair_end(sa->ike, sa, &out, "shutdown");
		else
			(void)sad_delete(sad, SAD_INBOUND, s->spi);
	}
	free(rows);
}

void
qm_forget_peer(struct ike_sa *sa)
{
	struct sad *sad = sa->ike->sad;
	size_t total = sad_count(sad);
	struct sad_info *rows = calloc(total ? total : 1, sizeof(*rows));

	if (rows == NULL)
		return;
	sad_list(sad, rows, total);
	/* Pairs first (one event each), then any inbound SA left over. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < total; k++) {
			const struct sad_info *s = &rows[k];

			if (s->state != SAD_MATURE || !pair_of_peer(&s->p, sa))
				continue;
			if (pass == 0 && s->dir == SAD_OUTBOUND)
				pair_end(sa->ike, sa, s, "the peer forgot it");
			else if (pass == 1 && s->dir == SAD_INBOUND)
				(void)sad_delete(sad, SAD_INBOUND, s->spi);
		}
	free(rows);
}

/* The newest established ISAKMP SA with a pair's peer, or NULL. */
static struct ike_sa *
sa_to(struct ike *ike, const struct sad_params *p)
{
	struct ike_sa *best = NULL;

	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		if (sa->state == IKE_SA_ESTABLISHED && pair_of_peer(p, sa) &&
		    (best == NULL || sa->established_ms > best->established_ms))
			best = sa;
	return best;
}

void
qm_drop_orphans(struct ike *ike)
{
	struct sad *sad = ike->sad;
	size_t n = sad_count(sad);
	struct sad_info *rows = calloc(n ? n : 1, sizeof(*rows));

	if (rows == NULL)
		return;
	sad_list(sad, rows, n);
	for (size_t i = 0; i < n; i++) {
		const struct sad_info *o = &rows[i];
		const struct pol_rule *r = ike_rule_named(ike, o->p.rule);
		struct ike_sa *sa;

		if (o->dir != SAD_OUTBOUND || o->state != SAD_MATURE ||
		    (r != NULL &&
			r->filter_action->action == POL_ACTION_NEGOTIATE))
			continue;
		if ((sa = sa_to(ike, &o->p)) != NULL)
			send_delete(sa, o->p.proto, o->pair_spi);
		pair_end(ike, sa, o, "its rule left the policy");
	}
	free(rows);
}

struct spi_bytes {
	uint32_t spi;
	uint64_t bytes;
};

static int
by_spi(const void *a, const void *b)
{
	uint32_t x = ((const struct spi_bytes *)a)->spi;
	uint32_t y = ((const struct spi_bytes *)b)->spi;

	return x < y ? -1 : x > y;
}

/*
 * RFC 2409 leaves rekeying to the implementation: the Quick Mode
 * initiator asks for a replacement at 90% of the lifetime (seconds, or
 * kilobytes once the datapath counts them), and both sides delete a pair
 * at its hard lifetime, telling the peer.  Old and new overlap meanwhile.
 */
void
qm_lifetimes(struct ike *ike, uint64_t now)
{
	struct sad *sad = ike->sad;
	size_t n = sad_count(sad), nin = 0;
	struct sad_info *rows = calloc(n ? n : 1, sizeof(*rows));
	struct spi_bytes *in_bytes = calloc(n ? n : 1, sizeof(*in_bytes));

	if (rows == NULL || in_bytes == NULL) {
		free(rows);
		free(in_bytes);
		return;
	}
	sad_list(sad, rows, n);
	/* Every tick looks at every pair: index the inbound byte counts
	 * once, so that is O(n log n), not a search per pair. */
	for (size_t i = 0; i < n; i++)
		if (rows[i].dir == SAD_INBOUND)
			in_bytes[nin++] =
			    (struct spi_bytes){rows[i].spi, rows[i].bytes};
	qsort(in_bytes, nin, sizeof(*in_bytes), by_spi);
	for (size_t i = 0; i < n; i++) {
		const struct sad_info *o = &rows[i];
		const struct sad_params *p = &o->p;
		uint64_t age = now - o->created_ms, life = p->life_s * 1000ull;
		uint64_t vol = sad_life_bytes(p), bytes = o->bytes;
		const struct spi_bytes key = {o->pair_spi, 0}, *in;
		bool hard, soft, spent;
		struct ike_sa *sa;

		if (o->dir != SAD_OUTBOUND || o->state != SAD_MATURE)
			continue;
		if (o->replaced_ms != 0 &&
		    now - o->replaced_ms >= IKE_REKEY_GRACE_MS) {
			sa = sa_to(ike, p);
			if (sa != NULL)
				send_delete(sa, p->proto, o->pair_spi);
			pair_end(ike, sa, o, "replaced by a rekey");
			continue;
		}
		/* RFC 2407 4.5: a volume lifetime holds for each SA of the
		 * pair; the busier direction ends it. */
		in = bsearch(&key, in_bytes, nin, sizeof(*in_bytes), by_spi);
		if (in != NULL && in->bytes > bytes)
			bytes = in->bytes;
		/* RFC 4303 3.3.3: a spent counter ends the SA; nearly spent,
		 * it is rekeyed by whichever side sends on it */
		spent = !p->esn && o->seq >= SAD_SEQ_SOFT;
		hard = (life != 0 && age >= life) ||
		    (vol != 0 && bytes >= vol) ||
		    (!p->esn && o->seq >= UINT32_MAX);
		soft = (life != 0 && age >= life / 10 * 9) ||
		    (vol != 0 && bytes >= vol / 10 * 9);
		if (!hard && !(soft && p->initiator && !o->rekeyed) &&
		    !(spent && !o->rekeyed))
			continue; /* nothing to do: no need for its peer */
		sa = sa_to(ike, p);
		if (hard) {
			ips_log(IPS_LOG_INFO, "ike: %s: SA %08x expired",
			    p->rule, o->spi);
			if (sa != NULL)
				send_delete(sa, p->proto, o->pair_spi);
			pair_end(ike, sa, o, "lifetime expired");
			continue;
		}
		if (((soft && p->initiator) || spent) && !o->rekeyed &&
		    sa != NULL) {
			const struct pol_rule *r = ike_rule_named(ike, p->rule);

			sad_mark_rekeyed(sad, SAD_OUTBOUND, o->spi);
			if (r == NULL ||
			    r->filter_action->action != POL_ACTION_NEGOTIATE ||
			    !ips_ok(qm_start(sa, r, &p->src, &p->dst,
				p->sel_proto, p->sel_sport, p->sel_dport, 0)))
				ips_log(IPS_LOG_NOTICE,
				    "ike: %s: cannot rekey "
				    "SA %08x",
				    p->rule, o->spi);
		}
	}
	free(rows);
	free(in_bytes);
}
