/*
 * The ISAKMP codec: a Main Mode first message built and read back, every
 * truncation refused without consuming anything, and one negative case per
 * structural rule, each mapped to the notify a peer would get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire/isakmp.h"

static const uint8_t icky[8] = {0x1e, 0xde, 0xb4, 0x7c, 0x47, 0xa1, 0x56, 0xd6};

/*
 * HDR, SA, VID, VID -->   (as charon sends MM1: one proposal holding two
 * transforms, AES-128/SHA2-256/MODP-2048 and AES-256/SHA1/MODP-1024)
 */
static void
build_mm1(struct wbuf *wb)
{
	static const uint8_t dpd_vid[16] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1,
	    0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
	static const uint8_t natt_vid[16] = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03,
	    0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};
	struct isakmp_hdr h;
	struct isakmp_builder b;
	size_t prop, tr;

	memset(&h, 0, sizeof(h));
	memcpy(h.icookie, icky, 8);
	h.exchange = ISAKMP_EXCH_IDPROT;
	wbuf_init(wb, 4096);
	assert_true(ips_ok(isakmp_build_begin(&b, wb, &h)));
	assert_true(ips_ok(isakmp_build_open(&b, ISAKMP_PL_SA)));
	assert_true(ips_ok(isakmp_put_sa_head(wb)));
	assert_true(ips_ok(isakmp_put_proposal(
	    wb, true, 1, ISAKMP_PROTO_ISAKMP, NULL, 0, 2, &prop)));
	assert_true(ips_ok(
	    isakmp_put_transform(wb, false, 1, IKE_TRANSFORM_KEY_IKE, &tr)));
	assert_true(
	    ips_ok(isakmp_put_attr(wb, IKE_ATTR_ENCRYPTION, IKE_ENCR_AES_CBC)));
	assert_true(ips_ok(isakmp_put_attr(wb, IKE_ATTR_KEY_LENGTH, 128)));
	assert_true(
	    ips_ok(isakmp_put_attr(wb, IKE_ATTR_HASH, IKE_HASH_SHA2_256)));
	assert_true(ips_ok(isakmp_put_attr(wb, IKE_ATTR_GROUP_DESC, 14)));
	assert_true(
	    ips_ok(isakmp_put_attr(wb, IKE_ATTR_AUTH_METHOD, IKE_AUTH_PSK)));
	assert_true(
	    ips_ok(isakmp_put_attr(wb, IKE_ATTR_LIFE_TYPE, IKE_LIFE_SECONDS)));
	/* 10800 s fits a basic attribute; 100000 s needs TLV form. */
	assert_true(
	    ips_ok(isakmp_put_attr(wb, IKE_ATTR_LIFE_DURATION, 100000)));
	assert_true(ips_ok(isakmp_put_close16(wb, tr)));
	assert_true(ips_ok(
	    isakmp_put_transform(wb, true, 2, IKE_TRANSFORM_KEY_IKE, &tr)));
	assert_true(
	    ips_ok(isakmp_put_attr(wb, IKE_ATTR_ENCRYPTION, IKE_ENCR_AES_CBC)));
	assert_true(ips_ok(isakmp_put_attr(wb, IKE_ATTR_KEY_LENGTH, 256)));
	assert_true(ips_ok(isakmp_put_attr(wb, IKE_ATTR_HASH, IKE_HASH_SHA1)));
	assert_true(ips_ok(isakmp_put_attr(wb, IKE_ATTR_GROUP_DESC, 2)));
	assert_true(ips_ok(isakmp_put_close16(wb, tr)));
	assert_true(ips_ok(isakmp_put_close16(wb, prop)));
	assert_true(ips_ok(isakmp_build_close(&b)));
	assert_true(ips_ok(isakmp_build_raw(&b, ISAKMP_PL_VID, dpd_vid, 16)));
	assert_true(ips_ok(isakmp_build_raw(&b, ISAKMP_PL_VID, natt_vid, 16)));
	assert_true(ips_ok(isakmp_build_finish(&b)));
}

static void
test_mm1_roundtrip(void **state)
{
	struct wbuf wb;
	struct rbuf rb;
	struct isakmp_hdr h;
	struct isakmp_chain c;
	struct isakmp_sa sa;
	struct isakmp_proposal p;
	struct isakmp_transform t;
	struct isakmp_attr a;
	uint64_t v;
	bool more;

	(void)state;
	build_mm1(&wb);
	/* 28 header + SA (4+8+8+2*(8+attrs)) + 2 * VID (4+16) */
	rbuf_init(&rb, wb.p, wb.len);
	assert_true(ips_ok(isakmp_hdr_parse(&rb, &h)));
	assert_memory_equal(h.icookie, icky, 8);
	assert_int_equal(h.version, 0x10);
	assert_int_equal(h.exchange, ISAKMP_EXCH_IDPROT);
	assert_int_equal(h.len, wb.len);
	assert_int_equal(h.next, ISAKMP_PL_SA);
	assert_true(ips_ok(isakmp_chain_parse(&rb, h.next, false, &c)));
	assert_int_equal(c.n, 3);
	assert_int_equal(c.pl[0].type, ISAKMP_PL_SA);
	assert_int_equal(isakmp_chain_count(&c, ISAKMP_PL_VID), 2);
	assert_int_equal(
	    rbuf_left(&isakmp_chain_find(&c, ISAKMP_PL_VID, 1)->body), 16);
	assert_null(isakmp_chain_find(&c, ISAKMP_PL_VID, 2));

	assert_true(ips_ok(isakmp_sa_parse(&c.pl[0], &sa)));
	assert_true(ips_ok(isakmp_proposal_next(&sa.proposals, &p, &more)));
	assert_false(more);
	assert_int_equal(p.proto, ISAKMP_PROTO_ISAKMP);
	assert_int_equal(p.ntransforms, 2);
	assert_true(ips_ok(isakmp_transform_next(&p.transforms, &t, &more)));
	assert_true(more);
	assert_int_equal(t.num, 1);
	assert_int_equal(t.id, IKE_TRANSFORM_KEY_IKE);
	for (int i = 0; i < 6; i++)
		assert_true(ips_ok(isakmp_attr_next(&t.attrs, &a)));
	assert_true(a.basic);
	assert_int_equal(a.type, IKE_ATTR_LIFE_TYPE);
	assert_true(ips_ok(isakmp_attr_next(&t.attrs, &a)));
	assert_false(a.basic);
	assert_int_equal(a.type, IKE_ATTR_LIFE_DURATION);
	assert_int_equal(a.len, 4);
	assert_true(ips_ok(isakmp_attr_uint(&a, &v)));
	assert_int_equal(v, 100000);
	assert_int_equal(rbuf_left(&t.attrs), 0);
	assert_true(ips_ok(isakmp_transform_next(&p.transforms, &t, &more)));
	assert_false(more);
	assert_int_equal(t.num, 2);
	wbuf_free(&wb);
}

/* Every strict prefix of a message is refused, and nothing is consumed. */
static void
test_truncations(void **state)
{
	struct wbuf wb;

	(void)state;
	build_mm1(&wb);
	for (size_t n = 0; n < wb.len; n++) {
		struct rbuf rb;
		struct isakmp_hdr h;

		rbuf_init(&rb, wb.p, n);
		assert_false(ips_ok(isakmp_hdr_parse(&rb, &h)));
		assert_int_equal(rb.off, 0);
	}
	/* With a header that claims only the prefix, the chain fails. */
	for (size_t n = ISAKMP_HDR_LEN; n < wb.len; n++) {
		struct rbuf rb;
		struct isakmp_hdr h;
		struct isakmp_chain c;
		uint8_t buf[4096];

		memcpy(buf, wb.p, n);
		buf[24] = (uint8_t)(n >> 24);
		buf[25] = (uint8_t)(n >> 16);
		buf[26] = (uint8_t)(n >> 8);
		buf[27] = (uint8_t)n;
		rbuf_init(&rb, buf, n);
		assert_true(ips_ok(isakmp_hdr_parse(&rb, &h)));
		assert_int_equal(isakmp_chain_parse(&rb, h.next, false, &c).err,
		    IPS_E_IKE_MALFORMED);
		assert_int_equal(rb.off, ISAKMP_HDR_LEN);
	}
	wbuf_free(&wb);
}

/* Header: version, flags, length. */
static void
test_header_rules(void **state)
{
	uint8_t m[28] = {0};
	struct isakmp_hdr h;
	struct rbuf rb;

	(void)state;
	m[17] = 0x10;
	m[18] = ISAKMP_EXCH_IDPROT;
	m[27] = 28;
	rbuf_init(&rb, m, 28);
	assert_true(ips_ok(isakmp_hdr_parse(&rb, &h)));
	m[17] = 0x21; /* IKEv2's major version */
	rbuf_init(&rb, m, 28);
	assert_int_equal(isakmp_hdr_parse(&rb, &h).err, IPS_E_IKE_VERSION);
	m[17] = 0x1f; /* minor versions are not checked */
	rbuf_init(&rb, m, 28);
	assert_true(ips_ok(isakmp_hdr_parse(&rb, &h)));
	m[19] = 0x08;
	rbuf_init(&rb, m, 28);
	assert_int_equal(isakmp_hdr_parse(&rb, &h).err, IPS_E_IKE_FLAGS);
	m[19] = ISAKMP_FLAG_E | ISAKMP_FLAG_C;
	m[27] = 29;
	rbuf_init(&rb, m, 28);
	assert_int_equal(isakmp_hdr_parse(&rb, &h).err, IPS_E_IKE_LENGTH);
	assert_int_equal(rb.off, 0);
}

/* Parse a body (without header) as a payload chain. */
static ips_res
chain(const uint8_t *p, size_t n, uint8_t first, bool decrypted)
{
	struct isakmp_chain c;
	struct rbuf rb;

	rbuf_init(&rb, p, n);
	return isakmp_chain_parse(&rb, first, decrypted, &c);
}

static void
test_chain_rules(void **state)
{
	static const uint8_t ok[] = {0, 0, 0, 8, 1, 2, 3, 4};
	static const uint8_t reserved[] = {0, 1, 0, 8, 1, 2, 3, 4};
	static const uint8_t short_len[] = {0, 0, 0, 3, 1, 2, 3, 4};
	static const uint8_t overrun[] = {0, 0, 0, 9, 1, 2, 3, 4};
	static const uint8_t padded[] = {0, 0, 0, 8, 1, 2, 3, 4, 0, 0, 0, 0};
	static const uint8_t unknown_next[] = {14, 0, 0, 4, 0, 0, 0, 4};
	static const uint8_t private_next[] = {200, 0, 0, 4, 0, 0, 0, 4};
	uint8_t many[4 * 33];

	(void)state;
	assert_true(ips_ok(chain(ok, sizeof(ok), ISAKMP_PL_VID, false)));
	assert_int_equal(
	    chain(reserved, sizeof(reserved), ISAKMP_PL_VID, false).err,
	    IPS_E_IKE_RESERVED);
	assert_int_equal(
	    chain(short_len, sizeof(short_len), ISAKMP_PL_VID, false).err,
	    IPS_E_IKE_MALFORMED);
	assert_int_equal(
	    chain(overrun, sizeof(overrun), ISAKMP_PL_VID, false).err,
	    IPS_E_IKE_MALFORMED);
	/* Padding: only after decryption. */
	assert_int_equal(
	    chain(padded, sizeof(padded), ISAKMP_PL_VID, false).err,
	    IPS_E_IKE_MALFORMED);
	assert_true(ips_ok(chain(padded, sizeof(padded), ISAKMP_PL_VID, true)));
	assert_int_equal(
	    chain(unknown_next, sizeof(unknown_next), ISAKMP_PL_VID, false).err,
	    IPS_E_IKE_PAYLOAD_TYPE);
	assert_true(ips_ok(
	    chain(private_next, sizeof(private_next), ISAKMP_PL_VID, false)));
	/* Proposals live inside an SA, never at the top. */
	assert_int_equal(chain(ok, sizeof(ok), ISAKMP_PL_P, false).err,
	    IPS_E_IKE_PAYLOAD_TYPE);
	for (size_t i = 0; i < 33; i++) {
		many[4 * i] = i < 32 ? ISAKMP_PL_VID : 0;
		many[4 * i + 1] = 0;
		many[4 * i + 2] = 0;
		many[4 * i + 3] = 4;
	}
	assert_int_equal(chain(many, sizeof(many), ISAKMP_PL_VID, false).err,
	    IPS_E_IKE_TOO_MANY);
	assert_true(
	    ips_ok(chain(many + 4, sizeof(many) - 4, ISAKMP_PL_VID, false)));
}

/* One payload body as pass 2 sees it. */
static struct isakmp_payload
body(uint8_t type, const uint8_t *p, size_t n)
{
	struct isakmp_payload pl;

	pl.type = type;
	rbuf_init(&pl.body, p, n);
	return pl;
}

static void
test_sa_rules(void **state)
{
	/* DOI 1, SIT 1, then one ESP proposal with one AES-GCM transform. */
	uint8_t sa[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 20, 1,
	    ISAKMP_PROTO_ESP, 4, 1, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 8, 1,
	    ESP_TRANSFORM_AES_GCM_16, 0, 0};
	struct isakmp_payload pl = body(ISAKMP_PL_SA, sa, sizeof(sa));
	struct isakmp_sa s;
	struct isakmp_proposal p;
	bool more;

	(void)state;
	assert_true(ips_ok(isakmp_sa_parse(&pl, &s)));
	assert_true(ips_ok(isakmp_proposal_next(&s.proposals, &p, &more)));
	assert_int_equal(p.spi[0], 0xde);
	assert_false(more);

	sa[3] = 2; /* DOI */
	assert_int_equal(isakmp_sa_parse(&pl, &s).err, IPS_E_IKE_DOI);
	sa[3] = 1;
	sa[7] = 2; /* situation: secrecy */
	assert_int_equal(isakmp_sa_parse(&pl, &s).err, IPS_E_IKE_SITUATION);
	sa[7] = 1;
#define PROPOSAL_ERR(idx, val, code) \
	do { \
		uint8_t old_ = sa[idx]; \
		sa[idx] = (val); \
		assert_true(ips_ok(isakmp_sa_parse(&pl, &s))); \
		assert_int_equal( \
		    isakmp_proposal_next(&s.proposals, &p, &more).err, \
		    IPS_E_##code); \
		assert_int_equal(s.proposals.off, 8); /* unmoved */ \
		sa[idx] = old_; \
	} while (0)
	PROPOSAL_ERR(15, 2, IKE_PROPOSAL); /* declares 2 transforms, has 1 */
	PROPOSAL_ERR(13, 9, IKE_PROTOCOL); /* protocol 9 */
	PROPOSAL_ERR(14, 8, IKE_SPI); /* 8-byte ESP SPI */
	PROPOSAL_ERR(8, ISAKMP_PL_P, IKE_PROPOSAL); /* says more follow */
	PROPOSAL_ERR(20, ISAKMP_PL_P, IKE_PROPOSAL); /* transform next */
	PROPOSAL_ERR(26, 1, IKE_RESERVED); /* transform RESERVED2 */
#undef PROPOSAL_ERR
}

static void
test_attr_forms(void **state)
{
	static const uint8_t tlv_long[] = {
	    0x00, 12, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const uint8_t tlv_cut[] = {0x00, 12, 0, 4, 1, 2};
	struct isakmp_attr a;
	struct rbuf rb;
	uint64_t v;

	(void)state;
	rbuf_init(&rb, tlv_long, sizeof(tlv_long));
	assert_true(ips_ok(isakmp_attr_next(&rb, &a)));
	/* Nine bytes cannot be a number. */
	assert_int_equal(isakmp_attr_uint(&a, &v).err, IPS_E_IKE_MALFORMED);
	rbuf_init(&rb, tlv_cut, sizeof(tlv_cut));
	assert_int_equal(isakmp_attr_next(&rb, &a).err, IPS_E_IKE_MALFORMED);
	assert_int_equal(rb.off, 0);
}

/*
 * Every ID type of RFC 2407 4.6.2.1 at its exact size, and one byte
 * either side of it refused; names may be any length but empty.
 */
static void
test_id_types(void **state)
{
	static const struct {
		uint8_t type;
		size_t len; /* 0: a name */
	} types[] = {
	    {ISAKMP_ID_IPV4_ADDR, 4},
	    {ISAKMP_ID_IPV4_ADDR_SUBNET, 8},
	    {ISAKMP_ID_IPV4_ADDR_RANGE, 8},
	    {ISAKMP_ID_IPV6_ADDR, 16},
	    {ISAKMP_ID_IPV6_ADDR_SUBNET, 32},
	    {ISAKMP_ID_IPV6_ADDR_RANGE, 32},
	    {ISAKMP_ID_FQDN, 0},
	    {ISAKMP_ID_USER_FQDN, 0},
	    {ISAKMP_ID_DER_ASN1_DN, 0},
	};
	uint8_t buf[4 + 40];
	struct isakmp_payload pl;
	struct isakmp_id id;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = types[i].len ? types[i].len : 11;

		memset(buf, 0, sizeof(buf));
		buf[0] = types[i].type;
		buf[1] = 17;
		buf[3] = 1; /* port 1 */
		for (size_t k = 0; k < n; k++)
			buf[4 + k] = (uint8_t)(0x30 + k);
		pl = body(ISAKMP_PL_ID, buf, 4 + n);
		assert_true(ips_ok(isakmp_id_parse(&pl, &id)));
		assert_int_equal(id.type, types[i].type);
		assert_int_equal(id.proto, 17);
		assert_int_equal(id.port, 1);
		assert_int_equal(id.len, n);
		assert_memory_equal(id.data, buf + 4, n);
		if (types[i].len != 0) {
			pl = body(ISAKMP_PL_ID, buf, 4 + n - 1);
			assert_int_equal(
			    isakmp_id_parse(&pl, &id).err, IPS_E_IKE_ID);
			pl = body(ISAKMP_PL_ID, buf, 4 + n + 1);
			assert_int_equal(
			    isakmp_id_parse(&pl, &id).err, IPS_E_IKE_ID);
		} else {
			pl = body(ISAKMP_PL_ID, buf, 4);
			assert_int_equal(
			    isakmp_id_parse(&pl, &id).err, IPS_E_IKE_ID);
		}
	}
	pl = body(ISAKMP_PL_ID, buf, 3); /* no room for the port */
	assert_int_equal(isakmp_id_parse(&pl, &id).err, IPS_E_IKE_ID);
}

/* CERT and CR: the encoding byte, then whatever follows (an empty CR asks
 * for any certificate, RFC 2408 3.10). */
static void
test_cert_and_cr(void **state)
{
	uint8_t cert[] = {4 /* X.509 signature */, 0x30, 0x82, 0x01};
	uint8_t cr[] = {4};
	struct isakmp_payload pl;
	struct isakmp_cert c;

	(void)state;
	pl = body(ISAKMP_PL_CERT, cert, sizeof(cert));
	assert_true(ips_ok(isakmp_cert_parse(&pl, &c)));
	assert_int_equal(c.encoding, 4);
	assert_int_equal(c.len, 3);
	assert_memory_equal(c.data, cert + 1, 3);
	pl = body(ISAKMP_PL_CR, cr, sizeof(cr));
	assert_true(ips_ok(isakmp_cert_parse(&pl, &c)));
	assert_int_equal(c.len, 0);
	pl = body(ISAKMP_PL_CR, cr, 0);
	assert_int_equal(isakmp_cert_parse(&pl, &c).err, IPS_E_IKE_MALFORMED);
}

/* What isakmp_build_notify and _delete write, the parsers read back. */
static void
test_notify_delete_roundtrip(void **state)
{
	const uint8_t spi[4] = {0xde, 0xad, 0xbe, 0xef}, data[4] = {0, 0, 0, 7};
	const uint8_t spis[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct isakmp_builder b;
	struct isakmp_chain c;
	struct isakmp_notify n;
	struct isakmp_delete d;
	struct isakmp_hdr h, back;
	struct wbuf wb;
	struct rbuf rb;

	(void)state;
	memset(&h, 0, sizeof(h));
	memcpy(h.icookie, icky, 8);
	h.exchange = ISAKMP_EXCH_INFO;
	h.msgid = 0x01020304;
	wbuf_init(&wb, 512);
	assert_true(ips_ok(isakmp_build_begin(&b, &wb, &h)));
	assert_true(ips_ok(isakmp_build_notify(&b, IPSEC_DOI, ISAKMP_PROTO_ESP,
	    spi, 4, ISAKMP_N_INVALID_ID_INFORMATION, data, 4)));
	assert_true(
	    ips_ok(isakmp_build_delete(&b, ISAKMP_PROTO_ESP, 4, spis, 2)));
	assert_true(ips_ok(isakmp_build_finish(&b)));

	rbuf_init(&rb, wb.p, wb.len);
	assert_true(ips_ok(isakmp_hdr_parse(&rb, &back)));
	assert_int_equal(back.msgid, 0x01020304);
	assert_int_equal(back.len, wb.len);
	assert_true(ips_ok(isakmp_chain_parse(&rb, back.next, false, &c)));
	assert_int_equal(c.n, 2);
	assert_true(ips_ok(isakmp_notify_parse(&c.pl[0], &n)));
	assert_int_equal(n.doi, IPSEC_DOI);
	assert_int_equal(n.proto, ISAKMP_PROTO_ESP);
	assert_int_equal(n.type, ISAKMP_N_INVALID_ID_INFORMATION);
	assert_int_equal(n.spi_size, 4);
	assert_memory_equal(n.spi, spi, 4);
	assert_int_equal(n.data_len, 4);
	assert_memory_equal(n.data, data, 4);
	assert_int_equal(wire_get_be32(n.spi), 0xdeadbeef);
	assert_true(ips_ok(isakmp_delete_parse(&c.pl[1], &d)));
	assert_int_equal(d.proto, ISAKMP_PROTO_ESP);
	assert_int_equal(d.nspis, 2);
	assert_memory_equal(d.spis, spis, 8);
	wbuf_free(&wb);
}

static void
test_id_notify_delete_nonce(void **state)
{
	uint8_t id4[] = {ISAKMP_ID_IPV4_ADDR, 17, 1, 244, 10, 99, 0, 1};
	uint8_t id_bad[] = {ISAKMP_ID_IPV4_ADDR_SUBNET, 0, 0, 0, 10, 0, 0};
	uint8_t id_unknown[] = {99, 0, 0, 0, 1};
	uint8_t ntf[] = {0, 0, 0, 1, ISAKMP_PROTO_ISAKMP, 16, 0x60, 0x02, 1, 2,
	    3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	uint8_t del[] = {
	    0, 0, 0, 1, ISAKMP_PROTO_ESP, 4, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t nonce[8] = {0};
	struct isakmp_payload pl;
	struct isakmp_id id;
	struct isakmp_notify n;
	struct isakmp_delete d;

	(void)state;
	pl = body(ISAKMP_PL_ID, id4, sizeof(id4));
	assert_true(ips_ok(isakmp_id_parse(&pl, &id)));
	assert_int_equal(id.proto, 17);
	assert_int_equal(id.port, 500);
	assert_int_equal(id.len, 4);
	pl = body(ISAKMP_PL_ID, id_bad, sizeof(id_bad));
	assert_int_equal(isakmp_id_parse(&pl, &id).err, IPS_E_IKE_ID);
	pl = body(ISAKMP_PL_ID, id_unknown, sizeof(id_unknown));
	assert_int_equal(isakmp_id_parse(&pl, &id).err, IPS_E_IKE_ID);

	pl = body(ISAKMP_PL_N, ntf, sizeof(ntf));
	assert_true(ips_ok(isakmp_notify_parse(&pl, &n)));
	assert_int_equal(n.type, ISAKMP_N_INITIAL_CONTACT);
	assert_int_equal(n.spi_size, 16);
	assert_int_equal(n.data_len, 0);
	ntf[5] = 17; /* SPI longer than the payload */
	assert_int_equal(isakmp_notify_parse(&pl, &n).err, IPS_E_IKE_MALFORMED);

	pl = body(ISAKMP_PL_D, del, sizeof(del));
	assert_true(ips_ok(isakmp_delete_parse(&pl, &d)));
	assert_int_equal(d.nspis, 2);
	del[7] = 3; /* three SPIs declared, two present */
	assert_int_equal(isakmp_delete_parse(&pl, &d).err, IPS_E_IKE_MALFORMED);

	pl = body(ISAKMP_PL_NONCE, nonce, 8);
	assert_true(ips_ok(isakmp_nonce_check(&pl)));
	pl = body(ISAKMP_PL_NONCE, nonce, 7);
	assert_int_equal(isakmp_nonce_check(&pl).err, IPS_E_IKE_NONCE);
}

/* Each error names the notify RFC 2408 3.14.1 gives it. */
static void
test_error_notifies(void **state)
{
	(void)state;
	assert_int_equal(ips_err_notify(IPS_E_IKE_PAYLOAD_TYPE),
	    ISAKMP_N_INVALID_PAYLOAD_TYPE);
	assert_int_equal(
	    ips_err_notify(IPS_E_IKE_PROPOSAL), ISAKMP_N_BAD_PROPOSAL_SYNTAX);
	assert_int_equal(
	    ips_err_notify(IPS_E_IKE_ID), ISAKMP_N_INVALID_ID_INFORMATION);
	assert_int_equal(
	    ips_err_notify(IPS_E_SHORT), ISAKMP_N_PAYLOAD_MALFORMED);
	assert_int_equal(ips_err_notify(IPS_E_CONFIG), 0);
	assert_string_equal(
	    isakmp_notify_name(ISAKMP_N_R_U_THERE), "R_U_THERE");
	assert_string_equal(
	    isakmp_exchange_name(ISAKMP_EXCH_QUICK), "QUICK_MODE");
	assert_null(isakmp_payload_name(99));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mm1_roundtrip),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_header_rules),
	    cmocka_unit_test(test_chain_rules),
	    cmocka_unit_test(test_sa_rules),
	    cmocka_unit_test(test_attr_forms),
	    cmocka_unit_test(test_id_notify_delete_nonce),
	    cmocka_unit_test(test_id_types),
	    cmocka_unit_test(test_cert_and_cr),
	    cmocka_unit_test(test_notify_delete_roundtrip),
	    cmocka_unit_test(test_error_notifies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
