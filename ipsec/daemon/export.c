/*
 * `ipsecmon export-keys --format wireshark`: the live SAs' keys, in the
 * form of Wireshark's ikev1_decryption_table and esp_sa tables, so that a
 * capture can be decrypted and checked independently.  The one place keys
 * are put into a message; the daemon answers root alone (ipsecmond.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "engine.h"
#include "sad/sad.h"
#include "wire/ike_wire.h"

struct keys {
	struct arena *a;
	Ipsm__IkeKey **ike;
	Ipsm__EspKey **esp;
	size_t nike, nesp, cap_ike, cap_esp;
	bool nomem;
};

static char *
hex(struct arena *a, const char *prefix, const uint8_t *b, size_t n)
{
	size_t pl = strlen(prefix);
	char *s = arena_alloc(a, pl + 2 * n + 1);

	if (s == NULL)
		return (char *)"";
	memcpy(s, prefix, pl);
	for (size_t i = 0; i < n; i++)
		snprintf(s + pl + 2 * i, 3, "%02x", b[i]);
	s[pl + 2 * n] = '\0';
	return s;
}

static bool
grow(struct arena *a, void ***v, size_t n, size_t *cap)
{
	void **nv;

	if (n < *cap)
		return true;
	if ((nv = arena_calloc(a, *cap ? *cap * 2 : 16, sizeof(*nv))) == NULL)
		return false;
	if (n > 0)
		memcpy(nv, *v, n * sizeof(*nv));
	*v = nv;
	*cap = *cap ? *cap * 2 : 16;
	return true;
}

static void
add_ike(void *ctx, const uint8_t cky_i[8], const uint8_t *key, size_t len)
{
	struct keys *k = ctx;
	Ipsm__IkeKey *x;

	if (!grow(k->a, (void ***)&k->ike, k->nike, &k->cap_ike) ||
	    (x = arena_alloc(k->a, sizeof(*x))) == NULL) {
		k->nomem = true;
		return;
	}
	ipsm__ike_key__init(x);
	x->icookie = hex(k->a, "", cky_i, 8);
	x->key = hex(k->a, "", key, len);
	k->ike[k->nike++] = x;
}

/* Wireshark's names of our transforms (its ESP preferences). */
static const char *
ws_encr(unsigned transform)
{
	switch (transform) {
	case ESP_TRANSFORM_AES_GCM_16:
		return "AES-GCM with 16 octet ICV [RFC4106]";
	case ESP_TRANSFORM_AES_CBC:
		return "AES-CBC [RFC3602]";
	case ESP_TRANSFORM_3DES:
		return "TripleDES-CBC [RFC2451]";
	default:
		return "NULL";
	}
}

static const char *
ws_auth(unsigned auth, size_t *klen)
{
	switch (auth) {
	case IPSEC_AUTH_HMAC_SHA:
		*klen = 20;
		return "HMAC-SHA-1-96 [RFC2404]";
	case IPSEC_AUTH_HMAC_SHA2_256:
		*klen = 32;
		return "HMAC-SHA-256-128 [RFC4868]";
	default:
		*klen = 0;
		return "NULL";
	}
}

static void
add_esp(void *ctx, const struct sad_info *sa, const uint8_t *key, size_t klen)
{
	struct keys *k = ctx;
	const struct sad_params *p = &sa->p;
	const struct ips_addr *src =
	    sa->dir == SAD_OUTBOUND ? &p->local : &p->remote;
	const struct ips_addr *dst =
	    sa->dir == SAD_OUTBOUND ? &p->remote : &p->local;
	char a[IPS_ADDRSTRLEN], b[IPS_ADDRSTRLEN], spi[12];
	size_t alen, elen;
	Ipsm__EspKey *x;

	if (p->proto != ISAKMP_PROTO_ESP)
		return; /* Wireshark's table is ESP's */
	if (!grow(k->a, (void ***)&k->esp, k->nesp, &k->cap_esp) ||
	    (x = arena_alloc(k->a, sizeof(*x))) == NULL) {
		k->nomem = true;
		return;
	}
	ipsm__esp_key__init(x);
	x->family = (char *)(src->af == AF_INET6 ? "IPv6" : "IPv4");
	x->src = arena_strdup(k->a, ips_addr_str(src, a, sizeof(a)));
	x->dst = arena_strdup(k->a, ips_addr_str(dst, b, sizeof(b)));
	snprintf(spi, sizeof(spi), "0x%08x", sa->spi);
	x->spi = arena_strdup(k->a, spi);
	x->encryption = (char *)ws_encr(p->transform);
	x->integrity = (char *)ws_auth(p->auth, &alen);
	/* the key as installed: encryption key (with GCM's salt), then the
	 * integrity key */
	elen = p->transform == ESP_TRANSFORM_NULL ? 0
	    : klen > alen			  ? klen - alen
						  : 0;
	x->encryption_key = elen ? hex(k->a, "0x", key, elen) : (char *)"";
	x->integrity_key = alen && klen >= elen + alen
	    ? hex(k->a, "0x", key + elen, alen)
	    : (char *)"";
	k->esp[k->nesp++] = x;
}

void
engine_export_keys(struct engine *e, Ipsm__Response *resp, struct arena *a)
{
	struct keys k = {a, NULL, NULL, 0, 0, 0, 0, false};
	Ipsm__KeysView *v = arena_alloc(a, sizeof(*v));
	struct ike *ike = engine_ike(e);

	if (v == NULL) {
		resp->status = IPS_E_NOMEM;
		return;
	}
	ipsm__keys_view__init(v);
	ike_export_keys(ike, add_ike, &k);
	sad_export_keys(ike_sad(ike), add_esp, &k);
	if (k.nomem) {
		resp->status = IPS_E_NOMEM;
		return;
	}
	v->ike = k.ike;
	v->n_ike = k.nike;
	v->esp = k.esp;
	v->n_esp = k.nesp;
	resp->view_case = IPSM__RESPONSE__VIEW_KEYS;
	resp->keys = v;
}
