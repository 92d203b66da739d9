/*
 * bench/esp_throughput: ESP sealing and opening on one core, packets per
 * second and Gbit/s of payload at 64, 512 and 1400 bytes, for AES-GCM-128
 * and AES-CBC-128 with HMAC-SHA-256-128, against the crypto floor measured
 * in the same run by `openssl speed -evp` (and `-hmac sha256` for the
 * CBC transform, whose floor is the cipher and the MAC in series).
 * Prints ours / floor.  Not a test: `make bench` runs it.
 *
 * Each packet goes through esp_seal or esp_open as the datapath calls
 * them (one SA, fixed buffers), so the figure covers the ESP framing,
 * padding, IV, ICV and the EVP calls, and no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp/esp.h"
#include "wire/ike_wire.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes per second `openssl speed` reports for args at size bytes. */
static double
openssl_speed(const char *args, size_t size)
{
	char cmd[256], line[256];
	double v = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
	    "openssl speed %s -bytes %zu -seconds 1 -mr 2>/dev/null", args,
	    size);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		char *last = strrchr(line, ':');

		if (strncmp(line, "+F:", 3) == 0 && last != NULL)
			v = atof(last + 1);
	}
	pclose(p);
	return v;
}

/* Seconds per packet for n packets of size, sealing or opening. */
static double
ours(const struct esp_alg *a, size_t size, int n, bool open_them)
{
	static uint8_t payload[2048], pkt[2200], back[2200];
	uint8_t key[64];
	struct esp_sa *out, *in;
	struct wbuf w, b;
	uint8_t nh;
	double t0, t1;

	memset(key, 0x3c, sizeof(key));
	memset(payload, 0x5a, sizeof(payload));
	if (!ips_ok(esp_sa_new(a, true, 0x1000, key, esp_key_len(a), &out)) ||
	    !ips_ok(esp_sa_new(a, false, 0x1000, key, esp_key_len(a), &in)))
		exit(1);
	wbuf_init_on(&w, pkt, sizeof(pkt));
	if (!ips_ok(esp_seal(out, 1, ESP_NH_IPV4, payload, size, &w)))
		exit(1);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		if (open_them) {
			/* the same packet each time: no replay window here */
			wbuf_init_on(&b, back, sizeof(back));
			if (!ips_ok(esp_open(in, 1, pkt, w.len, &b, &nh)))
				exit(1);
		} else {
			struct wbuf x;

			wbuf_init_on(&x, pkt, sizeof(pkt));
			if (!ips_ok(esp_seal(out, (uint64_t)i + 2, ESP_NH_IPV4,
				payload, size, &x)))
				exit(1);
		}
	}
	t1 = now_s();
	esp_sa_free(out);
	esp_sa_free(in);
	return (t1 - t0) / n;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		struct esp_alg alg;
		const char *cipher; /* openssl speed -evp */
		bool hmac; /* and -hmac sha256 in series */
	} cases[] = {
	    {"AES-GCM-128", {ESP_TRANSFORM_AES_GCM_16, 128, 0, false},
		"aes-128-gcm", false},
	    {"AES-CBC-128/HMAC-SHA-256",
		{ESP_TRANSFORM_AES_CBC, 128, IPSEC_AUTH_HMAC_SHA2_256, false},
		"aes-128-cbc", true},
	};
	static const size_t sizes[] = {64, 512, 1400};
	int n = argc > 1 ? atoi(argv[1]) : 200000;

	printf("ESP on one core, %d packets per figure; floor: openssl speed "
	       "-evp in the same run\n\n",
	    n);
	printf("%-25s %5s %6s %10s %8s %10s %8s\n", "transform", "bytes", "dir",
	    "ours pk/s", "Gbit/s", "floor pk/s", "ours/fl");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (int dir = 0; dir < 2; dir++) {
				size_t size = sizes[s];
				double t = ours(&cases[c].alg, size, n, dir);
				char args[64];
				double fl, mac;

				snprintf(args, sizeof(args), "-evp %s%s",
				    cases[c].cipher, dir ? " -decrypt" : "");
				fl = openssl_speed(args, size);
				if (cases[c].hmac && fl > 0 &&
				    (mac = openssl_speed(
					 "-hmac sha256", size)) > 0)
					fl = 1 / (1 / fl + 1 / mac);
				fl /= (double)size; /* packets per second */
				printf("%-25s %5zu %6s %10.0f %8.2f %10.0f "
				       "%7.2f%%\n",
				    cases[c].name, size, dir ? "open" : "seal",
				    1 / t, (double)size * 8 / t / 1e9, fl,
				    fl > 0 ? 100 / t / fl : 0);
			}
	return 0;
}
