/*
 * The trace log's payload lines: what each payload of a message says,
 * one line each (an SA's proposals and transforms, a line each too).
 * Keys, nonces, hashes and signatures are shown by their length only;
 * identities, attributes, notify types and SPIs as they are (RFC 2408
 * 3.4-3.15, RFC 2407 4.6).
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "crypto/ike_x509.h"
#include "ike_int.h"
#include "wire/isakmp.h"

static const char *
nm(const char *name, unsigned v, char *buf, size_t len)
{
	if (name != NULL)
		return name;
	snprintf(buf, len, "UNKNOWN(%u)", v);
	return buf;
}

/* What an attribute's number means, for the values a reader of the trace
 * meets most (RFC 2409 App. A, RFC 2407 4.5, RFC 3947, RFC 4868). */
struct value_name {
	bool ike_sa; /* a phase 1 attribute, else an IPsec one */
	uint16_t type;
	uint16_t value;
	const char *name;
};

static const struct value_name value_names[] = {
    {true, IKE_ATTR_ENCRYPTION, 1, "DES-CBC"},
    {true, IKE_ATTR_ENCRYPTION, 5, "3DES-CBC"},
    {true, IKE_ATTR_ENCRYPTION, 7, "AES-CBC"},
    {true, IKE_ATTR_HASH, 1, "MD5"},
    {true, IKE_ATTR_HASH, 2, "SHA"},
    {true, IKE_ATTR_HASH, 4, "SHA2-256"},
    {true, IKE_ATTR_HASH, 5, "SHA2-384"},
    {true, IKE_ATTR_HASH, 6, "SHA2-512"},
    {true, IKE_ATTR_AUTH_METHOD, 1, "pre-shared key"},
    {true, IKE_ATTR_AUTH_METHOD, 3, "RSA signature"},
    {true, IKE_ATTR_LIFE_TYPE, 1, "seconds"},
    {true, IKE_ATTR_LIFE_TYPE, 2, "kilobytes"},
    {false, IPSEC_ATTR_LIFE_TYPE, 1, "seconds"},
    {false, IPSEC_ATTR_LIFE_TYPE, 2, "kilobytes"},
    {false, IPSEC_ATTR_ENCAP_MODE, 1, "tunnel"},
    {false, IPSEC_ATTR_ENCAP_MODE, 2, "transport"},
    {false, IPSEC_ATTR_ENCAP_MODE, 3, "UDP tunnel"},
    {false, IPSEC_ATTR_ENCAP_MODE, 4, "UDP transport"},
    {false, IPSEC_ATTR_ENCAP_MODE, 61443, "UDP tunnel (draft)"},
    {false, IPSEC_ATTR_ENCAP_MODE, 61444, "UDP transport (draft)"},
    {false, IPSEC_ATTR_AUTH_ALG, 1, "HMAC-MD5"},
    {false, IPSEC_ATTR_AUTH_ALG, 2, "HMAC-SHA"},
    {false, IPSEC_ATTR_AUTH_ALG, 5, "HMAC-SHA2-256"},
};

static const char *
value_name(bool ike_sa, uint16_t type, uint64_t v)
{
	for (size_t i = 0; i < sizeof(value_names) / sizeof(value_names[0]);
	     i++)
		if (value_names[i].ike_sa == ike_sa &&
		    value_names[i].type == type && value_names[i].value == v)
			return value_names[i].name;
	return NULL;
}

/* What a peer wrote, for the trace: printable ASCII as it is, any other
 * byte as \xNN (a name can carry terminal escapes). */
static void
escaped(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < outlen; i++)
		if (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\')
			out[o++] = (char)in[i];
		else
			o += (size_t)snprintf(
			    out + o, outlen - o, "\\x%02x", in[i]);
	out[o] = '\0';
}

/* An SA's attributes as "name=value ...", names of values where known. */
static void
attrs_text(struct rbuf attrs, bool ike_sa, char *out, size_t len)
{
	struct isakmp_attr a;
	size_t used = 0;

	out[0] = '\0';
	while (rbuf_left(&attrs) > 0 && ips_ok(isakmp_attr_next(&attrs, &a))) {
		char nb[24];
		uint64_t v = 0;
		const char *n =
		    nm(ike_sa ? ike_attr_name(a.type) : ipsec_attr_name(a.type),
			a.type, nb, sizeof(nb));
		bool num = ips_ok(isakmp_attr_uint(&a, &v));
		const char *vn = num ? value_name(ike_sa, a.type, v) : NULL;
		int w;

		if (!num)
			w = snprintf(out + used, len - used, " %s=(%zu bytes)",
			    n, a.len);
		else if (vn != NULL)
			w = snprintf(out + used, len - used, " %s=%llu(%s)", n,
			    (unsigned long long)v, vn);
		else
			w = snprintf(out + used, len - used, " %s=%llu", n,
			    (unsigned long long)v);

		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
}

static void
trace_sa(struct ike *ike, const struct isakmp_payload *pl)
{
	struct isakmp_sa sa;
	struct isakmp_proposal p;
	bool more = true;

	if (!ips_ok(isakmp_sa_parse(pl, &sa))) {
		ike_trace(ike, "  SA: malformed");
		return;
	}
	ike_trace(ike, "  SA doi %u situation %u", sa.doi, sa.situation);
	while (more && ips_ok(isakmp_proposal_next(&sa.proposals, &p, &more))) {
		struct isakmp_transform t;
		bool tmore = true;
		char pb[24], spi[40] = "";

		if (p.spi_size == 4)
			snprintf(spi, sizeof(spi), " spi %02x%02x%02x%02x",
			    p.spi[0], p.spi[1], p.spi[2], p.spi[3]);
		ike_trace(ike, "    proposal %u %s%s, %u transform%s", p.num,
		    nm(isakmp_proto_name(p.proto), p.proto, pb, sizeof(pb)),
		    spi, p.ntransforms, p.ntransforms == 1 ? "" : "s");
		while (tmore &&
		    ips_ok(isakmp_transform_next(&p.transforms, &t, &tmore))) {
			char at[600];

			attrs_text(t.attrs, p.proto == ISAKMP_PROTO_ISAKMP, at,
			    sizeof(at));
			ike_trace(ike, "      transform %u id %u:%s", t.num,
			    t.id, at);
		}
	}
}

static void
trace_id(struct ike *ike, const struct isakmp_payload *pl)
{
	struct isakmp_id id;
	char tb[24], v[512], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (!ips_ok(isakmp_id_parse(pl, &id))) {
		ike_trace(ike, "  ID: malformed");
		return;
	}
	switch (id.type) {
	case ISAKMP_ID_IPV4_ADDR:
	case ISAKMP_ID_IPV6_ADDR:
		inet_ntop(id.type == ISAKMP_ID_IPV4_ADDR ? AF_INET : AF_INET6,
		    id.data, v, sizeof(v));
		break;
	case ISAKMP_ID_IPV4_ADDR_SUBNET:
	case ISAKMP_ID_IPV4_ADDR_RANGE:
	case ISAKMP_ID_IPV6_ADDR_SUBNET:
	case ISAKMP_ID_IPV6_ADDR_RANGE: {
		bool v4 = id.type == ISAKMP_ID_IPV4_ADDR_SUBNET ||
		    id.type == ISAKMP_ID_IPV4_ADDR_RANGE;
		size_t h = id.len / 2;

		inet_ntop(v4 ? AF_INET : AF_INET6, id.data, a, sizeof(a));
		inet_ntop(v4 ? AF_INET : AF_INET6, id.data + h, b, sizeof(b));
		snprintf(v, sizeof(v), "%s %s %s", a,
		    id.type == ISAKMP_ID_IPV4_ADDR_SUBNET ||
			    id.type == ISAKMP_ID_IPV6_ADDR_SUBNET
			? "mask"
			: "to",
		    b);
		break;
	}
	case ISAKMP_ID_FQDN:
	case ISAKMP_ID_USER_FQDN:
		escaped(id.data, id.len, v, sizeof(v));
		break;
	case ISAKMP_ID_DER_ASN1_DN: {
		char dn[512];

		ike_dn_text(id.data, id.len, dn, sizeof(dn));
		escaped((const uint8_t *)dn, strlen(dn), v, sizeof(v));
		break;
	}
	default:
		snprintf(v, sizeof(v), "(%zu bytes)", id.len);
	}
	ike_trace(ike, "  ID %s %s protocol %u port %u",
	    nm(isakmp_id_type_name(id.type), id.type, tb, sizeof(tb)), v,
	    id.proto, id.port);
}

static void
trace_notify(struct ike *ike, const struct isakmp_payload *pl)
{
	struct isakmp_notify n;
	char tb[24], pb[24];

	if (!ips_ok(isakmp_notify_parse(pl, &n))) {
		ike_trace(ike, "  NOTIFY: malformed");
		return;
	}
	ike_trace(ike, "  NOTIFY %s protocol %s spi-size %u, %zu bytes of data",
	    nm(isakmp_notify_name(n.type), n.type, tb, sizeof(tb)),
	    nm(isakmp_proto_name(n.proto), n.proto, pb, sizeof(pb)), n.spi_size,
	    n.data_len);
}

static void
trace_delete(struct ike *ike, const struct isakmp_payload *pl)
{
	struct isakmp_delete d;
	char pb[24], spis[200] = "";
	size_t used = 0;

	if (!ips_ok(isakmp_delete_parse(pl, &d))) {
		ike_trace(ike, "  DELETE: malformed");
		return;
	}
	/* AH and ESP SPIs; ISAKMP SAs are named by their cookies */
	for (uint16_t i = 0; d.spi_size == 4 && i < d.nspis && i < 16; i++) {
		const uint8_t *s = d.spis + 4 * (size_t)i;
		int w = snprintf(spis + used, sizeof(spis) - used,
		    " %02x%02x%02x%02x", s[0], s[1], s[2], s[3]);

		if (w < 0 || (size_t)w >= sizeof(spis) - used)
			break;
		used += (size_t)w;
	}
	ike_trace(ike, "  DELETE protocol %s, %u SPI%s%s",
	    nm(isakmp_proto_name(d.proto), d.proto, pb, sizeof(pb)), d.nspis,
	    d.nspis == 1 ? "" : "s", spis);
}

void
ike_trace_payloads(struct ike *ike, const struct isakmp_chain *c)
{
	if (!ike->tracing)
		return;
	for (size_t i = 0; i < c->n; i++) {
		const struct isakmp_payload *pl = &c->pl[i];
		char tb[24];
		struct isakmp_cert ce;

		switch (pl->type) {
		case ISAKMP_PL_SA:
			trace_sa(ike, pl);
			break;
		case ISAKMP_PL_ID:
			trace_id(ike, pl);
			break;
		case ISAKMP_PL_N:
			trace_notify(ike, pl);
			break;
		case ISAKMP_PL_D:
			trace_delete(ike, pl);
			break;
		case ISAKMP_PL_VID: {
			/* public constants, shown so that a reader can tell
			 * the peer's software and features */
			const uint8_t *b = pl->body.p + pl->body.off;
			size_t n = rbuf_left(&pl->body), k;
			char hex[2 * 32 + 1];

			for (k = 0; k < n && k < 32; k++)
				snprintf(hex + 2 * k, 3, "%02x", b[k]);
			hex[2 * k] = '\0';
			ike_trace(ike, "  VENDOR %zu bytes %s%s", n, hex,
			    n > 32 ? "..." : "");
			break;
		}
		case ISAKMP_PL_CERT:
		case ISAKMP_PL_CR:
			if (ips_ok(isakmp_cert_parse(pl, &ce))) {
				ike_trace(ike, "  %s encoding %u, %zu bytes",
				    isakmp_payload_name(pl->type), ce.encoding,
				    ce.len);
				break;
			}
			/* fall through */
		default:
			/* KE, NONCE, HASH, SIG, VENDOR, NAT-D: their length,
			 * never their bytes */
			ike_trace(ike, "  %s %zu bytes",
			    nm(isakmp_payload_name(pl->type), pl->type, tb,
				sizeof(tb)),
			    rbuf_left(&pl->body));
		}
	}
}

void
ike_trace_message(struct ike *ike, const char *what, const uint8_t *msg,
    size_t len, bool decrypted)
{
	struct isakmp_chain c;
	struct rbuf rb;

	if (!ike->tracing || len < ISAKMP_HDR_LEN)
		return;
	rbuf_init(&rb, msg + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN);
	if (!ips_ok(isakmp_chain_parse(&rb, msg[16], decrypted, &c))) {
		ike_trace(ike, "  %s: payloads malformed", what);
		return;
	}
	ike_trace(ike, "  %s:", what);
	ike_trace_payloads(ike, &c);
}
