/*
 * AH opening on arbitrary IP packets.  The first byte picks the integrity
 * algorithm, the mode and the family.  Mode 0 opens the rest as received
 * (nothing should ever verify); mode 1 seals the rest as a payload first,
 * changes the outer header's mutable TTL or hop limit, and opens the
 * result, which must give the payload back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "esp/ah.h"
#include "esp/esp.h"
#include "wire/ike_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[2048], back[2048];
	static const struct ips_addr v4a = {AF_INET, {10, 99, 0, 1}},
				     v4b = {AF_INET, {10, 99, 0, 2}},
				     v6a = {AF_INET6,
					 {0xfd, 0, 0, 0x99, [15] = 1}},
				     v6b = {AF_INET6,
					 {0xfd, 0, 0, 0x99, [15] = 2}};
	unsigned auth;
	struct ah_sa *sa = NULL;
	uint8_t key[32], nh;
	uint32_t spi, lo;
	struct wbuf b, s;
	bool v6;

	if (size < 1 || size > 1500)
		return 0;
	auth = data[0] & 1 ? IPSEC_AUTH_HMAC_SHA2_256 : IPSEC_AUTH_HMAC_SHA;
	v6 = (data[0] & 2) != 0;
	memset(key, 0x42, sizeof(key));
	if (!ips_ok(ah_sa_new(auth, (data[0] & 4) != 0, 0x1234, key,
		esp_auth_key_len(auth), &sa)))
		abort();
	wbuf_init_on(&b, back, sizeof(back));
	if ((data[0] & 0x80) == 0) {
		if (ips_ok(ah_peek(data + 1, size - 1, &spi, &lo)) &&
		    ips_ok(ah_open(sa, lo, data + 1, size - 1, &b, &nh)))
			abort(); /* a forgery verified */
	} else {
		wbuf_init_on(&s, pkt, sizeof(pkt));
		if (!ips_ok(ah_seal(sa, 7, v6 ? &v6a : &v4a, v6 ? &v6b : &v4b,
			17, data + 1, size - 1, &s)))
			abort();
		pkt[v6 ? 7 : 8] ^= 0x55; /* TTL / hop limit: not covered */
		if (!ips_ok(ah_peek(s.p, s.len, &spi, &lo)) || lo != 7 ||
		    !ips_ok(ah_open(sa, 7, s.p, s.len, &b, &nh)) || nh != 17 ||
		    b.len != size - 1 || memcmp(back, data + 1, b.len) != 0)
			abort();
	}
	ah_sa_free(sa);
	return 0;
}
