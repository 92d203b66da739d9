#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "agent_int.h"
#include <net-snmp/agent/agent_callbacks.h>

#include "base/log.h"
#include "ipsm_mib_oids.h"

#define AGENT_NAME "ipsecmond"

/* Net-SNMP's state is process-wide: one agent per process. */
static struct agent *the_agent;

static void rearm(struct agent *a);

/* ---- values ---------------------------------------------------------- */

void
agent_set_counter64(netsnmp_variable_list *v, uint64_t x)
{
	struct counter64 c = {(u_long)(x >> 32), (u_long)(x & 0xffffffffu)};

	snmp_set_var_typed_value(v, ASN_COUNTER64, &c, sizeof(c));
}

/* Gauge32 and Unsigned32 saturate rather than wrap. */
void
agent_set_u32(netsnmp_variable_list *v, u_char type, uint64_t x)
{
	u_long u = x > UINT32_MAX ? UINT32_MAX : (u_long)x;

	snmp_set_var_typed_value(v, type, &u, sizeof(u));
}

void
agent_set_int(netsnmp_variable_list *v, long x)
{
	snmp_set_var_typed_value(v, ASN_INTEGER, &x, sizeof(x));
}

long
agent_addr_type(int af)
{
	return af == AF_INET ? 1 : af == AF_INET6 ? 2 : 0;
}

void
agent_set_addr(netsnmp_variable_list *v, const struct ips_addr *a)
{
	size_t n = a->af == AF_INET ? 4 : a->af == AF_INET6 ? 16 : 0;

	snmp_set_var_typed_value(v, ASN_OCTET_STR, a->b, n);
}

void
agent_set_string(netsnmp_variable_list *v, const char *s)
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
			agent_set_counter64(req->requestvb, x);
		else
			agent_set_u32(req->requestvb, ASN_GAUGE, x);
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
		case IPSM_SUB_ipsmPolicyName:
			agent_set_string(v, p->name);
			break;
		case IPSM_SUB_ipsmPolicyDescription:
			agent_set_string(v, p->description);
			break;
		case IPSM_SUB_ipsmPolicyLastModified:
			set_date(v, p->name != NULL ? p->last_modified : 0);
			break;
		case IPSM_SUB_ipsmPolicyStore:
			agent_set_string(
			    v, p->name != NULL ? pol_store_name(p->store) : "");
			break;
		case IPSM_SUB_ipsmPolicyPath:
			agent_set_string(v, p->path);
			break;
		case IPSM_SUB_ipsmPolicyOrganizationalUnit:
			agent_set_string(v, p->ou);
			break;
		case IPSM_SUB_ipsmPolicyGroupPolicyObject:
			agent_set_string(v, p->gpo);
			break;
		case IPSM_SUB_ipsmPolicyRules:
			agent_set_u32(v, ASN_UNSIGNED, a->snap.rules);
			break;
		case IPSM_SUB_ipsmPolicyLoadedAt:
			set_date(v, p->name != NULL ? a->snap.loaded_at : 0);
			break;
		case IPSM_SUB_ipsmPolicyDynamicChanges:
			agent_set_u32(v, ASN_UNSIGNED, a->snap.dynamic_changes);
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

		if (req->requestvb->name[IPSM_OIDLEN_ipsmStats] ==
		    IPSM_SUB_ipsmStatsCountingSince)
			set_date(req->requestvb, a->snap.discontinuity);
		else
			snmp_set_var_typed_value(
			    req->requestvb, ASN_TIMETICKS, &t, sizeof(t));
	}
	return SNMP_ERR_NOERROR;
}

/* ipsmAgent: the AgentX session's history. */
static int
session_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	struct agent *a = h->myvoid;

	(void)reg;
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	for (; req != NULL; req = req->next)
		agent_set_u32(req->requestvb, ASN_COUNTER,
		    req->requestvb->name[IPSM_OIDLEN_ipsmAgent] ==
			    IPSM_SUB_ipsmAgentRegistrations
			? a->status.registrations
			: a->status.losses);
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
	static const oid session[] = {IPSM_OID_ipsmAgent};
	size_t nmm, nqm;

	(void)stats_mm_desc(&nmm);
	(void)stats_qm_desc(&nqm);
	if (register_group(a, "ipsmPolicy", policy_handler, policy,
		OID_LENGTH(policy), IPSM_SUB_ipsmPolicyName,
		IPSM_SUB_ipsmPolicyDynamicChanges) != SNMPERR_SUCCESS ||
	    register_group(a, "ipsmMmStats", stats_handler, mm, OID_LENGTH(mm),
		1, (oid)nmm) != SNMPERR_SUCCESS ||
	    register_group(a, "ipsmQmStats", stats_handler, qm, OID_LENGTH(qm),
		1, (oid)nqm) != SNMPERR_SUCCESS ||
	    register_group(a, "ipsmStats", disc_handler, stats,
		OID_LENGTH(stats), IPSM_SUB_ipsmStatsDiscontinuityTime,
		IPSM_SUB_ipsmStatsCountingSince) != SNMPERR_SUCCESS ||
	    register_group(a, "ipsmAgent", session_handler, session,
		OID_LENGTH(session), IPSM_SUB_ipsmAgentRegistrations,
		IPSM_SUB_ipsmAgentMasterLosses) != SNMPERR_SUCCESS)
		return -1;
	return agent_tables_register(a);
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
	agent_notify_init(a);

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
