#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ctl_frame.h"

struct ctl_client {
	int fd;
	int timeout_ms;
	const volatile sig_atomic_t *stop; /* set: give up at once */
};

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

ips_res
ctl_client_connect(const char *path, int timeout_ms, struct ctl_client **out,
    char *errbuf, size_t errlen)
{
	struct sockaddr_un sun;
	struct ctl_client *c;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "socket path is too long");
		BAIL(INVAL);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(
		 AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		BAIL(IO);
	}
	/* A daemon that does not accept fills its backlog, and a blocking
	 * connect would wait for ever; a Unix socket says EAGAIN instead,
	 * and is tried again until the timeout. */
	for (long until = now_ms() + timeout_ms;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		if ((errno == EAGAIN || errno == EINTR) && now_ms() < until) {
			usleep(10000);
			continue;
		}
		snprintf(errbuf, errlen,
		    errno == EAGAIN ? "cannot connect to %s: the daemon does "
				      "not accept connections (%s)"
				    : "cannot connect to %s: %s "
				      "(is ipsecmond running?)",
		    path, strerror(errno));
		close(fd);
		BAIL(IO);
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		close(fd);
		BAIL(NOMEM);
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->stop = NULL;
	*out = c;
	return IPS_OK;
}

void
ctl_client_stop_on(struct ctl_client *c, const volatile sig_atomic_t *flag)
{
	c->stop = flag;
}

void
ctl_client_close(struct ctl_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

static ips_res
wait_fd(struct ctl_client *c, short events, char *errbuf, size_t errlen)
{
	struct pollfd pfd = {c->fd, events, 0};
	int rc;

	do
		rc = poll(&pfd, 1, c->timeout_ms);
	while (rc < 0 && errno == EINTR && (c->stop == NULL || !*c->stop));
	if (rc < 0 && errno == EINTR) {
		snprintf(errbuf, errlen, "interrupted");
		BAIL(CLOSED);
	}
	if (rc == 0) {
		snprintf(errbuf, errlen, "daemon did not answer within %d ms",
		    c->timeout_ms);
		BAIL(IO);
	}
	if (rc < 0) {
		snprintf(errbuf, errlen, "poll: %s", strerror(errno));
		BAIL(IO);
	}
	return IPS_OK;
}

ips_res
ctl_client_call(struct ctl_client *c, const Ipsm__Request *req,
    Ipsm__Response **resp, char *errbuf, size_t errlen)
{
	struct wbuf out, in;
	struct rbuf rb, payload;
	uint8_t *body;
	size_t n = ipsm__request__get_packed_size(req), sent = 0;
	ips_res r;

	wbuf_init(&out, CTL_FRAME_MAX + CTL_FRAME_HDR);
	wbuf_init(&in, CTL_FRAME_MAX + CTL_FRAME_HDR);
	r = wbuf_u32(&out, (uint32_t)n);
	if (ips_ok(r))
		r = wbuf_reserve(&out, n, &body);
	if (!ips_ok(r)) {
		snprintf(errbuf, errlen, "request too large");
		goto out;
	}
	ipsm__request__pack(req, body);
	while (sent < out.len) {
		ssize_t w;

		if (!ips_ok(r = wait_fd(c, POLLOUT, errbuf, errlen)))
			goto out;
		w = send(c->fd, out.p + sent, out.len - sent, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue; /* wait_fd says when (the socket does not
				     block) */
		if (w < 0) {
			snprintf(errbuf, errlen, "send: %s", strerror(errno));
			r = IPS_ERR(IO);
			goto out;
		}
		sent += (size_t)w;
	}
	for (;;) {
		uint8_t chunk[65536];
		ssize_t got;

		rbuf_init(&rb, in.p, in.len);
		r = ctl_frame_parse(&rb, &payload);
		if (ips_ok(r))
			break;
		if (r.err != IPS_E_SHORT) {
			snprintf(
			    errbuf, errlen, "daemon sent an invalid frame");
			goto out;
		}
		if (!ips_ok(r = wait_fd(c, POLLIN, errbuf, errlen)))
			goto out;
		got = recv(c->fd, chunk, sizeof(chunk), 0);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			snprintf(
			    errbuf, errlen, "daemon closed the connection");
			r = IPS_ERR(CLOSED);
			goto out;
		}
		if (!ips_ok(r = wbuf_bytes(&in, chunk, (size_t)got))) {
			snprintf(errbuf, errlen, "response too large");
			goto out;
		}
	}
	*resp = ipsm__response__unpack(NULL, payload.len, payload.p);
	if (*resp == NULL) {
		snprintf(errbuf, errlen, "daemon sent an undecodable response");
		r = IPS_ERR(PROTO);
	}
out:
	wbuf_free(&out);
	wbuf_free(&in);
	return r;
}
