#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>

#include "agent.h"
#include "base/log.h"
#include "ike/proposal.h"
#include "ipsm_mib_oids.h"
#include "wire/ike_wire.h"

#define AGENT_NAME "ipsecmond"
#define AGENT_MAX_FDS 8 /* Net-SNMP's sockets: one AgentX session */

struct agent_fd {
	uv_poll_t poll;
	int fd; /* -1: slot free */
	struct agent *a;
};

struct agent {
	uv_loop_t *loop;
	const struct agent_ops *ops;
	void *ctx;
	uv_timer_t timer;
	struct agent_fd fds[AGENT_MAX_FDS];
	time_t started; /* for TimeStamp values: our uptime's zero */
	struct agent_snapshot snap; /* of the request being answered */
	bool stopping;
	int handles; /* open libuv handles: memory goes with the last */
	char master[256];
	struct agent_status status;
};

/* Net-SNMP's state is process-wide: one agent per process. */
static struct agent *the_agent;

static void rearm(struct agent *a);

/* ---- values ---------------------------------------------------------- */

static void
set_counter64(netsnmp_variable_list *v, uint64_t x)
{
	struct counter64 c = {(u_long)(x >> 32), (u_long)(x & 0xffffffffu)};

	snmp_set_var_typed_value(v, ASN_COUNTER64, &c, sizeof(c));
}

static void
set_gauge(netsnmp_variable_list *v, uint64_t x)
{
	u_long g = x > UINT32_MAX ? UINT32_MAX : (u_long)x;

	snmp_set_var_typed_value(v, ASN_GAUGE, &g, sizeof(g));
}

static void
set_string(netsnmp_variable_list *v, const char *s)
{
	if (s == NULL)
		s = "";
	snmp_set_var_typed_value(v, ASN_OCTET_STR, s, strlen(s));
}

/* DateAndTime (SNMPv2-TC), in UTC: 8 bytes plus the zone. */
static void
set_date(netsnmp_variable_list *v, time_t t)
{
	struct tm tm;
	uint8_t d[11] = {0};

	if (t != 0 && gmtime_r(&t, &tm) != NULL) {
		unsigned y = (unsigned)tm.tm_year + 1900;

		d[0] = (uint8_t)(y >> 8);
		d[1] = (uint8_t)y;
		d[2] = (uint8_t)(tm.tm_mon + 1);
		d[3] = (uint8_t)tm.tm_mday;
		d[4] = (uint8_t)tm.tm_hour;
		d[5] = (uint8_t)tm.tm_min;
		d[6] = (uint8_t)tm.tm_sec;
		d[8] = '+';
	}
	snmp_set_var_typed_value(v, ASN_OCTET_STR, d, sizeof(d));
}

/* ---- handlers: one snapshot per call, i.e. per PDU from the master --- */

static int
stats_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	static const oid mm_root[] = {IPSM_OID_ipsmMmStats};
	struct agent *a = h->myvoid;

	(void)reg; /* the scalar group helper lengthens its rootoid */
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	a->ops->snapshot(a->ctx, &a->snap);
	for (; req != NULL; req = req->next) {
		/* GROUP.SUB.0, GROUP ipsmMmStats or ipsmQmStats (siblings) */
		const oid *name = req->requestvb->name;
		bool mm = name[IPSM_OIDLEN_ipsmMmStats - 1] ==
		    mm_root[IPSM_OIDLEN_ipsmMmStats - 1];
		oid sub = name[IPSM_OIDLEN_ipsmMmStats];
		size_t n;
		const struct stats_desc *d =
		    mm ? stats_mm_desc(&n) : stats_qm_desc(&n);
		const uint8_t *base = mm ? (const uint8_t *)&a->snap.mm
					 : (const uint8_t *)&a->snap.qm;
		uint64_t x;

		/* the scalar group helper has checked sub is in 1..n */
		if (sub < 1 || sub > n)
			continue;
		memcpy(&x, base + d[sub - 1].offset, sizeof(x));
		if (d[sub - 1].kind == STATS_COUNTER)
			set_counter64(req->requestvb, x);
		else
			set_gauge(req->requestvb, x);
	}
	return SNMP_ERR_NOERROR;
}

static int
policy_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	struct agent *a = h->myvoid;
	const struct pol_meta *p = &a->snap.policy;

	(void)reg;
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	a->ops->snapshot(a->ctx, &a->snap);
	for (; req != NULL; req = req->next) {
		netsnmp_variable_list *v = req->requestvb;

		switch (v->name[IPSM_OIDLEN_ipsmPolicy]) {
		case 1:
			set_string(v, p->name);
			break;
		case 2:
			set_string(v, p->description);
			break;
		case 3:
			set_date(v, p->name != NULL ? p->last_modified : 0);
			break;
		case 4:
			set_string(
			    v, p->name != NULL ? pol_store_name(p->store) : "");
			break;
		case 5:
			set_string(v, p->path);
			break;
		case 6:
			set_string(v, p->ou);
			break;
		case 7:
			set_string(v, p->gpo);
			break;
		}
	}
	return SNMP_ERR_NOERROR;
}

/* ipsmStats: when the counters last began, as TimeStamp (our uptime in
 * hundredths) and as DateAndTime. */
static int
disc_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	struct agent *a = h->myvoid;

	(void)reg;
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	a->ops->snapshot(a->ctx, &a->snap);
	for (; req != NULL; req = req->next) {
		u_long t = a->snap.discontinuity > a->started
		    ? (u_long)(a->snap.discontinuity - a->started) * 100
		    : 0;

		if (req->requestvb->name[IPSM_OIDLEN_ipsmStats] == 2)
			set_date(req->requestvb, a->snap.discontinuity);
		else
			snmp_set_var_typed_value(
			    req->requestvb, ASN_TIMETICKS, &t, sizeof(t));
	}
	return SNMP_ERR_NOERROR;
}

/* ---- ipsmQmSaTable: GET and GETNEXT by binary search on the SPI ------ */

#define QM_COL_FIRST 2 /* column 1 is the index, not-accessible */
#define QM_COL_LAST 29

static void
set_u32(netsnmp_variable_list *v, u_char type, uint64_t x)
{
	u_long u = x > UINT32_MAX ? UINT32_MAX : (u_long)x;

	snmp_set_var_typed_value(v, type, &u, sizeof(u));
}

static void
set_int(netsnmp_variable_list *v, long x)
{
	snmp_set_var_typed_value(v, ASN_INTEGER, &x, sizeof(x));
}

/* InetAddressType (RFC 4001): unknown(0), ipv4(1), ipv6(2). */
static long
addr_type(int af)
{
	return af == AF_INET ? 1 : af == AF_INET6 ? 2 : 0;
}

static void
set_addr(netsnmp_variable_list *v, const struct ips_addr *a)
{
	size_t n = a->af == AF_INET ? 4 : a->af == AF_INET6 ? 16 : 0;

	snmp_set_var_typed_value(v, ASN_OCTET_STR, a->b, n);
}

/* A selector's first or last address: exact for an address, a subnet
 * or a range; "any" has none (type unknown, empty). */
static struct ips_addr
sel_end(const struct ips_aspec *s, bool last)
{
	struct ips_addr a = s->lo;

	if (s->kind == IPS_ASPEC_ANY ||
	    (s->lo.af != AF_INET && s->lo.af != AF_INET6)) {
		memset(&a, 0, sizeof(a));
		return a;
	}
	if (!last || s->kind == IPS_ASPEC_HOST)
		return a;
	if (s->kind == IPS_ASPEC_RANGE)
		return s->hi;
	/* a prefix: its host bits set */
	for (size_t i = 0; i < (a.af == AF_INET ? 4u : 16u); i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= s->plen)
			a.b[i] = 0xff;
		else if (bit + 8 > s->plen)
			a.b[i] |= (uint8_t)(0xff >> (s->plen - bit));
	}
	return a;
}

static long
mode_of(uint16_t encap)
{
	switch (encap) {
	case IPSEC_ENCAP_TRANSPORT:
		return 2;
	case IPSEC_ENCAP_UDP_TUNNEL:
	case IPSEC_ENCAP_UDP_TUNNEL_DRAFT:
		return 3;
	case IPSEC_ENCAP_UDP_TRANSPORT:
	case IPSEC_ENCAP_UDP_TRANSPORT_DRAFT:
		return 4;
	default:
		return 1;
	}
}

static void
qm_value(netsnmp_variable_list *v, oid col, const struct agent_qm_row *r)
{
	const struct sad_params *p = &r->in.p;
	const struct sad_info *o = r->has_out ? &r->out : NULL;
	struct ips_addr a;
	char buf[64];
	uint64_t age = (r->now_ms - r->in.created_ms) / 1000;

	switch (col) {
	case 2:
		set_string(v, p->rule);
		break;
	case 3:
	case 4:
	case 5:
		a = sel_end(&p->src, col == 5);
		if (col == 3)
			set_int(v, addr_type(sel_end(&p->src, false).af));
		else
			set_addr(v, &a);
		break;
	case 6:
	case 7:
	case 8:
		a = sel_end(&p->dst, col == 8);
		if (col == 6)
			set_int(v, addr_type(sel_end(&p->dst, false).af));
		else
			set_addr(v, &a);
		break;
	case 9:
		set_u32(v, ASN_UNSIGNED, p->sel_proto);
		break;
	case 10: /* both SAs of a pair keep the selectors ours first */
		set_u32(v, ASN_UNSIGNED, p->sel_sport);
		break;
	case 11:
		set_u32(v, ASN_UNSIGNED, p->sel_dport);
		break;
	case 12:
		set_int(v, mode_of(p->encap));
		break;
	case 13:
		set_int(v, addr_type(p->local.af));
		break;
	case 14:
		set_addr(v, &p->local);
		break;
	case 15:
		set_int(v, addr_type(p->remote.af));
		break;
	case 16:
		set_addr(v, &p->remote);
		break;
	case 17:
		set_int(v, p->proto);
		break;
	case 18:
		set_u32(v, ASN_UNSIGNED, r->in.pair_spi);
		break;
	case 19:
		set_string(v,
		    p->proto == ISAKMP_PROTO_ESP
			? ike_esp_encr_text(
			      p->transform, p->keybits, buf, sizeof(buf))
			: "");
		break;
	case 20:
		set_string(v, p->auth != 0 ? ike_ipsec_auth_text(p->auth) : "");
		break;
	case 21:
		set_u32(v, ASN_UNSIGNED, p->pfs_group);
		break;
	case 22:
		set_u32(v, ASN_UNSIGNED,
		    p->life_s > age ? (uint64_t)p->life_s - age : 0);
		break;
	case 23:
		set_counter64(v, r->in.bytes);
		break;
	case 24:
		set_counter64(v, o ? o->bytes : 0);
		break;
	case 25:
		set_counter64(v, r->in.packets);
		break;
	case 26:
		set_counter64(v, o ? o->packets : 0);
		break;
	case 27:
		set_counter64(v, r->in.replay_drops);
		break;
	case 28:
		set_counter64(v, r->in.icv_failures);
		break;
	case 29:
		set_int(v, p->esn ? 1 : 2); /* TruthValue */
		break;
	}
}

/*
 * A subid as the 32-bit number it is on the wire: Net-SNMP's AgentX
 * decoding sign-extends those above 2^31 into its 64-bit oid (an SPI
 * often is), so only the low half is trusted.
 */
static uint32_t
sub32(oid o)
{
	return (uint32_t)(o & 0xffffffffu);
}

static int
qm_table_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	static const oid entry[] = {IPSM_OID_ipsmQmSaEntry};
	const size_t el = OID_LENGTH(entry);
	struct agent *a = h->myvoid;

	(void)reg;
	for (; req != NULL; req = req->next) {
		netsnmp_variable_list *v = req->requestvb;
		struct agent_qm_row row;
		oid col = QM_COL_FIRST, name[MAX_OID_LEN];
		uint32_t after = 0;

		if (req->processed)
			continue;
		if (ri->mode == MODE_GET) {
			if (v->name_length != el + 2 ||
			    snmp_oid_compare(v->name, el, entry, el) != 0 ||
			    v->name[el] < QM_COL_FIRST ||
			    v->name[el] > QM_COL_LAST) {
				netsnmp_set_request_error(
				    ri, req, SNMP_NOSUCHOBJECT);
				continue;
			}
			if (sub32(v->name[el + 1]) == 0 ||
			    !a->ops->qm_next(
				a->ctx, sub32(v->name[el + 1]) - 1, &row) ||
			    row.in.spi != sub32(v->name[el + 1])) {
				netsnmp_set_request_error(
				    ri, req, SNMP_NOSUCHINSTANCE);
				continue;
			}
			qm_value(v, v->name[el], &row);
			continue;
		}
		if (ri->mode != MODE_GETNEXT)
			continue;
		/* where the request points, in the table's (column, SPI)
		 * order; before the table or its first column: the start */
		if (v->name_length > el &&
		    snmp_oid_compare(v->name, el, entry, el) == 0 &&
		    v->name[el] >= QM_COL_FIRST) {
			col = v->name[el];
			if (v->name_length > el + 1)
				after = sub32(v->name[el + 1]);
		}
		for (; col <= QM_COL_LAST; col++, after = 0) {
			if (after == UINT32_MAX ||
			    !a->ops->qm_next(a->ctx, after, &row))
				continue;
			memcpy(name, entry, sizeof(entry));
			name[el] = col;
			name[el + 1] = row.in.spi;
			snmp_set_var_objid(v, name, el + 2);
			qm_value(v, col, &row);
			break;
		}
		/* past the last column: nothing here, the master moves on */
	}
	return SNMP_ERR_NOERROR;
}

static int
register_group(struct agent *a, const char *name, Netsnmp_Node_Handler *fn,
    const oid *root, size_t rootlen, oid lo, oid hi)
{
	netsnmp_handler_registration *reg = netsnmp_create_handler_registration(
	    name, fn, root, rootlen, HANDLER_CAN_RONLY);

	if (reg == NULL)
		return -1;
	reg->handler->myvoid = a;
	return netsnmp_register_scalar_group(reg, lo, hi);
}

static int
register_all(struct agent *a)
{
	static const oid policy[] = {IPSM_OID_ipsmPolicy};
	static const oid mm[] = {IPSM_OID_ipsmMmStats};
	static const oid qm[] = {IPSM_OID_ipsmQmStats};
	static const oid stats[] = {IPSM_OID_ipsmStats};
	size_t nmm, nqm;

	(void)stats_mm_desc(&nmm);
	(void)stats_qm_desc(&nqm);
	if (register_group(a, "ipsmPolicy", policy_handler, policy,
		OID_LENGTH(policy), 1, 7) != SNMPERR_SUCCESS ||
	    register_group(a, "ipsmMmStats", stats_handler, mm, OID_LENGTH(mm),
		1, (oid)nmm) != SNMPERR_SUCCESS ||
	    register_group(a, "ipsmQmStats", stats_handler, qm, OID_LENGTH(qm),
		1, (oid)nqm) != SNMPERR_SUCCESS ||
	    register_group(a, "ipsmStats", disc_handler, stats,
		OID_LENGTH(stats), 1, 2) != SNMPERR_SUCCESS)
		return -1;
	{
		static const oid entry[] = {IPSM_OID_ipsmQmSaEntry};
		netsnmp_handler_registration *reg =
		    netsnmp_create_handler_registration("ipsmQmSaTable",
			qm_table_handler, entry, OID_LENGTH(entry),
			HANDLER_CAN_RONLY);

		if (reg == NULL)
			return -1;
		reg->handler->myvoid = a;
		if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK)
			return -1;
	}
	return 0;
}

/* ---- the loop: Net-SNMP's fds and timeout as libuv handles ------------ */

static void
after_event(struct agent *a)
{
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
	rearm(a);
}

static void
on_fd(uv_poll_t *p, int status, int events)
{
	struct agent_fd *f = p->data;
	struct agent *a = f->a;
	fd_set set;

	(void)status;
	(void)events;
	FD_ZERO(&set);
	FD_SET(f->fd, &set);
	snmp_read(&set);
	after_event(a);
}

static void
on_timer(uv_timer_t *t)
{
	struct agent *a = t->data;

	snmp_timeout();
	after_event(a);
}

static void
handle_closed(struct agent *a)
{
	if (--a->handles == 0 && a->stopping)
		free(a);
}

static void
fd_closed(uv_handle_t *h)
{
	struct agent_fd *f = h->data;

	f->fd = -1;
	handle_closed(f->a);
}

/* Poll exactly the fds Net-SNMP wants, and wake for its next timeout. */
static void
rearm(struct agent *a)
{
	int numfds = 0, block = 1;
	struct timeval tv = {0, 0};
	fd_set set;

	if (a->stopping)
		return;
	FD_ZERO(&set);
	snmp_select_info(&numfds, &set, &tv, &block);
	for (int i = 0; i < AGENT_MAX_FDS; i++) {
		struct agent_fd *f = &a->fds[i];

		if (f->fd >= 0 && !uv_is_closing((uv_handle_t *)&f->poll) &&
		    (f->fd >= numfds || !FD_ISSET(f->fd, &set)))
			uv_close((uv_handle_t *)&f->poll, fd_closed);
	}
	for (int fd = 0; fd < numfds; fd++) {
		bool have = false;
		int slot = -1;

		if (!FD_ISSET(fd, &set))
			continue;
		for (int i = 0; i < AGENT_MAX_FDS; i++) {
			if (a->fds[i].fd == fd &&
			    !uv_is_closing((uv_handle_t *)&a->fds[i].poll))
				have = true;
			else if (a->fds[i].fd < 0 && slot < 0)
				slot = i;
		}
		if (have || slot < 0)
			continue;
		a->fds[slot].fd = fd;
		a->fds[slot].a = a;
		if (uv_poll_init(a->loop, &a->fds[slot].poll, fd) != 0) {
			a->fds[slot].fd = -1;
			continue;
		}
		a->fds[slot].poll.data = &a->fds[slot];
		a->handles++;
		uv_poll_start(&a->fds[slot].poll, UV_READABLE, on_fd);
	}
	uv_timer_stop(&a->timer);
	if (!block)
		uv_timer_start(&a->timer, on_timer,
		    (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000,
		    0);
	else
		/* alarms (the AgentX ping, reconnects) are in tv too; with
		 * nothing pending look again within a second */
		uv_timer_start(&a->timer, on_timer, 1000, 0);
}

/* The AgentX session opened (registered) or closed: counted and said at
 * notice level, so an operator sees a master restart and our return. */
static int
on_session(int major, int minor, void *server, void *client)
{
	struct agent *a = the_agent;

	(void)major;
	(void)server;
	(void)client;
	if (a == NULL)
		return 0;
	if (minor == SNMPD_CALLBACK_INDEX_START) {
		a->status.connected = true;
		if (a->status.registrations++ == 0)
			ips_log(IPS_LOG_NOTICE,
			    "snmp: registered with the AgentX master %s",
			    a->master);
		else
			ips_log(IPS_LOG_NOTICE,
			    "snmp: re-registered with the AgentX master %s "
			    "(reconnect %llu)",
			    a->master,
			    (unsigned long long)a->status.registrations - 1);
	} else if (a->status.connected) {
		a->status.connected = false;
		a->status.losses++;
		ips_log(IPS_LOG_NOTICE,
		    "snmp: lost the AgentX master %s; retrying every %d s",
		    a->master, AGENT_RETRY_S);
	}
	return 0;
}

void
agent_status(const struct agent *a, struct agent_status *out)
{
	*out = a->status;
}

/* Net-SNMP's messages go to our log, at debug level: a missing master is
 * retried every second and would otherwise fill it. */
static int
log_to_ours(int major, int minor, void *server, void *client)
{
	const struct snmp_log_message *m = server;

	(void)major;
	(void)minor;
	(void)client;
	if (m != NULL && m->msg != NULL)
		ips_log(m->priority <= LOG_ERR ? IPS_LOG_INFO : IPS_LOG_DEBUG,
		    "agentx: %.*s", (int)strcspn(m->msg, "\n"), m->msg);
	return 0;
}

static void
timer_closed(uv_handle_t *h)
{
	handle_closed(h->data);
}

ips_res
agent_start(uv_loop_t *loop, const char *master, const struct agent_ops *ops,
    void *ctx, struct agent **out)
{
	struct agent *a;

	ENSURE(the_agent == NULL, EXISTS);
	ENSURE((a = calloc(1, sizeof(*a))) != NULL, NOMEM);
	a->loop = loop;
	a->ops = ops;
	a->ctx = ctx;
	a->started = time(NULL);
	snprintf(a->master, sizeof(a->master), "%s", master);
	for (int i = 0; i < AGENT_MAX_FDS; i++)
		a->fds[i].fd = -1;
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	a->handles = 1;

	/* the subagent reads no MIB files: it serves OIDs, not names */
	setenv("MIBS", "", 1);
	snmp_disable_log();
	snmp_register_callback(
	    SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, log_to_ours, NULL);
	snmp_enable_calllog();
	/* no client argument: snmp_shutdown() frees those */
	snmp_register_callback(SNMP_CALLBACK_APPLICATION,
	    SNMPD_CALLBACK_INDEX_START, on_session, NULL);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION,
	    SNMPD_CALLBACK_INDEX_STOP, on_session, NULL);
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	netsnmp_ds_set_string(
	    NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, master);
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, AGENT_RETRY_S);
	/* alarms run from our loop (run_alarms), not from SIGALRM */
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	/* no snmp.conf, no persistent state files: the daemon's policy is
	 * its only configuration */
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(
	    NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	the_agent = a; /* init_snmp may already connect (on_session) */
	if (init_agent(AGENT_NAME) != 0 || register_all(a) != 0) {
		the_agent = NULL;
		a->stopping = true;
		uv_close((uv_handle_t *)&a->timer, timer_closed);
		BAIL(IO);
	}
	init_snmp(AGENT_NAME);
	/* after init_snmp, which sets its defaults (15 s): the tables come
	 * back within a second of a master restart */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, AGENT_RETRY_S);
	rearm(a);
	*out = a;
	return IPS_OK;
}

void
agent_stop(struct agent *a)
{
	if (a == NULL)
		return;
	a->stopping = true;
	for (int i = 0; i < AGENT_MAX_FDS; i++)
		if (a->fds[i].fd >= 0 &&
		    !uv_is_closing((uv_handle_t *)&a->fds[i].poll))
			uv_close((uv_handle_t *)&a->fds[i].poll, fd_closed);
	snmp_shutdown(AGENT_NAME);
	shutdown_agent();
	the_agent = NULL;
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, timer_closed);
}
