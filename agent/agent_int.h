/*
 * agent_int: what agent.c (the loop, the session, the scalars),
 * agent_tables.c (the tables) and agent_notify.c (the notifications)
 * share.  Not for use outside agent/.
 */
#ifndef IPS_AGENT_INT_H
#define IPS_AGENT_INT_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent.h"
#include "audit/audit.h"

#define AGENT_MAX_FDS 8 /* Net-SNMP's sockets: one AgentX session */
#define AGENT_NEVENTS 7 /* audit events 541..547 */
#define AGENT_EVENT_FIRST 541
#define AGENT_RATE_DEFAULT 10 /* notifications of a kind per minute */
#define AGENT_NTABLES 8 /* agent_tables.c's tables */

struct agent_table;
/* What a table's handler is given: the agent and its table. */
struct agent_treg {
	struct agent *a;
	const struct agent_table *t;
};

struct agent_fd {
	uv_poll_t poll;
	int fd; /* -1: slot free */
	struct agent *a;
};

/* One kind of notification: its switch, its token bucket, its counts. */
struct agent_notify {
	bool enabled;
	uint32_t rate; /* per minute, and the bucket's depth */
	double tokens;
	uint64_t refilled_ms;
	uint64_t sent, suppressed;
	uint32_t held; /* held back since the last one sent */
};

/* The row a table handler is looking at, found by its seek. */
union agent_row {
	struct agent_qm_row qm;
	struct agent_soft_row soft;
	struct ike_sa_info mm;
	struct {
		const struct flt *f;
		enum flt_type type;
	} flt;
	struct {
		const struct pol_ike_policy *p;
		size_t offer;
	} ikep;
	struct {
		const struct pol_neg_policy *p;
		size_t offer;
	} negp;
	struct agent_notify *notify;
};

struct agent {
	uv_loop_t *loop;
	const struct agent_ops *ops;
	void *ctx;
	uv_timer_t timer;
	struct agent_fd fds[AGENT_MAX_FDS];
	time_t started; /* for TimeStamp values: our uptime's zero */
	struct agent_snapshot snap; /* of the request being answered */
	union agent_row row;
	bool stopping;
	int handles; /* open libuv handles: memory goes with the last */
	char master[256];
	struct agent_status status;
	struct agent_notify notify[AGENT_NEVENTS];
	struct agent_treg tregs[AGENT_NTABLES];
};

/* Register every table of IPSECMON-MIB; 0 or -1. */
int agent_tables_register(struct agent *a);

/* The notification control's defaults (all on, AGENT_RATE_DEFAULT). */
void agent_notify_init(struct agent *a);

/* Values, shared by the scalars, the tables and the notifications. */
void agent_set_counter64(netsnmp_variable_list *v, uint64_t x);
void agent_set_u32(netsnmp_variable_list *v, u_char type, uint64_t x);
void agent_set_int(netsnmp_variable_list *v, long x);
void agent_set_string(netsnmp_variable_list *v, const char *s);
void agent_set_addr(netsnmp_variable_list *v, const struct ips_addr *a);
/* InetAddressType (RFC 4001): unknown(0), ipv4(1), ipv6(2). */
long agent_addr_type(int af);

/*
 * A subid as the 32-bit number it is on the wire: Net-SNMP's AgentX
 * decoding sign-extends those above 2^31 into its 64-bit oid (an SPI
 * often is), so only the low half is trusted.
 */
static inline uint32_t
agent_sub32(oid o)
{
	return (uint32_t)(o & 0xffffffffu);
}

#endif
