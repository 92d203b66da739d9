#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/grow.h"
#include "hostenv.h"

struct addr_vec {
	struct ips_addr *v;
	size_t n, cap;
};

struct hostenv {
	struct addr_vec set[HOSTENV_NSETS];
};

struct hostenv *
hostenv_new(void)
{
	return calloc(1, sizeof(struct hostenv));
}

void
hostenv_free(struct hostenv *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < HOSTENV_NSETS; i++)
		free(h->set[i].v);
	free(h);
}

ips_res
hostenv_add(struct hostenv *h, enum hostenv_set set, const struct ips_addr *a)
{
	struct addr_vec *av = &h->set[set];
	struct ips_addr *nv;
	size_t lo = 0, hi = av->n;

	while (lo < hi) { /* insertion point, keeping the set sorted */
		size_t mid = lo + (hi - lo) / 2;
		int c = ips_addr_cmp(&av->v[mid], a);

		if (c == 0)
			return IPS_OK;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	nv = ips_grow(av->v, av->n, &av->cap, sizeof(*nv));
	ENSURE(nv != NULL, NOMEM);
	av->v = nv;
	memmove(&av->v[lo + 1], &av->v[lo], (av->n - lo) * sizeof(*av->v));
	av->v[lo] = *a;
	av->n++;
	return IPS_OK;
}

size_t
hostenv_count(const struct hostenv *h, enum hostenv_set set)
{
	return h->set[set].n;
}

const struct ips_addr *
hostenv_get(const struct hostenv *h, enum hostenv_set set, size_t i)
{
	return i < h->set[set].n ? &h->set[set].v[i] : NULL;
}

bool
hostenv_contains(
    const struct hostenv *h, enum hostenv_set set, const struct ips_addr *a)
{
	const struct addr_vec *av = &h->set[set];

	for (size_t i = 0; i < av->n; i++)
		if (ips_addr_cmp(&av->v[i], a) == 0)
			return true;
	return false;
}

bool
hostenv_equal(const struct hostenv *a, const struct hostenv *b)
{
	for (int s = 0; s < HOSTENV_NSETS; s++) {
		if (a->set[s].n != b->set[s].n)
			return false;
		for (size_t i = 0; i < a->set[s].n; i++)
			if (ips_addr_cmp(&a->set[s].v[i], &b->set[s].v[i]))
				return false;
	}
	return true;
}

static ips_res
load_interfaces(struct hostenv *h)
{
	struct ifaddrs *ifa, *i;
	ips_res r = IPS_OK;

	ENSURE(getifaddrs(&ifa) == 0, IO);
	for (i = ifa; i != NULL && ips_ok(r); i = i->ifa_next) {
		struct ips_addr a;

		if (i->ifa_addr == NULL)
			continue;
		memset(&a, 0, sizeof(a));
		if (i->ifa_addr->sa_family == AF_INET) {
			a.af = AF_INET;
			memcpy(a.b,
			    &((struct sockaddr_in *)(void *)i->ifa_addr)
				 ->sin_addr,
			    4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a.af = AF_INET6;
			memcpy(a.b,
			    &((struct sockaddr_in6 *)(void *)i->ifa_addr)
				 ->sin6_addr,
			    16);
		} else {
			continue;
		}
		if (!ips_addr_is_local_only(&a))
			r = hostenv_add(h, HOSTENV_LOCAL, &a);
	}
	freeifaddrs(ifa);
	return r;
}

static ips_res
load_dns(struct hostenv *h)
{
	char line[512], word[32], addr[128];
	FILE *f = fopen("/etc/resolv.conf", "re");
	ips_res r = IPS_OK;

	if (f == NULL)
		return IPS_OK;
	while (ips_ok(r) && fgets(line, sizeof(line), f) != NULL) {
		struct ips_addr a;
		char *pct;

		if (sscanf(line, "%31s %127s", word, addr) != 2 ||
		    strcmp(word, "nameserver") != 0)
			continue;
		if ((pct = strchr(addr, '%')) != NULL) /* fe80::1%eth0 */
			*pct = '\0';
		if (ips_addr_parse(addr, &a))
			r = hostenv_add(h, HOSTENV_DNS, &a);
	}
	fclose(f);
	return r;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static ips_res
load_gateways(struct hostenv *h)
{
	char line[512], ifname[64], dst[64], gw[64], next_hop[64];
	unsigned flags, plen;
	FILE *f;
	ips_res r = IPS_OK;

	/* IPv4: destination, gateway and mask in host order hex. */
	if ((f = fopen("/proc/net/route", "re")) != NULL) {
		while (ips_ok(r) && fgets(line, sizeof(line), f) != NULL) {
			unsigned long d, g;
			struct ips_addr a;

			if (sscanf(line, "%63s %63s %63s %x", ifname, dst, gw,
				&flags) != 4)
				continue;
			d = strtoul(dst, NULL, 16);
			g = strtoul(gw, NULL, 16);
			if (d != 0 || g == 0 ||
			    !(flags & 0x2)) /* RTF_GATEWAY */
				continue;
			memset(&a, 0, sizeof(a));
			a.af = AF_INET;
			/* The kernel prints the in-memory (network) order. */
			memcpy(a.b, &(uint32_t){(uint32_t)g}, 4);
			r = hostenv_add(h, HOSTENV_GATEWAY, &a);
		}
		fclose(f);
	}
	/* IPv6: dest plen src splen next_hop ... as 32 hex digits. */
	if ((f = fopen("/proc/net/ipv6_route", "re")) != NULL) {
		while (ips_ok(r) && fgets(line, sizeof(line), f) != NULL) {
			struct ips_addr a;
			bool zero = true;

			if (sscanf(line, "%63s %x %*s %*s %63s", dst, &plen,
				next_hop) != 3 ||
			    plen != 0 || strlen(next_hop) != 32 ||
			    strspn(dst, "0") != 32)
				continue;
			memset(&a, 0, sizeof(a));
			a.af = AF_INET6;
			for (int i = 0; i < 16; i++) {
				int hi = hexval(next_hop[2 * i]);
				int lo = hexval(next_hop[2 * i + 1]);

				if (hi < 0 || lo < 0)
					break;
				a.b[i] = (uint8_t)(hi << 4 | lo);
				zero = zero && a.b[i] == 0;
			}
			if (!zero)
				r = hostenv_add(h, HOSTENV_GATEWAY, &a);
		}
		fclose(f);
	}
	return r;
}

ips_res
hostenv_load_system(struct hostenv *h)
{
	GUARD(load_interfaces(h));
	GUARD(load_dns(h));
	return load_gateways(h);
}
