/*
 * settings: the engine's run-time switches, netsh ipsec dynamic's
 * `set config`: set over the control socket, applied at once, and kept in
 * a small JSON file so that they survive a restart (docs/CLI.md).
 *
 * Every setting is an integer in a range; the table below is the only
 * place their names, ranges, defaults and meanings are written.
 */
#ifndef IPS_SETTINGS_H
#define IPS_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"

/* X(name, min, max, default, meaning) */
#define IPS_SETTINGS(X) \
	X(ikelogging, 0, 1, 0, "IKE trace log (Oakley.log): 0 off, 1 on") \
	X(ikeaudits, 0, 1, 1, \
	    "IKE audit events 541-547: 1 written, 0 left out " \
	    "(DisableIKEAudits)") \
	X(strongcrlcheck, 0, 2, 1, \
	    "revocation checks of certificate methods that name no " \
	    "crl-check: 0 none, 1 a revoked certificate fails, 2 any " \
	    "certificate no CRL vouches for fails") \
	X(ipsecdiagnostics, 0, 7, 0, \
	    "datapath drop-event logging level: 0 off .. 7 every kind") \
	X(ipsecloginterval, 60, 86400, 3600, \
	    "seconds over which datapath drop events are batched")

enum settings_id {
#define IPS_SETTINGS_ENUM(n, lo, hi, def, what) SETTING_##n,
	IPS_SETTINGS(IPS_SETTINGS_ENUM)
#undef IPS_SETTINGS_ENUM
	    SETTINGS_N
};

struct settings {
	uint32_t v[SETTINGS_N];
};

struct settings_desc {
	const char *name, *meaning;
	uint32_t min, max, def;
};

const struct settings_desc *settings_desc(enum settings_id id);
/* The setting called name; false if there is none. */
bool settings_find(const char *name, enum settings_id *out);
void settings_defaults(struct settings *s);

/* Set one from its text ("0", "3600"); errbuf says why not (an unknown
 * name, not a number, out of range), and s is then unchanged. */
IPS_MUST_USE ips_res settings_set(struct settings *s, const char *name,
    const char *value, char *errbuf, size_t errlen);

/* Read path into s (defaults for what it does not name; all defaults if
 * there is no file).  A file that is not ours is an error, naming it. */
IPS_MUST_USE ips_res settings_load(
    const char *path, struct settings *s, char *errbuf, size_t errlen);
/* Write s to path, atomically (a temporary file renamed over it). */
IPS_MUST_USE ips_res settings_save(
    const char *path, const struct settings *s, char *errbuf, size_t errlen);

#endif
