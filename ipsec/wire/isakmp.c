#include <string.h>

#include "isakmp.h"

/*
 *= rfc2408#section-3.1
 *# Initiator Cookie (8) | Responder Cookie (8) | Next Payload (1) |
 *# MjVer/MnVer (1) | Exchange Type (1) | Flags (1) | Message ID (4) |
 *# Length (4)
 */
ips_res
isakmp_hdr_parse(struct rbuf *rb, struct isakmp_hdr *h)
{
	struct rbuf r = *rb;
	size_t dgram = rbuf_left(rb);
	struct isakmp_hdr t;

	GUARD(rbuf_bytes(&r, t.icookie, sizeof(t.icookie)));
	GUARD(rbuf_bytes(&r, t.rcookie, sizeof(t.rcookie)));
	GUARD(rbuf_u8(&r, &t.next));
	GUARD(rbuf_u8(&r, &t.version));
	GUARD(rbuf_u8(&r, &t.exchange));
	GUARD(rbuf_u8(&r, &t.flags));
	GUARD(rbuf_u32(&r, &t.msgid));
	GUARD(rbuf_u32(&r, &t.len));
	/* RFC 2408 5.1: a major version we do not speak is refused; the
	 * minor version is not checked. */
	ENSURE((t.version >> 4) == 1, IKE_VERSION);
	ENSURE(
	    (t.flags & ~(ISAKMP_FLAG_E | ISAKMP_FLAG_C | ISAKMP_FLAG_A)) == 0,
	    IKE_FLAGS);
	ENSURE(t.len >= ISAKMP_HDR_LEN && t.len == dgram, IKE_LENGTH);
	*rb = r;
	*h = t;
	return IPS_OK;
}

static bool
defined_type(uint8_t t)
{
	return (t >= ISAKMP_PL_SA && t <= ISAKMP_PL_VID) ||
	    t == ISAKMP_PL_NATD || t == ISAKMP_PL_NATOA || t >= 128;
}

ips_res
isakmp_chain_parse(
    struct rbuf *body, uint8_t first, bool decrypted, struct isakmp_chain *out)
{
	struct rbuf r = *body;
	uint8_t type = first;
	size_t n = 0;

	while (type != ISAKMP_PL_NONE) {
		struct isakmp_payload *pl;
		uint8_t next, reserved;
		uint16_t len;

		/*= rfc2408#section-3.2
		 *# Next Payload (1) | RESERVED (1) | Payload Length (2) */
		ENSURE(defined_type(type), IKE_PAYLOAD_TYPE);
		ENSURE(type != ISAKMP_PL_P && type != ISAKMP_PL_T,
		    IKE_PAYLOAD_TYPE);
		ENSURE(n < ISAKMP_MAX_PAYLOADS, IKE_TOO_MANY);
		if (!ips_ok(rbuf_u8(&r, &next)) ||
		    !ips_ok(rbuf_u8(&r, &reserved)) ||
		    !ips_ok(rbuf_u16(&r, &len)))
			BAIL(IKE_MALFORMED);
		ENSURE(reserved == 0, IKE_RESERVED);
		ENSURE(len >= ISAKMP_GEN_LEN, IKE_MALFORMED);
		pl = &out->pl[n++];
		pl->type = type;
		if (!ips_ok(rbuf_sub(&r, len - ISAKMP_GEN_LEN, &pl->body)))
			BAIL(IKE_MALFORMED);
		type = next;
	}
	/* RFC 2409 5.3: a decrypted body may end in padding. */
	ENSURE(rbuf_left(&r) == 0 || (decrypted && rbuf_left(&r) < 256),
	    IKE_MALFORMED);
	out->n = n;
	out->padding = rbuf_left(&r);
	r.off = r.len;
	*body = r;
	return IPS_OK;
}

const struct isakmp_payload *
isakmp_chain_find(const struct isakmp_chain *c, uint8_t type, size_t nth)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->pl[i].type == type && nth-- == 0)
			return &c->pl[i];
	return NULL;
}

size_t
isakmp_chain_count(const struct isakmp_chain *c, uint8_t type)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++)
		k += c->pl[i].type == type;
	return k;
}

ips_res
isakmp_sa_parse(const struct isakmp_payload *pl, struct isakmp_sa *sa)
{
	struct rbuf r = pl->body;
	struct isakmp_sa t;

	/*= rfc2408#section-3.4
	 *# Domain of Interpretation (4) | Situation (variable) */
	GUARD(rbuf_u32(&r, &t.doi));
	ENSURE(t.doi == IPSEC_DOI, IKE_DOI);
	/* RFC 2407 4.2: a 32-bit situation; only identity is defined for
	 * use without labels. */
	GUARD(rbuf_u32(&r, &t.situation));
	ENSURE(t.situation == IPSEC_SIT_IDENTITY_ONLY, IKE_SITUATION);
	ENSURE(rbuf_left(&r) > 0, IKE_PROPOSAL);
	t.proposals = r;
	*sa = t;
	return IPS_OK;
}

/* A proposal or transform header: next must be the same kind or NONE. */
static ips_res
sub_header(struct rbuf *r, uint8_t kind, bool *more, struct rbuf *body)
{
	uint8_t next, reserved;
	uint16_t len;

	GUARD(rbuf_u8(r, &next));
	GUARD(rbuf_u8(r, &reserved));
	GUARD(rbuf_u16(r, &len));
	ENSURE(next == kind || next == ISAKMP_PL_NONE, IKE_PROPOSAL);
	ENSURE(reserved == 0, IKE_RESERVED);
	ENSURE(len >= ISAKMP_GEN_LEN, IKE_PROPOSAL);
	if (!ips_ok(rbuf_sub(r, len - ISAKMP_GEN_LEN, body)))
		BAIL(IKE_PROPOSAL);
	*more = next == kind;
	/* The last one must end the list, and only the last one. */
	ENSURE(*more == (rbuf_left(r) > 0), IKE_PROPOSAL);
	return IPS_OK;
}

static bool
spi_size_ok(uint8_t proto, uint8_t size)
{
	switch (proto) {
	case ISAKMP_PROTO_ISAKMP:
		return size == 0 || size == 16; /* RFC 2408 2.4 */
	case ISAKMP_PROTO_AH:
	case ISAKMP_PROTO_ESP:
		return size == 4; /* RFC 2407 4.5 */
	case ISAKMP_PROTO_IPCOMP:
		return size == 2 || size == 4; /* RFC 2393 */
	default:
		return false;
	}
}

ips_res
isakmp_proposal_next(struct rbuf *rb, struct isakmp_proposal *p, bool *more)
{
	struct rbuf r = *rb, body, tr;
	struct isakmp_proposal t;
	size_t count = 0;
	bool m, tmore = true;

	/*= rfc2408#section-3.5
	 *# Proposal # (1) | Protocol-Id (1) | SPI Size (1) |
	 *# # of Transforms (1) | SPI (variable) | transforms */
	GUARD(sub_header(&r, ISAKMP_PL_P, &m, &body));
	if (!ips_ok(rbuf_u8(&body, &t.num)) ||
	    !ips_ok(rbuf_u8(&body, &t.proto)) ||
	    !ips_ok(rbuf_u8(&body, &t.spi_size)) ||
	    !ips_ok(rbuf_u8(&body, &t.ntransforms)))
		BAIL(IKE_PROPOSAL);
	ENSURE(t.proto >= ISAKMP_PROTO_ISAKMP && t.proto <= ISAKMP_PROTO_IPCOMP,
	    IKE_PROTOCOL);
	ENSURE(spi_size_ok(t.proto, t.spi_size), IKE_SPI);
	if (!ips_ok(rbuf_view(&body, t.spi_size, &t.spi)))
		BAIL(IKE_PROPOSAL);
	ENSURE(t.ntransforms > 0, IKE_PROPOSAL);
	t.transforms = body;
	/* Structure of the transform list, once, here. */
	for (tr = body; tmore; count++) {
		struct isakmp_transform x;

		GUARD(isakmp_transform_next(&tr, &x, &tmore));
	}
	ENSURE(count == t.ntransforms, IKE_PROPOSAL);
	*rb = r;
	*p = t;
	*more = m;
	return IPS_OK;
}

ips_res
isakmp_transform_next(struct rbuf *rb, struct isakmp_transform *t, bool *more)
{
	struct rbuf r = *rb, body, attrs;
	struct isakmp_transform x;
	uint16_t reserved;
	bool m;

	/*= rfc2408#section-3.6
	 *# Transform # (1) | Transform-Id (1) | RESERVED2 (2) | SA Attributes
	 */
	GUARD(sub_header(&r, ISAKMP_PL_T, &m, &body));
	if (!ips_ok(rbuf_u8(&body, &x.num)) || !ips_ok(rbuf_u8(&body, &x.id)) ||
	    !ips_ok(rbuf_u16(&body, &reserved)))
		BAIL(IKE_PROPOSAL);
	ENSURE(reserved == 0, IKE_RESERVED);
	x.attrs = body;
	/* Every attribute must be well formed. */
	for (attrs = body; rbuf_left(&attrs) > 0;) {
		struct isakmp_attr a;

		GUARD(isakmp_attr_next(&attrs, &a));
	}
	*rb = r;
	*t = x;
	*more = m;
	return IPS_OK;
}

ips_res
isakmp_attr_next(struct rbuf *rb, struct isakmp_attr *a)
{
	struct rbuf r = *rb;
	struct isakmp_attr x;
	uint16_t af_type, v;

	/*= rfc2408#section-3.3
	 *# AF (1 bit) | Attribute Type (15) | Length or Value (2) | Value */
	memset(&x, 0, sizeof(x));
	if (!ips_ok(rbuf_u16(&r, &af_type)) || !ips_ok(rbuf_u16(&r, &v)))
		BAIL(IKE_MALFORMED);
	x.type = af_type & 0x7fff;
	x.basic = (af_type & 0x8000) != 0;
	if (x.basic) {
		x.basic_value = v;
	} else {
		x.len = v;
		if (!ips_ok(rbuf_view(&r, v, &x.val)))
			BAIL(IKE_MALFORMED);
	}
	*rb = r;
	*a = x;
	return IPS_OK;
}

ips_res
isakmp_attr_uint(const struct isakmp_attr *a, uint64_t *v)
{
	uint64_t x = 0;

	if (a->basic) {
		*v = a->basic_value;
		return IPS_OK;
	}
	ENSURE(a->len >= 1 && a->len <= 8, IKE_MALFORMED);
	for (size_t i = 0; i < a->len; i++)
		x = x << 8 | a->val[i];
	*v = x;
	return IPS_OK;
}

ips_res
isakmp_id_parse(const struct isakmp_payload *pl, struct isakmp_id *id)
{
	struct rbuf r = pl->body;
	struct isakmp_id x;
	size_t want = 0;

	/*= rfc2407#section-4.6.2
	 *# ID Type (1) | Protocol ID (1) | Port (2) | Identification Data */
	if (!ips_ok(rbuf_u8(&r, &x.type)) || !ips_ok(rbuf_u8(&r, &x.proto)) ||
	    !ips_ok(rbuf_u16(&r, &x.port)))
		BAIL(IKE_ID);
	x.len = rbuf_left(&r);
	x.data = r.p + r.off;
	switch (x.type) {
	case ISAKMP_ID_IPV4_ADDR:
		want = 4;
		break;
	case ISAKMP_ID_IPV4_ADDR_SUBNET:
	case ISAKMP_ID_IPV4_ADDR_RANGE:
		want = 8;
		break;
	case ISAKMP_ID_IPV6_ADDR:
		want = 16;
		break;
	case ISAKMP_ID_IPV6_ADDR_SUBNET:
	case ISAKMP_ID_IPV6_ADDR_RANGE:
		want = 32;
		break;
	case ISAKMP_ID_FQDN:
	case ISAKMP_ID_USER_FQDN:
	case ISAKMP_ID_DER_ASN1_DN:
	case ISAKMP_ID_DER_ASN1_GN:
	case ISAKMP_ID_KEY_ID:
		ENSURE(x.len > 0, IKE_ID);
		break;
	default:
		BAIL(IKE_ID);
	}
	ENSURE(want == 0 || x.len == want, IKE_ID);
	*id = x;
	return IPS_OK;
}

ips_res
isakmp_notify_parse(const struct isakmp_payload *pl, struct isakmp_notify *n)
{
	struct rbuf r = pl->body;
	struct isakmp_notify x;

	/*= rfc2408#section-3.14
	 *# DOI (4) | Protocol-ID (1) | SPI Size (1) | Notify Message Type (2) |
	 *# SPI | Notification Data */
	if (!ips_ok(rbuf_u32(&r, &x.doi)) || !ips_ok(rbuf_u8(&r, &x.proto)) ||
	    !ips_ok(rbuf_u8(&r, &x.spi_size)) ||
	    !ips_ok(rbuf_u16(&r, &x.type)) ||
	    !ips_ok(rbuf_view(&r, x.spi_size, &x.spi)))
		BAIL(IKE_MALFORMED);
	/* Some peers send DOI 0 on ISAKMP notifies; accept both. */
	ENSURE(x.doi == 0 || x.doi == IPSEC_DOI, IKE_DOI);
	x.data_len = rbuf_left(&r);
	x.data = r.p + r.off;
	*n = x;
	return IPS_OK;
}

ips_res
isakmp_delete_parse(const struct isakmp_payload *pl, struct isakmp_delete *d)
{
	struct rbuf r = pl->body;
	struct isakmp_delete x;

	/*= rfc2408#section-3.15
	 *# DOI (4) | Protocol-Id (1) | SPI Size (1) | # of SPIs (2) | SPIs */
	if (!ips_ok(rbuf_u32(&r, &x.doi)) || !ips_ok(rbuf_u8(&r, &x.proto)) ||
	    !ips_ok(rbuf_u8(&r, &x.spi_size)) ||
	    !ips_ok(rbuf_u16(&r, &x.nspis)))
		BAIL(IKE_MALFORMED);
	ENSURE(x.doi == IPSEC_DOI, IKE_DOI);
	ENSURE(x.proto >= ISAKMP_PROTO_ISAKMP && x.proto <= ISAKMP_PROTO_IPCOMP,
	    IKE_PROTOCOL);
	ENSURE(x.spi_size > 0 && spi_size_ok(x.proto, x.spi_size), IKE_SPI);
	ENSURE(x.nspis > 0 && rbuf_left(&r) == (size_t)x.nspis * x.spi_size,
	    IKE_MALFORMED);
	x.spis = r.p + r.off;
	*d = x;
	return IPS_OK;
}

ips_res
isakmp_cert_parse(const struct isakmp_payload *pl, struct isakmp_cert *c)
{
	struct rbuf r = pl->body;
	struct isakmp_cert x;

	/*= rfc2408#section-3.9
	 *# Cert Encoding (1) | Certificate Data */
	if (!ips_ok(rbuf_u8(&r, &x.encoding)))
		BAIL(IKE_MALFORMED);
	x.len = rbuf_left(&r);
	x.data = r.p + r.off;
	*c = x;
	return IPS_OK;
}

ips_res
isakmp_nonce_check(const struct isakmp_payload *pl)
{
	size_t n = rbuf_left(&pl->body);

	ENSURE(n >= ISAKMP_NONCE_MIN && n <= ISAKMP_NONCE_MAX, IKE_NONCE);
	return IPS_OK;
}

/* ---- writing ------------------------------------------------------------- */

ips_res
isakmp_build_begin(
    struct isakmp_builder *b, struct wbuf *wb, const struct isakmp_hdr *h)
{
	b->wb = wb;
	b->start = wb->len;
	b->next_off = wb->len + 2 * ISAKMP_COOKIE_LEN;
	b->open = SIZE_MAX;
	GUARD(wbuf_bytes(wb, h->icookie, sizeof(h->icookie)));
	GUARD(wbuf_bytes(wb, h->rcookie, sizeof(h->rcookie)));
	GUARD(wbuf_u8(wb, ISAKMP_PL_NONE));
	GUARD(wbuf_u8(wb, ISAKMP_VERSION));
	GUARD(wbuf_u8(wb, h->exchange));
	GUARD(wbuf_u8(wb, h->flags));
	GUARD(wbuf_u32(wb, h->msgid));
	return wbuf_u32(wb, 0);
}

ips_res
isakmp_build_open(struct isakmp_builder *b, uint8_t type)
{
	ENSURE(b->open == SIZE_MAX, INVAL);
	GUARD(wbuf_put_u8_at(b->wb, b->next_off, type));
	b->open = b->wb->len;
	b->next_off = b->wb->len;
	GUARD(wbuf_u8(b->wb, ISAKMP_PL_NONE));
	GUARD(wbuf_u8(b->wb, 0));
	return wbuf_u16(b->wb, 0);
}

ips_res
isakmp_build_close(struct isakmp_builder *b)
{
	size_t len;

	ENSURE(b->open != SIZE_MAX, INVAL);
	len = b->wb->len - b->open;
	ENSURE(len <= UINT16_MAX, TOOBIG);
	GUARD(wbuf_put_u16_at(b->wb, b->open + 2, (uint16_t)len));
	b->open = SIZE_MAX;
	return IPS_OK;
}

ips_res
isakmp_build_raw(
    struct isakmp_builder *b, uint8_t type, const void *data, size_t len)
{
	GUARD(isakmp_build_open(b, type));
	GUARD(wbuf_bytes(b->wb, data, len));
	return isakmp_build_close(b);
}

ips_res
isakmp_build_finish(struct isakmp_builder *b)
{
	size_t len = b->wb->len - b->start;

	ENSURE(b->open == SIZE_MAX, INVAL);
	ENSURE(len <= UINT32_MAX, TOOBIG);
	return wbuf_put_u32_at(b->wb, b->start + 24, (uint32_t)len);
}

ips_res
isakmp_build_notify(struct isakmp_builder *b, uint32_t doi, uint8_t proto,
    const void *spi, uint8_t spi_size, uint16_t type, const void *data,
    size_t len)
{
	GUARD(isakmp_build_open(b, ISAKMP_PL_N));
	GUARD(wbuf_u32(b->wb, doi));
	GUARD(wbuf_u8(b->wb, proto));
	GUARD(wbuf_u8(b->wb, spi_size));
	GUARD(wbuf_u16(b->wb, type));
	GUARD(wbuf_bytes(b->wb, spi, spi_size));
	GUARD(wbuf_bytes(b->wb, data, len));
	return isakmp_build_close(b);
}

ips_res
isakmp_build_delete(struct isakmp_builder *b, uint8_t proto, uint8_t spi_size,
    const void *spis, uint16_t nspis)
{
	GUARD(isakmp_build_open(b, ISAKMP_PL_D));
	GUARD(wbuf_u32(b->wb, IPSEC_DOI));
	GUARD(wbuf_u8(b->wb, proto));
	GUARD(wbuf_u8(b->wb, spi_size));
	GUARD(wbuf_u16(b->wb, nspis));
	GUARD(wbuf_bytes(b->wb, spis, (size_t)spi_size * nspis));
	return isakmp_build_close(b);
}

ips_res
isakmp_put_sa_head(struct wbuf *wb)
{
	GUARD(wbuf_u32(wb, IPSEC_DOI));
	return wbuf_u32(wb, IPSEC_SIT_IDENTITY_ONLY);
}

ips_res
isakmp_put_proposal(struct wbuf *wb, bool last, uint8_t num, uint8_t proto,
    const void *spi, uint8_t spi_size, uint8_t ntransforms, size_t *off)
{
	*off = wb->len;
	GUARD(wbuf_u8(wb, last ? ISAKMP_PL_NONE : ISAKMP_PL_P));
	GUARD(wbuf_u8(wb, 0));
	GUARD(wbuf_u16(wb, 0));
	GUARD(wbuf_u8(wb, num));
	GUARD(wbuf_u8(wb, proto));
	GUARD(wbuf_u8(wb, spi_size));
	GUARD(wbuf_u8(wb, ntransforms));
	return wbuf_bytes(wb, spi, spi_size);
}

ips_res
isakmp_put_transform(
    struct wbuf *wb, bool last, uint8_t num, uint8_t id, size_t *off)
{
	*off = wb->len;
	GUARD(wbuf_u8(wb, last ? ISAKMP_PL_NONE : ISAKMP_PL_T));
	GUARD(wbuf_u8(wb, 0));
	GUARD(wbuf_u16(wb, 0));
	GUARD(wbuf_u8(wb, num));
	GUARD(wbuf_u8(wb, id));
	return wbuf_u16(wb, 0);
}

ips_res
isakmp_put_attr(struct wbuf *wb, uint16_t type, uint64_t value)
{
	if (value <= UINT16_MAX) {
		GUARD(wbuf_u16(wb, (uint16_t)(0x8000 | type)));
		return wbuf_u16(wb, (uint16_t)value);
	}
	GUARD(wbuf_u16(wb, type & 0x7fff));
	if (value <= UINT32_MAX) {
		GUARD(wbuf_u16(wb, 4));
		return wbuf_u32(wb, (uint32_t)value);
	}
	GUARD(wbuf_u16(wb, 8));
	GUARD(wbuf_u32(wb, (uint32_t)(value >> 32)));
	return wbuf_u32(wb, (uint32_t)value);
}

ips_res
isakmp_put_close16(struct wbuf *wb, size_t off)
{
	size_t len;

	ENSURE(off <= wb->len, INVAL);
	len = wb->len - off;
	ENSURE(len <= UINT16_MAX, TOOBIG);
	return wbuf_put_u16_at(wb, off + 2, (uint16_t)len);
}
