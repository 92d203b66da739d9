/* The schema-independent half of the policy parser: see policy_walk.h. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_walk.h"

ips_res
pw_fail(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	if (n != NULL) {
		c->err->line = (unsigned)n->start_mark.line + 1;
		c->err->col = (unsigned)n->start_mark.column + 1;
	}
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return IPS_ERR(CONFIG);
}

ips_res
pw_nomem(struct pctx *c)
{
	snprintf(c->err->msg, sizeof(c->err->msg), "out of memory");
	return IPS_ERR(NOMEM);
}

yaml_node_t *
pw_node(struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

struct pol_pos
pw_pos_of(const yaml_node_t *n)
{
	struct pol_pos pos = {(unsigned)n->start_mark.line + 1,
	    (unsigned)n->start_mark.column + 1};

	return pos;
}

/* ---- scalars -------------------------------------------------------- */

ips_res
pw_scalar(struct pctx *c, yaml_node_t *n, const char *what, const char **s)
{
	if (n->type != YAML_SCALAR_NODE)
		return pw_fail(c, n, "%s must be a single value", what);
	*s = (const char *)n->data.scalar.value;
	if (strlen(*s) != n->data.scalar.length)
		return pw_fail(c, n, "%s contains a NUL byte", what);
	return IPS_OK;
}

ips_res
pw_get_str(struct pctx *c, yaml_node_t *n, const char *what, const char **out)
{
	const char *s = NULL;

	GUARD(pw_scalar(c, n, what, &s));
	if ((*out = arena_strdup(c->p->arena, s)) == NULL)
		return pw_nomem(c);
	return IPS_OK;
}

ips_res
pw_get_name(struct pctx *c, yaml_node_t *n, const char *what, const char **out)
{
	const char *s = NULL;

	GUARD(pw_scalar(c, n, what, &s));
	if (*s == '\0')
		return pw_fail(c, n, "%s must not be empty", what);
	for (const char *q = s; *q; q++)
		if (iscntrl((unsigned char)*q))
			return pw_fail(
			    c, n, "%s contains a control character", what);
	return pw_get_str(c, n, what, out);
}

ips_res
pw_get_bool(struct pctx *c, yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on"};
	static const char *const no[] = {"no", "false", "off"};
	const char *s = NULL;

	GUARD(pw_scalar(c, n, what, &s));
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return IPS_OK;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return IPS_OK;
		}
	}
	return pw_fail(c, n, "%s must be yes or no, not '%s'", what, s);
}

static ips_res
parse_u64(struct pctx *c, yaml_node_t *n, const char *what, const char *s,
    uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return pw_fail(c, n, "%s must be a number, not '%s'", what, s);
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return pw_fail(c, n, "%s is too large", what);
	if (*end != '\0')
		return pw_fail(c, n, "%s must be a number, not '%s'", what, s);
	return IPS_OK;
}

ips_res
pw_get_uint(struct pctx *c, yaml_node_t *n, const char *what, uint64_t min,
    uint64_t max, uint64_t *out)
{
	const char *s = NULL;

	GUARD(pw_scalar(c, n, what, &s));
	GUARD(parse_u64(c, n, what, s, out));
	if (*out < min || *out > max)
		return pw_fail(c, n, "%s must be between %llu and %llu", what,
		    (unsigned long long)min, (unsigned long long)max);
	return IPS_OK;
}

/* A duration: a number of seconds, or a number with s, m, h or d. */
ips_res
pw_get_duration(struct pctx *c, yaml_node_t *n, const char *what, uint64_t min,
    uint64_t max, uint32_t *out)
{
	char buf[32];
	const char *s = NULL;
	uint64_t v, mult = 1;
	size_t len;

	GUARD(pw_scalar(c, n, what, &s));
	len = strlen(s);
	if (len == 0 || len >= sizeof(buf))
		return pw_fail(c, n,
		    "%s must be a duration such as 3600, 60m "
		    "or 8h",
		    what);
	memcpy(buf, s, len + 1);
	switch (buf[len - 1]) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		len++; /* no unit */
		break;
	}
	buf[len - 1] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return pw_fail(c, n,
		    "%s must be a duration such as 3600, 60m "
		    "or 8h",
		    what);
	GUARD(parse_u64(c, n, what, buf, &v));
	if (v > UINT64_MAX / mult || v * mult < min || v * mult > max)
		return pw_fail(c, n, "%s must be between %llus and %llus", what,
		    (unsigned long long)min, (unsigned long long)max);
	*out = (uint32_t)(v * mult);
	return IPS_OK;
}

/* Match a token against a table of names; the error lists them all. */
ips_res
pw_get_token(struct pctx *c, yaml_node_t *n, const char *what,
    const char *const *names, size_t count, unsigned *out)
{
	char list[256] = "";
	const char *s = NULL;

	GUARD(pw_scalar(c, n, what, &s));
	for (size_t i = 0; i < count; i++) {
		if (names[i] != NULL && strcmp(s, names[i]) == 0) {
			*out = (unsigned)i;
			return IPS_OK;
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (names[i] == NULL)
			continue;
		if (list[0] != '\0')
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
	}
	return pw_fail(
	    c, n, "unknown %s '%s' (expected one of: %s)", what, s, list);
}

ips_res
pw_get_aspec(
    struct pctx *c, yaml_node_t *n, const char *what, struct ips_aspec *out)
{
	const char *s = NULL, *why = NULL;

	GUARD(pw_scalar(c, n, what, &s));
	if (!ips_ok(ips_aspec_parse(s, out, &why)))
		return pw_fail(c, n, "%s '%s': %s", what, s, why);
	return IPS_OK;
}

ips_res
pw_get_dh_group(struct pctx *c, yaml_node_t *n, const char *what,
    bool allow_none, unsigned *out)
{
	static const struct {
		unsigned num;
		const char *tok;
	} groups[] = {
#define IPS_DH_ROW(e, num, tok, disp) {num, tok},
	    IPS_DH_GROUPS(IPS_DH_ROW)
#undef IPS_DH_ROW
	};
	const char *s = NULL;
	char *end;
	unsigned long v;

	GUARD(pw_scalar(c, n, what, &s));
	if (allow_none && strcmp(s, "none") == 0) {
		*out = 0;
		return IPS_OK;
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strcmp(s, groups[i].tok) == 0) {
			*out = groups[i].num;
			return IPS_OK;
		}
	}
	v = strtoul(s, &end, 10);
	if (isdigit((unsigned char)*s) && *end == '\0' && v < 256 &&
	    ips_dh_group_name((unsigned)v) != NULL) {
		*out = (unsigned)v;
		return IPS_OK;
	}
	return pw_fail(c, n,
	    "unsupported %s '%s' (expected %s2, 5, 14, 15, 19 "
	    "or 20, or modp1024 ... ecp384)",
	    what, s, allow_none ? "none, " : "");
}

/* ---- mappings and sequences ----------------------------------------- */

/*
 * Walk a mapping: each key must be one of fields[], at most once; each
 * value goes to its field's function; required keys must be present.
 */
ips_res
pw_walk_map(struct pctx *c, yaml_node_t *n, const char *what,
    const struct field *f, size_t nf, void *obj)
{
	bool seen[PW_MAX_FIELDS] = {false};
	yaml_node_pair_t *pair;

	assert(nf <= PW_MAX_FIELDS);
	if (n->type != YAML_MAPPING_NODE)
		return pw_fail(
		    c, n, "%s must be a mapping of keys to values", what);
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = pw_node(c, pair->key),
			    *v = pw_node(c, pair->value);
		const char *key = NULL;
		size_t i;

		GUARD(pw_scalar(c, k, "a key", &key));
		for (i = 0; i < nf; i++)
			if (strcmp(key, f[i].key) == 0)
				break;
		if (i == nf) {
			char list[256] = "";

			for (size_t j = 0; j < nf; j++) {
				if (j > 0)
					strncat(list, ", ",
					    sizeof(list) - strlen(list) - 1);
				strncat(list, f[j].key,
				    sizeof(list) - strlen(list) - 1);
			}
			return pw_fail(c, k,
			    "unknown key '%s' in %s (expected "
			    "one of: %s)",
			    key, what, list);
		}
		if (seen[i])
			return pw_fail(
			    c, k, "duplicate key '%s' in %s", key, what);
		seen[i] = true;
		GUARD(f[i].fn(c, v, obj));
	}
	for (size_t i = 0; i < nf; i++)
		if (f[i].required && !seen[i])
			return pw_fail(c, n, "%s has no '%s'", what, f[i].key);
	return IPS_OK;
}

/* The value node of key in mapping n, or NULL. */
yaml_node_t *
pw_map_get(struct pctx *c, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t *pair;

	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = pw_node(c, pair->key);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return pw_node(c, pair->value);
	}
	return NULL;
}

ips_res
pw_seq_items(struct pctx *c, yaml_node_t *n, const char *what, bool nonempty,
    yaml_node_item_t **items, size_t *count)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return pw_fail(c, n, "%s must be a list", what);
	*items = n->data.sequence.items.start;
	*count = (size_t)(n->data.sequence.items.top - *items);
	if (nonempty && *count == 0)
		return pw_fail(c, n, "%s must not be empty", what);
	return IPS_OK;
}

/* Allocate an array for a sequence, or fail with out of memory. */
ips_res
pw_seq_alloc(struct pctx *c, size_t count, size_t sz, void **out)
{
	if ((*out = arena_calloc(c->p->arena, count ? count : 1, sz)) == NULL)
		return pw_nomem(c);
	return IPS_OK;
}
