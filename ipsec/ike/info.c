/*
 * Informational exchanges under an ISAKMP SA (RFC 2409 5.7):
 *
 *   HDR*, HASH(1), N/D  -->     HASH(1) = prf(SKEYID_a, M-ID | N/D)
 *
 * Each message has a fresh message ID and its own IV, hash(last phase 1
 * block | M-ID) (RFC 2409 App B), so informationals never disturb the
 * phase 1 IV chain.  We act on DELETE of our ISAKMP SA and answer DPD's
 * R-U-THERE (RFC 3706); everything else is logged and dropped.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "ike_int.h"

/* HASH(1) over the bytes after the HASH payload (RFC 2409 5.7). */
static ips_res
info_hash(const struct ike_sa *sa, uint32_t msgid, const uint8_t *after,
    size_t len, uint8_t *out)
{
	uint8_t mid[4];
	const struct ike_chunk in[] = {{mid, 4}, {after, len}};

	wire_put_be32(mid, msgid);
	return ike_prf(
	    sa->ike->cx, sa->chosen.hash, sa->sk.a, sa->sk.len, in, 2, out);
}

/* The one payload after HASH(1): a Notify or a Delete. */
struct info_payload {
	bool del;
	uint8_t proto, spi_size;
	const void *spi; /* Notify: its SPI; Delete: n SPIs */
	uint16_t type_or_n; /* Notify: type; Delete: how many SPIs */
	const void *data; /* Notify data */
	size_t dlen;
};

static ips_res
info_send(struct ike_sa *sa, const struct info_payload *pl)
{
	struct isakmp_builder b;
	struct isakmp_hdr h;
	struct wbuf wb;
	uint8_t iv[IKE_BLOCK_MAX], hash[IKE_HASH_MAX];
	size_t hlen = ike_hash_len(sa->chosen.hash), hoff, after;
	ips_res r;

	ENSURE(sa->keyed, IKE_STATE);
	memset(&h, 0, sizeof(h));
	memcpy(h.icookie, sa->cky_i, 8);
	memcpy(h.rcookie, sa->cky_r, 8);
	h.exchange = ISAKMP_EXCH_INFO;
	do
		GUARD(ike_random(&h.msgid, sizeof(h.msgid)));
	while (h.msgid == 0);
	wbuf_init(&wb, IKE_MSG_MAX);
	r = isakmp_build_begin(&b, &wb, &h);
	/* The hash is filled in once what it covers is written. */
	if (ips_ok(r))
		r = isakmp_build_open(&b, ISAKMP_PL_HASH);
	hoff = wb.len;
	if (ips_ok(r)) {
		uint8_t *p;

		r = wbuf_reserve(&wb, hlen, &p);
	}
	if (ips_ok(r))
		r = isakmp_build_close(&b);
	after = wb.len;
	if (ips_ok(r))
		r = pl->del
		    ? isakmp_build_delete(
			  &b, pl->proto, pl->spi_size, pl->spi, pl->type_or_n)
		    : isakmp_build_notify(&b, IPSEC_DOI, pl->proto, pl->spi,
			  pl->spi_size, pl->type_or_n, pl->data, pl->dlen);
	if (ips_ok(r))
		r = isakmp_build_finish(&b);
	if (ips_ok(r))
		r = info_hash(sa, h.msgid, wb.p + after, wb.len - after, hash);
	if (ips_ok(r)) {
		memcpy(wb.p + hoff, hash, hlen);
		r = ike_iv_phase2(sa->ike->cx, sa->chosen.hash, sa->iv,
		    sa->block, h.msgid, iv);
	}
	if (ips_ok(r))
		r = ike_crypt_encrypt(sa, &wb, iv);
	if (ips_ok(r) &&
	    ike_send_dgram(sa->ike, &sa->local, &sa->remote, wb.p, wb.len) != 0)
		stats_on_ike_send_error(sa->ike->stats);
	OPENSSL_cleanse(hash, sizeof(hash));
	wbuf_free(&wb);
	return r;
}

ips_res
info_send_notify(struct ike_sa *sa, uint8_t proto, const void *spi,
    uint8_t spi_size, uint16_t type, const void *data, size_t dlen)
{
	const struct info_payload pl = {
	    false, proto, spi_size, spi, type, data, dlen};

	return info_send(sa, &pl);
}

ips_res
info_send_delete_spis(struct ike_sa *sa, uint8_t proto, uint8_t spi_size,
    const void *spis, uint16_t n)
{
	const struct info_payload pl = {
	    true, proto, spi_size, spis, n, NULL, 0};

	return info_send(sa, &pl);
}

/* The SPI of an ISAKMP SA in a Notify or Delete: its cookie pair
 * (RFC 2408 3.14, 3.15). */
static void
cookie_spi(const struct ike_sa *sa, uint8_t spi[16])
{
	memcpy(spi, sa->cky_i, 8);
	memcpy(spi + 8, sa->cky_r, 8);
}

ips_res
info_send_delete(struct ike_sa *sa)
{
	uint8_t spi[16];

	cookie_spi(sa, spi);
	return info_send_delete_spis(sa, ISAKMP_PROTO_ISAKMP, 16, spi, 1);
}

static void
on_delete(struct ike_sa *sa, const struct isakmp_payload *pl)
{
	struct isakmp_delete d;

	if (!ips_ok(isakmp_delete_parse(pl, &d)))
		return;
	if (d.proto == ISAKMP_PROTO_ISAKMP && d.spi_size == 16) {
		for (uint16_t i = 0; i < d.nspis; i++) {
			const uint8_t *spi = d.spis + 16 * (size_t)i;

			if (memcmp(spi, sa->cky_i, 8) == 0 &&
			    memcmp(spi + 8, sa->cky_r, 8) == 0) {
				ips_log(IPS_LOG_NOTICE,
				    "ike: %s: peer deleted "
				    "the ISAKMP SA",
				    sa->rule);
				sa->end_why = "deleted by the peer";
				ike_sa_set_state(sa, IKE_SA_DEAD);
				return;
			}
		}
	}
	if ((d.proto == ISAKMP_PROTO_ESP || d.proto == ISAKMP_PROTO_AH) &&
	    d.spi_size == 4)
		qm_peer_deleted(sa, d.proto, d.spis, d.nspis);
}

static void
on_notify(struct ike_sa *sa, const struct isakmp_payload *pl)
{
	struct isakmp_notify n;

	if (!ips_ok(isakmp_notify_parse(pl, &n)))
		return;
	if (n.type == ISAKMP_N_R_U_THERE_ACK && n.data_len == 4) {
		uint32_t seq = wire_get_be32(n.data);

		/* Any probe of the current round answers it. */
		if (sa->dpd_since != 0 &&
		    seq - sa->dpd_first <= sa->dpd_seq - sa->dpd_first)
			sa->dpd_since = 0;
		return;
	}
	if (n.type == ISAKMP_N_R_U_THERE && n.data_len == 4) {
		uint8_t spi[16];

		/* RFC 3706 5: the ACK echoes the sequence number. */
		cookie_spi(sa, spi);
		if (!ips_ok(info_send_notify(sa, ISAKMP_PROTO_ISAKMP, spi, 16,
			ISAKMP_N_R_U_THERE_ACK, n.data, 4)))
			ips_log(IPS_LOG_WARNING, "ike: %s: cannot answer DPD",
			    sa->rule);
		return;
	}
	if (n.type < 16384 &&
	    (n.proto == ISAKMP_PROTO_ESP || n.proto == ISAKMP_PROTO_AH))
		qm_refused(sa, &n);
	else if (n.type < 16384 && sa->state != IKE_SA_ESTABLISHED &&
	    sa->state != IKE_SA_DEAD) {
		/* our Main Mode, refused once the keys existed (MM5) */
		ike_mm_refused(sa, n.type);
		return;
	}
	ips_log(IPS_LOG_INFO, "ike: %s: peer notifies %s (%u)", sa->rule,
	    isakmp_notify_name(n.type) ? isakmp_notify_name(n.type) : "?",
	    n.type);
}

static void
info_input_in(struct ike_sa *sa, const struct isakmp_hdr *h, const uint8_t *msg,
    size_t len, uint8_t plain[static IKE_MSG_MAX])
{
	uint8_t iv[IKE_BLOCK_MAX], next[IKE_BLOCK_MAX];
	uint8_t want[IKE_HASH_MAX];
	size_t blen = len - ISAKMP_HDR_LEN, hlen;
	const uint8_t *after, *end;
	const struct isakmp_payload *hp;
	struct isakmp_chain c;
	struct rbuf rb;

	/* Unprotected once keys exist: RFC 2409 5.7 requires the hash. */
	if (!(h->flags & ISAKMP_FLAG_E) || h->msgid == 0 || blen == 0 ||
	    blen % sa->block != 0 || blen > IKE_MSG_MAX ||
	    !ips_ok(ike_iv_phase2(sa->ike->cx, sa->chosen.hash, sa->iv,
		sa->block, h->msgid, iv)) ||
	    !ips_ok(ike_crypt_decrypt(
		sa, iv, msg + ISAKMP_HDR_LEN, blen, plain, next)))
		goto invalid;
	rbuf_init(&rb, plain, blen);
	hlen = ike_hash_len(sa->chosen.hash);
	if (!ips_ok(isakmp_chain_parse(&rb, h->next, true, &c)) || c.n < 2 ||
	    (hp = &c.pl[0])->type != ISAKMP_PL_HASH ||
	    rbuf_left(&hp->body) != hlen)
		goto invalid;
	ike_trace(sa->ike, "  decrypted payloads:");
	ike_trace_payloads(sa->ike, &c);
	/* What HASH(1) covers: from the end of the HASH payload to the end
	 * of the last payload, padding excluded.  (Payload views have their
	 * own base, so this is pointer arithmetic on the decrypted body.) */
	after = hp->body.p + hlen;
	end = plain + blen - c.padding;
	if (!ips_ok(
		info_hash(sa, h->msgid, after, (size_t)(end - after), want)) ||
	    !ike_ct_equal(hp->body.p, want, hlen))
		goto invalid;
	ike_sa_heard(sa);
	for (size_t i = 1; i < c.n && sa->state != IKE_SA_DEAD; i++) {
		if (c.pl[i].type == ISAKMP_PL_D)
			on_delete(sa, &c.pl[i]);
		else if (c.pl[i].type == ISAKMP_PL_N)
			on_notify(sa, &c.pl[i]);
	}
	return;
invalid:
	/* unreadable or unproven: garbage under keys that differ, or forged */
	stats_on_invalid_packet(sa->ike->stats);
	ike_note_undecryptable(sa, h->exchange);
}

void
info_input(struct ike_sa *sa, const struct isakmp_hdr *h, const uint8_t *msg,
    size_t len)
{
	uint8_t plain[IKE_MSG_MAX];

	info_input_in(sa, h, msg, len, plain);
	/* Decrypted protected traffic does not outlive its handling. */
	OPENSSL_cleanse(plain,
	    len - ISAKMP_HDR_LEN < sizeof(plain) ? len - ISAKMP_HDR_LEN
						 : sizeof(plain));
}

void
ike_sa_heard(struct ike_sa *sa)
{
	sa->last_rx = sa->ike->ops->now_ms(sa->ike->ctx);
}

static void
send_r_u_there(struct ike_sa *sa)
{
	uint8_t spi[16], seq[4];

	sa->dpd_seq++;
	cookie_spi(sa, spi);
	wire_put_be32(seq, sa->dpd_seq);
	if (!ips_ok(info_send_notify(
		sa, ISAKMP_PROTO_ISAKMP, spi, 16, ISAKMP_N_R_U_THERE, seq, 4)))
		ips_log(IPS_LOG_WARNING, "ike: %s: cannot send R-U-THERE",
		    sa->rule);
	else
		ips_log(IPS_LOG_DEBUG, "ike: %s: R-U-THERE %u sent", sa->rule,
		    (unsigned)sa->dpd_seq);
}

void
info_dpd_tick(struct ike_sa *sa, uint64_t now)
{
	if (sa->state != IKE_SA_ESTABLISHED || !sa->peer_dpd ||
	    sa->dpd_delay_ms == 0)
		return;
	if (sa->dpd_since == 0) {
		if (now - sa->last_rx < sa->dpd_delay_ms)
			return;
		/* RFC 3706 5.5: start from a random sequence number */
		if (sa->dpd_seq == 0 &&
		    !ips_ok(ike_random(&sa->dpd_seq, sizeof(sa->dpd_seq))))
			return;
		sa->dpd_first = sa->dpd_seq + 1;
		sa->dpd_since = sa->dpd_sent = now;
		send_r_u_there(sa);
		return;
	}
	if (now - sa->dpd_since >= sa->dpd_timeout_ms) {
		ips_log(IPS_LOG_NOTICE,
		    "ike: %s: peer silent for %llu s: dead; "
		    "deleting its SAs",
		    sa->rule, (unsigned long long)((now - sa->last_rx) / 1000));
		qm_forget_peer(sa);
		sa->end_why = "the peer is dead (DPD)";
		ike_sa_set_state(sa, IKE_SA_DEAD);
		return;
	}
	if (now - sa->dpd_sent >= sa->dpd_delay_ms) {
		sa->dpd_sent = now;
		send_r_u_there(sa);
	}
}
