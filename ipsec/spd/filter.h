/*
 * filter: the policy's filters as IP Security Monitor shows them.
 *
 * Generic filters are the filters as written (one Quick Mode filter per
 * filter of a rule's list; one Main Mode filter per distinct address pair
 * of a negotiating rule), keywords and mirroring intact.  Specific filters
 * are what the datapath matches: keywords expanded to this host's
 * addresses, mirrored filters split into their two directions, each with a
 * weight so that the most specific filter wins.  docs/FILTERS.md gives the
 * expansion and weight rules with examples.
 */
#ifndef IPS_FILTER_H
#define IPS_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/ips_err.h"
#include "spd/hostenv.h"
#include "spd/policy.h"

enum flt_mode { FLT_MM, FLT_QM };
enum flt_type { FLT_GENERIC, FLT_SPECIFIC };
enum flt_dir { FLT_DIR_BOTH, FLT_DIR_OUTBOUND, FLT_DIR_INBOUND };

const char *flt_dir_name(enum flt_dir d);

/* One row of a filter view.  Strings and the rule are borrowed. */
struct flt {
	const char *name; /* "<rule>/<n>": rule name, filter number */
	const struct pol_rule *rule;
	struct ips_aspec src, dst; /* specific: no keywords left */
	uint8_t proto; /* QM only; 0 = any */
	uint16_t sport, dport; /* QM only; 0 = any */
	bool mirrored; /* generic only */
	bool tunnel; /* QM only */
	struct ips_aspec tunnel_src, tunnel_dst; /* tunnel only */
	enum pol_action inbound_action, outbound_action; /* QM only */
	enum flt_dir dir; /* FLT_DIR_BOTH for generic filters */
	uint32_t weight; /* specific only */
};

struct flt_set;

/* Expand a policy against a host.  Both are borrowed for the call only,
 * except the rules and names, which the set borrows from the policy: free
 * the set before the policy. */
IPS_MUST_USE ips_res flt_set_build(
    const struct policy *p, const struct hostenv *h, struct flt_set **out);
void flt_set_free(struct flt_set *fs);

size_t flt_count(const struct flt_set *fs, enum flt_mode m, enum flt_type t);
/* Generic filters in policy order; specific filters by weight, highest
 * first. */
const struct flt *flt_get(
    const struct flt_set *fs, enum flt_mode m, enum flt_type t, size_t i);

/* One end of a search: any address, any of this host's, one address, or
 * a prefix (netsh's srcaddr= with srcmask=). */
struct flt_qaddr {
	enum { FLT_Q_ANY, FLT_Q_ME, FLT_Q_ADDR, FLT_Q_PREFIX } kind;
	struct ips_addr addr;
	struct ips_aspec prefix; /* FLT_Q_PREFIX: a PREFIX or HOST spec */
};

/*
 * The filters of one view that match traffic from src to dst, in the view's
 * order (so specific results come most specific first).  Writes up to max
 * indexes into idx and returns how many matched in all.  A prefix matches
 * the filters that cover some of its addresses.  The host decides
 * what "me" (and, for generic filters, the keywords) stand for.
 */
size_t flt_search(const struct flt_set *fs, enum flt_mode m, enum flt_type t,
    const struct flt_qaddr *src, const struct flt_qaddr *dst,
    const struct hostenv *h, size_t *idx, size_t max);

#endif
