/*
 * Our ESP packets checked by an independent implementation: Wireshark's
 * dissector (tshark), given only the keys, must find every ICV correct
 * and read the tunnelled packet inside, for each transform.  The packets
 * are written into a pcap as ESP-in-UDP between two addresses, as they
 * go on the wire (RFC 3948); the recipe is ../shared/docs/INTEROP.md's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esp/esp.h"
#include "testlib.h"
#include "wire/ike_wire.h"

/* tshark 4.0 has no ESN fields in its SA table: these are without. */
static const struct {
	struct esp_alg alg;
	const char *enc, *auth; /* Wireshark's names */
} cases[] = {
    {{ESP_TRANSFORM_AES_GCM_16, 128, 0, false},
	"AES-GCM with 16 octet ICV [RFC4106]", "NULL"},
    {{ESP_TRANSFORM_AES_GCM_16, 256, 0, false},
	"AES-GCM with 16 octet ICV [RFC4106]", "NULL"},
    {{ESP_TRANSFORM_AES_CBC, 128, IPSEC_AUTH_HMAC_SHA, false},
	"AES-CBC [RFC3602]", "HMAC-SHA-1-96 [RFC2404]"},
    {{ESP_TRANSFORM_AES_CBC, 256, IPSEC_AUTH_HMAC_SHA2_256, false},
	"AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]"},
    {{ESP_TRANSFORM_3DES, 0, IPSEC_AUTH_HMAC_SHA, false},
	"TripleDES-CBC [RFC2451]", "HMAC-SHA-1-96 [RFC2404]"},
    {{ESP_TRANSFORM_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256, false}, "NULL",
	"HMAC-SHA-256-128 [RFC4868]"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static uint16_t
ip_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n % 2)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An IPv4 header for len bytes of proto from src to dst (last octets). */
static void
ipv4(uint8_t *h, size_t len, uint8_t proto, uint8_t net, uint8_t src,
    uint8_t dst)
{
	uint16_t sum;

	memset(h, 0, 20);
	h[0] = 0x45;
	h[2] = (uint8_t)((20 + len) >> 8);
	h[3] = (uint8_t)(20 + len);
	h[8] = 64;
	h[9] = proto;
	h[12] = 10, h[13] = net, h[14] = net == 99 ? 0 : 1, h[15] = src;
	h[16] = 10, h[17] = net, h[18] = net == 99 ? 0 : 2, h[19] = dst;
	sum = ip_sum(h, 20);
	h[10] = (uint8_t)(sum >> 8);
	h[11] = (uint8_t)sum;
}

/* The inner packet: an ICMP echo request 10.98.1.1 -> 10.98.2.2 with
 * sequence number seq and some data. */
static size_t
inner_ping(uint8_t *p, uint16_t seq)
{
	uint8_t *icmp = p + 20;
	uint16_t sum;

	memset(icmp, 0, 8);
	icmp[0] = 8; /* echo request */
	icmp[6] = (uint8_t)(seq >> 8);
	icmp[7] = (uint8_t)seq;
	for (int i = 0; i < 56; i++)
		icmp[8 + i] = (uint8_t)i;
	sum = ip_sum(icmp, 64);
	icmp[2] = (uint8_t)(sum >> 8);
	icmp[3] = (uint8_t)sum;
	ipv4(p, 64, 1, 98, 1, 2);
	return 84;
}

static void
put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f); /* pcap headers are in the writer's order */
}

static void
test_tshark_reads_our_esp(void **state)
{
	char *dir = tl_mkdtemp(), path[600], cmd[8192], *out, *line;
	size_t at;
	FILE *f;
	int st;

	(void)state;
	snprintf(path, sizeof(path), "%s/esp.pcap", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	put32(f, 0xa1b2c3d4); /* pcap, microseconds */
	put32(f, 2 | 4u << 16); /* version 2.4 */
	put32(f, 0);
	put32(f, 0);
	put32(f, 65535);
	put32(f, 101); /* LINKTYPE_RAW: IP packets */
	at = (size_t)snprintf(cmd, sizeof(cmd),
	    "tshark -r %s -o esp.enable_encryption_decode:TRUE "
	    "-o esp.enable_authentication_check:TRUE",
	    path);
	for (size_t k = 0; k < NCASES; k++) {
		uint8_t key[64], inner[100], frame[300];
		uint32_t spi = 0x5000 + (uint32_t)k;
		size_t klen = esp_key_len(&cases[k].alg), elen = 0, ilen;
		struct esp_sa *sa;
		struct wbuf w;
		char ek[130] = "", ak[130] = "";

		for (size_t i = 0; i < klen; i++)
			key[i] = (uint8_t)(0x11 * (k + 1) + i * 3);
		assert_true(ips_ok(
		    esp_sa_new(&cases[k].alg, true, spi, key, klen, &sa)));
		ilen = inner_ping(inner, (uint16_t)(k + 1));
		wbuf_init_on(&w, frame + 28, sizeof(frame) - 28);
		assert_true(
		    ips_ok(esp_seal(sa, k + 1, ESP_NH_IPV4, inner, ilen, &w)));
		esp_sa_free(sa);
		/* outer IPv4 + UDP 4500 -> 4500, checksum 0 (RFC 3948 2.1) */
		ipv4(frame, 8 + w.len, 17, 99, 1, 2);
		frame[20] = frame[22] = 0x11;
		frame[21] = frame[23] = 0x94;
		frame[24] = (uint8_t)((8 + w.len) >> 8);
		frame[25] = (uint8_t)(8 + w.len);
		frame[26] = frame[27] = 0;
		put32(f, (uint32_t)k);
		put32(f, 0);
		put32(f, (uint32_t)(28 + w.len));
		put32(f, (uint32_t)(28 + w.len));
		fwrite(frame, 1, 28 + w.len, f);
		/* the SA for Wireshark: encryption key (GCM: with its salt),
		 * then the integrity key */
		if (cases[k].alg.transform != ESP_TRANSFORM_NULL)
			elen =
			    cases[k].alg.transform == ESP_TRANSFORM_AES_GCM_16
			    ? klen
			    : klen -
				(cases[k].alg.auth == IPSEC_AUTH_HMAC_SHA ? 20
									  : 32);
		for (size_t i = 0; i < elen; i++)
			snprintf(ek + 2 * i, 3, "%02x", key[i]);
		for (size_t i = elen; i < klen; i++)
			snprintf(ak + 2 * (i - elen), 3, "%02x", key[i]);
		at += (size_t)snprintf(cmd + at, sizeof(cmd) - at,
		    " -o 'uat:esp_sa:\"IPv4\",\"10.99.0.1\",\"10.99.0.2\","
		    "\"0x%08x\",\"%s\",\"%s%s\",\"%s\",\"%s%s\"'",
		    spi, cases[k].enc, elen ? "0x" : "", ek, cases[k].auth,
		    klen > elen ? "0x" : "", ak);
	}
	fclose(f);
	snprintf(cmd + at, sizeof(cmd) - at,
	    " -T fields -E separator=, -e esp.spi -e esp.icv_good "
	    "-e icmp.type -e icmp.seq -e ip.src 2>%s/tshark.err",
	    dir);
	out = tl_run(cmd, false, &st);
	if (st != 0) {
		snprintf(path, sizeof(path), "%s/tshark.err", dir);
		fail_msg("tshark failed (%d): %s\n%s\n%s", st,
		    tl_read_file(path, NULL), out, cmd);
	}
	/* one line a packet: SPI, ICV good, echo request, its number, and
	 * the inner source after the outer one */
	line = out;
	for (size_t k = 0; k < NCASES; k++) {
		char want[128];

		snprintf(want, sizeof(want),
		    "0x%08x,1,8,%zu,10.99.0.1,10.98.1.1\n",
		    0x5000 + (unsigned)k, k + 1);
		if (strncmp(line, want, strlen(want)) != 0)
			fail_msg(
			    "packet %zu (%s / %s): tshark says\n%s\nwanted "
			    "%s",
			    k + 1, cases[k].enc, cases[k].auth, out, want);
		line += strlen(want);
	}
	free(out);
	tl_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tshark_reads_our_esp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
