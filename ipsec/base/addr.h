/*
 * addr: IP addresses and the address specifications filters are written in
 * (a host, a prefix, a range, "any", or a keyword standing for a set of this
 * host's addresses).
 */
#ifndef IPS_ADDR_H
#define IPS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"

/* Long enough for "ffff:...:ffff/128" and for a range of two IPv6 addresses. */
#define IPS_ADDRSTRLEN 46
#define IPS_ASPECSTRLEN (2 * IPS_ADDRSTRLEN + 2)

struct ips_addr {
	int af; /* AF_INET or AF_INET6 */
	uint8_t b[16]; /* network order; IPv4 uses b[0..3] */
};

enum ips_aspec_kind {
	IPS_ASPEC_ANY,
	IPS_ASPEC_ME, /* every address of this host */
	IPS_ASPEC_DNS, /* this host's DNS servers */
	IPS_ASPEC_GATEWAY, /* this host's default gateways */
	IPS_ASPEC_HOST,
	IPS_ASPEC_PREFIX,
	IPS_ASPEC_RANGE,
};

struct ips_aspec {
	enum ips_aspec_kind kind;
	struct ips_addr lo; /* HOST: the address; PREFIX: network; RANGE */
	struct ips_addr hi; /* RANGE only: inclusive end */
	unsigned plen; /* PREFIX only */
};

/* Parse a literal IPv4 or IPv6 address. */
bool ips_addr_parse(const char *s, struct ips_addr *a);
/* Format into buf (at least IPS_ADDRSTRLEN bytes); returns buf. */
const char *ips_addr_str(const struct ips_addr *a, char *buf, size_t len);
/* "addr:port", "[addr]:port" for IPv6, or the address alone when port is
 * 0 (no UDP); buf >= IPS_ADDRSTRLEN + 8. */
const char *ips_addr_port_str(
    const struct ips_addr *a, uint16_t port, char *buf, size_t len);
/* Total order: family first, then bytes. */
int ips_addr_cmp(const struct ips_addr *a, const struct ips_addr *b);
/* 32 or 128. */
unsigned ips_addr_bits(int af);
/* Loopback, or IPv6 link-local: not a usable filter endpoint. */
bool ips_addr_is_local_only(const struct ips_addr *a);

/*
 * Parse an address specification: any, me, dns, gateway, an address, a
 * prefix (a.b.c.d/n, host bits must be zero) or a range (lo-hi, same family,
 * lo <= hi).  On failure *why (borrowed static string) says what is wrong.
 */
IPS_MUST_USE ips_res ips_aspec_parse(
    const char *s, struct ips_aspec *out, const char **why);
/* Format into buf (at least IPS_ASPECSTRLEN bytes); returns buf. */
const char *ips_aspec_str(const struct ips_aspec *sp, char *buf, size_t len);
struct ips_aspec ips_aspec_host(const struct ips_addr *a);
struct ips_aspec ips_aspec_any(void);
/* ME, DNS and GATEWAY: resolved against the host before use. */
bool ips_aspec_is_keyword(const struct ips_aspec *sp);
/* AF_INET, AF_INET6, or 0 for any and keywords. */
int ips_aspec_family(const struct ips_aspec *sp);
/* Whether a concrete spec (or any) contains a; keywords contain nothing. */
bool ips_aspec_contains(const struct ips_aspec *sp, const struct ips_addr *a);
/* Whether two concrete specs (or any) share an address; keywords share
 * nothing. */
bool ips_aspec_overlaps(const struct ips_aspec *a, const struct ips_aspec *b);
/* The prefix of length plen holding a (its host bits cleared). */
struct ips_aspec ips_aspec_prefix_of(const struct ips_addr *a, unsigned plen);
/*
 * Specificity on a 0..128 scale: how many leading address bits the spec
 * fixes (IPv4 bits count four times, so a /32 host and a /128 host rank
 * alike).  A range counts as the longest prefix that covers it.
 */
unsigned ips_aspec_specificity(const struct ips_aspec *sp);
int ips_aspec_cmp(const struct ips_aspec *a, const struct ips_aspec *b);

#endif
