/*
 * agent: the Net-SNMP AgentX subagent inside ipsecmond, serving
 * IPSECMON-MIB (mib/IPSECMON-MIB.txt) from the engine's live state.  It
 * runs on the daemon's libuv loop: Net-SNMP's descriptors are uv_poll
 * handles and its next timeout a uv_timer, re-armed after every event, so
 * no second thread ever touches engine state.
 *
 * The master may start late or restart: Net-SNMP retries the connection
 * every AGENT_RETRY_S seconds and re-registers; the engine runs on.
 */
#ifndef IPS_AGENT_H
#define IPS_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

#include "audit/audit.h"
#include "base/ips_err.h"
#include "ike/ike.h"
#include "sad/sad.h"
#include "spd/filter.h"
#include "spd/policy.h"
#include "stats/stats.h"

#define AGENT_DEFAULT_MASTER "/var/agentx/master"
#define AGENT_RETRY_S 1 /* AgentX ping / reconnect interval */

/* One consistent view of what the MIB serves, taken once per request
 * PDU. */
struct agent_snapshot {
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;
	time_t discontinuity; /* when the counters last started from 0 */
	struct pol_meta policy; /* borrowed strings; name NULL: none */
	uint32_t rules; /* the policy's */
	time_t loaded_at; /* when the engine applied it */
	uint32_t dynamic_changes; /* since the policy file was read */
	/* The active policy and its filters, borrowed for the PDU; NULL
	 * when there is none. */
	const struct policy *pol;
	const struct flt_set *filters;
};

/* One Quick Mode SA pair, a row of ipsmQmSaTable. */
struct agent_qm_row {
	struct sad_info in, out; /* out valid when has_out */
	bool has_out;
	uint64_t now_ms; /* the SAD's clock, for the lifetime left */
};

/* One soft association, a row of ipsmQmSoftTable. */
struct agent_soft_row {
	struct sad_soft s;
	uint64_t now_ms; /* the SAD's clock, for age and time left */
};

struct agent_ops {
	void (*snapshot)(void *ctx, struct agent_snapshot *out);
	/* The pair with the lowest inbound SPI above after (O(log n)):
	 * false past the last. */
	bool (*qm_next)(void *ctx, uint32_t after, struct agent_qm_row *row);
	/* The ISAKMP SA with the lowest index above after (O(log n)). */
	bool (*mm_next)(void *ctx, uint32_t after, struct ike_sa_info *row);
	/* The soft association with the lowest index above after. */
	bool (*soft_next)(
	    void *ctx, uint32_t after, struct agent_soft_row *row);
};

struct agent;

/* The AgentX session's history: registrations (the first, then one per
 * reconnect) and losses of the master. */
struct agent_status {
	bool connected;
	uint64_t registrations, losses;
};

/* Connect (now or later) to the AgentX master at master (a Unix socket
 * path, or Net-SNMP's transport syntax). */
IPS_MUST_USE ips_res agent_start(uv_loop_t *loop, const char *master,
    const struct agent_ops *ops, void *ctx, struct agent **out);
void agent_status(const struct agent *a, struct agent_status *out);
/*
 * An audit event happened: send its notification (ipsmNotifications.N)
 * to the master if it is enabled and its rate limit allows; otherwise
 * count it as held back.  Borrowed for the call.
 */
void agent_notify_event(struct agent *a, const struct audit_event *ev);
/* Unregister and close; libuv handles close with the loop. */
void agent_stop(struct agent *a);

#endif
