/*
 * secrets: pre-shared keys, kept apart from the policy.
 *
 * The file must not be readable or writable by group or others; the values
 * live in memory excluded from core dumps (MADV_DONTDUMP), locked where the
 * system allows it, and are wiped before release.  Nothing in this module
 * ever formats a value: only names leave it.
 */
#ifndef IPS_SECRETS_H
#define IPS_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"
#include "spd/policy.h"

struct secrets;

/*
 * Load a secrets file: a YAML mapping of names to strings.  Fails with
 * IPS_E_PERM if group or others have any access to it, IPS_E_CONFIG if it
 * is malformed; err says where and why (never quoting a value).
 */
IPS_MUST_USE ips_res secrets_load(
    const char *path, struct secrets **out, struct policy_error *err);
/* The same from memory (tests, fuzzing); no permission check. */
IPS_MUST_USE ips_res secrets_load_buffer(const char *name, const char *buf,
    size_t len, struct secrets **out, struct policy_error *err);
/* Wipes every value, then frees; NULL is a no-op. */
void secrets_free(struct secrets *s);

size_t secrets_count(const struct secrets *s);
/* The value named name (borrowed), or NULL. */
const uint8_t *secrets_get(
    const struct secrets *s, const char *name, size_t *len);

/*
 * Every psk authentication method in the policy must name a secret that
 * exists; err points at the first that does not.
 */
IPS_MUST_USE ips_res secrets_check_policy(
    const struct secrets *s, const struct policy *p, struct policy_error *err);

#endif
