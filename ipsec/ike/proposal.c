#include <stdio.h>
#include <string.h>

#include "esp/esp.h"
#include "esp/replay.h"
#include "proposal.h"

/* what a negotiation policy may ask of the datapath's window */
_Static_assert(POL_REPLAY_MAX <= REPLAY_MAX, "replay-window fits the bitmap");

static void
encr_wire(enum ips_ike_encr e, unsigned *encr, unsigned *bits)
{
	switch (e) {
	case IPS_IKE_ENCR_AES128_CBC:
		*encr = IKE_ENCR_AES_CBC;
		*bits = 128;
		break;
	case IPS_IKE_ENCR_AES192_CBC:
		*encr = IKE_ENCR_AES_CBC;
		*bits = 192;
		break;
	case IPS_IKE_ENCR_AES256_CBC:
		*encr = IKE_ENCR_AES_CBC;
		*bits = 256;
		break;
	default:
		*encr = IKE_ENCR_3DES_CBC;
		*bits = 0;
		break;
	}
}

static unsigned
hash_wire(enum ips_ike_hash h)
{
	switch (h) {
	case IPS_IKE_HASH_SHA256:
		return IKE_HASH_SHA2_256;
	case IPS_IKE_HASH_SHA384:
		return IKE_HASH_SHA2_384;
	case IPS_IKE_HASH_SHA512:
		return IKE_HASH_SHA2_512;
	default:
		return IKE_HASH_SHA1;
	}
}

size_t
ike_mm_offers(const struct pol_ike_policy *ip, const struct pol_auth *auth,
    size_t nauth, bool can_sign, struct ike_mm_choice *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ip->noffers; i++) {
		for (size_t j = 0; j < nauth && n < max && n < 255; j++) {
			struct ike_mm_choice *c = &out[n];

			if (auth[j].method == POL_AUTH_CERT && !can_sign)
				continue;
			memset(c, 0, sizeof(*c));
			c->tnum = (uint8_t)(n + 1);
			encr_wire(ip->offers[i].encr, &c->encr, &c->keybits);
			c->hash = hash_wire(ip->offers[i].hash);
			c->group = ip->offers[i].dh_group;
			c->auth = auth[j].method == POL_AUTH_PSK
			    ? IKE_AUTH_PSK
			    : IKE_AUTH_RSA_SIG;
			c->life_s = c->our_life_s = ip->offers[i].lifetime_s;
			c->qm_limit = ip->offers[i].qm_limit;
			n++;
		}
	}
	return n;
}

static ips_res
write_transform(struct wbuf *wb, bool last, const struct ike_mm_choice *c)
{
	size_t off;

	/* charon's attribute order, which Wireshark users will recognise */
	GUARD(isakmp_put_transform(
	    wb, last, c->tnum, IKE_TRANSFORM_KEY_IKE, &off));
	GUARD(isakmp_put_attr(wb, IKE_ATTR_ENCRYPTION, c->encr));
	if (c->keybits != 0)
		GUARD(isakmp_put_attr(wb, IKE_ATTR_KEY_LENGTH, c->keybits));
	GUARD(isakmp_put_attr(wb, IKE_ATTR_HASH, c->hash));
	GUARD(isakmp_put_attr(wb, IKE_ATTR_GROUP_DESC, c->group));
	GUARD(isakmp_put_attr(wb, IKE_ATTR_AUTH_METHOD, c->auth));
	if (c->life_s != 0) {
		GUARD(
		    isakmp_put_attr(wb, IKE_ATTR_LIFE_TYPE, IKE_LIFE_SECONDS));
		GUARD(isakmp_put_attr(wb, IKE_ATTR_LIFE_DURATION, c->life_s));
	}
	return isakmp_put_close16(wb, off);
}

ips_res
ike_mm_sa_write(struct wbuf *wb, const struct ike_mm_choice *offers, size_t n)
{
	size_t prop;

	ENSURE(n > 0 && n <= 255, INVAL);
	GUARD(isakmp_put_sa_head(wb));
	/* One proposal holding every transform (RFC 2409 5: phase 1 has a
	 * single proposal), as charon sends it. */
	GUARD(isakmp_put_proposal(
	    wb, true, 1, ISAKMP_PROTO_ISAKMP, NULL, 0, (uint8_t)n, &prop));
	for (size_t i = 0; i < n; i++)
		GUARD(write_transform(wb, i + 1 == n, &offers[i]));
	return isakmp_put_close16(wb, prop);
}

/* Read a phase 1 transform's attributes into a choice. */
static ips_res
read_transform(const struct isakmp_transform *t, struct ike_mm_choice *c)
{
	struct rbuf attrs = t->attrs;
	unsigned life_type = 0;

	memset(c, 0, sizeof(*c));
	c->tnum = t->num;
	ENSURE(t->id == IKE_TRANSFORM_KEY_IKE, IKE_PROPOSAL);
	while (rbuf_left(&attrs) > 0) {
		struct isakmp_attr a;
		uint64_t v;

		GUARD(isakmp_attr_next(&attrs, &a));
		GUARD(isakmp_attr_uint(&a, &v));
		switch (a.type) {
		case IKE_ATTR_ENCRYPTION:
			c->encr = (unsigned)v;
			break;
		case IKE_ATTR_KEY_LENGTH:
			c->keybits = (unsigned)v;
			break;
		case IKE_ATTR_HASH:
			c->hash = (unsigned)v;
			break;
		case IKE_ATTR_GROUP_DESC:
			c->group = (unsigned)v;
			break;
		case IKE_ATTR_AUTH_METHOD:
			c->auth = (unsigned)v;
			break;
		case IKE_ATTR_LIFE_TYPE:
			life_type = (unsigned)v;
			break;
		case IKE_ATTR_LIFE_DURATION:
			/* RFC 2409 App A: a duration follows its type; only
			 * seconds bound an ISAKMP SA here. */
			if (life_type == IKE_LIFE_SECONDS)
				c->life_s =
				    v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			break;
		default:
			/* An attribute we do not implement makes this
			 * transform one we cannot accept. */
			c->encr = 0;
			return IPS_OK;
		}
	}
	return IPS_OK;
}

static void
mismatch(struct ike_mm_mismatch *m, const char *attr, const char *received,
    const char *expected)
{
	snprintf(m->attribute, sizeof(m->attribute), "%s", attr);
	snprintf(m->received, sizeof(m->received), "%s", received);
	snprintf(m->expected, sizeof(m->expected), "%s", expected);
	snprintf(m->what, sizeof(m->what), "%s: offered %s, expected %s", attr,
	    received, expected);
}

/* How far a transform is from an offer: 0 = match, else which attribute
 * differs first, described in m. */
static int
distance(const struct ike_mm_choice *t, const struct ike_mm_choice *o,
    struct ike_mm_mismatch *m)
{
	char a[48], b[48];

	if (t->encr != o->encr || t->keybits != o->keybits) {
		mismatch(m, "encryption",
		    ike_encr_text(t->encr, t->keybits, a, sizeof(a)),
		    ike_encr_text(o->encr, o->keybits, b, sizeof(b)));
		return 5;
	}
	if (t->hash != o->hash) {
		mismatch(
		    m, "hash", ike_hash_text(t->hash), ike_hash_text(o->hash));
		return 4;
	}
	if (t->group != o->group) {
		snprintf(a, sizeof(a), "%u", t->group);
		snprintf(b, sizeof(b), "%u", o->group);
		mismatch(m, "dh-group", a, b);
		return 3;
	}
	if (t->auth != o->auth) {
		mismatch(m, "authentication", ike_auth_method_text(t->auth),
		    ike_auth_method_text(o->auth));
		return 2;
	}
	return 0;
}

ips_res
ike_mm_sa_select(const struct isakmp_sa *peer,
    const struct ike_mm_choice *offers, size_t n, struct ike_mm_choice *out,
    struct ike_mm_mismatch *why)
{
	struct rbuf props = peer->proposals;
	int best = 99;
	bool more = true;

	memset(why, 0, sizeof(*why));
	snprintf(why->what, sizeof(why->what), "no phase 1 proposal offered");
	while (more) {
		struct isakmp_proposal p;
		bool tmore = true;

		GUARD(isakmp_proposal_next(&props, &p, &more));
		if (p.proto != ISAKMP_PROTO_ISAKMP)
			continue;
		while (tmore) {
			struct isakmp_transform t;
			struct ike_mm_choice c;

			GUARD(isakmp_transform_next(&p.transforms, &t, &tmore));
			GUARD(read_transform(&t, &c));
			if (c.encr == 0) {
				if (best > 6) {
					best = 6;
					snprintf(why->what, sizeof(why->what),
					    "transform %u has an attribute we "
					    "do not support",
					    t.num);
				}
				continue;
			}
			for (size_t i = 0; i < n; i++) {
				struct ike_mm_mismatch m;
				int d = distance(&c, &offers[i], &m);

				if (d == 0) {
					c.our_life_s = offers[i].our_life_s;
					c.qm_limit = offers[i].qm_limit;
					*out = c;
					return IPS_OK;
				}
				if (d < best) {
					best = d;
					*why = m;
				}
			}
		}
	}
	BAIL(IKE_NO_PROPOSAL);
}

ips_res
ike_mm_sa_accept(const struct isakmp_sa *resp,
    const struct ike_mm_choice *offers, size_t n, struct ike_mm_choice *out)
{
	struct rbuf props = resp->proposals;
	struct isakmp_proposal p;
	struct isakmp_transform t;
	struct ike_mm_choice c;
	bool more, tmore;

	GUARD(isakmp_proposal_next(&props, &p, &more));
	ENSURE(!more && p.proto == ISAKMP_PROTO_ISAKMP && p.ntransforms == 1,
	    IKE_PROPOSAL);
	GUARD(isakmp_transform_next(&p.transforms, &t, &tmore));
	GUARD(read_transform(&t, &c));
	for (size_t i = 0; i < n; i++) {
		struct ike_mm_mismatch m;

		if (c.encr != 0 && distance(&c, &offers[i], &m) == 0) {
			c.our_life_s = offers[i].our_life_s;
			c.qm_limit = offers[i].qm_limit;
			*out = c;
			return IPS_OK;
		}
	}
	/* The responder chose something we never offered. */
	BAIL(IKE_PROPOSAL);
}

uint32_t
ike_mm_lifetime(const struct ike_mm_choice *c)
{
	if (c->life_s == 0 || c->life_s > c->our_life_s)
		return c->our_life_s;
	return c->life_s;
}

/* ---- Quick Mode ------------------------------------------------------------
 */

static void
esp_wire(enum ips_esp_encr e, struct ike_qm_choice *c)
{
	switch (e) {
	case IPS_ESP_ENCR_AES128GCM16:
	case IPS_ESP_ENCR_AES256GCM16:
		c->transform = ESP_TRANSFORM_AES_GCM_16;
		c->keybits = e == IPS_ESP_ENCR_AES128GCM16 ? 128 : 256;
		break;
	case IPS_ESP_ENCR_AES128_CBC:
	case IPS_ESP_ENCR_AES192_CBC:
	case IPS_ESP_ENCR_AES256_CBC:
		c->transform = ESP_TRANSFORM_AES_CBC;
		c->keybits = e == IPS_ESP_ENCR_AES128_CBC ? 128
		    : e == IPS_ESP_ENCR_AES192_CBC	  ? 192
							  : 256;
		break;
	case IPS_ESP_ENCR_TDES_CBC:
		c->transform = ESP_TRANSFORM_3DES;
		break;
	default:
		c->transform = ESP_TRANSFORM_NULL;
		break;
	}
}

static unsigned
auth_wire(enum ips_integ i)
{
	switch (i) {
	case IPS_INTEG_HMAC_SHA1_96:
		return IPSEC_AUTH_HMAC_SHA;
	case IPS_INTEG_HMAC_SHA256_128:
		return IPSEC_AUTH_HMAC_SHA2_256;
	default:
		return 0;
	}
}

size_t
ike_qm_offers(const struct pol_neg_policy *np, uint16_t encap,
    struct ike_qm_choice *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < np->noffers && n < max && n < 255; i++) {
		const struct pol_qm_offer *o = &np->offers[i];
		struct ike_qm_choice *c = &out[n];

		if (o->ah && o->esp)
			continue; /* bundles: see proposal.h */
		memset(c, 0, sizeof(*c));
		c->pnum = (uint8_t)(n + 1);
		c->tnum = 1;
		if (o->esp) {
			c->proto = ISAKMP_PROTO_ESP;
			esp_wire(o->esp_encr, c);
			c->auth = auth_wire(o->esp_integ);
		} else {
			c->proto = ISAKMP_PROTO_AH;
			c->auth = auth_wire(o->ah_integ);
			c->transform = c->auth == IPSEC_AUTH_HMAC_SHA2_256
			    ? AH_TRANSFORM_SHA2_256
			    : AH_TRANSFORM_SHA;
		}
		c->group = np->pfs_group;
		c->encap = encap;
		c->life_s = c->our_life_s = o->lifetime_s;
		c->life_kb = c->our_life_kb = o->lifetime_kb;
		c->esn = o->esn;
		c->our_replay = np->replay_window;
		n++;
	}
	return n;
}

static ips_res
write_qm_transform(struct wbuf *wb, const struct ike_qm_choice *c)
{
	size_t off;

	GUARD(isakmp_put_transform(wb, true, c->tnum, c->transform, &off));
	if (c->life_s != 0) {
		GUARD(isakmp_put_attr(
		    wb, IPSEC_ATTR_LIFE_TYPE, IKE_LIFE_SECONDS));
		GUARD(isakmp_put_attr(wb, IPSEC_ATTR_LIFE_DURATION, c->life_s));
	}
	if (c->life_kb != 0) {
		GUARD(isakmp_put_attr(
		    wb, IPSEC_ATTR_LIFE_TYPE, IKE_LIFE_KILOBYTES));
		GUARD(
		    isakmp_put_attr(wb, IPSEC_ATTR_LIFE_DURATION, c->life_kb));
	}
	if (c->group != 0)
		GUARD(isakmp_put_attr(wb, IPSEC_ATTR_GROUP_DESC, c->group));
	GUARD(isakmp_put_attr(wb, IPSEC_ATTR_ENCAP_MODE, c->encap));
	if (c->auth != 0)
		GUARD(isakmp_put_attr(wb, IPSEC_ATTR_AUTH_ALG, c->auth));
	if (c->keybits != 0)
		GUARD(isakmp_put_attr(wb, IPSEC_ATTR_KEY_LENGTH, c->keybits));
	/* RFC 4304 2: asked for by its presence, value 1 (64 bits) */
	if (c->esn)
		GUARD(isakmp_put_attr(wb, IPSEC_ATTR_ESN, 1));
	return isakmp_put_close16(wb, off);
}

ips_res
ike_qm_sa_write(
    struct wbuf *wb, const struct ike_qm_choice *offers, size_t n, uint32_t spi)
{
	const uint8_t s[4] = {(uint8_t)(spi >> 24), (uint8_t)(spi >> 16),
	    (uint8_t)(spi >> 8), (uint8_t)spi};

	ENSURE(n > 0 && n <= 255, INVAL);
	GUARD(isakmp_put_sa_head(wb));
	/* One proposal per offer: distinct numbers are alternatives
	 * (RFC 2408 4.2). */
	for (size_t i = 0; i < n; i++) {
		size_t off;

		GUARD(isakmp_put_proposal(wb, i + 1 == n, offers[i].pnum,
		    offers[i].proto, s, 4, 1, &off));
		GUARD(write_qm_transform(wb, &offers[i]));
		GUARD(isakmp_put_close16(wb, off));
	}
	return IPS_OK;
}

static ips_res
read_qm_transform(const struct isakmp_proposal *p,
    const struct isakmp_transform *t, struct ike_qm_choice *c)
{
	struct rbuf attrs = t->attrs;
	unsigned life_type = 0;

	memset(c, 0, sizeof(*c));
	c->pnum = p->num;
	c->tnum = t->num;
	c->proto = p->proto;
	c->transform = t->id;
	while (rbuf_left(&attrs) > 0) {
		struct isakmp_attr a;
		uint64_t v;

		GUARD(isakmp_attr_next(&attrs, &a));
		GUARD(isakmp_attr_uint(&a, &v));
		switch (a.type) {
		case IPSEC_ATTR_LIFE_TYPE:
			life_type = (unsigned)v;
			break;
		case IPSEC_ATTR_LIFE_DURATION:
			if (life_type == IKE_LIFE_SECONDS)
				c->life_s =
				    v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			else if (life_type == IKE_LIFE_KILOBYTES)
				c->life_kb = v;
			break;
		case IPSEC_ATTR_GROUP_DESC:
			c->group = (unsigned)v;
			break;
		case IPSEC_ATTR_ENCAP_MODE:
			c->encap = (uint16_t)v;
			break;
		case IPSEC_ATTR_AUTH_ALG:
			c->auth = (unsigned)v;
			break;
		case IPSEC_ATTR_KEY_LENGTH:
			c->keybits = (unsigned)v;
			break;
		case IPSEC_ATTR_ESN:
			if (v != 1) {
				c->transform = 0;
				return IPS_OK;
			}
			c->esn = true;
			break;
		default:
			c->transform = 0; /* one we cannot honour */
			return IPS_OK;
		}
	}
	return IPS_OK;
}

static bool
qm_same(const struct ike_qm_choice *t, const struct ike_qm_choice *o)
{
	/* Encapsulation: the draft NAT-T numbers mean the same modes. */
	unsigned te = t->encap == IPSEC_ENCAP_UDP_TUNNEL_DRAFT
	    ? IPSEC_ENCAP_UDP_TUNNEL
	    : t->encap == IPSEC_ENCAP_UDP_TRANSPORT_DRAFT
	    ? IPSEC_ENCAP_UDP_TRANSPORT
	    : t->encap;

	return t->proto == o->proto && t->transform == o->transform &&
	    t->keybits == o->keybits && t->auth == o->auth &&
	    t->group == o->group && te == o->encap && t->esn == o->esn;
}

/* A peer's transform matched our offer o: what is ours alone to say. */
static void
adopt(struct ike_qm_choice *c, const struct ike_qm_choice *o)
{
	c->our_life_s = o->our_life_s;
	c->our_life_kb = o->our_life_kb;
	c->encap = o->encap;
	c->our_replay = o->our_replay;
}

/*
 * The peer's SPI, or 0 when it is not one we could use: ESP and AH SPIs
 * are four bytes (RFC 2407 4.6.1) and 0..255 are reserved (RFC 4303 2.1).
 */
static uint32_t
spi_of(const struct isakmp_proposal *p)
{
	uint32_t spi;

	if (p->spi_size != 4)
		return 0;
	spi = (uint32_t)p->spi[0] << 24 | (uint32_t)p->spi[1] << 16 |
	    (uint32_t)p->spi[2] << 8 | p->spi[3];
	return spi > 255 ? spi : 0;
}

ips_res
ike_qm_sa_select(const struct isakmp_sa *peer,
    const struct ike_qm_choice *offers, size_t n, struct ike_qm_choice *out,
    uint32_t *peer_spi, struct ike_mm_mismatch *why)
{
	struct rbuf props = peer->proposals;
	bool more = true;
	int last_num = -1;

	memset(why, 0, sizeof(*why));
	snprintf(why->what, sizeof(why->what),
	    "no acceptable ESP or AH "
	    "transform offered");
	while (more) {
		struct isakmp_proposal p;
		bool tmore = true;

		GUARD(isakmp_proposal_next(&props, &p, &more));
		/* A number seen twice is a bundle (AH+ESP): not yet. */
		if (p.num == last_num || spi_of(&p) == 0 ||
		    (p.proto != ISAKMP_PROTO_ESP &&
			p.proto != ISAKMP_PROTO_AH)) {
			last_num = p.num;
			continue;
		}
		last_num = p.num;
		while (tmore) {
			struct isakmp_transform t;
			struct ike_qm_choice c;

			GUARD(isakmp_transform_next(&p.transforms, &t, &tmore));
			GUARD(read_qm_transform(&p, &t, &c));
			for (size_t i = 0; c.transform != 0 && i < n; i++) {
				if (!qm_same(&c, &offers[i]))
					continue;
				adopt(&c, &offers[i]);
				*out = c;
				*peer_spi = spi_of(&p);
				return IPS_OK;
			}
			if (c.transform != 0 && n > 0 &&
			    c.group != offers[0].group) {
				char a[16], b[16];

				snprintf(a, sizeof(a), "%u", c.group);
				snprintf(b, sizeof(b), "%u", offers[0].group);
				mismatch(why, "pfs-group", a, b);
			}
		}
	}
	BAIL(IKE_NO_PROPOSAL);
}

ips_res
ike_qm_sa_accept(const struct isakmp_sa *resp,
    const struct ike_qm_choice *offers, size_t n, struct ike_qm_choice *out,
    uint32_t *peer_spi)
{
	struct rbuf props = resp->proposals;
	struct isakmp_proposal p;
	struct isakmp_transform t;
	struct ike_qm_choice c;
	bool more, tmore;

	GUARD(isakmp_proposal_next(&props, &p, &more));
	ENSURE(!more && p.ntransforms == 1 && spi_of(&p) != 0, IKE_PROPOSAL);
	GUARD(isakmp_transform_next(&p.transforms, &t, &tmore));
	GUARD(read_qm_transform(&p, &t, &c));
	for (size_t i = 0; c.transform != 0 && i < n; i++) {
		if (qm_same(&c, &offers[i])) {
			adopt(&c, &offers[i]);
			*out = c;
			*peer_spi = spi_of(&p);
			return IPS_OK;
		}
	}
	BAIL(IKE_PROPOSAL);
}

size_t
ike_qm_keylen(const struct ike_qm_choice *c)
{
	const struct esp_alg a = {c->transform, c->keybits, c->auth, false};

	/* the datapath's own lengths: one place decides them */
	return c->proto == ISAKMP_PROTO_ESP ? esp_key_len(&a)
					    : esp_auth_key_len(c->auth);
}

/* ---- names for views, logs and audit events ---- */

const char *
ike_encr_text(unsigned encr, unsigned bits, char *buf, size_t len)
{
	if (encr == IKE_ENCR_AES_CBC)
		snprintf(buf, len, "AES-CBC-%u", bits);
	else if (encr == IKE_ENCR_3DES_CBC)
		snprintf(buf, len, "3DES-CBC");
	else if (encr == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%u", encr);
	return buf;
}

const char *
ike_hash_text(unsigned hash)
{
	switch (hash) {
	case IKE_HASH_SHA1:
		return "SHA-1";
	case IKE_HASH_SHA2_256:
		return "SHA-256";
	case IKE_HASH_SHA2_384:
		return "SHA-384";
	case IKE_HASH_SHA2_512:
		return "SHA-512";
	default:
		return "-";
	}
}

const char *
ike_auth_method_text(unsigned auth)
{
	return auth == IKE_AUTH_PSK    ? "psk"
	    : auth == IKE_AUTH_RSA_SIG ? "rsa-sig"
				       : "-";
}

const char *
ike_esp_encr_text(unsigned transform, unsigned keybits, char *buf, size_t len)
{
	switch (transform) {
	case ESP_TRANSFORM_AES_GCM_16:
		snprintf(buf, len, "AES-GCM-%u", keybits);
		break;
	case ESP_TRANSFORM_AES_CBC:
		snprintf(buf, len, "AES-CBC-%u", keybits);
		break;
	case ESP_TRANSFORM_3DES:
		snprintf(buf, len, "3DES-CBC");
		break;
	case ESP_TRANSFORM_NULL:
		snprintf(buf, len, "NULL");
		break;
	default:
		snprintf(buf, len, "%u", transform);
		break;
	}
	return buf;
}

const char *
ike_ipsec_auth_text(unsigned auth)
{
	switch (auth) {
	case IPSEC_AUTH_HMAC_SHA:
		return "HMAC-SHA1-96";
	case IPSEC_AUTH_HMAC_SHA2_256:
		return "HMAC-SHA-256-128";
	default:
		return "None";
	}
}

const char *
ike_encap_text(uint16_t encap)
{
	switch (encap) {
	case IPSEC_ENCAP_TUNNEL:
		return "tunnel";
	case IPSEC_ENCAP_TRANSPORT:
		return "transport";
	case IPSEC_ENCAP_UDP_TUNNEL:
	case IPSEC_ENCAP_UDP_TUNNEL_DRAFT:
		return "udp-tunnel";
	default:
		return "udp-transport";
	}
}
