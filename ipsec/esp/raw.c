#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "raw.h"
#include "wire/ip.h"

#define RAW_BATCH 16 /* packets per recvmmsg */
#define RAW_WAKE 4 /* recvmmsg calls per wake-up, at most */

enum { RX_ESP4, RX_AH4, RX_ESP6, RX_AH6, RX_N };

struct raw_ip;

struct rx_sock {
	uv_poll_t poll;
	int fd; /* -1: not open */
	int af;
	uint8_t proto;
	struct raw_ip *r;
};

struct raw_ip {
	struct rx_sock rx[RX_N];
	int tx4, tx6; /* IPPROTO_RAW: header included */
	int open_polls;
	raw_ip_cb cb;
	void *ctx;
	/* one batch, used by whichever socket is read: room for a rebuilt
	 * IPv6 header in front of the largest packet, each */
	uint8_t buf[RAW_BATCH][IP6_HDR_LEN + 65536];
	struct iovec iov[RAW_BATCH];
	struct sockaddr_in6 from[RAW_BATCH];
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cmsg[RAW_BATCH];
};

/* One received packet as a whole IP packet: an IPv6 one gets back the
 * header raw sockets strip (RFC 8200 3), rebuilt from recvmsg's
 * addresses; AH zeroes the fields we cannot know (RFC 4302 3.3.3). */
static void
hand_over(struct rx_sock *s, uint8_t *buf, size_t n, struct msghdr *m)
{
	struct raw_ip *r = s->r;

	if (s->af == AF_INET6) {
		const struct sockaddr_in6 *from = m->msg_name;
		struct ips_addr src = {.af = AF_INET6}, dst = {.af = AF_INET6};
		bool have_dst = false;
		struct wbuf w;

		for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL;
		     c = CMSG_NXTHDR(m, c))
			if (c->cmsg_level == IPPROTO_IPV6 &&
			    c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				memcpy(dst.b, &pi.ipi6_addr, 16);
				have_dst = true;
			}
		memcpy(src.b, &from->sin6_addr, 16);
		wbuf_init_on(&w, buf, IP6_HDR_LEN);
		if (!have_dst || n > 65535 ||
		    !ips_ok(ip_put_header(&w, &src, &dst, s->proto, n, 0)))
			return;
		n += IP6_HDR_LEN;
	}
	r->cb(r->ctx, buf, n);
}

/* Up to RAW_BATCH packets per recvmmsg, RAW_WAKE calls per wake-up. */
static void
on_readable(uv_poll_t *p, int status, int events)
{
	struct rx_sock *s = p->data;
	struct raw_ip *r = s->r;
	size_t off = s->af == AF_INET6 ? IP6_HDR_LEN : 0;

	(void)events;
	if (status < 0)
		return;
	for (int wake = 0; wake < RAW_WAKE; wake++) {
		struct mmsghdr mm[RAW_BATCH];
		int n;

		for (int i = 0; i < RAW_BATCH; i++) {
			r->iov[i] = (struct iovec){
			    r->buf[i] + off, sizeof(r->buf[i]) - off};
			mm[i].msg_hdr = (struct msghdr){.msg_name = &r->from[i],
			    .msg_namelen = sizeof(r->from[i]),
			    .msg_iov = &r->iov[i],
			    .msg_iovlen = 1,
			    .msg_control = r->cmsg[i].b,
			    .msg_controllen = sizeof(r->cmsg[i].b)};
		}
		n = recvmmsg(s->fd, mm, RAW_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			/* a socket that fails for good would wake us
			 * forever: stop listening, say why */
			ips_log(IPS_LOG_ERR, "raw IP socket: %s; no more %s",
			    strerror(errno), s->proto == 50 ? "ESP" : "AH");
			uv_poll_stop(p);
			return;
		}
		for (int i = 0; i < n; i++)
			hand_over(s, r->buf[i], mm[i].msg_len, &mm[i].msg_hdr);
		if (n < RAW_BATCH)
			return;
	}
}

static void
set_mark(int fd, uint32_t mark)
{
	if (mark != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0)
		ips_log(IPS_LOG_WARNING, "raw IP socket: cannot set mark: %s",
		    strerror(errno));
}

static int
open_fd(int af, int proto, uint32_t mark)
{
	int one = 1;
	int fd = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -1;
	set_mark(fd, mark);
	if (af == AF_INET6 && proto != IPPROTO_RAW)
		setsockopt(
		    fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	return fd;
}

ips_res
raw_ip_open(uv_loop_t *loop, uint32_t mark, raw_ip_cb cb, void *ctx,
    struct raw_ip **out, char *errbuf, size_t errlen)
{
	static const struct {
		int af;
		uint8_t proto;
	} kinds[RX_N] = {
	    {AF_INET, 50}, {AF_INET, 51}, {AF_INET6, 50}, {AF_INET6, 51}};
	struct raw_ip *r = calloc(1, sizeof(*r));

	ENSURE(r != NULL, NOMEM);
	r->cb = cb;
	r->ctx = ctx;
	r->tx4 = open_fd(AF_INET, IPPROTO_RAW, mark);
	r->tx6 = open_fd(AF_INET6, IPPROTO_RAW, mark);
	for (int i = 0; i < RX_N; i++) {
		struct rx_sock *s = &r->rx[i];

		s->r = r;
		s->af = kinds[i].af;
		s->proto = kinds[i].proto;
		s->fd = open_fd(s->af, s->proto, mark);
		if (s->fd < 0)
			continue;
		if (uv_poll_init(loop, &s->poll, s->fd) != 0) {
			close(s->fd);
			s->fd = -1;
			continue;
		}
		s->poll.data = s;
		uv_poll_start(&s->poll, UV_READABLE, on_readable);
		r->open_polls++;
	}
	if (r->tx4 < 0 || r->rx[RX_ESP4].fd < 0 || r->rx[RX_AH4].fd < 0) {
		snprintf(errbuf, errlen, "cannot open raw IP sockets: %s",
		    strerror(errno));
		raw_ip_close(r);
		BAIL(IO);
	}
	*out = r;
	return IPS_OK;
}

static int
send_to(int fd, const struct ips_addr *to, const uint8_t *pkt, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (fd < 0)
		return -EAFNOSUPPORT;
	memset(&ss, 0, sizeof(ss));
	if (to->af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, to->b, 4);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, to->b, 16);
		sl = sizeof(*s);
	}
	if (sendto(fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) !=
	    (ssize_t)len)
		return -errno;
	return 0;
}

int
raw_ip_send_esp(struct raw_ip *r, const struct ips_addr *remote,
    const uint8_t *pkt, size_t len)
{
	return send_to(
	    remote->af == AF_INET ? r->rx[RX_ESP4].fd : r->rx[RX_ESP6].fd,
	    remote, pkt, len);
}

int
raw_ip_send_packet(struct raw_ip *r, const uint8_t *pkt, size_t len)
{
	struct ips_addr dst = {0};

	if (len >= IP4_HDR_LEN && pkt[0] >> 4 == 4) {
		dst.af = AF_INET;
		memcpy(dst.b, pkt + 16, 4);
		return send_to(r->tx4, &dst, pkt, len);
	}
	if (len >= IP6_HDR_LEN && pkt[0] >> 4 == 6) {
		dst.af = AF_INET6;
		memcpy(dst.b, pkt + 24, 16);
		return send_to(r->tx6, &dst, pkt, len);
	}
	return -EINVAL;
}

static void
closed(uv_handle_t *h)
{
	struct rx_sock *s = h->data;
	struct raw_ip *r = s->r;

	close(s->fd);
	if (--r->open_polls == 0)
		free(r);
}

void
raw_ip_close(struct raw_ip *r)
{
	int polls;

	if (r == NULL)
		return;
	if (r->tx4 >= 0)
		close(r->tx4);
	if (r->tx6 >= 0)
		close(r->tx6);
	r->tx4 = r->tx6 = -1;
	polls = r->open_polls;
	if (polls == 0) {
		free(r);
		return;
	}
	for (int i = 0; i < RX_N; i++)
		if (r->rx[i].fd >= 0)
			uv_close((uv_handle_t *)&r->rx[i].poll, closed);
}
