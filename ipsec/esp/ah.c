#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ah.h"
#include "esp.h"
#include "wire/ike_wire.h"
#include "wire/ip.h"

#define OSSL(call) ((call) == 1)
#define AH_PROTO 51
#define AH_ICV_MAX 16

struct ah_sa {
	unsigned auth;
	bool esn;
	uint32_t spi;
	EVP_MAC_CTX *mac; /* keyed once */
	size_t icv_len;
};

ips_res
ah_sa_new(unsigned auth, bool esn, uint32_t spi, const uint8_t *key,
    size_t klen, struct ah_sa **out)
{
	struct ah_sa *sa;

	ENSURE(esp_auth_key_len(auth) != 0 && klen == esp_auth_key_len(auth),
	    INVAL);
	ENSURE((sa = calloc(1, sizeof(*sa))) != NULL, NOMEM);
	sa->auth = auth;
	sa->esn = esn;
	sa->spi = spi;
	sa->icv_len = esp_hmac_icv_len(auth);
	if ((sa->mac = esp_hmac_new(auth, key, klen)) == NULL) {
		free(sa);
		BAIL(NOMEM);
	}
	*out = sa;
	return IPS_OK;
}

void
ah_sa_free(struct ah_sa *sa)
{
	if (sa == NULL)
		return;
	EVP_MAC_CTX_free(sa->mac);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* AH's header and ICV: RFC 4302 2.2 pads the ICV to 32 bits in IPv4
 * and 64 bits in IPv6. */
static size_t
ah_len(const struct ah_sa *sa, int af)
{
	size_t n = AH_HDR_LEN + sa->icv_len;

	return af == AF_INET6 ? (n + 7) & ~(size_t)7 : n;
}

size_t
ah_overhead(const struct ah_sa *sa, int af)
{
	return (af == AF_INET ? IP4_HDR_LEN : IP6_HDR_LEN) + ah_len(sa, af);
}

/*
 * The ICV (RFC 4302 3.3.3): the IP header with its mutable fields zeroed
 * (IPv4 TOS, flags and offset, TTL, checksum, and here all options;
 * IPv6 traffic class, flow label and hop limit), AH with its ICV zeroed,
 * the payload, and with ESN the sequence number's high half.
 */
static bool
icv_of(const struct ah_sa *sa, const uint8_t *ip, size_t hl, const uint8_t *ah,
    size_t alen, const uint8_t *payload, size_t plen, uint64_t seq,
    uint8_t *icv)
{
	uint8_t h[60], a[AH_HDR_LEN + 20], full[32], hi[4];
	size_t n = 0;
	bool ok;

	memcpy(h, ip, hl);
	if (hl != IP6_HDR_LEN || ip[0] >> 4 != 6) {
		h[1] = 0;
		h[6] = h[7] = h[8] = h[10] = h[11] = 0;
		memset(h + IP4_HDR_LEN, 0, hl - IP4_HDR_LEN);
	} else {
		h[0] &= 0xf0;
		h[1] = h[2] = h[3] = h[7] = 0;
	}
	memcpy(a, ah, AH_HDR_LEN);
	memset(a + AH_HDR_LEN, 0, alen - AH_HDR_LEN);
	wire_put_be32(hi, (uint32_t)(seq >> 32));
	ok = OSSL(EVP_MAC_init(sa->mac, NULL, 0, NULL)) &&
	    OSSL(EVP_MAC_update(sa->mac, h, hl)) &&
	    OSSL(EVP_MAC_update(sa->mac, a, alen)) &&
	    OSSL(EVP_MAC_update(sa->mac, payload, plen)) &&
	    (!sa->esn || OSSL(EVP_MAC_update(sa->mac, hi, 4))) &&
	    OSSL(EVP_MAC_final(sa->mac, full, &n, sizeof(full))) &&
	    n >= sa->icv_len;
	if (ok)
		memcpy(icv, full, sa->icv_len);
	OPENSSL_cleanse(full, sizeof(full));
	return ok;
}

ips_res
ah_seal(struct ah_sa *sa, uint64_t seq, const struct ips_addr *src,
    const struct ips_addr *dst, uint8_t next_header, const uint8_t *payload,
    size_t len, struct wbuf *out)
{
	size_t start = out->len, hl = ip_header_len(src);
	size_t alen = ah_len(sa, src->af);
	uint8_t *ip, *ah, *body;
	struct wbuf h;

	/* one reservation: a wbuf that grows would move earlier ones */
	GUARD(wbuf_reserve(out, hl + alen + len, &ip));
	ah = ip + hl;
	body = ah + alen;
	wbuf_init_on(&h, ip, hl);
	if (!ips_ok(ip_put_header(
		&h, src, dst, AH_PROTO, alen + len, (uint16_t)seq))) {
		out->len = start;
		BAIL(TOOBIG);
	}
	/*= rfc4302#section-2
	 *# Next Header | Payload Len | RESERVED | SPI | Sequence Number |
	 *# Integrity Check Value-ICV (variable) */
	memset(ah, 0, alen);
	ah[0] = next_header;
	ah[1] = (uint8_t)(alen / 4 - 2);
	wire_put_be32(ah + 4, sa->spi);
	wire_put_be32(ah + 8, (uint32_t)seq);
	memcpy(body, payload, len);
	if (!icv_of(sa, out->p + start, hl, ah, alen, body, len, seq,
		ah + AH_HDR_LEN)) {
		OPENSSL_cleanse(out->p + start, out->len - start);
		out->len = start;
		BAIL(NOMEM);
	}
	return IPS_OK;
}

/* An AH packet's parts: its IP header, AH, and what AH carries. */
struct ah_pkt {
	size_t hl; /* IP header */
	const uint8_t *ah;
	size_t alen;
	const uint8_t *payload;
	size_t plen;
};

static ips_res
split(const uint8_t *pkt, size_t len, struct ah_pkt *p)
{
	size_t total;
	uint8_t proto;

	ENSURE(len >= 1, SHORT);
	if (pkt[0] >> 4 == 4) {
		ENSURE(len >= IP4_HDR_LEN, SHORT);
		p->hl = (size_t)(pkt[0] & 15) * 4;
		total = (size_t)pkt[2] << 8 | pkt[3];
		proto = pkt[9];
		/* a fragment is not for us: the kernel reassembles */
		ENSURE(((pkt[6] & 0x3f) | pkt[7]) == 0, SHORT);
	} else if (pkt[0] >> 4 == 6) {
		ENSURE(len >= IP6_HDR_LEN, SHORT);
		p->hl = IP6_HDR_LEN;
		total = IP6_HDR_LEN + ((size_t)pkt[4] << 8 | pkt[5]);
		proto = pkt[6];
	} else {
		BAIL(SHORT);
	}
	ENSURE(p->hl >= IP4_HDR_LEN && total <= len && proto == AH_PROTO &&
		total >= p->hl + AH_HDR_LEN,
	    SHORT);
	p->ah = pkt + p->hl;
	p->alen = ((size_t)p->ah[1] + 2) * 4;
	ENSURE(p->alen >= AH_HDR_LEN && p->alen <= total - p->hl, SHORT);
	p->payload = p->ah + p->alen;
	p->plen = total - p->hl - p->alen;
	return IPS_OK;
}

ips_res
ah_peek(const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq_lo)
{
	struct ah_pkt p;

	GUARD(split(pkt, len, &p));
	*spi = wire_get_be32(p.ah + 4);
	*seq_lo = wire_get_be32(p.ah + 8);
	return IPS_OK;
}

ips_res
ah_open(struct ah_sa *sa, uint64_t seq, const uint8_t *pkt, size_t len,
    struct wbuf *out, uint8_t *next_header)
{
	uint8_t want[AH_ICV_MAX];
	struct ah_pkt p;

	GUARD(split(pkt, len, &p));
	/* an ICV of another length is not this SA's (nor padding we
	 * would accept from a peer: RFC 4302 2.6 pads to alignment only) */
	ENSURE(p.alen == ah_len(sa, pkt[0] >> 4 == 4 ? AF_INET : AF_INET6) &&
		p.alen - AH_HDR_LEN <= 20,
	    SHORT);
	ENSURE(
	    icv_of(sa, pkt, p.hl, p.ah, p.alen, p.payload, p.plen, seq, want),
	    NOMEM);
	ENSURE(
	    CRYPTO_memcmp(want, p.ah + AH_HDR_LEN, sa->icv_len) == 0, ESP_ICV);
	GUARD(wbuf_bytes(out, p.payload, p.plen));
	*next_header = p.ah[0];
	return IPS_OK;
}
