#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "ike_io.h"
#include "wire/ike_wire.h"

#define IO_MAX_DGRAM 65536
#define NSOCKS 4 /* {500, 4500} x {v4, v6} */
#define IO_BATCH 16 /* datagrams per recvmmsg */
#define IO_WAKE 4 /* recvmmsg calls per wake-up, at most */
/*
 * Socket buffers sized for a burst: a hub whose peers all reconnect at once
 * (after an outage, or a reload) gets hundreds of first messages in one
 * go, and the kernel's default 208 KiB drops most of them; each drop costs
 * a 2 s retransmission.  4 MiB holds a few thousand Main Mode messages.
 */
#define IO_SOCKBUF (4 << 20)

struct io_sock {
	uv_poll_t poll;
	int fd;
	uint32_t drops; /* the kernel's SO_RXQ_OVFL count, last seen */
	int af;
	uint16_t port;
	bool natt;
	struct ike_io *io;
};

struct ike_io {
	struct io_sock socks[NSOCKS];
	size_t nsocks;
	int open_handles;
	ike_io_cb ike_cb, esp_cb;
	void *ctx;
	struct stats *stats;
	uint16_t natt_port;
	/* one batch, for whichever socket is read */
	uint8_t buf[IO_BATCH][IO_MAX_DGRAM];
	struct iovec iov[IO_BATCH];
	struct sockaddr_storage from[IO_BATCH];
	union {
		char buf[256];
		struct cmsghdr align;
	} cmsg[IO_BATCH];
};

static void
to_endpoint(const struct sockaddr_storage *ss, struct ike_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		ep->addr.af = AF_INET;
		memcpy(ep->addr.b, &s->sin_addr, 4);
		ep->port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		ep->addr.af = AF_INET6;
		memcpy(ep->addr.b, &s->sin6_addr, 16);
		ep->port = ntohs(s->sin6_port);
	}
}

/*
 * Read the destination address of a datagram from its control data, and
 * the kernel's count of datagrams it dropped on this socket for want of
 * buffer space (SO_RXQ_OVFL): each is a receive that failed.
 */
static bool
local_of(struct io_sock *s, struct msghdr *mh, struct ike_endpoint *ep)
{
	bool found = false;
	int af = s->af;

	memset(ep, 0, sizeof(*ep));
	ep->port = s->port;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
	     c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t drops;

			memcpy(&drops, CMSG_DATA(c), sizeof(drops));
			for (; s->drops != drops; s->drops++)
				stats_on_ike_receive_error(s->io->stats);
		}
		if (af == AF_INET && c->cmsg_level == IPPROTO_IP &&
		    c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ep->addr.af = AF_INET;
			memcpy(ep->addr.b, &pi.ipi_addr, 4);
			found = true;
		}
		if (af == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ep->addr.af = AF_INET6;
			memcpy(ep->addr.b, &pi.ipi6_addr, 16);
			found = true;
		}
	}
	return found;
}

/* One datagram as received: IKE (marker removed) or ESP to its callback. */
static void
hand_over(struct io_sock *s, uint8_t *buf, size_t len, struct msghdr *mh)
{
	struct ike_io *io = s->io;
	struct ike_endpoint local, remote;
	const uint8_t *msg = buf;

	if ((mh->msg_flags & MSG_TRUNC) || !local_of(s, mh, &local)) {
		stats_on_ike_receive_error(io->stats);
		return;
	}
	to_endpoint(mh->msg_name, &remote);
	if (s->natt) {
		static const uint8_t marker[4];

		/* RFC 3948 2.1: a one-byte 0xff is a NAT keepalive. */
		if (len == 1 && msg[0] == 0xff)
			return;
		if (len < 4 || memcmp(msg, marker, 4) != 0) {
			if (io->esp_cb != NULL)
				io->esp_cb(io->ctx, &local, &remote, msg, len);
			return;
		}
		msg += 4;
		len -= 4;
	}
	io->ike_cb(io->ctx, &local, &remote, msg, len);
}

/* Drain what is queued: IO_BATCH datagrams per recvmmsg, a bounded
 * number of calls per wake-up. */
static void
on_readable(uv_poll_t *p, int status, int events)
{
	struct io_sock *s = p->data;
	struct ike_io *io = s->io;

	(void)events;
	if (status < 0) {
		stats_on_ike_receive_error(io->stats);
		return;
	}
	for (int wake = 0; wake < IO_WAKE; wake++) {
		struct mmsghdr mm[IO_BATCH];
		int n;

		for (int i = 0; i < IO_BATCH; i++) {
			io->iov[i] = (struct iovec){io->buf[i], IO_MAX_DGRAM};
			mm[i].msg_hdr =
			    (struct msghdr){.msg_name = &io->from[i],
				.msg_namelen = sizeof(io->from[i]),
				.msg_iov = &io->iov[i],
				.msg_iovlen = 1,
				.msg_control = io->cmsg[i].buf,
				.msg_controllen = sizeof(io->cmsg[i].buf)};
		}
		n = recvmmsg(s->fd, mm, IO_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				stats_on_ike_receive_error(io->stats);
			return;
		}
		for (int i = 0; i < n; i++)
			hand_over(s, io->buf[i], mm[i].msg_len, &mm[i].msg_hdr);
		if (n < IO_BATCH)
			return;
	}
}

static int
open_sock(struct ike_io *io, int af, uint16_t port, bool natt, uint32_t mark,
    uv_loop_t *loop, char *errbuf, size_t errlen)
{
	struct io_sock *s = &io->socks[io->nsocks];
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, fd;

	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return af == AF_INET6 ? 1 : -1; /* no IPv6: fine */
	memset(&ss, 0, sizeof(ss));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (mark != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
		snprintf(errbuf, errlen, "cannot mark UDP port %u: %s", port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* Past net.core.rmem_max when we may (root), else up to it. */
	for (int o = 0; o < 2; o++) {
		int sz = IO_SOCKBUF;
		int force = o == 0 ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
		int plain = o == 0 ? SO_RCVBUF : SO_SNDBUF;

		if (setsockopt(fd, SOL_SOCKET, force, &sz, sizeof(sz)) != 0)
			setsockopt(fd, SOL_SOCKET, plain, &sz, sizeof(sz));
	}
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sl = sizeof(*sin);
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sl = sizeof(*sin6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(
		    fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		int e = errno;

		close(fd);
		if (af == AF_INET6 && e == EADDRNOTAVAIL)
			return 1;
		snprintf(errbuf, errlen, "cannot bind UDP port %u (%s): %s",
		    port, af == AF_INET ? "IPv4" : "IPv6", strerror(e));
		return -1;
	}
	s->fd = fd;
	s->af = af;
	s->port = port;
	s->natt = natt;
	s->io = io;
	uv_poll_init(loop, &s->poll, fd);
	s->poll.data = s;
	uv_poll_start(&s->poll, UV_READABLE, on_readable);
	io->nsocks++;
	io->open_handles++;
	return 0;
}

ips_res
ike_io_start(uv_loop_t *loop, uint16_t port, uint16_t natt_port, uint32_t mark,
    ike_io_cb ike_cb, ike_io_cb esp_cb, void *ctx, struct stats *stats,
    struct ike_io **out, char *errbuf, size_t errlen)
{
	struct ike_io *io = calloc(1, sizeof(*io));
	static const int afs[] = {AF_INET, AF_INET6};

	ENSURE(io != NULL, NOMEM);
	io->ike_cb = ike_cb;
	io->esp_cb = esp_cb;
	io->ctx = ctx;
	io->stats = stats;
	io->natt_port = natt_port;
	for (size_t a = 0; a < 2; a++) {
		if (open_sock(io, afs[a], port, false, mark, loop, errbuf,
			errlen) < 0 ||
		    open_sock(io, afs[a], natt_port, true, mark, loop, errbuf,
			errlen) < 0) {
			ike_io_stop(io);
			BAIL(IO);
		}
	}
	*out = io;
	return IPS_OK;
}

/*
 * One datagram from local to remote on the socket of local's port: with
 * the 4-byte non-ESP marker in front when it is IKE on the NAT-T port
 * (RFC 3948 2.2), without it when it is ESP.
 */
static int
send_dgram(struct ike_io *io, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, bool esp, const uint8_t *msg, size_t len)
{
	static const uint8_t marker[4];
	struct sockaddr_storage to;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov[2];
	struct msghdr mh;
	struct cmsghdr *c;
	struct io_sock *s = NULL;
	bool natt = local->port == io->natt_port;

	if (esp && !natt)
		return -EINVAL; /* ESP in UDP is on the NAT-T port alone */
	for (size_t i = 0; i < io->nsocks; i++)
		if (io->socks[i].af == remote->addr.af &&
		    io->socks[i].natt == natt)
			s = &io->socks[i];
	if (s == NULL)
		return -EAFNOSUPPORT;
	memset(&to, 0, sizeof(to));
	memset(&cmsg, 0, sizeof(cmsg));
	memset(&mh, 0, sizeof(mh));
	iov[0] = (struct iovec){(void *)marker, 4};
	iov[1] = (struct iovec){(void *)msg, len};
	mh.msg_iov = natt && !esp ? iov : iov + 1;
	mh.msg_iovlen = natt && !esp ? 2 : 1;
	mh.msg_name = &to;
	mh.msg_control = cmsg.buf;
	if (remote->addr.af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&to;
		struct in_pktinfo pi;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(remote->port);
		memcpy(&sin->sin_addr, remote->addr.b, 4);
		mh.msg_namelen = sizeof(*sin);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, local->addr.b, 4);
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&to;
		struct in6_pktinfo pi;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(remote->port);
		memcpy(&sin6->sin6_addr, remote->addr.b, 16);
		mh.msg_namelen = sizeof(*sin6);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, local->addr.b, 16);
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

int
ike_io_send(struct ike_io *io, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len)
{
	return send_dgram(io, local, remote, false, msg, len);
}

int
ike_io_send_esp(struct ike_io *io, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *pkt, size_t len)
{
	return send_dgram(io, local, remote, true, pkt, len);
}

static void
closed(uv_handle_t *h)
{
	struct io_sock *s = h->data;
	struct ike_io *io = s->io;

	close(s->fd);
	if (--io->open_handles == 0)
		free(io);
}

void
ike_io_stop(struct ike_io *io)
{
	if (io == NULL)
		return;
	if (io->open_handles == 0) {
		free(io);
		return;
	}
	for (size_t i = 0; i < io->nsocks; i++)
		uv_close((uv_handle_t *)&io->socks[i].poll, closed);
}
