/*
 * The ISAKMP codec on arbitrary datagrams: header, payload chain (both as
 * sent and as decrypted), then every payload's second pass, walking SA
 * proposals, transforms and attributes to the end.
 */
#include <stddef.h>
#include <stdint.h>

#include "wire/isakmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk_sa(const struct isakmp_payload *pl)
{
	struct isakmp_sa sa;
	bool more = true;

	if (!ips_ok(isakmp_sa_parse(pl, &sa)))
		return;
	while (more) {
		struct isakmp_proposal p;
		bool tmore = true;

		if (!ips_ok(isakmp_proposal_next(&sa.proposals, &p, &more)))
			return;
		while (tmore) {
			struct isakmp_transform t;

			if (!ips_ok(isakmp_transform_next(
				&p.transforms, &t, &tmore)))
				return;
			while (rbuf_left(&t.attrs) > 0) {
				struct isakmp_attr a;
				uint64_t v;

				if (!ips_ok(isakmp_attr_next(&t.attrs, &a)))
					return;
				if (!ips_ok(isakmp_attr_uint(&a, &v)))
					return;
			}
		}
	}
}

static void
walk(const uint8_t *data, size_t size, bool decrypted)
{
	struct isakmp_hdr h;
	struct isakmp_chain c;
	struct rbuf rb;

	rbuf_init(&rb, data, size);
	if (!ips_ok(isakmp_hdr_parse(&rb, &h)) ||
	    !ips_ok(isakmp_chain_parse(&rb, h.next, decrypted, &c)))
		return;
	for (size_t i = 0; i < c.n; i++) {
		const struct isakmp_payload *pl = &c.pl[i];
		struct isakmp_id id;
		struct isakmp_notify n;
		struct isakmp_delete d;
		struct isakmp_cert ce;

		ips_res r = IPS_OK;

		switch (pl->type) {
		case ISAKMP_PL_SA:
			walk_sa(pl);
			break;
		case ISAKMP_PL_ID:
			r = isakmp_id_parse(pl, &id);
			break;
		case ISAKMP_PL_N:
			r = isakmp_notify_parse(pl, &n);
			break;
		case ISAKMP_PL_D:
			r = isakmp_delete_parse(pl, &d);
			break;
		case ISAKMP_PL_CERT:
		case ISAKMP_PL_CR:
			r = isakmp_cert_parse(pl, &ce);
			break;
		case ISAKMP_PL_NONCE:
			r = isakmp_nonce_check(pl);
			break;
		default:
			break;
		}
		/* Every failure must name a notify to answer with. */
		if (!ips_ok(r) && ips_err_notify(r.err) == 0)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(data, size, false);
	walk(data, size, true);
	return 0;
}
