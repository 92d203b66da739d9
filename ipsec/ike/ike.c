/*
 * The engine's core: the ISADB, the one state setter, sending and
 * retransmitting, and the dispatch of every received datagram to the
 * exchange it belongs to, counting what the statistics define on the way.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "ike_int.h"

#define IKE_HALF_OPEN_MS 30000 /* a responder waits this long for MM3/MM5 */

void
ike_cookies_text(const uint8_t cky_i[static 8], const uint8_t cky_r[static 8],
    char out[static IKE_COOKIES_TEXT])
{
	static const char hex[] = "0123456789abcdef";

	for (int k = 0; k < 8; k++) {
		out[2 * k] = hex[cky_i[k] >> 4];
		out[2 * k + 1] = hex[cky_i[k] & 15];
		out[17 + 2 * k] = hex[cky_r[k] >> 4];
		out[17 + 2 * k + 1] = hex[cky_r[k] & 15];
	}
	out[16] = ':';
	out[33] = '\0';
}

const char *
ike_sa_state_name(enum ike_sa_state s)
{
	static const char *const names[IKE_SA_NSTATES] = {
	    [IKE_SA_MM_I1] = "MM_I1",
	    [IKE_SA_MM_I2] = "MM_I2",
	    [IKE_SA_MM_I3] = "MM_I3",
	    [IKE_SA_MM_R1] = "MM_R1",
	    [IKE_SA_MM_R2] = "MM_R2",
	    [IKE_SA_ESTABLISHED] = "ESTABLISHED",
	    [IKE_SA_DEAD] = "DEAD",
	};

	return (unsigned)s < IKE_SA_NSTATES ? names[s] : "NEW";
}

/* Legal transitions: from (rows, NSTATES = new) to (bits). */
#define B(s) (1u << (s))
static const unsigned legal[IKE_SA_NSTATES + 1] = {
    [IKE_SA_MM_I1] = B(IKE_SA_MM_I2) | B(IKE_SA_DEAD),
    [IKE_SA_MM_I2] = B(IKE_SA_MM_I3) | B(IKE_SA_DEAD),
    [IKE_SA_MM_I3] = B(IKE_SA_ESTABLISHED) | B(IKE_SA_DEAD),
    [IKE_SA_MM_R1] = B(IKE_SA_MM_R2) | B(IKE_SA_DEAD),
    [IKE_SA_MM_R2] = B(IKE_SA_ESTABLISHED) | B(IKE_SA_DEAD),
    [IKE_SA_ESTABLISHED] = B(IKE_SA_DEAD),
    [IKE_SA_DEAD] = 0,
    [IKE_SA_NSTATES] = B(IKE_SA_MM_I1) | B(IKE_SA_MM_R1),
};
#undef B

void
ike_sa_set_state(struct ike_sa *sa, enum ike_sa_state to)
{
	enum ike_sa_state from = sa->state;

	if ((legal[from] & (1u << to)) == 0) {
		/* A programming error, never a peer's doing. */
		ips_log(IPS_LOG_ERR, "ike: illegal transition %s -> %s",
		    ike_sa_state_name(from), ike_sa_state_name(to));
		abort();
	}
	ips_log(IPS_LOG_DEBUG, "ike: %02x%02x%02x%02x: %s -> %s", sa->cky_i[0],
	    sa->cky_i[1], sa->cky_i[2], sa->cky_i[3], ike_sa_state_name(from),
	    ike_sa_state_name(to));
	if (sa->ike->tracing) {
		char ck[IKE_COOKIES_TEXT];

		ike_cookies_text(sa->cky_i, sa->cky_r, ck);
		ike_trace(sa->ike, "ISAKMP SA %s (%s, %s): %s -> %s%s%s", ck,
		    sa->rule[0] ? sa->rule : "no rule yet",
		    sa->role == IKE_INITIATOR ? "initiator" : "responder",
		    from < IKE_SA_NSTATES ? ike_sa_state_name(from) : "new",
		    ike_sa_state_name(to), sa->end_why ? ": " : "",
		    sa->end_why ? sa->end_why : "");
	}
	sa->state = to;
	if (to == IKE_SA_ESTABLISHED) {
		sa->established_ms = sa->ike->ops->now_ms(sa->ike->ctx);
		sa->last_rx = sa->established_ms;
		stats_on_mm_established(sa->ike->stats);
		ike_audit_mm_up(sa);
	}
	if (from == IKE_SA_ESTABLISHED && to == IKE_SA_DEAD)
		ike_audit_mm_end(sa, sa->end_why ? sa->end_why : "deleted");
	if (to == IKE_SA_DEAD)
		qm_abandon_all(sa); /* their larval SPIs go back */
	if (to == IKE_SA_DEAD && from != IKE_SA_ESTABLISHED)
		acq_mm_down(sa);
	if (to == IKE_SA_ESTABLISHED || to == IKE_SA_DEAD)
		sa->retx_at = 0; /* nothing more to resend on a timer */
	/*
	 * The responder keeps MM6: if it is lost, the initiator repeats MM5
	 * and gets it again (RFC 2408 5.1 leaves recovery to the
	 * retransmitter).  The initiator keeps nothing, so a duplicated MM6
	 * cannot start a ping-pong.
	 */
	if (to == IKE_SA_DEAD ||
	    (to == IKE_SA_ESTABLISHED && sa->role == IKE_INITIATOR)) {
		free(sa->out);
		sa->out = NULL;
		sa->out_len = 0;
	}
}

struct ike *
ike_new(const struct ike_ops *ops, void *ctx, struct stats *st)
{
	struct ike *ike = calloc(1, sizeof(*ike));

	if (ike != NULL) {
		ike->ops = ops;
		ike->ctx = ctx;
		ike->stats = st;
		ike->half_open_max = IKE_HALF_OPEN_MAX;
		ike->nbuckets = 64;
		ike->by_cky = calloc(ike->nbuckets, sizeof(*ike->by_cky));
		if (ike->by_cky == NULL ||
		    !ips_ok(ike_random(&ike->cky_key, sizeof(ike->cky_key))) ||
		    (ike->sad = sad_new(st)) == NULL ||
		    !ips_ok(ike_crypto_new(&ike->cx))) {
			sad_free(ike->sad);
			free(ike->by_cky);
			free(ike);
			return NULL;
		}
	}
	return ike;
}

static void
sa_free(struct ike_sa *sa)
{
	qm_free_all(sa);
	ike_cred_free(sa->cred);
	ike_dh_free(sa->dh);
	free(sa->sai_b);
	free(sa->out);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

void
ike_free(struct ike *ike)
{
	struct ike_sa *sa, *next;

	if (ike == NULL)
		return;
	for (sa = ike->sas; sa != NULL; sa = next) {
		next = sa->next;
		sa_free(sa);
	}
	acq_free_all(ike);
	free(ike->by_cky);
	free(ike->by_index);
	sad_free(ike->sad);
	ike_crypto_free(ike->cx);
	free(ike);
}

void
ike_set_half_open_max(struct ike *ike, size_t n)
{
	ike->half_open_max = n;
}

void
ike_set_audits(struct ike *ike, bool on)
{
	ike->audits_off = !on;
}

/* One datagram, as the trace shows it: exchange, cookies, message ID. */
static void
trace_msg(struct ike *ike, const char *dir, const struct ike_endpoint *from,
    const struct ike_endpoint *to, const uint8_t *msg, size_t len)
{
	struct isakmp_hdr h;
	struct rbuf rb;
	char a[IPS_ADDRSTRLEN + 8], b[IPS_ADDRSTRLEN + 8], ck[IKE_COOKIES_TEXT];

	if (!ike->tracing)
		return;
	rbuf_init(&rb, msg, len);
	if (!ips_ok(isakmp_hdr_parse(&rb, &h))) {
		ike_trace(ike, "%s %zu bytes %s -> %s: not an ISAKMP message",
		    dir, len, ike_ep_text(from, a, sizeof(a)),
		    ike_ep_text(to, b, sizeof(b)));
		return;
	}
	ike_cookies_text(h.icookie, h.rcookie, ck);
	ike_trace(ike, "%s %s %s -> %s cookies %s msgid %08x, %zu bytes%s", dir,
	    isakmp_exchange_name(h.exchange), ike_ep_text(from, a, sizeof(a)),
	    ike_ep_text(to, b, sizeof(b)), ck, h.msgid, len,
	    (h.flags & ISAKMP_FLAG_E) ? ", encrypted" : "");
	/* a clear message's payloads now; an encrypted one's where it is
	 * encrypted or decrypted */
	if (!(h.flags & ISAKMP_FLAG_E))
		ike_trace_message(ike, "payloads", msg, len, false);
}

int
ike_send_dgram(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len)
{
	trace_msg(ike, "send", local, remote, msg, len);
	return ike->ops->send(ike->ctx, local, remote, msg, len);
}

void
ike_set_trace(struct ike *ike, bool on)
{
	ike->tracing = on && ike->ops->trace != NULL;
}

void
ike_trace(struct ike *ike, const char *fmt, ...)
{
	char line[2048]; /* longer than the trace's lines: it marks the cut */
	va_list ap;

	if (!ike->tracing)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ike->ops->trace(ike->ctx, line);
}

const char *
ike_ep_text(const struct ike_endpoint *ep, char *buf, size_t len)
{
	return ips_addr_port_str(&ep->addr, ep->port, buf, len);
}

static size_t
half_open(const struct ike *ike)
{
	size_t n = 0;

	for (const struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		n += sa->state == IKE_SA_MM_R1 || sa->state == IKE_SA_MM_R2;
	return n;
}

void
ike_set_policy(struct ike *ike, const struct ike_policy_view *pv)
{
	ike->pv = *pv;
	/*
	 * SAs copy what they need of their rule, so a reload leaves them
	 * running.  Those whose rule is gone, or no longer negotiates, end
	 * now, their peers told: the operator took that protection away.
	 */
	qm_drop_orphans(ike);
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		const struct pol_rule *r = ike_rule_named(ike, sa->rule);

		if (sa->state == IKE_SA_DEAD || sa->rule[0] == '\0' ||
		    (r != NULL &&
			r->filter_action->action == POL_ACTION_NEGOTIATE))
			continue;
		ips_log(IPS_LOG_NOTICE,
		    "ike: %s: rule left the policy: "
		    "deleting its ISAKMP SA",
		    sa->rule);
		if (sa->state == IKE_SA_ESTABLISHED &&
		    !ips_ok(info_send_delete(sa)))
			ips_log(IPS_LOG_WARNING, "ike: cannot send DELETE");
		sa->end_why = "its rule left the policy";
		ike_sa_set_state(sa, IKE_SA_DEAD);
	}
}

/* An initiator cookie's bucket: keyed, so a peer that picks its cookies
 * cannot pile its SAs into one chain. */
static size_t
cky_bucket(const struct ike *ike, const uint8_t c[static 8])
{
	uint64_t v;

	memcpy(&v, c, 8);
	v ^= ike->cky_key;
	v *= 0x9e3779b97f4a7c15ull;
	v ^= v >> 31;
	v *= 0xbf58476d1ce4e5b9ull;
	v ^= v >> 29;
	return (size_t)(v & (ike->nbuckets - 1));
}

/* Double the buckets when chains would grow past two on average; on
 * failure the old table stays (longer chains, still correct). */
static void
cky_grow(struct ike *ike)
{
	size_t n = ike->nbuckets * 2;
	struct ike_sa **b;

	if (ike->nsas <= 2 * ike->nbuckets ||
	    (b = calloc(n, sizeof(*b))) == NULL)
		return;
	free(ike->by_cky);
	ike->by_cky = b;
	ike->nbuckets = n;
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		size_t k = cky_bucket(ike, sa->cky_i);

		sa->cnext = b[k];
		b[k] = sa;
	}
}

static void
cky_unlink(struct ike *ike, struct ike_sa *sa)
{
	struct ike_sa **pp = &ike->by_cky[cky_bucket(ike, sa->cky_i)];

	while (*pp != NULL && *pp != sa)
		pp = &(*pp)->cnext;
	if (*pp == sa)
		*pp = sa->cnext;
}

/* Append sa to the index, giving it the next number.  After 2^32 - 1
 * SAs the numbers wrap: the live SAs are numbered again from 1, in order,
 * so the array stays sorted (an NMS sees those rows change once). */
static bool
index_add(struct ike *ike, struct ike_sa *sa)
{
	if (ike->nindex == ike->index_cap) {
		size_t cap = ike->index_cap ? ike->index_cap * 2 : 16;
		struct ike_sa **b =
		    realloc(ike->by_index, cap * sizeof(*ike->by_index));

		if (b == NULL)
			return false;
		ike->by_index = b;
		ike->index_cap = cap;
	}
	if (ike->next_index == UINT32_MAX || ike->next_index == 0) {
		ike->next_index = 1;
		for (size_t i = 0; i < ike->nindex; i++)
			ike->by_index[i]->index = ike->next_index++;
	}
	sa->index = ike->next_index++;
	ike->by_index[ike->nindex++] = sa;
	return true;
}

/* The first position whose SA's index is above after. */
static size_t
index_above(const struct ike *ike, uint32_t after)
{
	size_t lo = 0, hi = ike->nindex;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ike->by_index[mid]->index <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
index_remove(struct ike *ike, const struct ike_sa *sa)
{
	size_t at = index_above(ike, sa->index - 1);

	if (at < ike->nindex && ike->by_index[at] == sa) {
		memmove(ike->by_index + at, ike->by_index + at + 1,
		    (ike->nindex - at - 1) * sizeof(*ike->by_index));
		ike->nindex--;
	}
}

struct ike_sa *
ike_sa_new(struct ike *ike, enum ike_role role,
    const struct ike_endpoint *local, const struct ike_endpoint *remote,
    const uint8_t *cky_i)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));
	size_t k;

	if (sa == NULL)
		return NULL;
	if (cky_i != NULL)
		memcpy(sa->cky_i, cky_i, 8);
	else if (!ips_ok(ike_random(sa->cky_i, 8))) {
		free(sa);
		return NULL;
	}
	sa->ike = ike;
	sa->role = role;
	sa->state = IKE_SA_NSTATES;
	sa->local = *local;
	sa->remote = *remote;
	sa->created_ms = ike->ops->now_ms(ike->ctx);
	if (!index_add(ike, sa)) {
		free(sa);
		return NULL;
	}
	cky_grow(ike); /* before linking: it re-indexes the list */
	sa->next = ike->sas;
	ike->sas = sa;
	ike->nsas++;
	k = cky_bucket(ike, sa->cky_i);
	sa->cnext = ike->by_cky[k];
	ike->by_cky[k] = sa;
	return sa;
}

void
ike_sa_send(
    struct ike_sa *sa, const uint8_t *msg, size_t len, bool expect_reply)
{
	struct ike *ike = sa->ike;
	uint64_t now = ike->ops->now_ms(ike->ctx);

	if (ike_send_dgram(ike, &sa->local, &sa->remote, msg, len) != 0)
		stats_on_ike_send_error(ike->stats);
	free(sa->out);
	sa->out = NULL;
	sa->out_len = 0;
	sa->retx_at = 0;
	/* Keep it: the initiator resends it on timeout, and both sides
	 * resend it when the peer repeats its last message. */
	if ((sa->out = malloc(len)) != NULL) {
		memcpy(sa->out, msg, len);
		sa->out_len = len;
	}
	sa->tries = 0;
	if (expect_reply)
		sa->retx_at = now +
		    (sa->role == IKE_INITIATOR ? ike_retx_delay_ms(0)
					       : IKE_HALF_OPEN_MS);
}

void
ike_send_notify_plain(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t cky_i[static 8],
    const uint8_t cky_r[static 8], uint16_t type)
{
	struct isakmp_builder b;
	struct isakmp_hdr h;
	struct wbuf wb;
	uint8_t spi[16];

	memset(&h, 0, sizeof(h));
	memcpy(h.icookie, cky_i, 8);
	memcpy(h.rcookie, cky_r, 8);
	h.exchange = ISAKMP_EXCH_INFO;
	if (!ips_ok(ike_random(&h.msgid, sizeof(h.msgid))))
		return;
	memcpy(spi, cky_i, 8);
	memcpy(spi + 8, cky_r, 8);
	wbuf_init(&wb, IKE_MSG_MAX);
	/* RFC 2408 3.14: an error about the ISAKMP SA carries both cookies
	 * as its SPI, as charon sends it. */
	if (ips_ok(isakmp_build_begin(&b, &wb, &h)) &&
	    ips_ok(isakmp_build_notify(
		&b, IPSEC_DOI, ISAKMP_PROTO_ISAKMP, spi, 16, type, NULL, 0)) &&
	    ips_ok(isakmp_build_finish(&b)) &&
	    ike_send_dgram(ike, local, remote, wb.p, wb.len) != 0)
		stats_on_ike_send_error(ike->stats);
	wbuf_free(&wb);
}

struct ike_cred *
ike_cred_for(const struct ike *ike, const struct pol_rule *r)
{
	const struct policy *p = ike->pv.policy;

	if (ike->pv.creds == NULL || p == NULL)
		return NULL;
	for (size_t i = 0; i < policy_nrules(p); i++)
		if (policy_rule(p, i) == r)
			return ike_cred_ref(ike->pv.creds[i]);
	return NULL;
}

const struct pol_rule *
ike_rule_for_peer(const struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote)
{
	struct flt_qaddr src = {.kind = FLT_Q_ADDR, .addr = remote->addr};
	struct flt_qaddr dst = {.kind = FLT_Q_ADDR, .addr = local->addr};
	size_t idx;

	if (ike->pv.filters == NULL)
		return NULL;
	/* Specific Main Mode filters come most specific first. */
	if (flt_search(ike->pv.filters, FLT_MM, FLT_SPECIFIC, &src, &dst,
		ike->pv.host, &idx, 1) == 0)
		return NULL;
	return flt_get(ike->pv.filters, FLT_MM, FLT_SPECIFIC, idx)->rule;
}

const struct pol_rule *
ike_rule_named(const struct ike *ike, const char *name)
{
	const struct policy *p = ike->pv.policy;

	for (size_t i = 0; p != NULL && i < policy_nrules(p); i++)
		if (strcmp(policy_rule(p, i)->name, name) == 0)
			return policy_rule(p, i);
	return NULL;
}

ips_res
ike_sa_initiate(struct ike *ike, const struct pol_rule *r,
    const struct ike_endpoint *local, const struct ike_endpoint *remote,
    bool start_qm)
{
	struct ike_sa *sa;
	ips_res res;

	ENSURE(r->filter_action->action == POL_ACTION_NEGOTIATE &&
		r->ike_policy != NULL,
	    INVAL);
	ENSURE(
	    (sa = ike_sa_new(ike, IKE_INITIATOR, local, remote, NULL)) != NULL,
	    NOMEM);
	snprintf(sa->rule, sizeof(sa->rule), "%s", r->name);
	for (size_t i = 0; i < r->nauth; i++)
		if (r->auth[i].method == POL_AUTH_PSK) {
			snprintf(sa->secret, sizeof(sa->secret), "%s",
			    r->auth[i].secret);
			break;
		}
	sa->cred = ike_cred_for(ike, r);
	sa->noffers = ike_mm_offers(r->ike_policy, r->auth, r->nauth,
	    sa->cred != NULL, sa->offers, IKE_MAX_OFFERS);
	sa->start_qm = start_qm;
	sa->dpd_delay_ms = (uint64_t)r->ike_policy->dpd_delay_s * 1000;
	sa->dpd_timeout_ms = (uint64_t)r->ike_policy->dpd_timeout_s * 1000;
	if (!ips_ok(res = mm_initiate(sa)))
		ike_sa_set_state(sa, IKE_SA_DEAD);
	return res;
}

ips_res
ike_initiate(struct ike *ike, const struct pol_rule *r,
    const struct ike_endpoint *local, const struct ike_endpoint *remote)
{
	/* Asked for a rule: its Quick Modes follow Main Mode. */
	return ike_sa_initiate(ike, r, local, remote, true);
}

static bool
zero_cookie(const uint8_t c[static 8])
{
	static const uint8_t z[8];

	return memcmp(c, z, 8) == 0;
}

static bool
same_endpoint(const struct ike_endpoint *a, const struct ike_endpoint *b)
{
	return ips_addr_cmp(&a->addr, &b->addr) == 0;
}

/* The SA a non-first message belongs to, or NULL. */
static struct ike_sa *
lookup(struct ike *ike, const struct isakmp_hdr *h,
    const struct ike_endpoint *remote)
{
	for (struct ike_sa *sa = ike->by_cky[cky_bucket(ike, h->icookie)];
	     sa != NULL; sa = sa->cnext) {
		if (sa->state == IKE_SA_DEAD ||
		    memcmp(sa->cky_i, h->icookie, 8) != 0)
			continue;
		if (memcmp(sa->cky_r, h->rcookie, 8) == 0)
			return sa;
		/* Our MM1 is answered: the responder's cookie is new. */
		if (sa->role == IKE_INITIATOR && sa->state == IKE_SA_MM_I1 &&
		    zero_cookie(sa->cky_r) &&
		    same_endpoint(&sa->remote, remote))
			return sa;
	}
	return NULL;
}

/* Answer a repeated message with our last one; true if it was one. */
static bool
retransmitted(struct ike_sa *sa, const uint8_t *msg, size_t len,
    uint8_t digest[static 32])
{
	const struct ike_chunk in[] = {{msg, len}};

	if (!ips_ok(ike_hash(sa->ike->cx, IKE_HASH_ALG_SHA256, in, 1, digest)))
		return false;
	if (!sa->have_in || !ike_ct_equal(digest, sa->in_digest, 32))
		return false;
	if (sa->out != NULL &&
	    ike_send_dgram(
		sa->ike, &sa->local, &sa->remote, sa->out, sa->out_len) != 0)
		stats_on_ike_send_error(sa->ike->stats);
	return true;
}

/*
 * The message that should be MM5 (or MM6) under a pre-shared key did not
 * decrypt: the keys made from the two PSKs differ, or someone who saw the
 * cookies sent garbage.  Only this case is remembered, so that a timeout
 * can say which it most likely was.
 */
void
ike_note_undecryptable(struct ike_sa *sa, uint8_t exchange)
{
	/* MM5/MM6, or the Informational a peer sends when it cannot read
	 * our MM5 (charon's PAYLOAD_MALFORMED), under its own keys */
	if (sa->keyed &&
	    (exchange == ISAKMP_EXCH_IDPROT || exchange == ISAKMP_EXCH_INFO) &&
	    sa->chosen.auth == IKE_AUTH_PSK &&
	    (sa->state == IKE_SA_MM_R2 || sa->state == IKE_SA_MM_I3))
		sa->undecryptable = true;
}

/*
 * The peer refused our Main Mode with an error notify: before keys exist
 * in the clear (RFC 2408 5.5), after them under the phase 1 keys (a
 * protected Informational).  A refusal of our proof (INVALID_HASH,
 * AUTHENTICATION_FAILED, INVALID_SIGNATURE) is an authentication failure
 * (docs/COUNTERS.md); the negotiation ends now rather than at the
 * retransmission limit.
 */
void
ike_mm_refused(struct ike_sa *sa, uint16_t type)
{
	const char *name = isakmp_notify_name(type);
	bool auth = type == ISAKMP_N_INVALID_HASH_INFORMATION ||
	    type == ISAKMP_N_AUTHENTICATION_FAILED ||
	    type == ISAKMP_N_INVALID_SIGNATURE;
	char why[96];

	snprintf(why, sizeof(why), "refused by the peer: %s",
	    name != NULL ? name : "unknown notify");
	ips_log(IPS_LOG_NOTICE, "ike: %s: peer refused Main Mode: %s", sa->rule,
	    name != NULL ? name : "?");
	stats_on_negotiation_failed(sa->ike->stats,
	    type == ISAKMP_N_NO_PROPOSAL_CHOSEN ? STATS_NEG_NO_PROPOSAL
		: auth				? STATS_NEG_AUTH
						: STATS_NEG_OTHER);
	ike_audit_mm_fail(sa,
	    type == ISAKMP_N_NO_PROPOSAL_CHOSEN ? IPS_ERR(IKE_NO_PROPOSAL)
		: auth				? IPS_ERR(IKE_BAD_HASH)
						: IPS_ERR(IKE_STATE),
	    why, NULL);
	ike_sa_set_state(sa, IKE_SA_DEAD);
}

void
ike_input(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len)
{
	uint8_t plain[IKE_MSG_MAX], digest[32], next_iv[IKE_BLOCK_MAX];
	struct isakmp_chain c;
	struct isakmp_hdr h;
	struct ike_sa *sa;
	struct rbuf rb;

	trace_msg(ike, "recv", remote, local, msg, len);
	rbuf_init(&rb, msg, len);
	if (!ips_ok(isakmp_hdr_parse(&rb, &h))) {
		stats_on_invalid_packet(ike->stats);
		return;
	}
	if (h.exchange == ISAKMP_EXCH_IDPROT && zero_cookie(h.rcookie)) {
		/* A first Main Mode message: new, or our MM2 was lost. */
		for (sa = ike->by_cky[cky_bucket(ike, h.icookie)]; sa != NULL;
		     sa = sa->cnext)
			if (sa->role == IKE_RESPONDER &&
			    sa->state != IKE_SA_DEAD &&
			    memcmp(sa->cky_i, h.icookie, 8) == 0 &&
			    same_endpoint(&sa->remote, remote))
				break;
		if (sa != NULL) {
			if (!retransmitted(sa, msg, len, digest))
				stats_on_invalid_packet(ike->stats);
			return;
		}
		if ((h.flags & ISAKMP_FLAG_E) != 0 ||
		    !ips_ok(isakmp_chain_parse(&rb, h.next, false, &c))) {
			stats_on_invalid_packet(ike->stats);
			return;
		}
		/* A flood of first messages must not eat the ISADB. */
		if (half_open(ike) >= ike->half_open_max) {
			uint64_t now = ike->ops->now_ms(ike->ctx);

			if (now - ike->half_open_logged >= 1000) {
				ips_log(IPS_LOG_WARNING,
				    "ike: %zu half-open Main "
				    "Modes: dropping new ones",
				    ike->half_open_max);
				ike->half_open_logged = now;
			}
			return;
		}
		mm_respond(ike, local, remote, &h, &c, msg, len);
		return;
	}
	if ((sa = lookup(ike, &h, remote)) == NULL) {
		stats_on_invalid_cookie(ike->stats);
		return;
	}
	if (retransmitted(sa, msg, len, digest))
		return;
	if (h.exchange == ISAKMP_EXCH_INFO && sa->keyed && h.msgid != 0) {
		/* Its own message ID and IV: see info.c. */
		info_input(sa, &h, msg, len);
		return;
	}
	if (h.exchange == ISAKMP_EXCH_QUICK) {
		qm_input(sa, &h, msg, len);
		return;
	}
	if (h.flags & ISAKMP_FLAG_E) {
		size_t blen = len - ISAKMP_HDR_LEN;

		/* Undecryptable: wrong keys (the classic wrong-PSK symptom)
		 * or a forged message; the IV chain stays put. */
		if (!sa->keyed || blen == 0 || blen % sa->block != 0 ||
		    blen > sizeof(plain) || h.exchange != ISAKMP_EXCH_IDPROT ||
		    !ips_ok(ike_crypt_decrypt(sa, sa->iv, msg + ISAKMP_HDR_LEN,
			blen, plain, next_iv))) {
			stats_on_invalid_packet(ike->stats);
			ike_note_undecryptable(sa, h.exchange);
			return;
		}
		rbuf_init(&rb, plain, blen);
		if (!ips_ok(isakmp_chain_parse(&rb, h.next, true, &c))) {
			stats_on_invalid_packet(ike->stats);
			ike_note_undecryptable(sa, h.exchange);
			OPENSSL_cleanse(plain, blen);
			return;
		}
		ike_trace(ike, "  decrypted payloads:");
		ike_trace_payloads(ike, &c);
	} else if (!ips_ok(isakmp_chain_parse(&rb, h.next, false, &c))) {
		stats_on_invalid_packet(ike->stats);
		return;
	}
	if (h.exchange == ISAKMP_EXCH_IDPROT) {
		/* Main Mode takes the IV, digest and ports only once it knows
		 * the message is the one it expects. */
		const struct mm_rx rx = {local, remote, digest,
		    (h.flags & ISAKMP_FLAG_E) ? next_iv : NULL};

		mm_input(sa, &h, &c, &rx);
		/* MM5/MM6 bodies: identities and proofs, wiped once used. */
		if (h.flags & ISAKMP_FLAG_E)
			OPENSSL_cleanse(plain, len - ISAKMP_HDR_LEN);
		return;
	}
	memcpy(sa->in_digest, digest, 32);
	sa->have_in = true;
	switch (h.exchange) {
	case ISAKMP_EXCH_INFO:
		/* An unprotected notify during Main Mode: before keys exist
		 * it is all a peer can send (RFC 2408 5.5).  Once they exist
		 * an Informational must be protected and carry HASH(1)
		 * (RFC 2409 5.7): one that is not proves nothing. */
		if (!sa->keyed) {
			const struct isakmp_payload *pl =
			    isakmp_chain_find(&c, ISAKMP_PL_N, 0);
			struct isakmp_notify n;

			if (pl != NULL && ips_ok(isakmp_notify_parse(pl, &n)) &&
			    n.type < 16384)
				ike_mm_refused(sa, n.type);
		} else {
			stats_on_invalid_packet(ike->stats);
		}
		break;
	default:
		/* an exchange we do not run (Aggressive Mode, ...) on an
		 * SA of ours */
		stats_on_invalid_packet(ike->stats);
		break;
	}
}

/*
 * An ISAKMP SA's lifetime: its initiator starts a replacement Main Mode
 * at 90% (the IPsec SAs live on: in IKEv1 they do not hang on it), and
 * at the end it is deleted, the peer told.
 */
static void
mm_lifetime(struct ike_sa *sa, uint64_t now)
{
	uint64_t life = (uint64_t)ike_mm_lifetime(&sa->chosen) * 1000;
	uint64_t age = now - sa->established_ms;

	if (sa->state != IKE_SA_ESTABLISHED || life == 0)
		return;
	if (age >= life) {
		ips_log(IPS_LOG_INFO, "ike: %s: ISAKMP SA expired", sa->rule);
		if (!ips_ok(info_send_delete(sa)))
			ips_log(IPS_LOG_WARNING, "ike: cannot send DELETE");
		sa->end_why = "lifetime expired";
		ike_sa_set_state(sa, IKE_SA_DEAD);
		return;
	}
	if (age >= life / 10 * 9 && sa->role == IKE_INITIATOR && !sa->rekeyed) {
		const struct policy *p = sa->ike->pv.policy;

		sa->rekeyed = true;
		for (size_t i = 0; p != NULL && i < policy_nrules(p); i++) {
			const struct pol_rule *r = policy_rule(p, i);
			struct ike_endpoint l = sa->local, rm = sa->remote;

			/* a new Main Mode starts on 500 (RFC 3947 4) */
			l.port = rm.port = IKE_PORT;
			/* The new one only replaces this one: no new
			 * Quick Modes (the IPsec SAs rekey on their own). */
			if (strcmp(r->name, sa->rule) != 0 ||
			    !ips_ok(
				ike_sa_initiate(sa->ike, r, &l, &rm, false)))
				continue;
			ips_log(IPS_LOG_INFO, "ike: %s: rekeying the ISAKMP SA",
			    sa->rule);
		}
	}
}

/*
 * Main Mode ran out of retransmissions.  If the peer's encrypted messages
 * never decrypted, the keys differ: with a pre-shared key, the keys are
 * made from it, so this is the wrong-PSK case and an authentication
 * failure, not silence.
 */
static void
mm_timed_out(struct ike_sa *sa)
{
	char why[96];
	ips_res r;

	if (sa->undecryptable) {
		r = IPS_ERR(IKE_BAD_HASH);
		snprintf(why, sizeof(why),
		    "the peer's messages do not decrypt: the pre-shared keys "
		    "differ");
		stats_on_negotiation_failed(sa->ike->stats, STATS_NEG_AUTH);
	} else {
		r = IPS_ERR(IKE_TIMEOUT);
		snprintf(why, sizeof(why), "no answer from the peer in %s",
		    ike_sa_state_name(sa->state));
		stats_on_negotiation_failed(sa->ike->stats, STATS_NEG_TIMEOUT);
	}
	ike_audit_mm_fail(sa, r, why, NULL);
	ike_sa_set_state(sa, IKE_SA_DEAD);
}

void
ike_tick(struct ike *ike)
{
	uint64_t now = ike->ops->now_ms(ike->ctx);
	struct ike_sa **pp = &ike->sas, *sa;

	qm_lifetimes(ike, now);
	acq_tick(ike, now);

	while ((sa = *pp) != NULL) {
		if (sa->state == IKE_SA_DEAD) {
			*pp = sa->next;
			ike->nsas--;
			cky_unlink(ike, sa);
			index_remove(ike, sa);
			sa_free(sa);
			continue;
		}
		qm_tick(sa, now);
		info_dpd_tick(sa, now);
		mm_lifetime(sa, now);
		if (sa->retx_at != 0 && now >= sa->retx_at) {
			if (sa->role == IKE_RESPONDER ||
			    sa->tries >= IKE_RETX_TRIES) {
				ips_log(IPS_LOG_NOTICE,
				    "ike: %s: peer stopped "
				    "answering in %s",
				    sa->rule, ike_sa_state_name(sa->state));
				mm_timed_out(sa);
			} else {
				sa->tries++;
				if (ike_send_dgram(ike, &sa->local, &sa->remote,
					sa->out, sa->out_len) != 0)
					stats_on_ike_send_error(ike->stats);
				sa->retx_at =
				    now + ike_retx_delay_ms(sa->tries);
			}
		}
		pp = &sa->next;
	}
}

void
ike_delete_all(struct ike *ike)
{
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		if (sa->state == IKE_SA_ESTABLISHED)
			qm_delete_all(sa);
		if (sa->state == IKE_SA_ESTABLISHED &&
		    !ips_ok(info_send_delete(sa)))
			ips_log(IPS_LOG_WARNING, "ike: %s: cannot send DELETE",
			    sa->rule);
		sa->end_why = "shutdown";
		if (sa->state != IKE_SA_DEAD)
			ike_sa_set_state(sa, IKE_SA_DEAD);
	}
}

size_t
ike_isadb_size(const struct ike *ike)
{
	return ike->nsas;
}

/* The peer's ID payload as text (RFC 2407 4.6.2.1). */
void
ike_peer_identity_text(const struct ike_sa *sa, char *buf, size_t len)
{
	struct ips_addr a;
	size_t n = 0;

	buf[0] = '\0';
	switch (sa->peer_id_type) {
	case ISAKMP_ID_IPV4_ADDR:
	case ISAKMP_ID_IPV6_ADDR:
		memset(&a, 0, sizeof(a));
		a.af = sa->peer_id_type == ISAKMP_ID_IPV4_ADDR ? AF_INET
							       : AF_INET6;
		if (sa->peer_id_len == (a.af == AF_INET ? 4u : 16u)) {
			memcpy(a.b, sa->peer_id, sa->peer_id_len);
			ips_addr_str(&a, buf, len);
		}
		break;
	case ISAKMP_ID_FQDN:
	case ISAKMP_ID_USER_FQDN:
		/* The peer's bytes: printable ASCII only, for terminals. */
		for (size_t i = 0; i < sa->peer_id_len && n + 1 < len; i++)
			buf[n++] =
			    sa->peer_id[i] >= 0x20 && sa->peer_id[i] < 0x7f
			    ? (char)sa->peer_id[i]
			    : '?';
		buf[n] = '\0';
		break;
	case ISAKMP_ID_DER_ASN1_DN:
		ike_dn_text(sa->peer_id, sa->peer_id_len, buf, len);
		break;
	default:
		break;
	}
}

static void
sa_info(const struct ike_sa *sa, uint64_t now, struct ike_sa_info *i)
{
	memset(i, 0, sizeof(*i));
	memcpy(i->cky_i, sa->cky_i, 8);
	memcpy(i->cky_r, sa->cky_r, 8);
	i->initiator = sa->role == IKE_INITIATOR;
	i->state = sa->state;
	i->local = sa->local;
	i->remote = sa->remote;
	memcpy(i->rule, sa->rule, sizeof(i->rule));
	i->encr = sa->chosen.encr;
	i->keybits = sa->chosen.keybits;
	i->hash = sa->chosen.hash;
	i->group = sa->chosen.group;
	i->auth = sa->chosen.auth;
	i->lifetime_s = ike_mm_lifetime(&sa->chosen);
	i->age_ms = now - sa->created_ms;
	i->nat = sa->nat;
	i->index = sa->index;
	ike_peer_identity_text(sa, i->peer_identity, sizeof(i->peer_identity));
}

size_t
ike_sa_list(const struct ike *ike, struct ike_sa_info *out, size_t max)
{
	uint64_t now = ike->ops->now_ms(ike->ctx);
	size_t n = 0;

	/* in index order: the order the MIB's table has too */
	for (size_t k = 0; k < ike->nindex; k++, n++)
		if (n < max)
			sa_info(ike->by_index[k], now, &out[n]);
	return n;
}

void
ike_export_keys(const struct ike *ike,
    void (*fn)(
	void *ctx, const uint8_t cky_i[8], const uint8_t *key, size_t len),
    void *ctx)
{
	for (size_t k = 0; k < ike->nindex; k++) {
		const struct ike_sa *sa = ike->by_index[k];

		if (sa->state == IKE_SA_ESTABLISHED && sa->keyed)
			fn(ctx, sa->cky_i, sa->ka, sa->kalen);
	}
}

bool
ike_sa_next(const struct ike *ike, uint32_t after, struct ike_sa_info *out)
{
	size_t at = index_above(ike, after);

	if (at >= ike->nindex)
		return false;
	sa_info(ike->by_index[at], ike->ops->now_ms(ike->ctx), out);
	return true;
}

struct sad *
ike_sad(struct ike *ike)
{
	return ike->sad;
}

size_t
ike_qm_count(const struct ike *ike)
{
	return qm_count(ike);
}

uint64_t
ike_now_ms(const struct ike *ike)
{
	return ike->ops->now_ms(ike->ctx);
}
