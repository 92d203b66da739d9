/*
 * remote: ipsecmon's views read from a host's agent over SNMP
 * (IPSECMON-MIB, served by ipsecmond's AgentX subagent through the host's
 * snmpd) instead of the local control socket, built into the same view
 * messages so that they render exactly as the local ones do.
 *
 * SNMPv2c or SNMPv3 (USM, SHA-256/AES).  Tables are read a few rows at a
 * time with GETBULK, every column of a row in one request.
 */
#ifndef IPSM_REMOTE_H
#define IPSM_REMOTE_H

#include <stddef.h>

#include "ctl.pb-c.h"

/* How to speak to the agent: SNMPv2c with a community, or, when user is
 * set, SNMPv3 USM authPriv with HMAC-SHA-256 and AES-128. */
struct remote_auth {
	const char *community;
	const char *user, *auth_pass, *priv_pass;
};

/*
 * Answer a show request (stats, policy, mmpolicy, qmpolicy, mmsas, qmsas,
 * filters without an address search) from host ("NAME[:PORT]", Net-SNMP's
 * peer syntax) as the daemon would; 0, or -1 with errbuf saying why.
 * Free the response with remote_free().
 */
int remote_show(const char *host, const struct remote_auth *auth,
    int timeout_ms, const Ipsm__Request *req, Ipsm__Response **out,
    char *errbuf, size_t errlen);
void remote_free(Ipsm__Response *r);

#endif
