/*
 * The notifications of IPSECMON-MIB: one per audit event (541-547), sent
 * to the AgentX master, which forwards them to its trap sinks.  Each kind
 * has a switch and a token bucket (ipsmNotifyTable), so a peer that fails
 * a thousand negotiations a second costs the management station a few
 * notifications a minute, each saying how many were held back.
 */
#include <string.h>

#include "agent_int.h"
#include "ipsm_mib_oids.h"

void
agent_notify_init(struct agent *a)
{
	for (size_t i = 0; i < AGENT_NEVENTS; i++) {
		struct agent_notify *n = &a->notify[i];

		memset(n, 0, sizeof(*n));
		n->enabled = true;
		n->rate = AGENT_RATE_DEFAULT;
		n->tokens = AGENT_RATE_DEFAULT;
	}
}

/* The bucket refills at rate a minute up to rate: a burst of rate, then
 * one every 60/rate seconds. */
static bool
take_token(struct agent_notify *n, uint64_t now_ms)
{
	if (now_ms > n->refilled_ms) {
		n->tokens +=
		    (double)(now_ms - n->refilled_ms) * n->rate / 60000.0;
		if (n->tokens > n->rate)
			n->tokens = n->rate;
		n->refilled_ms = now_ms;
	}
	if (n->tokens < 1.0)
		return false;
	n->tokens -= 1.0;
	return true;
}

static void
add_u32(netsnmp_variable_list **vars, const oid *name, size_t len, u_char type,
    uint32_t x)
{
	u_long u = x;

	snmp_varlist_add_variable(vars, name, len, type, &u, sizeof(u));
}

static void
add_str(
    netsnmp_variable_list **vars, const oid *name, size_t len, const char *s)
{
	if (s == NULL)
		s = "";
	snmp_varlist_add_variable(vars, name, len, ASN_OCTET_STR, s, strlen(s));
}

static void
add_addr(netsnmp_variable_list **vars, const oid *name, size_t len,
    const struct ips_addr *a)
{
	size_t n = a->af == AF_INET ? 4 : a->af == AF_INET6 ? 16 : 0;

	snmp_varlist_add_variable(vars, name, len, ASN_OCTET_STR, a->b, n);
}

/* One object of ipsmEvent, instance .0, from the event. */
static void
add_object(netsnmp_variable_list **vars, const oid *base, size_t blen,
    const struct audit_event *ev, uint32_t held)
{
	oid name[MAX_OID_LEN];
	size_t len = blen + 1;

	memcpy(name, base, blen * sizeof(oid));
	name[blen] = 0;
	switch (base[blen - 1]) {
	case IPSM_SUB_ipsmEventMode:
		add_u32(vars, name, len, ASN_INTEGER,
		    ev->mode != NULL && strcmp(ev->mode, "quick") == 0 ? 2 : 1);
		break;
	case IPSM_SUB_ipsmEventRule:
		add_str(vars, name, len, ev->rule);
		break;
	case IPSM_SUB_ipsmEventLocalAddressType:
		add_u32(vars, name, len, ASN_INTEGER,
		    (uint32_t)agent_addr_type(ev->local.af));
		break;
	case IPSM_SUB_ipsmEventLocalAddress:
		add_addr(vars, name, len, &ev->local);
		break;
	case IPSM_SUB_ipsmEventLocalPort:
		add_u32(vars, name, len, ASN_UNSIGNED, ev->local_port);
		break;
	case IPSM_SUB_ipsmEventPeerAddressType:
		add_u32(vars, name, len, ASN_INTEGER,
		    (uint32_t)agent_addr_type(ev->remote.af));
		break;
	case IPSM_SUB_ipsmEventPeerAddress:
		add_addr(vars, name, len, &ev->remote);
		break;
	case IPSM_SUB_ipsmEventPeerPort:
		add_u32(vars, name, len, ASN_UNSIGNED, ev->remote_port);
		break;
	case IPSM_SUB_ipsmEventPeerIdentity:
		add_str(vars, name, len, ev->peer_identity);
		break;
	case IPSM_SUB_ipsmEventCookies:
		add_str(vars, name, len, ev->cookies);
		break;
	case IPSM_SUB_ipsmEventFilter:
		add_str(vars, name, len, ev->filter);
		break;
	case IPSM_SUB_ipsmEventParameters:
		add_str(vars, name, len, ev->parameters);
		break;
	case IPSM_SUB_ipsmEventInboundSpi:
		add_u32(vars, name, len, ASN_UNSIGNED, ev->spi_in);
		break;
	case IPSM_SUB_ipsmEventOutboundSpi:
		add_u32(vars, name, len, ASN_UNSIGNED, ev->spi_out);
		break;
	case IPSM_SUB_ipsmEventAttribute:
		add_str(vars, name, len, ev->attribute);
		break;
	case IPSM_SUB_ipsmEventExpected:
		add_str(vars, name, len, ev->expected);
		break;
	case IPSM_SUB_ipsmEventReceived:
		add_str(vars, name, len, ev->received);
		break;
	case IPSM_SUB_ipsmEventFailurePoint:
		add_u32(vars, name, len, ASN_INTEGER,
		    ev->failure_point != NULL &&
			    strcmp(ev->failure_point, "peer") == 0
			? 2
			: 1);
		break;
	case IPSM_SUB_ipsmEventReason:
		add_str(vars, name, len, ev->reason);
		break;
	case IPSM_SUB_ipsmEventSuppressed:
		add_u32(vars, name, len, ASN_UNSIGNED,
		    held + (uint32_t)ev->suppressed);
		break;
	}
}

/* The objects of each notification, as the MIB's OBJECTS clauses list
 * them (generated: mib/gen-oids.sh). */
#define ADD(obj) \
	{ \
		static const oid o[] = {IPSM_OID_##obj}; \
		add_object(vars, o, IPSM_OIDLEN_##obj, ev, held); \
	}

static void
add_objects(
    netsnmp_variable_list **vars, const struct audit_event *ev, uint32_t held)
{
	switch (ev->id) {
	case AUDIT_SA_ESTABLISHED:
		IPSM_NOTIFY_OBJECTS_ipsmSaEstablished(ADD) break;
	case AUDIT_QM_ENDED:
		IPSM_NOTIFY_OBJECTS_ipsmQmSaEnded(ADD) break;
	case AUDIT_MM_ENDED:
		IPSM_NOTIFY_OBJECTS_ipsmMmSaEnded(ADD) break;
	case AUDIT_CERT_TRUST:
		IPSM_NOTIFY_OBJECTS_ipsmCertTrustFailure(ADD) break;
	case AUDIT_AUTH_FAILED:
		IPSM_NOTIFY_OBJECTS_ipsmAuthFailure(ADD) break;
	case AUDIT_BAD_PROPOSAL:
		IPSM_NOTIFY_OBJECTS_ipsmInvalidProposal(ADD) break;
	case AUDIT_NEG_FAILED:
		IPSM_NOTIFY_OBJECTS_ipsmNegotiationFailure(ADD) break;
	}
}
#undef ADD

void
agent_notify_event(struct agent *a, const struct audit_event *ev)
{
	/* snmpTrapOID.0 (SNMPv2-MIB), whose value names the notification */
	static const oid trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
	static const oid base[] = {IPSM_OID_ipsmNotifications};
	oid which[MAX_OID_LEN];
	netsnmp_variable_list *vars = NULL;
	struct agent_notify *n;
	uint32_t held;

	if (a == NULL || ev->id < AGENT_EVENT_FIRST ||
	    ev->id >= AGENT_EVENT_FIRST + AGENT_NEVENTS)
		return;
	n = &a->notify[ev->id - AGENT_EVENT_FIRST];
	if (!n->enabled || !a->status.connected)
		return; /* the audit log has it; no one to tell over SNMP */
	if (!take_token(n, uv_now(a->loop))) {
		n->suppressed++;
		n->held++;
		return;
	}
	held = n->held;
	memcpy(which, base, sizeof(base));
	which[OID_LENGTH(base)] = ev->id;
	snmp_varlist_add_variable(&vars, trap_oid, OID_LENGTH(trap_oid),
	    ASN_OBJECT_ID, which, (OID_LENGTH(base) + 1) * sizeof(oid));
	add_objects(&vars, ev, held);
	send_v2trap(vars);
	snmp_free_varbind(vars);
	n->sent++;
	n->held = 0;
}
