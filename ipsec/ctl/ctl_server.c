#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "ctl_frame.h"
#include "ctl_server.h"

/* Enough for every operator's shell and a collector or two. */
#define CTL_MAX_CLIENTS 128
#define CTL_READ_CHUNK 65536
/* Stop reading a client whose unread answers pass the high mark; resume
 * below the low one. */
#define CTL_QUEUE_HIGH (4u << 20)
#define CTL_QUEUE_LOW (1u << 20)

struct ctl_conn {
	uv_pipe_t pipe; /* first: the handle is the connection */
	struct ctl_server *srv;
	uid_t uid; /* the client's (SO_PEERCRED), (uid_t)-1 if unknown */
	struct ctl_conn *next, *prev;
	struct wbuf in; /* bytes received, not yet a whole frame */
	char rbuf[CTL_READ_CHUNK];
	bool closing;
	bool paused; /* reading stopped until queued answers drain */
};

struct ctl_server {
	uv_pipe_t listener;
	ctl_handler handler;
	void *ctx;
	struct ctl_conn *conns;
	size_t nconns;
	char *path;
	bool closing;
};

struct ctl_write {
	uv_write_t req;
	struct wbuf out;
};

static void
conn_closed(uv_handle_t *h)
{
	struct ctl_conn *c = h->data;

	wbuf_free(&c->in);
	free(c);
}

static void
conn_close(struct ctl_conn *c)
{
	struct ctl_server *srv = c->srv;

	if (c->closing)
		return;
	c->closing = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void process_input(struct ctl_conn *c);

static void
write_done(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct ctl_conn *c = req->handle->data;

	(void)status; /* a client that went away is not our problem */
	wbuf_free(&w->out);
	free(w);
	/* A client that stopped reading was paused; resume once it drains. */
	if (c->paused && !c->closing &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) <
		CTL_QUEUE_LOW) {
		c->paused = false;
		process_input(c); /* frames already buffered come first */
		if (!c->paused && !c->closing)
			uv_read_start(
			    (uv_stream_t *)&c->pipe, conn_alloc, conn_read);
	}
}

/* Encode resp into a frame and queue it; false if it cannot be encoded. */
static bool
queue_response(struct ctl_conn *c, const Ipsm__Response *resp)
{
	struct ctl_write *w = calloc(1, sizeof(*w));
	size_t n = ipsm__response__get_packed_size(resp);
	uint8_t *body;
	uv_buf_t buf;

	if (w == NULL)
		return false;
	wbuf_init(&w->out, CTL_FRAME_MAX + CTL_FRAME_HDR);
	if (!ips_ok(wbuf_u32(&w->out, (uint32_t)n)) ||
	    !ips_ok(wbuf_reserve(&w->out, n, &body))) {
		wbuf_free(&w->out);
		free(w);
		return false;
	}
	ipsm__response__pack(resp, body);
	buf = uv_buf_init((char *)w->out.p, (unsigned)w->out.len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_done)) {
		wbuf_free(&w->out);
		free(w);
		conn_close(c);
		return true;
	}
	/* Backpressure: a client that does not read its answers gets no
	 * more of its requests read, so it cannot make us buffer without
	 * bound. */
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) >
	    CTL_QUEUE_HIGH) {
		c->paused = true;
		uv_read_stop((uv_stream_t *)&c->pipe);
	}
	return true;
}

static void
send_response(struct ctl_conn *c, const Ipsm__Response *resp)
{
	Ipsm__Response big = IPSM__RESPONSE__INIT;

	if (queue_response(c, resp))
		return;
	ips_log(IPS_LOG_ERR, "control response of %zu bytes too large",
	    ipsm__response__get_packed_size(resp));
	big.status = IPS_E_TOOBIG;
	big.error = (char *)"response too large; narrow the request";
	if (!queue_response(c, &big))
		conn_close(c);
}

static void
handle_frame(struct ctl_conn *c, const struct rbuf *payload)
{
	Ipsm__Response resp = IPSM__RESPONSE__INIT;
	Ipsm__Request *req;
	struct arena *a;

	req = ipsm__request__unpack(NULL, payload->len, payload->p);
	if (req == NULL || req->op_case == IPSM__REQUEST__OP__NOT_SET) {
		resp.status = IPS_E_PROTO;
		resp.error = (char *)(req == NULL
			? "request is not a valid control message"
			: "request names no operation (client too new?)");
		send_response(c, &resp);
		ipsm__request__free_unpacked(req, NULL);
		if (req == NULL)
			conn_close(c);
		return;
	}
	if ((a = arena_new()) == NULL) {
		resp.status = IPS_E_NOMEM;
		resp.error = (char *)"out of memory";
	} else {
		c->srv->handler(c->srv->ctx, req, &resp, a, c->uid);
	}
	send_response(c, &resp);
	arena_free(a);
	ipsm__request__free_unpacked(req, NULL);
}

static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

/*
 * Answer the whole frames buffered for a client, until it is paused (its
 * unread answers passed the high mark) or closed; what is left waits.
 */
static void
process_input(struct ctl_conn *c)
{
	struct rbuf rb, payload;
	ips_res r = IPS_OK;

	rbuf_init(&rb, c->in.p, c->in.len);
	while (!c->closing && !c->paused &&
	    ips_ok(r = ctl_frame_parse(&rb, &payload)))
		handle_frame(c, &payload);
	if (c->closing)
		return;
	if (r.err == IPS_E_TOOBIG) {
		ips_log(IPS_LOG_WARNING, "control frame over %u bytes; closing",
		    CTL_FRAME_MAX);
		conn_close(c);
		return;
	}
	memmove(c->in.p, c->in.p + rb.off, c->in.len - rb.off);
	c->in.len -= rb.off;
	/* Give back the memory a large frame needed once it is consumed. */
	if (c->in.len == 0 && c->in.cap > CTL_READ_CHUNK)
		wbuf_free(&c->in);
}

static void
conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *c = s->data;

	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (!ips_ok(wbuf_bytes(&c->in, buf->base, (size_t)nread))) {
		ips_log(IPS_LOG_WARNING,
		    "control client sent an oversized "
		    "frame; closing");
		conn_close(c);
		return;
	}
	process_input(c);
}

static void
on_connection(uv_stream_t *listener, int status)
{
	struct ctl_server *srv = listener->data;
	struct ctl_conn *c;

	if (status < 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->srv = srv;
	wbuf_init(&c->in, CTL_FRAME_MAX + CTL_FRAME_HDR);
	uv_pipe_init(listener->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	/* who connected, as the kernel says: export-keys is root's alone */
	{
		struct ucred cred;
		socklen_t len = sizeof(cred);
		uv_os_fd_t fd;

		c->uid = (uid_t)-1;
		if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			c->uid = cred.uid;
	}
	if (srv->nconns > CTL_MAX_CLIENTS) {
		ips_log(IPS_LOG_WARNING,
		    "more than %d control clients; "
		    "refusing one",
		    CTL_MAX_CLIENTS);
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read);
}

/* Remove a socket file nobody listens on; refuse to steal a live one. */
static ips_res
clear_stale(const char *path, char *errbuf, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd, rc;

	if (lstat(path, &sb) != 0)
		return IPS_OK;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(errbuf, errlen, "%s exists and is not a socket", path);
		BAIL(EXISTS);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		BAIL(IO);
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(
		    errbuf, errlen, "another daemon is listening on %s", path);
		BAIL(EXISTS);
	}
	unlink(path);
	return IPS_OK;
}

ips_res
ctl_server_start(uv_loop_t *loop, const char *path, unsigned mode,
    ctl_handler h, void *ctx, struct ctl_server **out, char *errbuf,
    size_t errlen)
{
	struct ctl_server *srv;
	mode_t old;
	int rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(errbuf, errlen, "socket path is too long: %s", path);
		BAIL(INVAL);
	}
	GUARD(clear_stale(path, errbuf, errlen));
	ENSURE((srv = calloc(1, sizeof(*srv))) != NULL, NOMEM);
	if ((srv->path = strdup(path)) == NULL) {
		free(srv);
		BAIL(NOMEM);
	}
	srv->handler = h;
	srv->ctx = ctx;
	uv_pipe_init(loop, &srv->listener, 0);
	srv->listener.data = srv;
	/* Never let the socket exist with wider access than asked for. */
	old = umask(0777 & ~(mode_t)mode);
	rc = uv_pipe_bind(&srv->listener, path);
	umask(old);
	if (rc == 0)
		rc = chmod(path, (mode_t)mode) == 0
		    ? 0
		    : uv_translate_sys_error(errno);
	if (rc == 0)
		rc =
		    uv_listen((uv_stream_t *)&srv->listener, 16, on_connection);
	if (rc != 0) {
		snprintf(errbuf, errlen, "cannot listen on %s: %s", path,
		    uv_strerror(rc));
		srv->closing = true;
		uv_close((uv_handle_t *)&srv->listener, NULL);
		/* The handle is embedded: let the loop finish with it. */
		uv_run(loop, UV_RUN_NOWAIT);
		free(srv->path);
		free(srv);
		BAIL(IO);
	}
	*out = srv;
	return IPS_OK;
}

static void
server_closed(uv_handle_t *h)
{
	struct ctl_server *srv = h->data;

	free(srv->path);
	free(srv);
}

void
ctl_server_close(struct ctl_server *srv)
{
	if (srv == NULL || srv->closing)
		return;
	srv->closing = true;
	while (srv->conns != NULL)
		conn_close(srv->conns);
	unlink(srv->path);
	uv_close((uv_handle_t *)&srv->listener, server_closed);
}
