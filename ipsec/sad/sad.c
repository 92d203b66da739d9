#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/grow.h"
#include "sad.h"
#include "wire/ike_wire.h"

/*
 * XXX(issue 4): a sorted array is enough for IKE's needs and the views;
 * the datapath's per-packet lookup by SPI will want a hash.
 */
struct sad_sa {
	struct sad_info info;
	uint8_t *key; /* SAD_KEY_MAX bytes in the key region */
	size_t klen;
};

struct sad {
	struct stats *stats;
	struct sad_sa *v;
	size_t n, cap;
	/* Keys: one region excluded from core dumps, a slot per SA. */
	uint8_t *keys;
	size_t key_slots;
	uint8_t *slot_used;
	struct sad_soft *soft; /* few: one per silent peer and filter */
	size_t nsoft, softcap;
};

struct sad *
sad_new(struct stats *st)
{
	struct sad *sad = calloc(1, sizeof(*sad));

	if (sad != NULL)
		sad->stats = st;
	return sad;
}

static void
wipe_slot(struct sad *sad, uint8_t *key)
{
	size_t i = (size_t)(key - sad->keys) / SAD_KEY_MAX;

	OPENSSL_cleanse(key, SAD_KEY_MAX);
	sad->slot_used[i] = 0;
}

void
sad_free(struct sad *sad)
{
	if (sad == NULL)
		return;
	if (sad->keys != NULL) {
		OPENSSL_cleanse(sad->keys, sad->key_slots * SAD_KEY_MAX);
		munmap(sad->keys, sad->key_slots * SAD_KEY_MAX);
	}
	free(sad->slot_used);
	free(sad->v);
	free(sad->soft);
	free(sad);
}

/* A free key slot, growing the region (by remapping) when full. */
static uint8_t *
key_slot(struct sad *sad)
{
	size_t ncap;
	uint8_t *nk, *nu;

	for (size_t i = 0; i < sad->key_slots; i++)
		if (!sad->slot_used[i]) {
			sad->slot_used[i] = 1;
			return sad->keys + i * SAD_KEY_MAX;
		}
	ncap = sad->key_slots ? sad->key_slots * 2 : 64;
	nk = mmap(NULL, ncap * SAD_KEY_MAX, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nk == MAP_FAILED)
		return NULL;
	(void)madvise(nk, ncap * SAD_KEY_MAX, MADV_DONTDUMP);
	if ((nu = calloc(ncap, 1)) == NULL) {
		munmap(nk, ncap * SAD_KEY_MAX);
		return NULL;
	}
	if (sad->keys != NULL) {
		memcpy(nk, sad->keys, sad->key_slots * SAD_KEY_MAX);
		memcpy(nu, sad->slot_used, sad->key_slots);
		/* re-point every SA at the new region */
		for (size_t i = 0; i < sad->n; i++)
			if (sad->v[i].key != NULL)
				sad->v[i].key =
				    nk + (sad->v[i].key - sad->keys);
		OPENSSL_cleanse(sad->keys, sad->key_slots * SAD_KEY_MAX);
		munmap(sad->keys, sad->key_slots * SAD_KEY_MAX);
	}
	free(sad->slot_used);
	sad->keys = nk;
	sad->slot_used = nu;
	nu[sad->key_slots] = 1;
	nk += sad->key_slots * SAD_KEY_MAX;
	sad->key_slots = ncap;
	return nk;
}

static struct sad_sa *
find(const struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	for (size_t i = 0; i < sad->n; i++)
		if (sad->v[i].info.spi == spi && sad->v[i].info.dir == dir)
			return &sad->v[i];
	return NULL;
}

static struct sad_sa *
add(struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	if (sad->n == sad->cap) {
		size_t ncap = sad->cap ? sad->cap * 2 : 16;
		struct sad_sa *nv = realloc(sad->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		sad->v = nv;
		sad->cap = ncap;
	}
	memset(&sad->v[sad->n], 0, sizeof(sad->v[0]));
	sad->v[sad->n].info.spi = spi;
	sad->v[sad->n].info.dir = dir;
	return &sad->v[sad->n++];
}

ips_res
sad_get_spi(struct sad *sad, uint32_t *spi, uint64_t now_ms)
{
	struct sad_sa *sa;
	uint32_t s = 0;

	/* RFC 4303 2.1: 1..255 are reserved; 0 means none. */
	for (int tries = 0; tries < 16; tries++) {
		if (RAND_bytes((unsigned char *)&s, sizeof(s)) != 1)
			break;
		if (s > 255 && find(sad, SAD_INBOUND, s) == NULL)
			break;
		s = 0;
	}
	if (s == 0 || (sa = add(sad, SAD_INBOUND, s)) == NULL) {
		stats_on_get_spi(sad->stats, false);
		BAIL(NOMEM);
	}
	stats_on_get_spi(sad->stats, true);
	sa->info.state = SAD_LARVAL;
	sa->info.created_ms = now_ms;
	*spi = s;
	return IPS_OK;
}

static ips_res
key_sa(struct sad *sad, struct sad_sa *sa, const struct sad_params *p,
    const uint8_t *key, size_t klen, uint32_t pair_spi, uint64_t now_ms)
{
	ENSURE(klen <= SAD_KEY_MAX, INVAL);
	if (sa->key == NULL && (sa->key = key_slot(sad)) == NULL)
		BAIL(NOMEM);
	memcpy(sa->key, key, klen);
	sa->klen = klen;
	sa->info.p = *p;
	sa->info.pair_spi = pair_spi;
	sa->info.state = SAD_MATURE;
	sa->info.created_ms = now_ms;
	return IPS_OK;
}

ips_res
sad_update_inbound(struct sad *sad, uint32_t spi, const struct sad_params *p,
    const uint8_t *key, size_t klen, uint32_t pair_spi, uint64_t now_ms)
{
	struct sad_sa *sa = find(sad, SAD_INBOUND, spi);
	ips_res r = IPS_ERR(NOTFOUND);

	if (sa != NULL && sa->info.state == SAD_LARVAL)
		r = key_sa(sad, sa, p, key, klen, pair_spi, now_ms);
	stats_on_sa_install(sad->stats, STATS_INBOUND, ips_ok(r));
	return r;
}

ips_res
sad_add_outbound(struct sad *sad, uint32_t spi, const struct sad_params *p,
    const uint8_t *key, size_t klen, uint32_t pair_spi, uint64_t now_ms)
{
	struct sad_sa *sa;
	ips_res r;

	if (find(sad, SAD_OUTBOUND, spi) != NULL)
		r = IPS_ERR(EXISTS);
	else if ((sa = add(sad, SAD_OUTBOUND, spi)) == NULL)
		r = IPS_ERR(NOMEM);
	else if (!ips_ok(r = key_sa(sad, sa, p, key, klen, pair_spi, now_ms)))
		sad->n--; /* undo add() */
	stats_on_sa_install(sad->stats, STATS_OUTBOUND, ips_ok(r));
	return r;
}

ips_res
sad_delete(struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	struct sad_sa *sa = find(sad, dir, spi);
	size_t i;

	ENSURE(sa != NULL, NOTFOUND);
	if (sa->info.state == SAD_MATURE)
		stats_on_sa_deleted(sad->stats);
	if (sa->key != NULL)
		wipe_slot(sad, sa->key);
	i = (size_t)(sa - sad->v);
	memmove(&sad->v[i], &sad->v[i + 1], (sad->n - i - 1) * sizeof(*sa));
	sad->n--;
	return IPS_OK;
}

size_t
sad_count(const struct sad *sad)
{
	return sad->n;
}

size_t
sad_active(const struct sad *sad)
{
	size_t k = 0;

	for (size_t i = 0; i < sad->n; i++)
		k += sad->v[i].info.state == SAD_MATURE;
	return k;
}

size_t
sad_tunnels(const struct sad *sad)
{
	size_t k = 0;

	/* A pair is counted once, at its outbound half. */
	for (size_t i = 0; i < sad->n; i++) {
		const struct sad_info *s = &sad->v[i].info;

		k += s->state == SAD_MATURE && s->dir == SAD_OUTBOUND &&
		    (s->p.encap == IPSEC_ENCAP_TUNNEL ||
			s->p.encap == IPSEC_ENCAP_UDP_TUNNEL ||
			s->p.encap == IPSEC_ENCAP_UDP_TUNNEL_DRAFT);
	}
	return k;
}

size_t
sad_larval(const struct sad *sad)
{
	return sad->n - sad_active(sad);
}

size_t
sad_list(const struct sad *sad, struct sad_info *out, size_t max)
{
	for (size_t i = 0; i < sad->n && i < max; i++)
		out[i] = sad->v[i].info;
	return sad->n;
}

void
sad_mark_rekeyed(struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	struct sad_sa *sa = find(sad, dir, spi);

	if (sa != NULL)
		sa->info.rekeyed = true;
}

bool
sad_get(
    const struct sad *sad, enum sad_dir dir, uint32_t spi, struct sad_info *out)
{
	const struct sad_sa *sa = find(sad, dir, spi);

	if (sa != NULL)
		*out = sa->info;
	return sa != NULL;
}

const uint8_t *
sad_key(const struct sad *sad, enum sad_dir dir, uint32_t spi, size_t *klen)
{
	const struct sad_sa *sa = find(sad, dir, spi);

	if (sa == NULL || sa->key == NULL)
		return NULL;
	*klen = sa->klen;
	return sa->key;
}

bool
sad_on_packet(struct sad *sad, enum sad_dir dir, uint32_t spi, size_t len,
    uint64_t now_ms)
{
	struct sad_sa *sa = find(sad, dir, spi);

	if (sa == NULL || sa->info.state != SAD_MATURE)
		return false;
	sa->info.bytes += len;
	sa->info.packets++;
	sa->info.last_use_ms = now_ms;
	return true;
}

bool
sad_any(const struct sad *sad,
    bool (*fn)(const struct sad_info *row, const void *arg), const void *arg)
{
	for (size_t i = 0; i < sad->n; i++)
		if (fn(&sad->v[i].info, arg))
			return true;
	return false;
}

/* ---- soft SAs ------------------------------------------------------------ */

static bool
same_soft(const struct sad_soft *a, const struct sad_soft *b)
{
	return strcmp(a->rule, b->rule) == 0 &&
	    ips_addr_cmp(&a->remote, &b->remote) == 0 &&
	    ips_aspec_cmp(&a->src, &b->src) == 0 &&
	    ips_aspec_cmp(&a->dst, &b->dst) == 0 && a->proto == b->proto &&
	    a->sport == b->sport && a->dport == b->dport;
}

ips_res
sad_add_soft(struct sad *sad, const struct sad_soft *s)
{
	struct sad_soft *nv;

	for (size_t i = 0; i < sad->nsoft; i++)
		if (same_soft(&sad->soft[i], s)) {
			sad->soft[i].expires_ms = s->expires_ms;
			return IPS_OK;
		}
	nv = ips_grow(sad->soft, sad->nsoft, &sad->softcap, sizeof(*nv));
	ENSURE(nv != NULL, NOMEM);
	sad->soft = nv;
	sad->soft[sad->nsoft++] = *s;
	return IPS_OK;
}

bool
sad_soft_covers(const struct sad *sad, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t proto, uint16_t sport, uint16_t dport,
    uint64_t now_ms)
{
	for (size_t i = 0; i < sad->nsoft; i++) {
		const struct sad_soft *s = &sad->soft[i];

		if (now_ms < s->expires_ms &&
		    ips_aspec_contains(&s->src, src) &&
		    ips_aspec_contains(&s->dst, dst) &&
		    (s->proto == 0 || s->proto == proto) &&
		    (s->sport == 0 || s->sport == sport) &&
		    (s->dport == 0 || s->dport == dport))
			return true;
	}
	return false;
}

/* Keep the entries keep() says yes to, in order; returns how many went. */
static size_t
soft_filter(struct sad *sad,
    bool (*keep)(const struct sad_soft *, const void *), const void *arg)
{
	size_t j = 0, n = sad->nsoft;

	for (size_t i = 0; i < n; i++)
		if (keep(&sad->soft[i], arg))
			sad->soft[j++] = sad->soft[i];
	sad->nsoft = j;
	return n - j;
}

struct soft_owner {
	const char *rule;
	const struct ips_addr *remote;
};

static bool
not_owned(const struct sad_soft *s, const void *arg)
{
	const struct soft_owner *o = arg;

	return strcmp(s->rule, o->rule) != 0 ||
	    ips_addr_cmp(&s->remote, o->remote) != 0;
}

size_t
sad_soft_replace(
    struct sad *sad, const char *rule, const struct ips_addr *remote)
{
	const struct soft_owner o = {rule, remote};

	return soft_filter(sad, not_owned, &o);
}

static bool
alive(const struct sad_soft *s, const void *arg)
{
	return s->expires_ms > *(const uint64_t *)arg;
}

void
sad_soft_expire(struct sad *sad, uint64_t now_ms)
{
	(void)soft_filter(sad, alive, &now_ms);
}

size_t
sad_soft_list(const struct sad *sad, struct sad_soft *out, size_t max)
{
	for (size_t i = 0; i < sad->nsoft && i < max; i++)
		out[i] = sad->soft[i];
	return sad->nsoft;
}
