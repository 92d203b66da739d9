/*
 * ctl_server: the daemon's control socket on a libuv loop.  Each request
 * frame is decoded, handed to the handler, and its response framed back;
 * a malformed frame gets an error response and the connection is closed.
 */
#ifndef IPS_CTL_SERVER_H
#define IPS_CTL_SERVER_H

#include <uv.h>

#include "base/arena.h"
#include "base/ips_err.h"
#include <sys/types.h>

#include "ctl.pb-c.h"

/*
 * Fill resp (already initialised) for req.  Anything resp points to must be
 * allocated from a (freed after the response is sent) or be static.  uid
 * is the client's, as the kernel says (SO_PEERCRED); (uid_t)-1 if it did
 * not say.
 */
typedef void (*ctl_handler)(void *ctx, const Ipsm__Request *req,
    Ipsm__Response *resp, struct arena *a, uid_t uid);

struct ctl_server;

/*
 * Listen on a Unix socket at path with the given mode.  A stale socket
 * left by a dead daemon is replaced; a live one is an error (IPS_E_EXISTS).
 * errbuf receives a message on failure.
 */
IPS_MUST_USE ips_res ctl_server_start(uv_loop_t *loop, const char *path,
    unsigned mode, ctl_handler h, void *ctx, struct ctl_server **out,
    char *errbuf, size_t errlen);
/* Stop listening, drop clients, remove the socket file.  The memory is
 * released by libuv close callbacks: run the loop once more after this. */
void ctl_server_close(struct ctl_server *srv);

#endif
