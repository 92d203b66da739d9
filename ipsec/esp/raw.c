#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "raw.h"
#include "wire/rbuf.h"

#define RAW_BATCH 64 /* packets read per wake-up */

struct raw_esp {
	uv_poll_t poll;
	int fd;
	raw_esp_cb cb;
	void *ctx;
	uint8_t buf[65536];
};

static void
on_readable(uv_poll_t *p, int status, int events)
{
	struct raw_esp *r = p->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < RAW_BATCH; i++) {
		ssize_t n = recv(r->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);
		size_t ihl;

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			/* a socket that fails for good would wake us
			 * forever: stop listening, say why */
			ips_log(IPS_LOG_ERR,
			    "raw ESP socket: %s; no more raw ESP",
			    strerror(errno));
			uv_poll_stop(p);
			return;
		}
		if (n <= 0)
			return;
		/* an IPv4 raw socket hands over the header too */
		ihl = (size_t)(r->buf[0] & 15) * 4;
		if ((r->buf[0] >> 4) != 4 || ihl < 20 || (size_t)n <= ihl)
			continue;
		r->cb(r->ctx, r->buf + ihl, (size_t)n - ihl);
	}
}

ips_res
raw_esp_open(uv_loop_t *loop, raw_esp_cb cb, void *ctx, struct raw_esp **out,
    char *errbuf, size_t errlen)
{
	struct raw_esp *r = calloc(1, sizeof(*r));

	ENSURE(r != NULL, NOMEM);
	r->fd = socket(
	    AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
	if (r->fd < 0) {
		snprintf(errbuf, errlen, "cannot open a raw ESP socket: %s",
		    strerror(errno));
		free(r);
		BAIL(IO);
	}
	r->cb = cb;
	r->ctx = ctx;
	if (uv_poll_init(loop, &r->poll, r->fd) != 0) {
		snprintf(errbuf, errlen, "cannot poll the raw ESP socket");
		close(r->fd);
		free(r);
		BAIL(IO);
	}
	r->poll.data = r;
	uv_poll_start(&r->poll, UV_READABLE, on_readable);
	*out = r;
	return IPS_OK;
}

int
raw_esp_send(struct raw_esp *r, const struct ips_addr *remote,
    const uint8_t *pkt, size_t len)
{
	struct sockaddr_in to;

	if (remote->af != AF_INET)
		return -EAFNOSUPPORT; /* XXX(issue 4): IPv6 outer headers */
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	memcpy(&to.sin_addr, remote->b, 4);
	if (sendto(r->fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&to,
		sizeof(to)) != (ssize_t)len)
		return -errno;
	return 0;
}

static void
closed(uv_handle_t *h)
{
	struct raw_esp *r = h->data;

	close(r->fd);
	free(r);
}

void
raw_esp_close(struct raw_esp *r)
{
	if (r != NULL)
		uv_close((uv_handle_t *)&r->poll, closed);
}
