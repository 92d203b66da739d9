/*
 * ipsecmond: the ipsecmon daemon.  One libuv loop runs everything: the
 * control socket, policy reloads (SIGHUP), host address changes, IKE on
 * UDP 500/4500, the ESP datapath between a TUN device and UDP 4500, and
 * (as later issues land) the AgentX subagent.
 * It stays in the foreground; a service manager supervises it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <uv.h>

#include "agent/agent.h"
#include "audit/audit.h"
#include "audit/trace.h"
#include "esp/diag.h"
#include "base/log.h"
#include "ctl/ctl_client.h"
#include "ctl/ctl_server.h"
#include "ctl/ctl_view.h"
#include "engine.h"
#include "esp/datapath.h"
#include "esp/raw.h"
#include "esp/tun.h"
#include "ike/ike_io.h"
#include "spd/hostwatch.h"
#include "wire/ike_wire.h"

#define DEFAULT_POLICY "/etc/ipsecmon/policy.yaml"
#define DEFAULT_EVENTS "/var/log/ipsecmon/events.jsonl"
#define DEFAULT_CONFIG "/var/lib/ipsecmon/config.json"
#define DEFAULT_IKE_LOG "/var/log/ipsecmon/oakley.log"
#define DEFAULT_AUDIT_SYSLOG "/dev/log"
#define DEFAULT_TUN "ipsm0"
#define TUN_BATCH 64 /* packets read per wake-up, so IKE is not starved */
#define EVENTS_MAX_BYTES (10u << 20) /* then rotated, */
#define EVENTS_KEEP 5 /* keeping this many old files */
#define HOST_QUIET_MS 200
#define IKE_TICK_MS 250 /* retransmission granularity */

struct daemon {
	uv_loop_t loop;
	struct engine *engine;
	struct ctl_server *ctl;
	struct hostwatch *hw;
	struct ike_io *io;
	struct audit_log *audit;
	struct trace_log *trace; /* the IKE trace log (ikelogging) */
	struct audit_ring *events; /* the recent ones, for show events */
	struct audit_syslog *syslog; /* RFC 5424 copies; NULL: none */
	struct diag_counts diag_prev; /* drop counts at the last report */
	uint64_t diag_at; /* when (loop ms); 0: not yet taken */
	uv_timer_t tick;
	uv_signal_t sighup, sigterm, sigint;
	struct dp *dp; /* NULL without a TUN device */
	struct raw_ip *raw; /* ESP and AH as IP; NULL without CAP_NET_RAW */
	uint32_t mark; /* on every socket of ours (--fwmark), 0 for none */
	struct agent *agent; /* the AgentX subagent; NULL: --agentx none */
	bool warned_no_mark;
	int tun_fd;
	uv_poll_t tun_poll;
	uint8_t tun_buf[DP_MTU + 256];
};

static int
ike_send(void *ctx, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len)
{
	struct daemon *d = ctx;

	return d->io != NULL ? ike_io_send(d->io, local, remote, msg, len)
			     : -ENOTCONN;
}

static uint64_t
ike_now(void *ctx)
{
	struct daemon *d = ctx;

	return uv_now(&d->loop);
}

static bool
ike_local_for(void *ctx, const struct ips_addr *remote, struct ips_addr *local)
{
	(void)ctx;
	return engine_source_for(remote, local);
}

static void
ike_audit(void *ctx, const struct audit_event *ev)
{
	struct daemon *d = ctx;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (d->audit != NULL)
		audit_log_write(d->audit, ev, now);
	audit_ring_add(d->events, ev, now);
	audit_syslog_send(d->syslog, ev, now);
	agent_notify_event(d->agent, ev);
}

static void
ike_trace_line(void *ctx, const char *line)
{
	struct daemon *d = ctx;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	trace_log_write(d->trace, now, line);
}

static const struct ike_ops daemon_ike_ops = {
    ike_send, ike_now, ike_local_for, ike_audit, ike_trace_line};

static void
on_ike(void *ctx, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len)
{
	struct daemon *d = ctx;

	ike_input(engine_ike(d->engine), local, remote, msg, len);
}

/* ---- the datapath: TUN on one side, ESP-in-UDP on the other ---- */

static int
dp_send_udp(void *ctx, const struct ips_addr *local, uint16_t lport,
    const struct ips_addr *remote, uint16_t rport, const uint8_t *pkt,
    size_t len)
{
	struct daemon *d = ctx;
	const struct ike_endpoint l = {*local, lport}, r = {*remote, rport};

	return d->io != NULL ? ike_io_send_esp(d->io, &l, &r, pkt, len)
			     : -ENOTCONN;
}

static int
dp_send_raw(void *ctx, const struct ips_addr *local,
    const struct ips_addr *remote, const uint8_t *pkt, size_t len)
{
	struct daemon *d = ctx;

	(void)local; /* the route to the peer picks it, as for IKE */
	return d->raw != NULL ? raw_ip_send_esp(d->raw, remote, pkt, len)
			      : -ENOTCONN;
}

static int
dp_send_ip(void *ctx, const uint8_t *pkt, size_t len)
{
	struct daemon *d = ctx;

	return d->raw != NULL ? raw_ip_send_packet(d->raw, pkt, len)
			      : -ENOTCONN;
}

/*
 * Cleartext goes back out through a raw socket, and only the mark keeps
 * policy routing from handing it straight back to the TUN device; with
 * no mark it is not sent (docs/ESP.md, Routing), and the log says why
 * once.
 */
static int
dp_send_clear(void *ctx, const uint8_t *pkt, size_t len)
{
	struct daemon *d = ctx;

	if (d->mark == 0) {
		if (!d->warned_no_mark)
			ips_log(IPS_LOG_WARNING,
			    "cleartext for a permit filter or soft SA came "
			    "through the TUN device; without --fwmark it is "
			    "dropped");
		d->warned_no_mark = true;
		return -EHOSTUNREACH;
	}
	return dp_send_ip(ctx, pkt, len);
}

static int
dp_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct daemon *d = ctx;

	return write(d->tun_fd, pkt, len) == (ssize_t)len ? 0 : -errno;
}

static enum dp_verdict
dp_decide(void *ctx, const struct dp_flow *f)
{
	struct daemon *d = ctx;
	const struct ike_packet p = {
	    f->src, f->dst, f->proto, f->sport, f->dport};
	enum pol_action a;

	if (!ike_outbound_action(engine_ike(d->engine), &p, &a))
		return DP_NONE;
	return a == POL_ACTION_NEGOTIATE ? DP_PROTECT
	    : a == POL_ACTION_BLOCK	 ? DP_BLOCK
					 : DP_CLEAR;
}

static void
dp_acquire(void *ctx, const struct dp_flow *f)
{
	struct daemon *d = ctx;
	const struct ike_packet p = {
	    f->src, f->dst, f->proto, f->sport, f->dport};

	ips_res r = ike_acquire(engine_ike(d->engine), &p);

	/* NOTFOUND: no negotiate filter covers it; nothing to negotiate */
	if (!ips_ok(r) && r.err != IPS_E_NOTFOUND)
		ips_log(
		    IPS_LOG_WARNING, "acquire failed: %s", ips_strerror(r.err));
}

static void on_tick(uv_timer_t *t);

static void
dp_soft_expired(void *ctx)
{
	struct daemon *d = ctx;

	/* the tick, now rather than in up to 250 ms; not from inside
	 * the datapath's own call */
	if (!uv_is_closing((uv_handle_t *)&d->tick))
		uv_timer_start(&d->tick, on_tick, 0, IKE_TICK_MS);
}

static uint64_t
dp_now(void *ctx)
{
	struct daemon *d = ctx;

	return uv_now(&d->loop);
}

static const struct dp_ops daemon_dp_ops = {dp_send_udp, dp_send_ip,
    dp_send_clear, dp_send_raw, dp_deliver, dp_decide, dp_acquire,
    dp_soft_expired, dp_now};

static void
on_esp(void *ctx, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len)
{
	struct daemon *d = ctx;

	(void)local;
	(void)remote;
	if (d->dp != NULL)
		dp_inbound(d->dp, msg, len);
}

static void
on_raw_ip(void *ctx, const uint8_t *pkt, size_t len)
{
	struct daemon *d = ctx;

	dp_inbound_ip(d->dp, pkt, len);
}

static void
on_tun(uv_poll_t *p, int status, int events)
{
	struct daemon *d = p->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < TUN_BATCH; i++) {
		ssize_t n = read(d->tun_fd, d->tun_buf, sizeof(d->tun_buf));

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			/* the device is gone (deleted under us): a
			 * level-triggered poll would spin on it */
			ips_log(IPS_LOG_ERR,
			    "TUN device: %s; no more outbound "
			    "ESP",
			    strerror(errno));
			uv_poll_stop(p);
			return;
		}
		if (n <= 0)
			return;
		dp_outbound(d->dp, d->tun_buf, (size_t)n);
	}
}

/* The TUN device and the datapath over it; without one, IKE still runs
 * (a monitor of negotiations), and the log says so. */
static void
datapath_start(struct daemon *d, const char *tun)
{
	char err[256];

	d->tun_fd = -1;
	if (strcmp(tun, "none") == 0)
		return;
	if (!ips_ok(tun_open(tun, DP_MTU, &d->tun_fd, err, sizeof(err)))) {
		ips_log(IPS_LOG_WARNING, "no ESP datapath: %s", err);
		return;
	}
	if ((d->dp = dp_new(
		 ike_sad(engine_ike(d->engine)), &daemon_dp_ops, d)) == NULL) {
		ips_log(IPS_LOG_WARNING, "no ESP datapath: out of memory");
		close(d->tun_fd);
		d->tun_fd = -1;
		return;
	}
	if (uv_poll_init(&d->loop, &d->tun_poll, d->tun_fd) != 0) {
		ips_log(
		    IPS_LOG_WARNING, "no ESP datapath: cannot poll %s", tun);
		dp_free(d->dp);
		d->dp = NULL;
		close(d->tun_fd);
		d->tun_fd = -1;
		return;
	}
	d->tun_poll.data = d;
	uv_poll_start(&d->tun_poll, UV_READABLE, on_tun);
	if (!ips_ok(raw_ip_open(
		&d->loop, d->mark, on_raw_ip, d, &d->raw, err, sizeof(err))))
		ips_log(IPS_LOG_WARNING,
		    "%s: only ESP in UDP (peers behind NAT) will pass", err);
	ips_log(IPS_LOG_INFO, "ESP datapath on %s (mtu %u)", tun, DP_MTU);
}

static void
datapath_stop(struct daemon *d)
{
	if (d->dp == NULL)
		return;
	uv_close((uv_handle_t *)&d->tun_poll, NULL);
	raw_ip_close(d->raw);
	d->raw = NULL;
}

static void
diag_emit(void *ctx, const char *line)
{
	(void)ctx;
	ips_log(IPS_LOG_WARNING, "%s", line);
}

/* Datapath drop events, batched per ipsecloginterval (esp/diag.h). */
static void
diag_tick(struct daemon *d)
{
	const struct settings *s = engine_settings(d->engine);
	uint64_t now = uv_now(&d->loop);
	uint32_t interval = s->v[SETTING_ipsecloginterval];
	struct ctl_view_src src;
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;
	struct dp_drops dd;
	struct diag_counts cur;

	if (d->diag_at != 0 && now - d->diag_at < (uint64_t)interval * 1000)
		return;
	memset(&dd, 0, sizeof(dd));
	if (d->dp != NULL)
		dp_drops(d->dp, &dd);
	engine_view_src(d->engine, &src, &mm, &qm, false, NULL);
	diag_counts(&qm, &dd, &cur);
	/* the span the counts cover, which an interval change may make
	 * longer or shorter than the interval now */
	if (d->diag_at != 0)
		(void)diag_report(&d->diag_prev, &cur,
		    s->v[SETTING_ipsecdiagnostics],
		    (uint32_t)((now - d->diag_at + 500) / 1000), diag_emit, d);
	d->diag_prev = cur;
	d->diag_at = now;
}

static void
on_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;

	ike_tick(engine_ike(d->engine));
	diag_tick(d);
	if (d->dp != NULL)
		dp_tick(d->dp); /* what waited for an SA IKE just installed */
}

static void
do_initiate(struct daemon *d, const Ipsm__Initiate *in, Ipsm__Response *resp,
    struct arena *a)
{
	Ipsm__InitiateResult *ir;
	char err[256];

	if (!ips_ok(engine_initiate(
		d->engine, in->rule, in->peer, err, sizeof(err)))) {
		resp->status = IPS_E_INVAL;
		resp->error = arena_strdup(a, err);
		return;
	}
	if ((ir = arena_alloc(a, sizeof(*ir))) == NULL) {
		resp->status = IPS_E_NOMEM;
		return;
	}
	ipsm__initiate_result__init(ir);
	ir->rule = arena_strdup(a, in->rule);
	ir->peer = arena_strdup(a, in->peer);
	resp->view_case = IPSM__RESPONSE__VIEW_INITIATE;
	resp->initiate = ir;
}

static void
do_reload(struct daemon *d, Ipsm__Response *resp, struct arena *a)
{
	char err[512];

	if (!ips_ok(engine_reload(d->engine, err, sizeof(err)))) {
		ips_log(IPS_LOG_ERR,
		    "reload refused, keeping the running "
		    "policy: %s",
		    err);
		if (resp != NULL) {
			resp->status = IPS_E_CONFIG;
			resp->error = arena_strdup(a, err);
		}
		return;
	}
	ips_log(IPS_LOG_NOTICE, "policy '%s' loaded (%zu rules)",
	    policy_meta(engine_policy(d->engine))->name,
	    policy_nrules(engine_policy(d->engine)));
	if (resp != NULL) {
		Ipsm__ReloadResult *rr = arena_alloc(a, sizeof(*rr));

		if (rr == NULL) {
			resp->status = IPS_E_NOMEM;
			return;
		}
		ipsm__reload_result__init(rr);
		rr->policy = arena_strdup(
		    a, policy_meta(engine_policy(d->engine))->name);
		resp->view_case = IPSM__RESPONSE__VIEW_RELOAD;
		resp->reload = rr;
	}
}

/* add, delete, set: a dynamic change; the response says what it did. */
static void
do_edit(struct daemon *d, const Ipsm__EditPolicy *ep, Ipsm__Response *resp,
    struct arena *a)
{
	static const enum pe_op ops[] = {PE_ADD, PE_DELETE, PE_SET};
	struct pe_item *items =
	    arena_calloc(a, ep->n_items + 1, sizeof(*items));
	Ipsm__EditResult *er = arena_alloc(a, sizeof(*er));
	char done[300], err[600];
	ips_res r;

	if (items == NULL || er == NULL) {
		resp->status = IPS_E_NOMEM;
		return;
	}
	if ((unsigned)ep->op > 2) {
		resp->status = IPS_E_PROTO;
		resp->error = (char *)"unknown edit";
		return;
	}
	for (size_t i = 0; i < ep->n_items; i++) {
		items[i].key = ep->items[i]->key;
		items[i].value = ep->items[i]->value;
	}
	r = engine_edit(d->engine, ops[ep->op], ep->object, items, ep->n_items,
	    done, sizeof(done), err, sizeof(err));
	if (!ips_ok(r)) {
		ips_log(IPS_LOG_WARNING, "policy: %s", err);
		resp->status = r.err;
		resp->error = arena_strdup(a, err);
		return;
	}
	ipsm__edit_result__init(er);
	er->done = arena_strdup(a, done);
	er->policy =
	    arena_strdup(a, policy_meta(engine_policy(d->engine))->name);
	er->rules = (uint32_t)policy_nrules(engine_policy(d->engine));
	er->dynamic_changes = engine_dynamic_changes(d->engine);
	resp->view_case = IPSM__RESPONSE__VIEW_EDIT;
	resp->edit = er;
}

/* `set config`: true when applied (the response is then the new view). */
static bool
do_set_config(struct daemon *d, const Ipsm__SetConfig *sc, Ipsm__Response *resp,
    struct arena *a)
{
	const char **names = arena_calloc(a, sc->n_items + 1, sizeof(char *));
	const char **values = arena_calloc(a, sc->n_items + 1, sizeof(char *));
	char err[512];

	if (names == NULL || values == NULL) {
		resp->status = IPS_E_NOMEM;
		return false;
	}
	for (size_t i = 0; i < sc->n_items; i++) {
		names[i] = sc->items[i]->key;
		values[i] = sc->items[i]->value;
	}
	if (!ips_ok(engine_set_config(
		d->engine, names, values, sc->n_items, err, sizeof(err)))) {
		resp->status = IPS_E_INVAL;
		resp->error = arena_strdup(a, err);
		return false;
	}
	return true;
}

static void
handle_request(void *ctx, const Ipsm__Request *req, Ipsm__Response *resp,
    struct arena *a, uid_t uid)
{
	struct daemon *d = ctx;
	struct ctl_view_src src;
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;

	if (req->op_case == IPSM__REQUEST__OP_RELOAD) {
		/* the file would replace root's dynamic changes, which can
		 * be protection: then as root's as the changes themselves */
		if (uid != 0 && engine_dynamic_changes(d->engine) > 0) {
			ips_log(IPS_LOG_WARNING,
			    "reload from uid %u refused: it would discard %u "
			    "dynamic changes",
			    (unsigned)uid, engine_dynamic_changes(d->engine));
			resp->status = IPS_E_INVAL;
			resp->error = (char *)"reload: the policy has dynamic "
					      "changes, which only root may "
					      "discard";
			return;
		}
		do_reload(d, resp, a);
		return;
	}
	if (req->op_case == IPSM__REQUEST__OP_INITIATE) {
		do_initiate(d, req->initiate, resp, a);
		return;
	}
	if (req->op_case == IPSM__REQUEST__OP_EXPORT_KEYS) {
		if (uid != 0) {
			resp->status = IPS_E_INVAL;
			resp->error = (char *)"export-keys: root only";
			return;
		}
		ips_log(IPS_LOG_NOTICE,
		    "export-keys: the live SAs' keys given to root, for "
		    "Wireshark");
		engine_export_keys(d->engine, resp, a);
		return;
	}
	if (req->op_case == IPSM__REQUEST__OP_SET_CONFIG && uid != 0) {
		/* it can silence the audit: not for any member of the
		 * socket's group */
		resp->status = IPS_E_INVAL;
		resp->error = (char *)"set config: root only";
		return;
	}
	if (req->op_case == IPSM__REQUEST__OP_EDIT_POLICY) {
		/* it can take protection away */
		if (uid != 0) {
			ips_log(IPS_LOG_WARNING,
			    "policy: a change from uid %u refused: root only",
			    (unsigned)uid);
			resp->status = IPS_E_INVAL;
			resp->error = (char *)"policy changes: root only";
			return;
		}
		do_edit(d, req->edit_policy, resp, a);
		return;
	}
	if (req->op_case == IPSM__REQUEST__OP_SET_CONFIG &&
	    !do_set_config(d, req->set_config, resp, a))
		return; /* refused: nothing changed */
	engine_view_src(d->engine, &src, &mm, &qm,
	    req->op_case == IPSM__REQUEST__OP_SHOW_MMSAS ||
		req->op_case == IPSM__REQUEST__OP_SHOW_QMSAS,
	    a);
	src.events = d->events;
	ctl_view_build(&src, req, resp, a);
}

static void
on_host_change(void *ctx)
{
	struct daemon *d = ctx;
	struct hostenv *h = hostenv_new();
	bool changed;

	if (h == NULL || !ips_ok(hostenv_load_system(h))) {
		ips_log(IPS_LOG_WARNING,
		    "cannot re-read host addresses; "
		    "keeping the previous expansion");
		hostenv_free(h);
		return;
	}
	if (!ips_ok(engine_set_host(d->engine, h, &changed))) {
		ips_log(IPS_LOG_ERR,
		    "cannot re-expand filters; keeping the "
		    "previous expansion");
		return;
	}
	if (changed)
		ips_log(IPS_LOG_NOTICE,
		    "host addresses changed: %zu local, "
		    "%zu dns, %zu gateway; specific filters re-expanded",
		    hostenv_count(engine_host(d->engine), HOSTENV_LOCAL),
		    hostenv_count(engine_host(d->engine), HOSTENV_DNS),
		    hostenv_count(engine_host(d->engine), HOSTENV_GATEWAY));
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		do_reload(d, NULL, NULL);
		return;
	}
	ips_log(IPS_LOG_NOTICE, "signal %d: shutting down", signum);
	/* Peers learn at once rather than by DPD or timeout. */
	ike_delete_all(engine_ike(d->engine));
	ctl_server_close(d->ctl);
	d->ctl = NULL;
	hostwatch_stop(d->hw);
	d->hw = NULL;
	ike_io_stop(d->io);
	d->io = NULL;
	datapath_stop(d);
	agent_stop(d->agent);
	d->agent = NULL;
	uv_close((uv_handle_t *)&d->tick, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

/* ---- the AgentX subagent (agent/agent.h) ---- */

static void
agent_snapshot(void *ctx, struct agent_snapshot *out)
{
	struct daemon *d = ctx;
	const struct policy *p = engine_policy(d->engine);
	struct ctl_view_src src;

	memset(out, 0, sizeof(*out));
	engine_view_src(d->engine, &src, &out->mm, &out->qm, false, NULL);
	out->discontinuity = stats_discontinuity_time(engine_stats(d->engine));
	if (p != NULL) {
		out->policy = *policy_meta(p);
		out->pol = p;
		out->filters = engine_filters(d->engine);
		out->rules = (uint32_t)policy_nrules(p);
		out->loaded_at = src.loaded_at;
		out->dynamic_changes = src.dynamic_changes;
	}
}

static bool
agent_qm_next(void *ctx, uint32_t after, struct agent_qm_row *row)
{
	struct daemon *d = ctx;
	struct ike *ike = engine_ike(d->engine);

	row->now_ms = ike_now_ms(ike);
	return sad_next_pair(
	    ike_sad(ike), after, &row->in, &row->out, &row->has_out);
}

static bool
agent_mm_next(void *ctx, uint32_t after, struct ike_sa_info *row)
{
	struct daemon *d = ctx;

	return ike_sa_next(engine_ike(d->engine), after, row);
}

static bool
agent_soft_next(void *ctx, uint32_t after, struct agent_soft_row *row)
{
	struct daemon *d = ctx;
	struct ike *ike = engine_ike(d->engine);

	row->now_ms = ike_now_ms(ike);
	return sad_soft_next(ike_sad(ike), after, &row->s);
}

static const struct agent_ops daemon_agent_ops = {
    agent_snapshot, agent_qm_next, agent_mm_next, agent_soft_next};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ipsecmond [options]\n"
	    "  -p, --policy FILE     policy file (default " DEFAULT_POLICY ")\n"
	    "  -s, --socket PATH     control socket "
	    "(default " CTL_DEFAULT_SOCKET ")\n"
	    "  -m, --socket-mode M   control socket mode, octal (default "
	    "0660)\n"
	    "  -e, --events FILE     audit event log, JSON lines "
	    "(default " DEFAULT_EVENTS ")\n"
	    "      --audit-syslog SOCKET  audit events to syslog too, RFC "
	    "5424 (default\n"
	    "                        " DEFAULT_AUDIT_SYSLOG "; none: not)\n"
	    "      --ike-log FILE    the IKE trace log, written while "
	    "ikelogging=1\n"
	    "                        (default " DEFAULT_IKE_LOG ")\n"
	    "      --config FILE     where `set config` is kept "
	    "(default " DEFAULT_CONFIG ")\n"
	    "  -t, --tun NAME        the TUN device of the ESP datapath "
	    "(default " DEFAULT_TUN "; none: IKE only)\n"
	    "      --fwmark MARK     mark every IKE, ESP and AH socket "
	    "(policy routing;\n"
	    "                        docs/ESP.md, Routing)\n"
	    "      --agentx SOCKET   the AgentX master to serve IPSECMON-MIB "
	    "through\n"
	    "                        (default " AGENT_DEFAULT_MASTER
	    "; none: no SNMP)\n"
	    "      --allow-core-dumps  let the kernel dump core (the dump "
	    "holds "
	    "live SA\n"
	    "                        and IKE keys: for debugging only)\n"
	    "  -c, --check           validate the policy and secrets, then "
	    "exit\n"
	    "      --syslog          log to syslog instead of stderr\n"
	    "  -v, --verbose         log debug messages\n"
	    "  -h, --help            this text\n");
}

static int
make_parent_dir(const char *path)
{
	char dir[4096], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	/* 0750: the socket's own mode decides who may talk to us. */
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Close what start-up opened before it refused (each may be NULL);
 * with the loop up, its handles first.  The exit status. */
static int
refuse_start(struct daemon *d, bool loop_up)
{
	if (loop_up) {
		uv_run(&d->loop, UV_RUN_DEFAULT); /* let handles close */
		uv_loop_close(&d->loop);
	}
	engine_free(d->engine);
	audit_log_close(d->audit);
	trace_log_close(d->trace);
	audit_ring_free(d->events);
	audit_syslog_close(d->syslog);
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"socket", required_argument, NULL, 's'},
	    {"socket-mode", required_argument, NULL, 'm'},
	    {"events", required_argument, NULL, 'e'},
	    {"config", required_argument, NULL, 'C'},
	    {"ike-log", required_argument, NULL, 'L'},
	    {"audit-syslog", required_argument, NULL, 'Y'},
	    {"tun", required_argument, NULL, 't'},
	    {"ike-port", required_argument, NULL, 'I'},
	    {"natt-port", required_argument, NULL, 'N'},
	    {"fwmark", required_argument, NULL, 'M'},
	    {"allow-core-dumps", no_argument, NULL, 'D'},
	    {"agentx", required_argument, NULL, 'A'},
	    {"check", no_argument, NULL, 'c'},
	    {"syslog", no_argument, NULL, 'S'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *policy = DEFAULT_POLICY, *sock = CTL_DEFAULT_SOCKET;
	const char *events = DEFAULT_EVENTS, *tun = DEFAULT_TUN;
	const char *agentx = AGENT_DEFAULT_MASTER, *config = DEFAULT_CONFIG;
	const char *ike_log = DEFAULT_IKE_LOG;
	const char *audit_syslog = DEFAULT_AUDIT_SYSLOG;
	unsigned long mode = 0660, ike_port = IKE_PORT,
		      natt_port = IKE_NATT_PORT;
	bool check = false, use_syslog = false, verbose = false, cores = false;
	unsigned long mark = 0;
	struct daemon d;
	char err[512];
	int c;

	/*
	 * OpenSSL's secure heap is locked and excluded from core dumps; private
	 * key PEM buffers and RSA private components are allocated from it.
	 */
	if (CRYPTO_secure_malloc_init(256 * 1024, 32) == 0)
		fprintf(stderr,
		    "ipsecmond: no secure heap; private keys may "
		    "appear in core dumps\n");
	while (
	    (c = getopt_long(argc, argv, "p:s:m:e:t:cvh", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			events = optarg;
			break;
		case 'C':
			config = optarg;
			break;
		case 'L':
			ike_log = optarg;
			break;
		case 'Y':
			audit_syslog = optarg;
			break;
		case 't':
			tun = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'm':
			mode = strtoul(optarg, NULL, 8);
			if (mode > 0777) {
				fprintf(stderr,
				    "ipsecmond: bad socket mode "
				    "%s\n",
				    optarg);
				return 2;
			}
			break;
		case 'I':
		case 'N':
			if (c == 'I')
				ike_port = strtoul(optarg, NULL, 10);
			else
				natt_port = strtoul(optarg, NULL, 10);
			if (ike_port == 0 || ike_port > 65535 ||
			    natt_port == 0 || natt_port > 65535) {
				fprintf(
				    stderr, "ipsecmond: bad port %s\n", optarg);
				return 2;
			}
			break;
		case 'M': {
			char *end;

			errno = 0;
			mark = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || mark == 0 ||
			    mark > UINT32_MAX) {
				fprintf(
				    stderr, "ipsecmond: bad mark %s\n", optarg);
				return 2;
			}
			break;
		}
		case 'c':
			check = true;
			break;
		case 'S':
			use_syslog = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'D':
			cores = true;
			break;
		case 'A':
			agentx = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/*
	 * The SA and IKE keys live in OpenSSL's contexts on the ordinary
	 * heap, as key schedules and HMAC pad states, where MADV_DONTDUMP
	 * cannot reach them: a core dump would hold every live key.  As
	 * ssh-agent does, this process is not dumpable (nor traceable by
	 * other users) unless the operator asks.
	 */
	if (!cores && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "ipsecmond: cannot disable core dumps: %s\n",
		    strerror(errno));
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	ips_log_setup(
	    "ipsecmond", use_syslog, verbose ? IPS_LOG_DEBUG : IPS_LOG_INFO);
	if (check) {
		if (!ips_ok(engine_check_policy(
			policy, config, err, sizeof(err)))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%s: ok\n", policy);
		return 0;
	}

	memset(&d, 0, sizeof(d));
	d.mark = (uint32_t)mark;
	signal(SIGPIPE, SIG_IGN);
	/* Audit comes first: no negotiation may go unrecorded. */
	if (make_parent_dir(events) != 0 ||
	    !ips_ok(audit_log_open(events, EVENTS_MAX_BYTES, EVENTS_KEEP,
		&d.audit, err, sizeof(err)))) {
		ips_log(
		    IPS_LOG_ERR, "refusing to start: audit event log %s", err);
		return 1;
	}
	if (strcmp(audit_syslog, "none") != 0 &&
	    !ips_ok(
		audit_syslog_open(audit_syslog, &d.syslog, err, sizeof(err)))) {
		ips_log(IPS_LOG_ERR, "refusing to start: audit syslog %s", err);
		return refuse_start(&d, false);
	}
	if ((d.events = audit_ring_new(AUDIT_RING_EVENTS)) == NULL) {
		ips_log(IPS_LOG_ERR, "refusing to start: out of memory");
		return refuse_start(&d, false);
	}
	/* the trace log: the last run's kept as .sav; written while
	 * ikelogging=1 */
	if (make_parent_dir(ike_log) != 0 ||
	    !ips_ok(trace_log_open(
		ike_log, TRACE_MAX_LINES, &d.trace, err, sizeof(err)))) {
		ips_log(
		    IPS_LOG_ERR, "refusing to start: IKE trace log %s", err);
		return refuse_start(&d, false);
	}
	uv_loop_init(&d.loop);
	if (!ips_ok(engine_new(policy, NULL, &daemon_ike_ops, &d, &d.engine,
		err, sizeof(err)))) {
		ips_log(IPS_LOG_ERR, "refusing to start: %s", err);
		return refuse_start(&d, true);
	}
	/* `set config` as it was left; a damaged file stops us, as a bad
	 * policy does, rather than silently undoing an operator's choice */
	if (make_parent_dir(config) != 0 ||
	    !ips_ok(engine_settings_open(d.engine, config, err, sizeof(err)))) {
		ips_log(IPS_LOG_ERR, "refusing to start: settings %s", err);
		return refuse_start(&d, true);
	}
	if (make_parent_dir(sock) != 0 ||
	    !ips_ok(ctl_server_start(&d.loop, sock, (unsigned)mode,
		handle_request, &d, &d.ctl, err, sizeof(err)))) {
		ips_log(IPS_LOG_ERR, "refusing to start: %s", err);
		return refuse_start(&d, true);
	}
	if (!ips_ok(ike_io_start(&d.loop, (uint16_t)ike_port,
		(uint16_t)natt_port, (uint32_t)mark, on_ike, on_esp, &d,
		engine_stats(d.engine), &d.io, err, sizeof(err)))) {
		ips_log(IPS_LOG_ERR, "refusing to start: %s", err);
		ctl_server_close(d.ctl);
		return refuse_start(&d, true);
	}
	datapath_start(&d, tun);
	if (strcmp(agentx, "none") != 0 &&
	    !ips_ok(
		agent_start(&d.loop, agentx, &daemon_agent_ops, &d, &d.agent)))
		ips_log(IPS_LOG_WARNING, "no SNMP subagent: Net-SNMP failed");
	else if (d.agent != NULL)
		ips_log(
		    IPS_LOG_INFO, "SNMP subagent for AgentX master %s", agentx);
	uv_timer_init(&d.loop, &d.tick);
	d.tick.data = &d;
	uv_timer_start(&d.tick, on_tick, IKE_TICK_MS, IKE_TICK_MS);
	if (!ips_ok(hostwatch_start(
		&d.loop, HOST_QUIET_MS, on_host_change, &d, &d.hw)))
		ips_log(IPS_LOG_WARNING,
		    "cannot watch host address changes; "
		    "filters follow them only on reload");
	uv_signal_init(&d.loop, &d.sighup);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	d.sighup.data = d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	ips_log(IPS_LOG_NOTICE,
	    "policy '%s' active (%zu rules), control "
	    "socket %s",
	    policy_meta(engine_policy(d.engine))->name,
	    policy_nrules(engine_policy(d.engine)), sock);

	uv_run(&d.loop, UV_RUN_DEFAULT);

	uv_loop_close(&d.loop);
	dp_free(d.dp);
	if (d.tun_fd >= 0)
		close(d.tun_fd);
	engine_free(d.engine);
	audit_log_close(d.audit);
	trace_log_close(d.trace);
	audit_ring_free(d.events);
	audit_syslog_close(d.syslog);
	ips_log(IPS_LOG_NOTICE, "stopped");
	return 0;
}
