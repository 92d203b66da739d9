#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/grow.h"
#include "esp/ah.h"
#include "esp/esp.h"
#include "esp/replay.h"
#include "sad.h"
#include "wire/ike_wire.h"

/*
 * The SAs are separately allocated, so the datapath may hold one for the
 * length of a packet; an array lists them (unordered: a delete moves the
 * last into the hole) and an open-addressing table finds one by direction
 * and SPI in constant time, which is what every inbound packet needs.
 */
struct sad_sa {
	struct sad_info info;
	uint8_t *key; /* SAD_KEY_MAX bytes in the key region */
	size_t klen;
	size_t at; /* its index in sad->v */
	struct esp_sa *esp; /* ESP, once keyed: the packet crypto */
	struct ah_sa *ah; /* or AH */
	struct replay replay; /* inbound */
};

#define TOMB ((struct sad_sa *)&tomb_marker)
static const char tomb_marker;

/*
 * The outbound lookup's memory: what sad_outbound_for last found for a
 * flow (an SA or none), valid while no outbound SA has come or gone since
 * (gen).  Direct-mapped, so a busy flow costs one hash and one compare
 * instead of a walk over every SA.
 */
#define FLOW_SLOTS 1024 /* a power of two */

struct flow_slot {
	uint64_t gen; /* sad->gen when filled; 0: empty */
	struct ips_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	struct sad_sa *sa; /* NULL: no SA covers it */
};

struct sad {
	struct stats *stats;
	uint64_t gen; /* moves whenever an outbound SA is keyed or goes */
	/* Inbound SPIs in order, for the MIB's SA table: a GETNEXT is a
	 * binary search, never a walk (sad_next_pair). */
	uint32_t *in_spis;
	size_t nin, incap;
	struct flow_slot flows[FLOW_SLOTS];
	struct sad_sa **v;
	size_t n, cap;
	struct sad_sa **tab; /* NULL empty, TOMB deleted */
	size_t tcap, tused; /* a power of two; live + tombstones */
	/* Keys: one region excluded from core dumps, a slot per SA. */
	uint8_t *keys;
	size_t key_slots;
	size_t *free_slots; /* a stack of unused slot numbers */
	size_t nfree;
	struct sad_soft *soft; /* few: one per silent peer and filter */
	size_t nsoft, softcap; /* in index order: appended, filtered in order */
	uint32_t next_soft;
	bool soft_due; /* an SA passed 90% of its volume since last asked */
};

struct sad *
sad_new(struct stats *st)
{
	struct sad *sad = calloc(1, sizeof(*sad));

	if (sad != NULL) {
		sad->stats = st;
		sad->gen = 1;
	}
	return sad;
}

static void
wipe_slot(struct sad *sad, uint8_t *key)
{
	OPENSSL_cleanse(key, SAD_KEY_MAX);
	sad->free_slots[sad->nfree++] = (size_t)(key - sad->keys) / SAD_KEY_MAX;
}

static void
sa_free(struct sad_sa *sa)
{
	esp_sa_free(sa->esp);
	ah_sa_free(sa->ah);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

void
sad_free(struct sad *sad)
{
	if (sad == NULL)
		return;
	for (size_t i = 0; i < sad->n; i++)
		sa_free(sad->v[i]);
	if (sad->keys != NULL) {
		OPENSSL_cleanse(sad->keys, sad->key_slots * SAD_KEY_MAX);
		munmap(sad->keys, sad->key_slots * SAD_KEY_MAX);
	}
	free(sad->free_slots);
	free(sad->in_spis);
	free(sad->v);
	free(sad->tab);
	free(sad->soft);
	free(sad);
}

/* A free key slot, growing the region (by remapping) when none is left. */
static uint8_t *
key_slot(struct sad *sad)
{
	size_t ncap, *nf;
	uint8_t *nk;

	if (sad->nfree > 0)
		return sad->keys + sad->free_slots[--sad->nfree] * SAD_KEY_MAX;
	ncap = sad->key_slots ? sad->key_slots * 2 : 64;
	nk = mmap(NULL, ncap * SAD_KEY_MAX, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nk == MAP_FAILED)
		return NULL;
	(void)madvise(nk, ncap * SAD_KEY_MAX, MADV_DONTDUMP);
	if ((nf = realloc(sad->free_slots, ncap * sizeof(*nf))) == NULL) {
		munmap(nk, ncap * SAD_KEY_MAX);
		return NULL;
	}
	sad->free_slots = nf;
	if (sad->keys != NULL) {
		memcpy(nk, sad->keys, sad->key_slots * SAD_KEY_MAX);
		/* re-point every SA at the new region */
		for (size_t i = 0; i < sad->n; i++)
			if (sad->v[i]->key != NULL)
				sad->v[i]->key =
				    nk + (sad->v[i]->key - sad->keys);
		OPENSSL_cleanse(sad->keys, sad->key_slots * SAD_KEY_MAX);
		munmap(sad->keys, sad->key_slots * SAD_KEY_MAX);
	}
	/* the new slots, all free but the one handed out now */
	for (size_t i = ncap; i-- > sad->key_slots + 1;)
		sad->free_slots[sad->nfree++] = i;
	sad->keys = nk;
	nk += sad->key_slots * SAD_KEY_MAX;
	sad->key_slots = ncap;
	return nk;
}

/* ---- the index by direction and SPI -------------------------------------- */

static size_t
slot_of(const struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	/* SPIs are random (ours) or the peer's choice: mix them anyway,
	 * so a peer's sequential SPIs do not cluster */
	uint64_t h = ((uint64_t)spi << 1 | (uint64_t)dir) * 0x9e3779b97f4a7c15u;

	return (size_t)(h >> 32) & (sad->tcap - 1);
}

static struct sad_sa *
find(const struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	if (sad->tcap == 0)
		return NULL;
	for (size_t i = slot_of(sad, dir, spi);;
	     i = (i + 1) & (sad->tcap - 1)) {
		struct sad_sa *sa = sad->tab[i];

		if (sa == NULL)
			return NULL;
		if (sa != TOMB && sa->info.spi == spi && sa->info.dir == dir)
			return sa;
	}
}

static void
tab_put(struct sad *sad, struct sad_sa *sa)
{
	size_t i = slot_of(sad, sa->info.dir, sa->info.spi);

	while (sad->tab[i] != NULL && sad->tab[i] != TOMB)
		i = (i + 1) & (sad->tcap - 1);
	if (sad->tab[i] == NULL)
		sad->tused++;
	sad->tab[i] = sa;
}

/* Room for one more entry at a load of at most a half, tombstones
 * counted; rebuilt without them when it grows. */
static bool
tab_reserve(struct sad *sad)
{
	struct sad_sa **nt;
	size_t ncap;

	if (sad->tused + 1 <= sad->tcap / 2)
		return true;
	ncap = sad->tcap ? sad->tcap : 64;
	while ((sad->n + 1) * 2 > ncap)
		ncap *= 2;
	if ((nt = calloc(ncap, sizeof(*nt))) == NULL)
		return false;
	free(sad->tab);
	sad->tab = nt;
	sad->tcap = ncap;
	sad->tused = 0;
	for (size_t i = 0; i < sad->n; i++)
		tab_put(sad, sad->v[i]);
	return true;
}

static void
tab_remove(struct sad *sad, const struct sad_sa *sa)
{
	for (size_t i = slot_of(sad, sa->info.dir, sa->info.spi);;
	     i = (i + 1) & (sad->tcap - 1))
		if (sad->tab[i] == sa) {
			sad->tab[i] = TOMB;
			return;
		}
}

/* How many inbound SPIs are below spi: where it is, or would go. */
static size_t
spi_rank(const struct sad *sad, uint32_t spi)
{
	size_t lo = 0, hi = sad->nin;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sad->in_spis[mid] < spi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct sad_sa *
add(struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	struct sad_sa *sa;

	if (sad->n == sad->cap) {
		size_t ncap = sad->cap ? sad->cap * 2 : 16;
		struct sad_sa **nv = realloc(sad->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		sad->v = nv;
		sad->cap = ncap;
	}
	if (dir == SAD_INBOUND && sad->nin == sad->incap) {
		size_t ncap = sad->incap ? sad->incap * 2 : 64;
		uint32_t *ns = realloc(sad->in_spis, ncap * sizeof(*ns));

		if (ns == NULL)
			return NULL;
		sad->in_spis = ns;
		sad->incap = ncap;
	}
	if (!tab_reserve(sad) || (sa = calloc(1, sizeof(*sa))) == NULL)
		return NULL;
	if (dir == SAD_INBOUND) {
		size_t at = spi_rank(sad, spi);

		memmove(sad->in_spis + at + 1, sad->in_spis + at,
		    (sad->nin - at) * sizeof(*sad->in_spis));
		sad->in_spis[at] = spi;
		sad->nin++;
	}
	sa->info.spi = spi;
	sa->info.dir = dir;
	sa->at = sad->n;
	sad->v[sad->n++] = sa;
	tab_put(sad, sa);
	return sa;
}

/* Out of the index and the list; the caller frees it. */
static void
unlink_sa(struct sad *sad, struct sad_sa *sa)
{
	tab_remove(sad, sa);
	sad->gen++;
	if (sa->info.dir == SAD_INBOUND) {
		size_t at = spi_rank(sad, sa->info.spi);

		if (at < sad->nin && sad->in_spis[at] == sa->info.spi) {
			memmove(sad->in_spis + at, sad->in_spis + at + 1,
			    (sad->nin - at - 1) * sizeof(*sad->in_spis));
			sad->nin--;
		}
	}
	sad->v[sa->at] = sad->v[--sad->n];
	sad->v[sa->at]->at = sa->at;
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

/* The packet crypto of an ESP or AH SA, made once, here. */
static ips_res
crypto_for(struct sad_sa *sa, const struct sad_params *p, const uint8_t *key,
    size_t klen)
{
	const struct esp_alg alg = {p->transform, p->keybits, p->auth, p->esn};

	if (p->proto == ISAKMP_PROTO_ESP)
		GUARD(esp_sa_new(&alg, sa->info.dir == SAD_OUTBOUND,
		    sa->info.spi, key, klen, &sa->esp));
	else if (p->proto == ISAKMP_PROTO_AH)
		GUARD(ah_sa_new(
		    p->auth, p->esn, sa->info.spi, key, klen, &sa->ah));
	else
		return IPS_OK;
	return replay_init(&sa->replay, p->replay_window, p->esn);
}

static ips_res
key_sa(struct sad *sad, struct sad_sa *sa, const struct sad_params *p,
    const uint8_t *key, size_t klen, uint32_t pair_spi, uint64_t now_ms)
{
	ENSURE(klen <= SAD_KEY_MAX, INVAL);
	GUARD(crypto_for(sa, p, key, klen));
	if (sa->key == NULL && (sa->key = key_slot(sad)) == NULL) {
		esp_sa_free(sa->esp);
		ah_sa_free(sa->ah);
		sa->esp = NULL;
		sa->ah = NULL;
		BAIL(NOMEM);
	}
	memcpy(sa->key, key, klen);
	sa->klen = klen;
	sa->info.p = *p;
	sa->info.pair_spi = pair_spi;
	sa->info.state = SAD_MATURE;
	sa->info.created_ms = now_ms;
	sad->gen++;
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
	struct sad_sa *sa = NULL;
	ips_res r;

	if (find(sad, SAD_OUTBOUND, spi) != NULL)
		r = IPS_ERR(EXISTS);
	else if ((sa = add(sad, SAD_OUTBOUND, spi)) == NULL)
		r = IPS_ERR(NOMEM);
	else if (!ips_ok(r = key_sa(sad, sa, p, key, klen, pair_spi, now_ms))) {
		unlink_sa(sad, sa); /* undo add() */
		sa_free(sa);
	}
	stats_on_sa_install(sad->stats, STATS_OUTBOUND, ips_ok(r));
	return r;
}

ips_res
sad_delete(struct sad *sad, enum sad_dir dir, uint32_t spi)
{
	struct sad_sa *sa = find(sad, dir, spi);

	ENSURE(sa != NULL, NOTFOUND);
	if (sa->info.state == SAD_MATURE)
		stats_on_sa_deleted(sad->stats);
	if (sa->key != NULL)
		wipe_slot(sad, sa->key);
	unlink_sa(sad, sa);
	sa_free(sa);
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
		k += sad->v[i]->info.state == SAD_MATURE;
	return k;
}

size_t
sad_tunnels(const struct sad *sad)
{
	size_t k = 0;

	/* A pair is counted once, at its outbound half. */
	for (size_t i = 0; i < sad->n; i++) {
		const struct sad_info *s = &sad->v[i]->info;

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
		out[i] = sad->v[i]->info;
	return sad->n;
}

size_t
sad_mark_replaced(struct sad *sad,
    bool (*fn)(const struct sad_info *row, const void *arg), const void *arg,
    uint32_t except, uint64_t now_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < sad->n; i++) {
		struct sad_sa *o = sad->v[i], *in;

		if (o->info.dir != SAD_OUTBOUND || o->info.spi == except ||
		    o->info.replaced_ms != 0 || !fn(&o->info, arg))
			continue;
		o->info.replaced_ms = now_ms ? now_ms : 1;
		if ((in = find(sad, SAD_INBOUND, o->info.pair_spi)) != NULL)
			in->info.replaced_ms = o->info.replaced_ms;
		k++;
	}
	return k;
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

/*
 * The one place an SA's traffic counters move.  The first packet that
 * takes an SA past 90% of its volume lifetime raises sad->soft_due, so
 * the datapath can have IKE rekey now rather than at its next tick: at
 * line rate a tick carries more than the last 10%.
 */
static void
count(struct sad *sad, struct sad_sa *sa, size_t len, uint64_t now_ms)
{
	uint64_t soft = sad_life_bytes(&sa->info.p) / 10 * 9;

	if (soft != 0 && sa->info.bytes < soft && sa->info.bytes + len >= soft)
		sad->soft_due = true;
	sa->info.bytes += len;
	sa->info.packets++;
	sa->info.last_use_ms = now_ms;
}

bool
sad_take_soft_due(struct sad *sad)
{
	bool due = sad->soft_due;

	sad->soft_due = false;
	return due;
}

bool
sad_on_packet(struct sad *sad, enum sad_dir dir, uint32_t spi, size_t len,
    uint64_t now_ms)
{
	struct sad_sa *sa = find(sad, dir, spi);

	if (sa == NULL || sa->info.state != SAD_MATURE)
		return false;
	count(sad, sa, len, now_ms);
	return true;
}

/* ---- ESP packets (the datapath, esp/datapath.c) ----------------------- */

static struct stats_sa_kind
kind_of(const struct sad_sa *sa)
{
	const struct sad_params *p = &sa->info.p;
	struct stats_sa_kind k = {sa->esp != NULL && esp_encrypts(sa->esp),
	    true,
	    p->encap == IPSEC_ENCAP_TUNNEL ||
		p->encap == IPSEC_ENCAP_UDP_TUNNEL ||
		p->encap == IPSEC_ENCAP_UDP_TUNNEL_DRAFT,
	    false};

	return k;
}

/* An inbound ESP or AH packet: RFC 4303 3.4 and RFC 4302 3.4 alike. */
static enum sad_rx
open_on(struct sad *sad, bool ah, const uint8_t *pkt, size_t len,
    struct wbuf *out, uint8_t *next_header, struct sad_info *row,
    uint64_t now_ms)
{
	struct stats_sa_kind k;
	struct sad_sa *sa;
	uint32_t spi, lo;
	uint64_t seq;
	size_t start = out->len;
	ips_res r;

	if (!ips_ok(ah ? ah_peek(pkt, len, &spi, &lo)
		       : esp_peek(pkt, len, &spi, &lo)))
		return SAD_RX_SHORT;
	sa = find(sad, SAD_INBOUND, spi);
	if (sa == NULL || (ah ? sa->ah == NULL : sa->esp == NULL)) {
		stats_on_bad_spi(sad->stats);
		return SAD_RX_BAD_SPI;
	}
	/* Past its hard byte lifetime an inbound SA still opens what the
	 * peer sent before its side of the rekey finished: IKE deletes the
	 * pair at its next look (hastened by soft_due), and dropping here
	 * would lose packets the overlap exists to keep. */
	/* the window first (cheap), recorded only once the ICV has
	 * verified: RFC 4303 3.4.3, RFC 4302 3.4.3 */
	seq = replay_infer(&sa->replay, lo);
	if (!replay_check(&sa->replay, seq)) {
		sa->info.replay_drops++;
		stats_on_replay(sad->stats);
		return SAD_RX_REPLAY;
	}
	r = ah ? ah_open(sa->ah, seq, pkt, len, out, next_header)
	       : esp_open(sa->esp, seq, pkt, len, out, next_header);
	if (r.err == IPS_E_ESP_ICV) {
		sa->info.icv_failures++;
		stats_on_icv_failed(sad->stats);
		return SAD_RX_ICV;
	}
	if (!ips_ok(r)) {
		stats_on_decrypt_failed(sad->stats);
		return r.err == IPS_E_SHORT ? SAD_RX_SHORT : SAD_RX_DECRYPT;
	}
	replay_accept(&sa->replay, seq);
	count(sad, sa, out->len - start, now_ms);
	k = kind_of(sa);
	stats_on_packet(sad->stats, STATS_INBOUND, &k, out->len - start);
	*row = sa->info;
	return SAD_RX_OK;
}

enum sad_rx
sad_esp_open(struct sad *sad, const uint8_t *pkt, size_t len, struct wbuf *out,
    uint8_t *next_header, struct sad_info *row, uint64_t now_ms)
{
	return open_on(sad, false, pkt, len, out, next_header, row, now_ms);
}

enum sad_rx
sad_ah_open(struct sad *sad, const uint8_t *pkt, size_t len, struct wbuf *out,
    uint8_t *next_header, struct sad_info *row, uint64_t now_ms)
{
	return open_on(sad, true, pkt, len, out, next_header, row, now_ms);
}

/* An outbound packet on an ESP or AH SA: its next sequence number. */
static ips_res
seal_on(struct sad *sad, bool ah, uint32_t spi, uint8_t next_header,
    const uint8_t *payload, size_t len, struct wbuf *out, uint64_t now_ms)
{
	struct sad_sa *sa = find(sad, SAD_OUTBOUND, spi);
	struct stats_sa_kind k;

	ENSURE(sa != NULL && (ah ? sa->ah != NULL : sa->esp != NULL), NOTFOUND);
	/* RFC 4301 4.4.2.1: past its hard byte lifetime the SA carries no
	 * more; IKE deletes it at its next look, which this hastens */
	if (sad_life_bytes(&sa->info.p) != 0 &&
	    sa->info.bytes >= sad_life_bytes(&sa->info.p)) {
		sad->soft_due = true;
		BAIL(TOOBIG);
	}
	/* RFC 4303 3.3.3, RFC 4302 3.3.2: the counter never cycles; the
	 * SA must be replaced first (IKE rekeys at SAD_SEQ_SOFT) */
	ENSURE(
	    sa->info.seq < (sa->info.p.esn ? UINT64_MAX : UINT32_MAX), TOOBIG);
	GUARD(ah ? ah_seal(sa->ah, sa->info.seq + 1, &sa->info.p.local,
		       &sa->info.p.remote, next_header, payload, len, out)
		 : esp_seal(sa->esp, sa->info.seq + 1, next_header, payload,
		       len, out));
	if (++sa->info.seq == SAD_SEQ_SOFT && !sa->info.p.esn)
		sad->soft_due = true;
	count(sad, sa, len, now_ms);
	k = kind_of(sa);
	stats_on_packet(sad->stats, STATS_OUTBOUND, &k, len);
	return IPS_OK;
}

ips_res
sad_esp_seal(struct sad *sad, uint32_t spi, uint8_t next_header,
    const uint8_t *payload, size_t len, struct wbuf *out, uint64_t now_ms)
{
	return seal_on(sad, false, spi, next_header, payload, len, out, now_ms);
}

ips_res
sad_ah_seal(struct sad *sad, uint32_t spi, uint8_t next_header,
    const uint8_t *payload, size_t len, struct wbuf *out, uint64_t now_ms)
{
	return seal_on(sad, true, spi, next_header, payload, len, out, now_ms);
}

ips_res
sad_skip_seq(struct sad *sad, uint32_t spi, uint64_t seq)
{
	struct sad_sa *sa = find(sad, SAD_OUTBOUND, spi);

	ENSURE(sa != NULL && seq >= sa->info.seq && seq <= UINT32_MAX, INVAL);
	if (!sa->info.p.esn && sa->info.seq < SAD_SEQ_SOFT &&
	    seq >= SAD_SEQ_SOFT)
		sad->soft_due = true;
	sa->info.seq = seq;
	return IPS_OK;
}

static bool
same_flow(const struct flow_slot *f, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	return f->proto == proto && f->sport == sport && f->dport == dport &&
	    ips_addr_cmp(&f->src, src) == 0 && ips_addr_cmp(&f->dst, dst) == 0;
}

static size_t
flow_hash(const struct ips_addr *src, const struct ips_addr *dst, uint8_t proto,
    uint16_t sport, uint16_t dport)
{
	size_t alen = src->af == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < alen; i++)
		h = (h ^ src->b[i]) * 16777619u;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ dst->b[i]) * 16777619u;
	h = (h ^ proto) * 16777619u;
	h = (h ^ sport) * 16777619u;
	h = (h ^ dport) * 16777619u;
	return h & (FLOW_SLOTS - 1);
}

bool
sad_outbound_for(struct sad *sad, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t proto, uint16_t sport, uint16_t dport,
    struct sad_info *row)
{
	struct flow_slot *f =
	    &sad->flows[flow_hash(src, dst, proto, sport, dport)];
	struct sad_sa *best = NULL;

	if (f->gen == sad->gen && same_flow(f, src, dst, proto, sport, dport)) {
		best = f->sa;
	} else {
		/* The newest pair wins: during a rekey the new one takes
		 * over at once (make-before-break). */
		for (size_t i = 0; i < sad->n; i++) {
			struct sad_sa *sa = sad->v[i];
			const struct sad_params *p = &sa->info.p;

			if (sa->info.dir != SAD_OUTBOUND ||
			    (sa->esp == NULL && sa->ah == NULL) ||
			    !ips_aspec_contains(&p->src, src) ||
			    !ips_aspec_contains(&p->dst, dst) ||
			    (p->sel_proto != 0 && p->sel_proto != proto) ||
			    (p->sel_sport != 0 && p->sel_sport != sport) ||
			    (p->sel_dport != 0 && p->sel_dport != dport))
				continue;
			if (best == NULL ||
			    sa->info.created_ms > best->info.created_ms)
				best = sa;
		}
		*f = (struct flow_slot){
		    sad->gen, *src, *dst, proto, sport, dport, best};
	}
	if (best != NULL)
		*row = best->info;
	return best != NULL;
}

bool
sad_any(const struct sad *sad,
    bool (*fn)(const struct sad_info *row, const void *arg), const void *arg)
{
	for (size_t i = 0; i < sad->n; i++)
		if (fn(&sad->v[i]->info, arg))
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
	/* numbers wrap only after 2^32 - 1: then the live ones are
	 * numbered again from 1, in order, so the array stays sorted */
	if (sad->next_soft == 0 || sad->next_soft == UINT32_MAX) {
		sad->next_soft = 1;
		for (size_t i = 0; i < sad->nsoft; i++)
			sad->soft[i].index = sad->next_soft++;
	}
	sad->soft[sad->nsoft] = *s;
	sad->soft[sad->nsoft++].index = sad->next_soft++;
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

void
sad_export_keys(const struct sad *sad,
    void (*fn)(
	void *ctx, const struct sad_info *sa, const uint8_t *key, size_t klen),
    void *ctx)
{
	for (size_t i = 0; i < sad->n; i++) {
		const struct sad_sa *sa = sad->v[i];

		if (sa->info.state == SAD_MATURE && sa->key != NULL)
			fn(ctx, &sa->info, sa->key, sa->klen);
	}
}

bool
sad_soft_next(const struct sad *sad, uint32_t after, struct sad_soft *out)
{
	size_t lo = 0, hi = sad->nsoft;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sad->soft[mid].index <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= sad->nsoft)
		return false;
	*out = sad->soft[lo];
	return true;
}

size_t
sad_soft_list(const struct sad *sad, struct sad_soft *out, size_t max)
{
	for (size_t i = 0; i < sad->nsoft && i < max; i++)
		out[i] = sad->soft[i];
	return sad->nsoft;
}

bool
sad_next_pair(const struct sad *sad, uint32_t after, struct sad_info *in,
    struct sad_info *out, bool *has_out)
{
	/* larval SAs (an SPI given, not yet keyed) are skipped: few at a
	 * time, as many as Quick Modes under way */
	for (size_t at = after == UINT32_MAX ? sad->nin
					     : spi_rank(sad, after + 1);
	     at < sad->nin; at++) {
		const struct sad_sa *sa =
		    find(sad, SAD_INBOUND, sad->in_spis[at]);
		const struct sad_sa *o;

		if (sa == NULL || sa->info.state != SAD_MATURE)
			continue;
		o = sa->info.pair_spi != 0
		    ? find(sad, SAD_OUTBOUND, sa->info.pair_spi)
		    : NULL;
		/* a pair is both halves keyed, as `show qmsas` lists them */
		if (o == NULL || o->info.state != SAD_MATURE)
			continue;
		*in = sa->info;
		*has_out = true;
		*out = o->info;
		return true;
	}
	return false;
}
