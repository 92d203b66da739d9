/*
 * policy_walk: reading a libyaml node tree against a schema, with every
 * error tied to the node it is about (file:line:column).  Internal to the
 * policy parser; the schema itself is in policy_yaml.c.
 */
#ifndef IPS_POLICY_WALK_H
#define IPS_POLICY_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include <yaml.h>

#include "policy_int.h"

struct pctx {
	yaml_document_t *doc;
	struct policy *p;
	struct policy_error *err;
	const char *file; /* as given, for the default path */
};

/* Record an error at node n (NULL: no position) and return IPS_E_CONFIG. */
IPS_MUST_USE ips_res pw_fail(struct pctx *c, const yaml_node_t *n,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
IPS_MUST_USE ips_res pw_nomem(struct pctx *c);
yaml_node_t *pw_node(struct pctx *c, int id);
struct pol_pos pw_pos_of(const yaml_node_t *n);

/* Scalars: each checks the node's type and says what was expected. */
IPS_MUST_USE ips_res pw_scalar(
    struct pctx *c, yaml_node_t *n, const char *what, const char **s);
/* Copy into the policy's arena. */
IPS_MUST_USE ips_res pw_get_str(
    struct pctx *c, yaml_node_t *n, const char *what, const char **out);
/* Like pw_get_str, but non-empty and free of control characters. */
IPS_MUST_USE ips_res pw_get_name(
    struct pctx *c, yaml_node_t *n, const char *what, const char **out);
IPS_MUST_USE ips_res pw_get_bool(
    struct pctx *c, yaml_node_t *n, const char *what, bool *out);
IPS_MUST_USE ips_res pw_get_uint(struct pctx *c, yaml_node_t *n,
    const char *what, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds, or a number with s, m, h or d; within [min, max] seconds. */
IPS_MUST_USE ips_res pw_get_duration(struct pctx *c, yaml_node_t *n,
    const char *what, uint64_t min, uint64_t max, uint32_t *out);
/* One of names[0..count) (NULL entries skipped); *out is its index. */
IPS_MUST_USE ips_res pw_get_token(struct pctx *c, yaml_node_t *n,
    const char *what, const char *const *names, size_t count, unsigned *out);
IPS_MUST_USE ips_res pw_get_aspec(
    struct pctx *c, yaml_node_t *n, const char *what, struct ips_aspec *out);
/* A DH group we implement, by number or name; "none" (0) if allowed. */
IPS_MUST_USE ips_res pw_get_dh_group(struct pctx *c, yaml_node_t *n,
    const char *what, bool allow_none, unsigned *out);

/* ---- mappings and sequences ---- */

#define PW_MAX_FIELDS 16

typedef ips_res (*field_fn)(struct pctx *c, yaml_node_t *v, void *obj);

struct field {
	const char *key;
	field_fn fn;
	bool required;
};

/*
 * Walk a mapping: each key must be one of f[0..nf), at most once; each
 * value goes to its field's function; required keys must be present.
 */
IPS_MUST_USE ips_res pw_walk_map(struct pctx *c, yaml_node_t *n,
    const char *what, const struct field *f, size_t nf, void *obj);
/* The value of key in mapping n, or NULL. */
yaml_node_t *pw_map_get(struct pctx *c, yaml_node_t *n, const char *key);
IPS_MUST_USE ips_res pw_seq_items(struct pctx *c, yaml_node_t *n,
    const char *what, bool nonempty, yaml_node_item_t **items, size_t *count);
/* A zeroed array of count elements from the policy's arena. */
IPS_MUST_USE ips_res pw_seq_alloc(
    struct pctx *c, size_t count, size_t sz, void **out);

#endif
