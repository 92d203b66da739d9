/*
 * The daemon's side of the control socket: frames split from a byte
 * stream, requests decoded, and every view built against a fixed policy.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl_frame.h"
#include "ctl/ctl_view.h"
#include "wire/ike_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
    "policy: { name: fuzz }\n"
    "ike-policies:\n"
    "  - { name: mm, offers: [ { encryption: aes128, integrity: sha1, "
    "dh-group: 14 } ] }\n"
    "negotiation-policies:\n"
    "  - { name: qm, offers: [ { esp: aes128gcm16 }, { ah: sha1 } ] }\n"
    "filter-lists:\n"
    "  - { name: fl, filters: [ { source: me, destination: 192.0.2.0/24 }, "
    "{ source: 10.1.0.0/16, destination: 10.2.0.0/16 } ] }\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "rules:\n"
    "  - { name: r, filter-list: fl, filter-action: sec, tunnel: 10.9.9.9, "
    "authentication: [ { method: certificate } ] }\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct policy *p = NULL;
	struct hostenv *h = hostenv_new();
	struct flt_set *fs = NULL;
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;
	struct ctl_view_src src;
	struct rbuf rb, payload;
	struct ips_addr a;
	struct ike_sa_info sa;
	struct sad_info rows[2];
	struct settings settings;
	struct sad_soft soft;

	if (h == NULL || !ips_addr_parse("192.0.2.1", &a) ||
	    !ips_ok(hostenv_add(h, HOSTENV_LOCAL, &a)) ||
	    !ips_ok(policy_load_buffer(
		"p.yaml", policy_text, sizeof(policy_text) - 1, &p, &err)) ||
	    !ips_ok(flt_set_build(p, h, &fs)))
		goto out;
	memset(&mm, 0, sizeof(mm));
	memset(&qm, 0, sizeof(qm));
	/* One Main Mode SA, so its view is built too. */
	memset(&sa, 0, sizeof(sa));
	sa.local.addr = a;
	sa.remote.addr = a;
	sa.encr = 7;
	sa.keybits = 256;
	sa.hash = 4;
	sa.group = 14;
	sa.auth = 1;
	/* and one IPsec SA pair */
	memset(rows, 0, sizeof(rows));
	rows[0].spi = 0x1234;
	rows[0].dir = SAD_OUTBOUND;
	rows[0].state = SAD_MATURE;
	rows[0].pair_spi = 0x5678;
	rows[0].p.proto = ISAKMP_PROTO_ESP;
	rows[0].p.transform = ESP_TRANSFORM_AES_GCM_16;
	rows[0].p.keybits = 128;
	rows[0].p.local = rows[0].p.remote = a;
	rows[1] = rows[0];
	rows[1].spi = 0x5678;
	rows[1].dir = SAD_INBOUND;
	/* and one soft association */
	memset(&soft, 0, sizeof(soft));
	soft.remote = a;
	soft.src = soft.dst = ips_aspec_host(&a);
	snprintf(soft.rule, sizeof(soft.rule), "r");
	soft.expires_ms = 9000;
	settings_defaults(&settings);
	src = (struct ctl_view_src){p, fs, h, &mm, &qm, 1, 2, &sa, 1, rows, 2,
	    &soft, 1, 5000, &settings, "/x/config.json", NULL, 3};
	rbuf_init(&rb, data, size);
	while (ips_ok(ctl_frame_parse(&rb, &payload))) {
		Ipsm__Request *req =
		    ipsm__request__unpack(NULL, payload.len, payload.p);
		Ipsm__Response resp = IPSM__RESPONSE__INIT;
		struct arena *ar;

		if (req == NULL)
			continue;
		if ((ar = arena_new()) != NULL) {
			ctl_view_build(&src, req, &resp, ar);
			/* The response must always be packable. */
			if (ipsm__response__get_packed_size(&resp) > 0) {
				uint8_t *buf = arena_alloc(
				    ar, ipsm__response__get_packed_size(&resp));

				if (buf != NULL)
					ipsm__response__pack(&resp, buf);
			}
			arena_free(ar);
		}
		ipsm__request__free_unpacked(req, NULL);
	}
out:
	flt_set_free(fs);
	policy_free(p);
	hostenv_free(h);
	return 0;
}
