#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

bool
ips_addr_parse(const char *s, struct ips_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->af = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->af = AF_INET6;
		return true;
	}
	return false;
}

const char *
ips_addr_str(const struct ips_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->af, a->b, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

unsigned
ips_addr_bits(int af)
{
	return af == AF_INET ? 32 : 128;
}

int
ips_addr_cmp(const struct ips_addr *a, const struct ips_addr *b)
{
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return memcmp(a->b, b->b, ips_addr_bits(a->af) / 8);
}

bool
ips_addr_is_local_only(const struct ips_addr *a)
{
	static const uint8_t v6_loop[16] = {[15] = 1};

	if (a->af == AF_INET)
		return a->b[0] == 127;
	return memcmp(a->b, v6_loop, 16) == 0 ||
	    (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80);
}

/* Bit i (0 = most significant) of an address. */
static int
addr_bit(const struct ips_addr *a, unsigned i)
{
	return (a->b[i / 8] >> (7 - i % 8)) & 1;
}

static bool
prefix_has_host_bits(const struct ips_addr *a, unsigned plen)
{
	for (unsigned i = plen; i < ips_addr_bits(a->af); i++)
		if (addr_bit(a, i))
			return true;
	return false;
}

static ips_res
parse_prefix(
    const char *s, const char *slash, struct ips_aspec *out, const char **why)
{
	char host[IPS_ADDRSTRLEN];
	size_t hl = (size_t)(slash - s);
	unsigned long plen;
	char *end;

	if (hl == 0 || hl >= sizeof(host)) {
		*why = "not an IP address before '/'";
		BAIL(INVAL);
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (!ips_addr_parse(host, &out->lo)) {
		*why = "not an IP address before '/'";
		BAIL(INVAL);
	}
	if (slash[1] < '0' || slash[1] > '9') {
		*why = "prefix length is not a number";
		BAIL(INVAL);
	}
	plen = strtoul(slash + 1, &end, 10);
	if (*end != '\0') {
		*why = "prefix length is not a number";
		BAIL(INVAL);
	}
	if (plen > ips_addr_bits(out->lo.af)) {
		*why = out->lo.af == AF_INET ? "prefix length exceeds 32"
					     : "prefix length exceeds 128";
		BAIL(INVAL);
	}
	if (prefix_has_host_bits(&out->lo, (unsigned)plen)) {
		*why = "address has bits set beyond the prefix length";
		BAIL(INVAL);
	}
	/* A full-length prefix is a host; keep one representation of it so
	 * that equal specs compare equal. */
	if (plen == ips_addr_bits(out->lo.af)) {
		out->kind = IPS_ASPEC_HOST;
		return IPS_OK;
	}
	out->kind = IPS_ASPEC_PREFIX;
	out->plen = (unsigned)plen;
	return IPS_OK;
}

static ips_res
parse_range(
    const char *s, const char *dash, struct ips_aspec *out, const char **why)
{
	char lo[IPS_ADDRSTRLEN];
	size_t ll = (size_t)(dash - s);

	if (ll == 0 || ll >= sizeof(lo)) {
		*why = "range start is not an IP address";
		BAIL(INVAL);
	}
	memcpy(lo, s, ll);
	lo[ll] = '\0';
	if (!ips_addr_parse(lo, &out->lo)) {
		*why = "range start is not an IP address";
		BAIL(INVAL);
	}
	if (!ips_addr_parse(dash + 1, &out->hi)) {
		*why = "range end is not an IP address";
		BAIL(INVAL);
	}
	if (out->lo.af != out->hi.af) {
		*why = "range mixes IPv4 and IPv6";
		BAIL(INVAL);
	}
	if (ips_addr_cmp(&out->lo, &out->hi) > 0) {
		*why = "range start is above range end";
		BAIL(INVAL);
	}
	out->kind = IPS_ASPEC_RANGE;
	if (ips_addr_cmp(&out->lo, &out->hi) == 0)
		out->kind = IPS_ASPEC_HOST;
	return IPS_OK;
}

ips_res
ips_aspec_parse(const char *s, struct ips_aspec *out, const char **why)
{
	static const struct {
		const char *word;
		enum ips_aspec_kind kind;
	} keywords[] = {
	    {"any", IPS_ASPEC_ANY},
	    {"me", IPS_ASPEC_ME},
	    {"dns", IPS_ASPEC_DNS},
	    {"gateway", IPS_ASPEC_GATEWAY},
	};
	const char *p;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcmp(s, keywords[i].word) == 0) {
			out->kind = keywords[i].kind;
			return IPS_OK;
		}
	}
	if (strcmp(s, "wins") == 0 || strcmp(s, "dhcp") == 0) {
		*why = "keyword has no meaning on Linux (use me, any, dns, "
		       "gateway or an address)";
		BAIL(INVAL);
	}
	if ((p = strchr(s, '/')) != NULL)
		return parse_prefix(s, p, out, why);
	/* IPv6 has no '-', so the first '-' splits a range. */
	if ((p = strchr(s, '-')) != NULL)
		return parse_range(s, p, out, why);
	if (!ips_addr_parse(s, &out->lo)) {
		*why = "not an IP address, prefix, range or keyword";
		BAIL(INVAL);
	}
	out->kind = IPS_ASPEC_HOST;
	return IPS_OK;
}

const char *
ips_addr_port_str(
    const struct ips_addr *a, uint16_t port, char *buf, size_t len)
{
	char addr[IPS_ADDRSTRLEN];

	ips_addr_str(a, addr, sizeof(addr));
	if (port == 0)
		snprintf(buf, len, "%s", addr);
	else
		snprintf(buf, len, a->af == AF_INET6 ? "[%s]:%u" : "%s:%u",
		    addr, port);
	return buf;
}

const char *
ips_aspec_str(const struct ips_aspec *sp, char *buf, size_t len)
{
	char a[IPS_ADDRSTRLEN], b[IPS_ADDRSTRLEN];

	switch (sp->kind) {
	case IPS_ASPEC_ANY:
		snprintf(buf, len, "any");
		break;
	case IPS_ASPEC_ME:
		snprintf(buf, len, "me");
		break;
	case IPS_ASPEC_DNS:
		snprintf(buf, len, "dns");
		break;
	case IPS_ASPEC_GATEWAY:
		snprintf(buf, len, "gateway");
		break;
	case IPS_ASPEC_HOST:
		snprintf(buf, len, "%s", ips_addr_str(&sp->lo, a, sizeof(a)));
		break;
	case IPS_ASPEC_PREFIX:
		snprintf(buf, len, "%s/%u", ips_addr_str(&sp->lo, a, sizeof(a)),
		    sp->plen);
		break;
	case IPS_ASPEC_RANGE:
		snprintf(buf, len, "%s-%s", ips_addr_str(&sp->lo, a, sizeof(a)),
		    ips_addr_str(&sp->hi, b, sizeof(b)));
		break;
	}
	return buf;
}

struct ips_aspec
ips_aspec_host(const struct ips_addr *a)
{
	struct ips_aspec sp;

	memset(&sp, 0, sizeof(sp));
	sp.kind = IPS_ASPEC_HOST;
	sp.lo = *a;
	return sp;
}

struct ips_aspec
ips_aspec_any(void)
{
	struct ips_aspec sp;

	memset(&sp, 0, sizeof(sp));
	sp.kind = IPS_ASPEC_ANY;
	return sp;
}

bool
ips_aspec_is_keyword(const struct ips_aspec *sp)
{
	return sp->kind == IPS_ASPEC_ME || sp->kind == IPS_ASPEC_DNS ||
	    sp->kind == IPS_ASPEC_GATEWAY;
}

int
ips_aspec_family(const struct ips_aspec *sp)
{
	switch (sp->kind) {
	case IPS_ASPEC_HOST:
	case IPS_ASPEC_PREFIX:
	case IPS_ASPEC_RANGE:
		return sp->lo.af;
	default:
		return 0;
	}
}

bool
ips_aspec_contains(const struct ips_aspec *sp, const struct ips_addr *a)
{
	switch (sp->kind) {
	case IPS_ASPEC_ANY:
		return true;
	case IPS_ASPEC_HOST:
		return ips_addr_cmp(&sp->lo, a) == 0;
	case IPS_ASPEC_PREFIX:
		if (sp->lo.af != a->af)
			return false;
		for (unsigned i = 0; i < sp->plen; i++)
			if (addr_bit(&sp->lo, i) != addr_bit(a, i))
				return false;
		return true;
	case IPS_ASPEC_RANGE:
		return sp->lo.af == a->af && ips_addr_cmp(&sp->lo, a) <= 0 &&
		    ips_addr_cmp(a, &sp->hi) <= 0;
	default:
		return false;
	}
}

/* A concrete spec's first and last address; false for any and keywords. */
static bool
aspec_bounds(
    const struct ips_aspec *sp, struct ips_addr *lo, struct ips_addr *hi)
{
	switch (sp->kind) {
	case IPS_ASPEC_HOST:
		*lo = *hi = sp->lo;
		return true;
	case IPS_ASPEC_RANGE:
		*lo = sp->lo;
		*hi = sp->hi;
		return true;
	case IPS_ASPEC_PREFIX:
		*lo = *hi = sp->lo;
		for (unsigned i = sp->plen; i < ips_addr_bits(sp->lo.af); i++)
			hi->b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
		return true;
	default:
		return false;
	}
}

bool
ips_aspec_overlaps(const struct ips_aspec *a, const struct ips_aspec *b)
{
	struct ips_addr alo, ahi, blo, bhi;

	if (a->kind == IPS_ASPEC_ANY || b->kind == IPS_ASPEC_ANY)
		return !ips_aspec_is_keyword(a) && !ips_aspec_is_keyword(b);
	if (!aspec_bounds(a, &alo, &ahi) || !aspec_bounds(b, &blo, &bhi) ||
	    alo.af != blo.af)
		return false;
	return ips_addr_cmp(&alo, &bhi) <= 0 && ips_addr_cmp(&blo, &ahi) <= 0;
}

struct ips_aspec
ips_aspec_prefix_of(const struct ips_addr *a, unsigned plen)
{
	struct ips_aspec sp;
	unsigned bits = ips_addr_bits(a->af);

	memset(&sp, 0, sizeof(sp));
	sp.lo = *a;
	if (plen >= bits) {
		sp.kind = IPS_ASPEC_HOST;
		return sp;
	}
	if (plen == 0)
		return ips_aspec_any();
	sp.kind = IPS_ASPEC_PREFIX;
	sp.plen = plen;
	for (unsigned i = plen; i < bits; i++)
		sp.lo.b[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	return sp;
}

unsigned
ips_aspec_specificity(const struct ips_aspec *sp)
{
	unsigned bits, fixed = 0, scale;

	if (ips_aspec_family(sp) == 0)
		return 0;
	bits = ips_addr_bits(sp->lo.af);
	scale = 128 / bits;
	switch (sp->kind) {
	case IPS_ASPEC_HOST:
		fixed = bits;
		break;
	case IPS_ASPEC_PREFIX:
		fixed = sp->plen;
		break;
	case IPS_ASPEC_RANGE:
		while (fixed < bits &&
		    addr_bit(&sp->lo, fixed) == addr_bit(&sp->hi, fixed))
			fixed++;
		break;
	default:
		break;
	}
	return fixed * scale;
}

int
ips_aspec_cmp(const struct ips_aspec *a, const struct ips_aspec *b)
{
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (ips_aspec_family(a) == 0)
		return 0;
	if ((c = ips_addr_cmp(&a->lo, &b->lo)) != 0)
		return c;
	if (a->kind == IPS_ASPEC_RANGE)
		return ips_addr_cmp(&a->hi, &b->hi);
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return 0;
}
