/*
 * engine: the daemon's state — the active policy, its secrets, this host's
 * addresses, the filters expanded from them, and the statistics — and the
 * two ways it changes outside IKE: a policy reload and a host change.
 * Either is all-or-nothing: on any error the previous state stays active.
 */
#ifndef IPS_ENGINE_H
#define IPS_ENGINE_H

#include "spd/policy_edit.h"
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/ips_err.h"
#include "ctl/ctl_view.h"
#include "ike/ike.h"
#include "spd/filter.h"
#include "spd/hostenv.h"
#include "spd/policy.h"
#include "stats/stats.h"

struct engine;

/*
 * Load the policy at policy_path (borrowed path, copied) and everything it
 * needs.  errbuf gets "file:line:col: reason" on failure.  host is the
 * initial host view (consumed); NULL reads the running system.  ops (and
 * ctx) are the IKE engine's transport and clock, borrowed.
 */
IPS_MUST_USE ips_res engine_new(const char *policy_path, struct hostenv *host,
    const struct ike_ops *ops, void *ctx, struct engine **out, char *errbuf,
    size_t errlen);
void engine_free(struct engine *e);

/* Re-read policy and secrets; on failure keep running the old ones.  The
 * file replaces the dynamic changes. */
IPS_MUST_USE ips_res engine_reload(
    struct engine *e, char *errbuf, size_t errlen);
/*
 * A dynamic change (policy_edit.h) to the running policy, checked as a
 * policy file is and applied at once; the SAs of the rules it leaves in
 * place keep running.  done says what was done; a refusal changes nothing.
 * Not written to the policy file: a reload or restart ends it.
 */
IPS_MUST_USE ips_res engine_edit(struct engine *e, enum pe_op op,
    const char *object, const struct pe_item *items, size_t n, char *done,
    size_t donelen, char *errbuf, size_t errlen);
/* How many dynamic changes the running policy has had since the file. */
unsigned engine_dynamic_changes(const struct engine *e);
/*
 * Adopt a new view of the host (consumed) and re-expand the filters if it
 * differs; *changed says whether it did.
 */
IPS_MUST_USE ips_res engine_set_host(
    struct engine *e, struct hostenv *host, bool *changed);

const struct policy *engine_policy(const struct engine *e);
const struct flt_set *engine_filters(const struct engine *e);
const struct hostenv *engine_host(const struct engine *e);
struct stats *engine_stats(struct engine *e);
struct ike *engine_ike(struct engine *e);

/* The source address the kernel would use towards remote (a connected
 * UDP socket's name; nothing is sent). */
bool engine_source_for(const struct ips_addr *remote, struct ips_addr *out);

/*
 * Start Main Mode for the named rule: towards its tunnel endpoint, or
 * peer (an address) for a transport rule.  errbuf says why not.
 */
IPS_MUST_USE ips_res engine_initiate(struct engine *e, const char *rule,
    const char *peer, char *errbuf, size_t errlen);

/*
 * Fill a view source from the live state.  The statistics are copied into
 * mm/qm (caller's storage) and, when tables, the SA lists into a, so one
 * response sees one consistent moment.
 */
void engine_view_src(const struct engine *e, struct ctl_view_src *src,
    struct ips_mm_stats *mm, struct ips_qm_stats *qm, bool tables,
    struct arena *a);

/*
 * The run-time settings (spd/settings.h): read from path (defaults if it
 * does not exist; a bad file is an error) and applied; written back there
 * on every change.  Until this is called they are the defaults, not kept.
 */
IPS_MUST_USE ips_res engine_settings_open(
    struct engine *e, const char *path, char *errbuf, size_t errlen);
const struct settings *engine_settings(const struct engine *e);
/* `set config`: n name=value pairs, all applied or none; saved before
 * they apply, each change logged. */
IPS_MUST_USE ips_res engine_set_config(struct engine *e,
    const char *const *names, const char *const *values, size_t n, char *errbuf,
    size_t errlen);

/* export-keys (daemon/export.c): every live SA's key, as Wireshark's
 * tables want them, into resp.  The caller has checked the client is
 * root. */
void engine_export_keys(
    struct engine *e, Ipsm__Response *resp, struct arena *a);

/* Check a policy file and its secrets without starting anything, under
 * the settings kept at settings_path (strongcrlcheck), if it names one. */
IPS_MUST_USE ips_res engine_check_policy(const char *policy_path,
    const char *settings_path, char *errbuf, size_t errlen);

#endif
