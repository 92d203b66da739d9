#include <stdio.h>
#include <string.h>

#include "proposal.h"

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
    size_t nauth, struct ike_mm_choice *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ip->noffers; i++) {
		for (size_t j = 0; j < nauth && n < max && n < 255; j++) {
			struct ike_mm_choice *c = &out[n];

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

/* How far a transform is from an offer: 0 = match, else which attribute
 * differs first, with its text. */
static int
distance(const struct ike_mm_choice *t, const struct ike_mm_choice *o,
    char *buf, size_t len)
{
	if (t->encr != o->encr || t->keybits != o->keybits) {
		snprintf(buf, len,
		    "encryption: offered %u/%u bits, expected "
		    "%u/%u bits",
		    t->encr, t->keybits, o->encr, o->keybits);
		return 5;
	}
	if (t->hash != o->hash) {
		snprintf(buf, len, "hash: offered %u, expected %u", t->hash,
		    o->hash);
		return 4;
	}
	if (t->group != o->group) {
		snprintf(buf, len, "dh-group: offered %u, expected %u",
		    t->group, o->group);
		return 3;
	}
	if (t->auth != o->auth) {
		snprintf(buf, len,
		    "authentication method: offered %u, "
		    "expected %u",
		    t->auth, o->auth);
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
				char text[160];
				int d = distance(
				    &c, &offers[i], text, sizeof(text));

				if (d == 0) {
					c.our_life_s = offers[i].our_life_s;
					c.qm_limit = offers[i].qm_limit;
					*out = c;
					return IPS_OK;
				}
				if (d < best) {
					best = d;
					memcpy(why->what, text, sizeof(text));
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
		char text[8];

		if (c.encr != 0 &&
		    distance(&c, &offers[i], text, sizeof(text)) == 0) {
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
