/*
 * ESP opening on arbitrary packets, for every transform: the first byte
 * picks the transform and the mode.  Mode 0 opens the rest as received
 * (nothing should ever verify); mode 1 seals the rest first and opens
 * the result with the pair's inbound SA, which must give it back, so the
 * trailer and length paths run on authentic packets too.  The sequence
 * number goes through the replay window as the datapath would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp/esp.h"
#include "esp/replay.h"
#include "wire/ike_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct esp_alg algs[] = {
    {ESP_TRANSFORM_AES_GCM_16, 128, 0, false},
    {ESP_TRANSFORM_AES_CBC, 128, IPSEC_AUTH_HMAC_SHA, false},
    {ESP_TRANSFORM_AES_CBC, 256, IPSEC_AUTH_HMAC_SHA2_256, true},
    {ESP_TRANSFORM_3DES, 0, IPSEC_AUTH_HMAC_SHA, false},
    {ESP_TRANSFORM_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256, false},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[2048], back[2048];
	const struct esp_alg *a;
	struct esp_sa *in = NULL, *out = NULL;
	struct replay w;
	uint8_t key[64], nh;
	uint32_t spi, lo;
	struct wbuf b, s;
	uint64_t seq;

	if (size < 1 || size > 1500)
		return 0;
	a = &algs[data[0] % (sizeof(algs) / sizeof(algs[0]))];
	memset(key, 0x42, sizeof(key));
	if (!ips_ok(esp_sa_new(a, false, 0x1234, key, esp_key_len(a), &in)) ||
	    !ips_ok(esp_sa_new(a, true, 0x1234, key, esp_key_len(a), &out)) ||
	    !ips_ok(replay_init(&w, 128, a->esn)))
		abort();
	wbuf_init_on(&b, back, sizeof(back));
	if ((data[0] & 0x80) == 0) {
		if (ips_ok(esp_peek(data + 1, size - 1, &spi, &lo)) &&
		    replay_check(&w, seq = replay_infer(&w, lo)) &&
		    ips_ok(esp_open(in, seq, data + 1, size - 1, &b, &nh)))
			abort(); /* a forgery verified */
	} else {
		wbuf_init_on(&s, pkt, sizeof(pkt));
		if (!ips_ok(esp_seal(
			out, 7, ESP_NH_IPV4, data + 1, size - 1, &s)) ||
		    !ips_ok(esp_peek(s.p, s.len, &spi, &lo)) ||
		    !ips_ok(esp_open(
			in, replay_infer(&w, lo), s.p, s.len, &b, &nh)) ||
		    b.len != size - 1 || memcmp(back, data + 1, b.len) != 0)
			abort();
	}
	esp_sa_free(in);
	esp_sa_free(out);
	return 0;
}
