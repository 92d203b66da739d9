/*
 * ctl_view: the read-only views of the control protocol, built from the
 * engine's live objects.  This is the one place where engine state becomes
 * protocol messages; the command line, the collector and (later) the SNMP
 * agent all see the engine through it.
 */
#ifndef IPS_CTL_VIEW_H
#define IPS_CTL_VIEW_H

#include <time.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "ctl.pb-c.h"
#include "ike/ike.h"
#include "sad/sad.h"
#include "spd/filter.h"
#include "spd/hostenv.h"
#include "spd/policy.h"
#include "spd/settings.h"
#include "stats/stats.h"

/* How `show qmsas` writes a soft association's mode and integrity: here,
 * so that the rows `ipsecmon --host` rebuilds from the MIB say the same. */
#define CTL_SOFT_MODE "soft (clear)"
#define CTL_SOFT_INTEGRITY "None"

/* Everything a view may read; all borrowed for the call. */
struct ctl_view_src {
	const struct policy *policy;
	const struct flt_set *filters;
	const struct hostenv *host;
	const struct ips_mm_stats *mm;
	const struct ips_qm_stats *qm;
	time_t discontinuity;
	time_t loaded_at;
	const struct ike_sa_info *mmsas; /* Main Mode SAs at this moment */
	size_t nmmsas;
	const struct sad_info *qmsas; /* every IPsec SA, both directions */
	size_t nqmsas;
	const struct sad_soft *softs; /* soft associations (clear text) */
	size_t nsofts;
	uint64_t now_ms; /* the clock SA ages are measured against */
	const struct settings *settings; /* `set config` */
	const char *settings_path;
	const struct audit_ring *events; /* recent audit events; may be NULL */
	unsigned dynamic_changes; /* to the policy, since its file was read */
};

/*
 * Answer a show request into resp, allocating from a.  Requests that are
 * not views (reload) get IPS_E_INVAL: the daemon handles those itself.
 */
void ctl_view_build(const struct ctl_view_src *src, const Ipsm__Request *req,
    Ipsm__Response *resp, struct arena *a);

#endif
