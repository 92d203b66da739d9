#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "hostwatch.h"

struct hostwatch {
	uv_poll_t poll;
	uv_timer_t timer;
	uv_fs_event_t resolv;
	int fd;
	int open_handles;
	bool resolv_started;
	unsigned quiet_ms;
	hostwatch_cb cb;
	void *ctx;
};

static void
fire(uv_timer_t *t)
{
	struct hostwatch *hw = t->data;

	hw->cb(hw->ctx);
}

static void
poke(struct hostwatch *hw)
{
	/* Restarting the timer coalesces a burst into one callback. */
	uv_timer_start(&hw->timer, fire, hw->quiet_ms, 0);
}

static void
on_netlink(uv_poll_t *p, int status, int events)
{
	struct hostwatch *hw = p->data;
	char buf[8192];
	bool any = false;

	(void)events;
	if (status < 0) {
		/* libuv stops the handle: say so rather than go quiet. */
		ips_log(IPS_LOG_ERR,
		    "host address watch failed (%s); filters "
		    "now follow address changes only on reload",
		    uv_strerror(status));
		return;
	}
	/* The content does not matter: any change means "look again".
	 * ENOBUFS (we fell behind) means the same. */
	for (;;) {
		ssize_t n = recv(hw->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0 || (n < 0 && errno == ENOBUFS)) {
			any = true;
			continue;
		}
		break;
	}
	if (any)
		poke(hw);
}

/*
 * resolvconf, NetworkManager and DHCP clients replace /etc/resolv.conf by
 * renaming a new file over it, which would strand a watch on the file
 * itself; so the directory is watched, for that name.
 */
static void
on_etc(uv_fs_event_t *h, const char *name, int events, int status)
{
	(void)events;
	if (status == 0 && name != NULL && strcmp(name, "resolv.conf") == 0)
		poke(h->data);
}

ips_res
hostwatch_start(uv_loop_t *loop, unsigned quiet_ms, hostwatch_cb cb, void *ctx,
    struct hostwatch **out)
{
	struct sockaddr_nl snl;
	struct hostwatch *hw = calloc(1, sizeof(*hw));

	ENSURE(hw != NULL, NOMEM);
	hw->cb = cb;
	hw->ctx = ctx;
	hw->quiet_ms = quiet_ms;
	hw->fd = socket(
	    AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (hw->fd < 0) {
		free(hw);
		BAIL(IO);
	}
	memset(&snl, 0, sizeof(snl));
	snl.nl_family = AF_NETLINK;
	snl.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
	    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	if (bind(hw->fd, (struct sockaddr *)&snl, sizeof(snl)) != 0) {
		close(hw->fd);
		free(hw);
		BAIL(IO);
	}
	uv_timer_init(loop, &hw->timer);
	hw->timer.data = hw;
	uv_poll_init(loop, &hw->poll, hw->fd);
	hw->poll.data = hw;
	uv_poll_start(&hw->poll, UV_READABLE, on_netlink);
	hw->open_handles = 2;
	uv_fs_event_init(loop, &hw->resolv);
	hw->resolv.data = hw;
	hw->open_handles++;
	/* A host without /etc/resolv.conf simply has no dns keyword. */
	hw->resolv_started =
	    uv_fs_event_start(&hw->resolv, on_etc, "/etc", 0) == 0;
	*out = hw;
	return IPS_OK;
}

static void
closed(uv_handle_t *h)
{
	struct hostwatch *hw = h->data;

	if (--hw->open_handles == 0) {
		close(hw->fd);
		free(hw);
	}
}

void
hostwatch_stop(struct hostwatch *hw)
{
	if (hw == NULL)
		return;
	uv_close((uv_handle_t *)&hw->poll, closed);
	uv_close((uv_handle_t *)&hw->timer, closed);
	uv_close((uv_handle_t *)&hw->resolv, closed);
}
