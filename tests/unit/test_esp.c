/*
 * ESP sealing and opening (RFC 4303) for every transform we offer: what
 * one SA seals its twin opens; a flipped bit, a truncation, a wrong
 * sequence number or bad padding are refused with the error that names
 * the statistic they count in, and leave the output as it was.
 * tests/integration/test_esp_tshark.c checks the same packets against an
 * independent implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

#include <openssl/evp.h>

#include "esp/esp.h"
#include "wire/ike_wire.h"

static const struct esp_alg algs[] = {
    {ESP_TRANSFORM_AES_GCM_16, 128, 0, false},
    {ESP_TRANSFORM_AES_GCM_16, 256, 0, false},
    {ESP_TRANSFORM_AES_CBC, 128, IPSEC_AUTH_HMAC_SHA, false},
    {ESP_TRANSFORM_AES_CBC, 256, IPSEC_AUTH_HMAC_SHA2_256, false},
    {ESP_TRANSFORM_AES_CBC, 192, IPSEC_AUTH_HMAC_SHA2_256, false},
    {ESP_TRANSFORM_3DES, 0, IPSEC_AUTH_HMAC_SHA, false},
    {ESP_TRANSFORM_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256, false},
    {ESP_TRANSFORM_AES_GCM_16, 128, 0, true},
    {ESP_TRANSFORM_AES_CBC, 128, IPSEC_AUTH_HMAC_SHA2_256, true},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* An outbound SA and its inbound twin over the same key. */
static void
pair(const struct esp_alg *a, struct esp_sa **out, struct esp_sa **in)
{
	uint8_t key[64];
	size_t n = esp_key_len(a);

	assert_int_not_equal(n, 0);
	for (size_t i = 0; i < n; i++)
		key[i] = (uint8_t)(0xa0 + i);
	assert_true(ips_ok(esp_sa_new(a, true, 0x11223344, key, n, out)));
	assert_true(ips_ok(esp_sa_new(a, false, 0x11223344, key, n, in)));
}

/* Every payload length from 0 to 70 (every padding), and a 1400-byte
 * one, round trip; the packet is no longer than the stated overhead. */
static void
test_round_trip(void **state)
{
	uint8_t payload[1400], pkt[1500], back[1500];

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < NALGS; k++) {
		struct esp_sa *o, *in;

		pair(&algs[k], &o, &in);
		for (size_t len = 0; len <= 1400;
		     len = len < 70 ? len + 1 : 1400) {
			uint64_t seq = algs[k].esn
			    ? ((uint64_t)3 << 32) + len + 1
			    : len + 1;
			struct wbuf w, b;
			uint32_t spi, lo;
			uint8_t nh = 0;

			wbuf_init_on(&w, pkt, sizeof(pkt));
			wbuf_init_on(&b, back, sizeof(back));
			assert_true(ips_ok(
			    esp_seal(o, seq, ESP_NH_IPV4, payload, len, &w)));
			assert_true(w.len <= len + esp_overhead(o));
			assert_true(ips_ok(esp_peek(w.p, w.len, &spi, &lo)));
			assert_int_equal(spi, 0x11223344);
			assert_int_equal(lo, (uint32_t)seq);
			if (algs[k].transform == ESP_TRANSFORM_NULL)
				/* RFC 2410: the payload in the clear */
				assert_memory_equal(
				    pkt + ESP_HDR_LEN, payload, len);
			assert_true(
			    ips_ok(esp_open(in, seq, w.p, w.len, &b, &nh)));
			assert_int_equal(b.len, len);
			assert_memory_equal(back, payload, len);
			assert_int_equal(nh, ESP_NH_IPV4);
			if (len == 1400)
				break;
		}
		assert_int_equal(
		    esp_encrypts(o), algs[k].transform != ESP_TRANSFORM_NULL);
		esp_sa_free(o);
		esp_sa_free(in);
	}
}

/* Any bit flipped anywhere is an ICV failure; the output is untouched. */
static void
test_tampering(void **state)
{
	uint8_t payload[100] = {1, 2, 3}, pkt[300], back[300];

	(void)state;
	for (size_t k = 0; k < NALGS; k++) {
		struct esp_sa *o, *in;
		struct wbuf w, b;
		uint8_t nh;

		pair(&algs[k], &o, &in);
		wbuf_init_on(&w, pkt, sizeof(pkt));
		assert_true(ips_ok(
		    esp_seal(o, 9, ESP_NH_IPV6, payload, sizeof(payload), &w)));
		for (size_t byte = 0; byte < w.len; byte++) {
			pkt[byte] ^= 0x10;
			wbuf_init_on(&b, back, sizeof(back));
			b.len = 3; /* what was there must stay */
			/* the sequence number as a receiver reads it */
			if (esp_open(
				in, wire_get_be32(pkt + 4), pkt, w.len, &b, &nh)
				.err != IPS_E_ESP_ICV)
				fail_msg(
				    "alg %zu: byte %zu of %zu flipped passes",
				    k, byte, w.len);
			assert_int_equal(b.len, 3);
			pkt[byte] ^= 0x10;
		}
		/* a sequence number that is not the packet's own */
		wbuf_init_on(&b, back, sizeof(back));
		assert_int_equal(
		    esp_open(in, 10, pkt, w.len, &b, &nh).err, IPS_E_INVAL);
		/* truncations: too short to hold the ICV, or shortened */
		assert_int_equal(
		    esp_open(in, 9, pkt, 10, &b, &nh).err, IPS_E_SHORT);
		assert_int_not_equal(
		    esp_open(in, 9, pkt, w.len - 1, &b, &nh).err, IPS_E_OK);
		assert_int_equal(b.len, 0);
		/* a direction the SA does not have */
		assert_int_equal(
		    esp_open(o, 9, pkt, w.len, &b, &nh).err, IPS_E_INVAL);
		assert_int_equal(
		    esp_seal(in, 9, ESP_NH_IPV4, payload, 1, &b).err,
		    IPS_E_INVAL);
		esp_sa_free(o);
		esp_sa_free(in);
	}
}

/* ESN: the high half is not on the wire but in the ICV (RFC 4303
 * 3.3.2.1, RFC 4106 5): opened with the wrong high half, it fails. */
static void
test_esn_high_half(void **state)
{
	uint8_t payload[40] = {0}, pkt[200], back[200];
	const uint64_t seq = ((uint64_t)7 << 32) | 5;

	(void)state;
	for (size_t k = 0; k < NALGS; k++) {
		struct esp_sa *o, *in;
		struct wbuf w, b;
		uint8_t nh;

		if (!algs[k].esn)
			continue;
		pair(&algs[k], &o, &in);
		wbuf_init_on(&w, pkt, sizeof(pkt));
		wbuf_init_on(&b, back, sizeof(back));
		assert_true(ips_ok(esp_seal(
		    o, seq, ESP_NH_IPV4, payload, sizeof(payload), &w)));
		assert_int_equal(wire_get_be32(pkt + 4), 5);
		assert_int_equal(
		    esp_open(in, 5, pkt, w.len, &b, &nh).err, IPS_E_ESP_ICV);
		assert_true(ips_ok(esp_open(in, seq, pkt, w.len, &b, &nh)));
		esp_sa_free(o);
		esp_sa_free(in);
	}
}

/*
 * Authentic but malformed: an ESP-NULL packet whose HMAC is right and
 * whose padding is not 1, 2, 3, ..., or whose pad length runs past the
 * payload, is a decryption failure (Packets Not Decrypted), not an
 * authentication one.
 */
static void
test_bad_trailer(void **state)
{
	const struct esp_alg a = {
	    ESP_TRANSFORM_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256, false};
	static const uint8_t trailers[][4] = {
	    {1, 3, 2, 4}, /* padding 1, 3: not the sequence */
	    {0, 0, 9, 4}, /* pad length 9 > what is there */
	};
	uint8_t key[32], pkt[64], back[64], mac[32];
	struct esp_sa *in;

	(void)state;
	memset(key, 0x5a, sizeof(key));
	assert_true(ips_ok(esp_sa_new(&a, false, 0x0a0b0c0d, key, 32, &in)));
	for (size_t t = 0; t < 2; t++) {
		size_t len = 0, maclen = 0;
		struct wbuf b;
		uint8_t nh;

		wire_put_be32(pkt, 0x0a0b0c0d);
		wire_put_be32(pkt + 4, 1);
		len = 8;
		memset(pkt + len, 0xee, 8); /* payload */
		len += 8;
		memcpy(pkt + len, trailers[t], 4);
		len += 4;
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL,
		    key, 32, pkt, len, mac, sizeof(mac), &maclen));
		memcpy(pkt + len, mac, 16);
		len += 16;
		wbuf_init_on(&b, back, sizeof(back));
		assert_int_equal(
		    esp_open(in, 1, pkt, len, &b, &nh).err, IPS_E_ESP_DECRYPT);
		assert_int_equal(b.len, 0);
	}
	esp_sa_free(in);
}

/* Keys of the wrong length, and transforms we do not offer, are refused
 * at install time, not at the first packet. */
static void
test_bad_sa(void **state)
{
	static const struct esp_alg bad[] = {
	    {ESP_TRANSFORM_AES_GCM_16, 192, 0, false}, /* not offered */
	    {ESP_TRANSFORM_AES_CBC, 128, 0, false}, /* no integrity */
	    {ESP_TRANSFORM_NULL, 0, 0, false},
	    {ESP_TRANSFORM_AES_GCM_16, 128, IPSEC_AUTH_HMAC_SHA, false},
	    {99, 128, IPSEC_AUTH_HMAC_SHA, false},
	};
	const struct esp_alg ok = {ESP_TRANSFORM_AES_GCM_16, 128, 0, false};
	uint8_t key[64] = {0};
	struct esp_sa *sa;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(esp_key_len(&bad[i]), 0);
		assert_int_equal(
		    esp_sa_new(&bad[i], true, 1000, key, 20, &sa).err,
		    IPS_E_INVAL);
	}
	assert_int_equal(esp_key_len(&ok), 20); /* 16 + the salt */
	assert_int_equal(
	    esp_sa_new(&ok, true, 1000, key, 16, &sa).err, IPS_E_INVAL);
}

/*
 * Published vectors.  AES-GCM-ESP packets of draft-mcgrew-gcm-test-01
 * section 4 (16-byte key, 32-bit sequence numbers), opened as the peer's:
 * the plaintext there ends in the ESP trailer, which opening removes.
 * HMAC-SHA-256-128 (RFC 4868 2.7.2.1, AUTH256-1..4) and HMAC-SHA1-96
 * (RFC 2202 3, cases 1 and 2, truncated as RFC 2404 2 says) through the
 * HMAC set-up both ESP and AH use; the truncation to the ICV's length is
 * esp_overhead's and test_tampering's business.
 */
static void
test_published_vectors(void **state)
{
	static const struct {
		const char *key, *salt, *packet, *inner;
		uint32_t spi, seq;
		uint8_t nh;
	} gcm[] = {
	    {"feffe9928665731c6d6a8f9467308308", "cafebabe",
		"0000a5f80000000afacedbaddecaf888deb22cd9b07c72c16e3a65beeb8d"
		"f304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0e"
		"ec416642cfbb85a5b47e48a4ec3b9ba95d918bd183b70d3aa8bc6ee4c309"
		"e9d85a41ad4a",
		"4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d0"
		"010000010000000000000373697009637962657263697479"
		"02646b0000010001",
		0xa5f8, 10, 1},
	    {"00000000000000000000000000000000", "00000000",
		"000000000000000100000000000000004688daf2f973a392732909c331d5"
		"6d60f694abaa414b5e7ff5fdcdfff5e9a284456476492719ffb64de7d9dc"
		"a1e1d894bc3bd57873ed4d181d19d4d5c8c18af3f821d496eeb096e98ad2"
		"b69e4799c71d",
		"4500003c99c500008001cb7a40679318010101010800075c020044006162"
		"636465666768696a6b6c6d6e6f70717273747576776162636465666768"
		"69",
		0, 1, 1},
	};
	static const struct {
		unsigned auth;
		const char *key, *data, *mac;
	} hmac[] = {
	    {IPSEC_AUTH_HMAC_SHA2_256,
		"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
		"0b0b",
		"4869205468657265", "198a607eb44bfbc69903a0f1cf2bbdc5"},
	    {IPSEC_AUTH_HMAC_SHA2_256,
		"4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a65"
		"6665",
		"7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		"167f928588c5cc2eef8e3093caa0e87c"},
	    {IPSEC_AUTH_HMAC_SHA2_256,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaa",
		"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		"dddddddddddddddddddddddddddddddddddddddd",
		"cdcb1220d1ecccea91e53aba3092f962"},
	    {IPSEC_AUTH_HMAC_SHA2_256,
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
		"1f20",
		"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		"372efcf9b40b35c2115b1346903d2ef4"},
	    {IPSEC_AUTH_HMAC_SHA, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		"4869205468657265", "b617318655057264e28bc0b6"},
	    {IPSEC_AUTH_HMAC_SHA, "4a656665",
		"7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		"effcdf6ae5eb2fa2d27416d5"},
	};
	const struct esp_alg a = {ESP_TRANSFORM_AES_GCM_16, 128, 0, false};

	(void)state;
	for (size_t i = 0; i < sizeof(gcm) / sizeof(gcm[0]); i++) {
		uint8_t key[20], pkt[128], want[128], out[128], nh = 0;
		size_t plen = tl_unhex(gcm[i].packet, pkt);
		size_t wlen = tl_unhex(gcm[i].inner, want);
		struct esp_sa *in;
		uint32_t spi, lo;
		struct wbuf w;

		tl_unhex(gcm[i].key, key);
		tl_unhex(gcm[i].salt, key + 16);
		assert_true(ips_ok(
		    esp_sa_new(&a, false, gcm[i].spi, key, sizeof(key), &in)));
		assert_true(ips_ok(esp_peek(pkt, plen, &spi, &lo)));
		assert_int_equal(spi, gcm[i].spi);
		assert_int_equal(lo, gcm[i].seq);
		wbuf_init_on(&w, out, sizeof(out));
		assert_true(
		    ips_ok(esp_open(in, gcm[i].seq, pkt, plen, &w, &nh)));
		assert_int_equal(nh, gcm[i].nh);
		assert_int_equal(w.len, wlen);
		assert_memory_equal(out, want, wlen);
		/* and a flipped tag bit is refused */
		pkt[plen - 1] ^= 1;
		wbuf_init_on(&w, out, sizeof(out));
		assert_int_equal(
		    esp_open(in, gcm[i].seq, pkt, plen, &w, &nh).err,
		    IPS_E_ESP_ICV);
		esp_sa_free(in);
	}
	for (size_t i = 0; i < sizeof(hmac) / sizeof(hmac[0]); i++) {
		uint8_t key[64], data[64], want[16], mac[64];
		size_t klen = tl_unhex(hmac[i].key, key);
		size_t dlen = tl_unhex(hmac[i].data, data);
		size_t wlen = tl_unhex(hmac[i].mac, want), n = 0;
		EVP_MAC_CTX *m = esp_hmac_new(hmac[i].auth, key, klen);

		assert_non_null(m);
		/* as the datapath does: re-initialised, key kept */
		for (int round = 0; round < 2; round++) {
			assert_int_equal(EVP_MAC_init(m, NULL, 0, NULL), 1);
			assert_int_equal(EVP_MAC_update(m, data, dlen), 1);
			assert_int_equal(
			    EVP_MAC_final(m, mac, &n, sizeof(mac)), 1);
			assert_memory_equal(mac, want, wlen);
		}
		EVP_MAC_CTX_free(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_tampering),
	    cmocka_unit_test(test_esn_high_half),
	    cmocka_unit_test(test_bad_trailer),
	    cmocka_unit_test(test_bad_sa),
	    cmocka_unit_test(test_published_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
