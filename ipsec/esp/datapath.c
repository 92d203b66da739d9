#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"
#include "datapath.h"
#include "esp.h"
#include "wire/ike_wire.h"

#define DP_BUF (DP_MTU + 256) /* a packet and ESP's overhead, with room */

struct dp {
	struct sad *sad;
	const struct dp_ops *ops;
	void *ctx;
	struct dp_drops drops;
	uint8_t out[DP_BUF], in[DP_BUF];
};

struct dp *
dp_new(struct sad *sad, const struct dp_ops *ops, void *ctx)
{
	struct dp *dp = calloc(1, sizeof(*dp));

	if (dp != NULL) {
		dp->sad = sad;
		dp->ops = ops;
		dp->ctx = ctx;
	}
	return dp;
}

void
dp_free(struct dp *dp)
{
	if (dp == NULL)
		return;
	/* the buffers held cleartext */
	memset(dp->out, 0, sizeof(dp->out));
	memset(dp->in, 0, sizeof(dp->in));
	free(dp);
}

void
dp_drops(const struct dp *dp, struct dp_drops *out)
{
	*out = dp->drops;
}

/* TCP and UDP ports, if the transport header is there (a first or only
 * fragment). */
static void
ports(struct rbuf *r, uint8_t proto, struct dp_flow *f)
{
	uint16_t s, d;

	if ((proto == 6 || proto == 17) && ips_ok(rbuf_u16(r, &s)) &&
	    ips_ok(rbuf_u16(r, &d))) {
		f->sport = s;
		f->dport = d;
	}
}

ips_res
dp_flow_parse(const uint8_t *pkt, size_t len, struct dp_flow *f)
{
	struct rbuf r;
	uint8_t vihl;

	memset(f, 0, sizeof(*f));
	rbuf_init(&r, pkt, len);
	ENSURE(ips_ok(rbuf_u8(&r, &vihl)), IKE_MALFORMED);
	if (vihl >> 4 == 4) {
		/*= rfc791#section-3.1
		 *# Version | IHL | TOS | Total Length | ... | Protocol | ...
		 *# Source Address | Destination Address | Options */
		size_t ihl = (size_t)(vihl & 15) * 4;
		uint16_t total, frag;
		uint8_t proto;

		ENSURE(ihl >= 20 && ips_ok(rbuf_skip(&r, 1)) &&
			ips_ok(rbuf_u16(&r, &total)) && total >= ihl &&
			total <= len && ips_ok(rbuf_skip(&r, 2)) &&
			ips_ok(rbuf_u16(&r, &frag)) &&
			ips_ok(rbuf_skip(&r, 1)) &&
			ips_ok(rbuf_u8(&r, &proto)) &&
			ips_ok(rbuf_skip(&r, 2)) &&
			ips_ok(rbuf_bytes(&r, f->src.b, 4)) &&
			ips_ok(rbuf_bytes(&r, f->dst.b, 4)) &&
			ips_ok(rbuf_skip(&r, ihl - 20)),
		    IKE_MALFORMED);
		f->src.af = f->dst.af = AF_INET;
		f->proto = proto;
		if ((frag & 0x1fff) == 0) /* no offset: ports are here */
			ports(&r, proto, f);
		return IPS_OK;
	}
	if (vihl >> 4 == 6) {
		/*= rfc8200#section-3
		 *# Version | Traffic Class | Flow Label | Payload Length |
		 *# Next Header | Hop Limit | Source | Destination */
		uint16_t plen;
		uint8_t nh;

		ENSURE(ips_ok(rbuf_skip(&r, 3)) &&
			ips_ok(rbuf_u16(&r, &plen)) &&
			(size_t)plen + 40 <= len && ips_ok(rbuf_u8(&r, &nh)) &&
			ips_ok(rbuf_skip(&r, 1)) &&
			ips_ok(rbuf_bytes(&r, f->src.b, 16)) &&
			ips_ok(rbuf_bytes(&r, f->dst.b, 16)),
		    IKE_MALFORMED);
		f->src.af = f->dst.af = AF_INET6;
		/* XXX(issue 4): extension headers are not walked; the
		 * protocol is then theirs and the ports unknown */
		f->proto = nh;
		ports(&r, nh, f);
		return IPS_OK;
	}
	BAIL(IKE_MALFORMED);
}

static bool
udp_encap(const struct sad_params *p)
{
	return p->encap == IPSEC_ENCAP_UDP_TUNNEL ||
	    p->encap == IPSEC_ENCAP_UDP_TRANSPORT ||
	    p->encap == IPSEC_ENCAP_UDP_TUNNEL_DRAFT ||
	    p->encap == IPSEC_ENCAP_UDP_TRANSPORT_DRAFT;
}

void
dp_outbound(struct dp *dp, const uint8_t *pkt, size_t len)
{
	struct sad_info sa;
	struct dp_flow f;
	struct wbuf w;

	if (!ips_ok(dp_flow_parse(pkt, len, &f))) {
		dp->drops.not_ip++;
		return;
	}
	switch (dp->ops->decide(dp->ctx, &f)) {
	case DP_BLOCK:
		dp->drops.blocked++;
		return;
	case DP_CLEAR:
		dp->drops.clear++;
		return;
	case DP_PROTECT:
		break;
	}
	if (!sad_outbound_for(
		dp->sad, &f.src, &f.dst, f.proto, f.sport, f.dport, &sa)) {
		dp->drops.no_sa++;
		dp->ops->acquire(dp->ctx, &f);
		return;
	}
	/* XXX(issue 4): transport mode; here every SA is a tunnel */
	wbuf_init_on(&w, dp->out, sizeof(dp->out));
	if (!ips_ok(sad_esp_seal(dp->sad, sa.spi,
		f.src.af == AF_INET ? ESP_NH_IPV4 : ESP_NH_IPV6, pkt, len, &w,
		dp->ops->now_ms(dp->ctx))) ||
	    (udp_encap(&sa.p)
		    ? dp->ops->send_udp(dp->ctx, &sa.p.local, sa.p.local_port,
			  &sa.p.remote, sa.p.remote_port, w.p, w.len)
		    : dp->ops->send_raw(
			  dp->ctx, &sa.p.local, &sa.p.remote, w.p, w.len)) != 0)
		dp->drops.send_failed++;
	if (sad_take_soft_due(dp->sad))
		dp->ops->soft_expired(dp->ctx);
}

void
dp_inbound(struct dp *dp, const uint8_t *pkt, size_t len)
{
	struct sad_info sa;
	struct dp_flow f;
	struct wbuf w;
	uint8_t nh;

	wbuf_init_on(&w, dp->in, sizeof(dp->in));
	if (sad_esp_open(dp->sad, pkt, len, &w, &nh, &sa,
		dp->ops->now_ms(dp->ctx)) != SAD_RX_OK)
		return; /* counted by the SAD */
	if (sad_take_soft_due(dp->sad))
		dp->ops->soft_expired(dp->ctx);
	if (nh == ESP_NH_NONE)
		return; /* a dummy packet (RFC 4303 2.6) */
	/* RFC 4301 5.2: what came out must be what the SA was made for:
	 * from the peer's selector to ours (sa.p.src is ours) */
	if ((nh != ESP_NH_IPV4 && nh != ESP_NH_IPV6) ||
	    !ips_ok(dp_flow_parse(w.p, w.len, &f)) ||
	    !ips_aspec_contains(&sa.p.dst, &f.src) ||
	    !ips_aspec_contains(&sa.p.src, &f.dst) ||
	    (sa.p.sel_proto != 0 && sa.p.sel_proto != f.proto)) {
		dp->drops.inner_mismatch++;
		return;
	}
	if (dp->ops->deliver(dp->ctx, w.p, w.len) != 0)
		dp->drops.deliver_failed++;
}
