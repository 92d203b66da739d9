/*
 * policy_edit: the document is read into a small tree of its own (libyaml's
 * document cannot lose a node), changed, and written out again with
 * libyaml's emitter.  Scalars keep their quoting; comments do not survive,
 * which is why the file on disk is never written.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "spd/policy_edit.h"

/* An alias repeated in a document is copied each time: bound the work. */
#define PE_MAX_NODES 200000u

struct pnode {
	yaml_node_type_t type;
	char *text; /* scalar */
	yaml_scalar_style_t style;
	struct pnode **kid; /* sequence: items; mapping: key, value, ... */
	size_t n, cap;
};

/* What can be edited: where it lives and the names netsh gives its keys. */
struct alias {
	const char *cli, *yaml;
};

struct pe_kind {
	const char *object; /* as the command names it */
	const char *const *keys; /* what --help and completion offer */
	const char *section; /* top-level key */
	const char *owner; /* nested kinds: the key naming the owner */
	const char *child; /* nested kinds: the owner's sequence */
	const char *what; /* in messages */
	const struct alias *alias;
};

static const struct alias rule_alias[] = {{"filterlist", "filter-list"},
    {"filteraction", "filter-action"}, {"mmpolicy", "ike-policy"},
    {"tunnellocal", "tunnel-local"}, {"conntype", "connection-type"},
    {NULL, NULL}};
static const struct alias action_alias[] = {
    {"qmpolicy", "negotiation-policy"}, {NULL, NULL}};
static const struct alias filter_alias[] = {{"srcaddr", "source"},
    {"dstaddr", "destination"}, {"srcport", "source-port"},
    {"dstport", "destination-port"}, {NULL, NULL}};
static const struct alias mm_alias[] = {
    {"dhgroup", "dh-group"}, {"qmlimit", "qm-limit"}, {NULL, NULL}};
static const struct alias qm_alias[] = {
    {"lifetimekb", "lifetime-kb"}, {NULL, NULL}};
/* A rule's certificate method, gathered from these keys. */
static const struct alias cert_alias[] = {{"ca", "ca"}, {"cert", "cert"},
    {"key", "key"}, {"crl", "crl"}, {"crlcheck", "crl-check"},
    {"peerid", "peer-id"}, {NULL, NULL}};

static const char *const rule_keys[] = {"name", "filterlist", "filteraction",
    "mmpolicy", "tunnel", "tunnellocal", "conntype", "description", "psk", "ca",
    "cert", "key", "crl", "crlcheck", "peerid", NULL};
static const char *const action_keys[] = {"name", "action", "qmpolicy", NULL};
static const char *const filter_keys[] = {"filterlist", "position", "srcaddr",
    "dstaddr", "protocol", "srcport", "dstport", "mirrored", "description",
    NULL};
static const char *const mm_keys[] = {"mmpolicy", "position", "encryption",
    "integrity", "dhgroup", "lifetime", "qmlimit", NULL};
static const char *const qm_keys[] = {
    "qmpolicy", "position", "esp", "ah", "lifetime", "lifetimekb", "esn", NULL};

static const struct pe_kind kinds[] = {
    {"rule", rule_keys, "rules", NULL, NULL, "rule", rule_alias},
    {"filteraction", action_keys, "filter-actions", NULL, NULL, "filter action",
	action_alias},
    {"filter", filter_keys, "filter-lists", "filterlist", "filters", "filter",
	filter_alias},
    {"mmoffer", mm_keys, "ike-policies", "mmpolicy", "offers",
	"Main Mode offer", mm_alias},
    {"qmoffer", qm_keys, "negotiation-policies", "qmpolicy", "offers",
	"Quick Mode offer", qm_alias},
};

const char *const *
pe_keys(const char *object)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].object, object) == 0)
			return kinds[i].keys;
	return NULL;
}

struct ectx {
	char *msg;
	size_t msglen;
	size_t nodes;
};

static ips_res fail(struct ectx *c, enum ips_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ips_res
fail(struct ectx *c, enum ips_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, c->msglen, fmt, ap);
	va_end(ap);
	return (ips_res){e};
}

const char *
pe_op_name(enum pe_op op)
{
	static const char *const n[] = {"add", "delete", "set"};

	return n[op];
}

/* --- the tree --- */

static void
pn_free(struct pnode *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		pn_free(p->kid[i]);
	free(p->kid);
	free(p->text);
	free(p);
}

static struct pnode *
pn_new(yaml_node_type_t t, const char *text)
{
	struct pnode *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->type = t;
	p->style = YAML_ANY_SCALAR_STYLE;
	if (text != NULL && (p->text = strdup(text)) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

/* Insert k at position i (0..n), which p then owns; false (k freed) when
 * out of memory. */
static bool
pn_insert(struct pnode *p, size_t i, struct pnode *k)
{
	if (k == NULL)
		return false;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct pnode **v = realloc(p->kid, cap * sizeof(*v));

		if (v == NULL) {
			pn_free(k);
			return false;
		}
		p->kid = v;
		p->cap = cap;
	}
	memmove(p->kid + i + 1, p->kid + i, (p->n - i) * sizeof(*p->kid));
	p->kid[i] = k;
	p->n++;
	return true;
}

static void
pn_remove(struct pnode *p, size_t i, size_t count)
{
	for (size_t j = i; j < i + count; j++)
		pn_free(p->kid[j]);
	memmove(p->kid + i, p->kid + i + count,
	    (p->n - i - count) * sizeof(*p->kid));
	p->n -= count;
}

/* A mapping's value for key, and its key's place; NULL if none. */
static struct pnode *
pn_get(const struct pnode *map, const char *key, size_t *at)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kid[i]->type == YAML_SCALAR_NODE &&
		    strcmp(map->kid[i]->text, key) == 0) {
			if (at != NULL)
				*at = i;
			return map->kid[i + 1];
		}
	return NULL;
}

/* Set key to v (which the map then owns), in place or at the end. */
static bool
pn_put(struct pnode *map, const char *key, struct pnode *v)
{
	size_t at;

	if (v == NULL)
		return false;
	if (pn_get(map, key, &at) != NULL) {
		pn_free(map->kid[at + 1]);
		map->kid[at + 1] = v;
		return true;
	}
	if (!pn_insert(map, map->n, pn_new(YAML_SCALAR_NODE, key))) {
		pn_free(v);
		return false;
	}
	if (!pn_insert(map, map->n, v)) {
		pn_remove(map, map->n - 1, 1);
		return false;
	}
	return true;
}

/* The item of a sequence whose name is name: its place, or -1. */
static long
pn_named(const struct pnode *seq, const char *name)
{
	for (size_t i = 0; seq != NULL && i < seq->n; i++) {
		const struct pnode *v = pn_get(seq->kid[i], "name", NULL);

		if (v != NULL && v->type == YAML_SCALAR_NODE &&
		    strcmp(v->text, name) == 0)
			return (long)i;
	}
	return -1;
}

static struct pnode *
pn_from_doc(struct ectx *c, yaml_document_t *d, yaml_node_t *y)
{
	struct pnode *p;

	if (y == NULL || ++c->nodes > PE_MAX_NODES)
		return NULL;
	if ((p = pn_new(y->type, NULL)) == NULL)
		return NULL;
	switch (y->type) {
	case YAML_SCALAR_NODE:
		p->style = y->data.scalar.style;
		if ((p->text = strndup((const char *)y->data.scalar.value,
			 y->data.scalar.length)) == NULL)
			goto fail;
		break;
	case YAML_SEQUENCE_NODE:
		for (yaml_node_item_t *i = y->data.sequence.items.start;
		     i < y->data.sequence.items.top; i++)
			if (!pn_insert(p, p->n,
				pn_from_doc(
				    c, d, yaml_document_get_node(d, *i))))
				goto fail;
		break;
	case YAML_MAPPING_NODE:
		for (yaml_node_pair_t *i = y->data.mapping.pairs.start;
		     i < y->data.mapping.pairs.top; i++)
			if (!pn_insert(p, p->n,
				pn_from_doc(
				    c, d, yaml_document_get_node(d, i->key))) ||
			    !pn_insert(p, p->n,
				pn_from_doc(
				    c, d, yaml_document_get_node(d, i->value))))
				goto fail;
		break;
	default:
		goto fail;
	}
	return p;
fail:
	pn_free(p);
	return NULL;
}

static ips_res
pn_read(struct ectx *c, const char *in, size_t len, struct pnode **out)
{
	yaml_parser_t ps;
	yaml_document_t d;
	struct pnode *root = NULL;

	if (!yaml_parser_initialize(&ps))
		return fail(c, IPS_E_NOMEM, "out of memory");
	yaml_parser_set_input_string(&ps, (const unsigned char *)in, len);
	if (!yaml_parser_load(&ps, &d)) {
		yaml_parser_delete(&ps);
		return fail(c, IPS_E_CONFIG, "the running policy is not YAML");
	}
	root = pn_from_doc(c, &d, yaml_document_get_root_node(&d));
	yaml_document_delete(&d);
	yaml_parser_delete(&ps);
	if (root == NULL)
		return fail(c,
		    c->nodes > PE_MAX_NODES ? IPS_E_TOOBIG : IPS_E_NOMEM,
		    "cannot read the running policy");
	if (root->type != YAML_MAPPING_NODE) {
		pn_free(root);
		return fail(
		    c, IPS_E_CONFIG, "the running policy is not a mapping");
	}
	*out = root;
	return IPS_OK;
}

/* --- writing it out --- */

struct obuf {
	char *p;
	size_t n, cap;
};

static int
obuf_write(void *data, unsigned char *s, size_t len)
{
	struct obuf *b = data;

	if (b->n + len + 1 > b->cap) {
		size_t cap = (b->n + len + 1) * 2;
		char *p = realloc(b->p, cap);

		if (p == NULL)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
	return 1;
}

static bool
emit_node(yaml_emitter_t *em, const struct pnode *p)
{
	yaml_event_t ev;

	switch (p->type) {
	case YAML_SCALAR_NODE:
		if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
			(yaml_char_t *)p->text, (int)strlen(p->text), 1, 1,
			p->style))
			return false;
		return yaml_emitter_emit(em, &ev) != 0;
	case YAML_SEQUENCE_NODE:
		if (!yaml_sequence_start_event_initialize(
			&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return false;
		for (size_t i = 0; i < p->n; i++)
			if (!emit_node(em, p->kid[i]))
				return false;
		return yaml_sequence_end_event_initialize(&ev) &&
		    yaml_emitter_emit(em, &ev);
	case YAML_MAPPING_NODE:
		if (!yaml_mapping_start_event_initialize(
			&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return false;
		for (size_t i = 0; i < p->n; i++)
			if (!emit_node(em, p->kid[i]))
				return false;
		return yaml_mapping_end_event_initialize(&ev) &&
		    yaml_emitter_emit(em, &ev);
	default:
		return false;
	}
}

static ips_res
pn_write(struct ectx *c, const struct pnode *root, char **out)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	struct obuf b = {NULL, 0, 0};
	bool ok;

	if (!yaml_emitter_initialize(&em))
		return fail(c, IPS_E_NOMEM, "out of memory");
	yaml_emitter_set_output(&em, obuf_write, &b);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	    yaml_emitter_emit(&em, &ev) &&
	    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	    yaml_emitter_emit(&em, &ev) && emit_node(&em, root) &&
	    yaml_document_end_event_initialize(&ev, 1) &&
	    yaml_emitter_emit(&em, &ev) &&
	    yaml_stream_end_event_initialize(&ev) &&
	    yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
	yaml_emitter_delete(&em);
	if (!ok || b.p == NULL) {
		free(b.p);
		return fail(c, IPS_E_NOMEM, "cannot write the edited policy");
	}
	*out = b.p;
	return IPS_OK;
}

/* --- the edit --- */

static const char *
yaml_key(const struct alias *al, const char *k)
{
	for (; al->cli != NULL; al++)
		if (strcmp(al->cli, k) == 0)
			return al->yaml;
	return k;
}

/* What the items say, sorted out for one kind. */
struct parsed {
	const char *name; /* the item's (top-level) or its owner's name */
	unsigned long position; /* 0: none given */
	const struct pe_item *field[64];
	size_t nfield;
	bool auth; /* a rule's authentication keys given */
};

static bool
is_cert_key(const char *k)
{
	for (const struct alias *a = cert_alias; a->cli != NULL; a++)
		if (strcmp(a->cli, k) == 0)
			return true;
	return false;
}

/* Text a policy file could hold: UTF-8, no control characters. */
static bool
plain_text(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u != '\0') {
		size_t len = *u < 0x80	  ? 1
		    : (*u & 0xe0) == 0xc0 ? 2
		    : (*u & 0xf0) == 0xe0 ? 3
		    : (*u & 0xf8) == 0xf0 ? 4
					  : 0;

		if (len == 0 || (len == 1 && (*u < 0x20 || *u == 0x7f)) ||
		    (len == 2 && *u < 0xc2))
			return false;
		for (size_t j = 1; j < len; j++)
			if ((u[j] & 0xc0) != 0x80)
				return false;
		u += len;
	}
	return true;
}

static ips_res
sort_items(struct ectx *c, const struct pe_kind *k, enum pe_op op,
    const struct pe_item *it, size_t n, struct parsed *p)
{
	const char *owner = k->owner != NULL ? k->owner : "name";

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		const char *key = it[i].key;

		if (!plain_text(key) || !plain_text(it[i].value))
			return fail(c, IPS_E_INVAL,
			    "keys and values must be UTF-8 text without "
			    "control characters");
		if (strcmp(key, owner) == 0) {
			p->name = it[i].value;
		} else if (k->owner != NULL && strcmp(key, "position") == 0) {
			char *end;

			p->position = strtoul(it[i].value, &end, 10);
			if (*it[i].value == '\0' || *end != '\0' ||
			    p->position == 0 || p->position > 100000)
				return fail(c, IPS_E_INVAL,
				    "position must be a number from 1, not "
				    "'%s'",
				    it[i].value);
		} else if (op == PE_DELETE) {
			return fail(c, IPS_E_INVAL,
			    "delete %s takes %s=%s, not '%s'", k->object, owner,
			    k->owner != NULL ? " and position=" : "", key);
		} else if (p->nfield ==
		    sizeof(p->field) / sizeof(p->field[0])) {
			return fail(c, IPS_E_INVAL, "too many keys");
		} else {
			if (k->alias == rule_alias &&
			    (strcmp(key, "psk") == 0 || is_cert_key(key)))
				p->auth = true;
			p->field[p->nfield++] = &it[i];
		}
	}
	if (p->name == NULL || *p->name == '\0')
		return fail(c, IPS_E_INVAL, "%s %s needs %s=", pe_op_name(op),
		    k->object, owner);
	if (k->owner != NULL && op != PE_ADD && p->position == 0)
		return fail(c, IPS_E_INVAL,
		    "%s %s needs position= (which %s of %s '%s', from 1)",
		    pe_op_name(op), k->object, k->what, owner, p->name);
	if (op == PE_SET && p->nfield == 0)
		return fail(c, IPS_E_INVAL,
		    "set %s needs a key=value to change", k->object);
	return IPS_OK;
}

/* A rule's authentication list: psk= and the certificate keys, one
 * method each, in the order the first key of each came. */
static struct pnode *
auth_list(const struct parsed *p)
{
	struct pnode *seq = pn_new(YAML_SEQUENCE_NODE, NULL), *cert = NULL;

	for (size_t i = 0; seq != NULL && i < p->nfield; i++) {
		const struct pe_item *f = p->field[i];
		struct pnode *m;

		if (*f->value == '\0') /* set rule ... psk=: no such method */
			continue;
		if (strcmp(f->key, "psk") == 0) {
			if ((m = pn_new(YAML_MAPPING_NODE, NULL)) == NULL ||
			    !pn_insert(seq, seq->n, m) ||
			    !pn_put(
				m, "method", pn_new(YAML_SCALAR_NODE, "psk")) ||
			    !pn_put(m, "secret",
				pn_new(YAML_SCALAR_NODE, f->value)))
				goto fail;
		} else if (is_cert_key(f->key)) {
			if (cert == NULL &&
			    ((cert = pn_new(YAML_MAPPING_NODE, NULL)) == NULL ||
				!pn_insert(seq, seq->n, cert) ||
				!pn_put(cert, "method",
				    pn_new(YAML_SCALAR_NODE, "certificate"))))
				goto fail;
			if (!pn_put(cert, yaml_key(cert_alias, f->key),
				pn_new(YAML_SCALAR_NODE, f->value)))
				goto fail;
		}
	}
	return seq;
fail:
	pn_free(seq);
	return NULL;
}

/* The fields onto an item: added, replaced, or (empty, in set) removed. */
static ips_res
apply_fields(struct ectx *c, const struct pe_kind *k, const struct parsed *p,
    struct pnode *item, enum pe_op op)
{
	size_t at;

	for (size_t i = 0; i < p->nfield; i++) {
		const struct pe_item *f = p->field[i];
		const char *key = yaml_key(k->alias, f->key);

		if (p->auth &&
		    (strcmp(f->key, "psk") == 0 || is_cert_key(f->key)))
			continue;
		if (op == PE_SET && *f->value == '\0') {
			if (pn_get(item, key, &at) != NULL)
				pn_remove(item, at, 2);
			continue;
		}
		if (!pn_put(item, key, pn_new(YAML_SCALAR_NODE, f->value)))
			return fail(c, IPS_E_NOMEM, "out of memory");
	}
	if (p->auth) {
		struct pnode *au = auth_list(p);

		if (au != NULL && au->n == 0) {
			/* every method emptied: the rule has none */
			pn_free(au);
			if (pn_get(item, "authentication", &at) != NULL)
				pn_remove(item, at, 2);
		} else if (!pn_put(item, "authentication", au)) {
			return fail(c, IPS_E_NOMEM, "out of memory");
		}
	}
	return IPS_OK;
}

/* The sequence under map[key], made if asked; NULL (and why) if none. */
static ips_res
section(struct ectx *c, struct pnode *map, const char *key, bool make,
    struct pnode **out)
{
	struct pnode *s = pn_get(map, key, NULL);

	if (s == NULL && make) {
		if (!pn_put(map, key, pn_new(YAML_SEQUENCE_NODE, NULL)))
			return fail(c, IPS_E_NOMEM, "out of memory");
		s = pn_get(map, key, NULL);
	}
	if (s != NULL && s->type != YAML_SEQUENCE_NODE)
		return fail(
		    c, IPS_E_CONFIG, "'%s' in the policy is not a list", key);
	*out = s;
	return IPS_OK;
}

static ips_res
edit_top(struct ectx *c, const struct pe_kind *k, enum pe_op op,
    const struct parsed *p, struct pnode *root, char *done, size_t donelen)
{
	struct pnode *seq, *item;
	long at;

	GUARD(section(c, root, k->section, op == PE_ADD, &seq));
	at = pn_named(seq, p->name);
	if (op == PE_ADD && at >= 0)
		return fail(c, IPS_E_EXISTS,
		    "a %s named '%s' exists (set %s "
		    "changes it)",
		    k->what, p->name, k->object);
	if (op != PE_ADD && at < 0)
		return fail(
		    c, IPS_E_NOTFOUND, "no %s named '%s'", k->what, p->name);
	if (op == PE_DELETE) {
		pn_remove(seq, (size_t)at, 1);
		snprintf(done, donelen, "%s '%s' deleted", k->what, p->name);
		return IPS_OK;
	}
	if (op == PE_ADD) {
		if ((item = pn_new(YAML_MAPPING_NODE, NULL)) == NULL ||
		    !pn_insert(seq, seq->n, item) ||
		    !pn_put(item, "name", pn_new(YAML_SCALAR_NODE, p->name)))
			return fail(c, IPS_E_NOMEM, "out of memory");
	} else {
		item = seq->kid[at];
	}
	GUARD(apply_fields(c, k, p, item, op));
	snprintf(done, donelen, "%s '%s' %s", k->what, p->name,
	    op == PE_ADD ? "added" : "changed");
	return IPS_OK;
}

static ips_res
edit_nested(struct ectx *c, const struct pe_kind *k, enum pe_op op,
    const struct parsed *p, struct pnode *root, char *done, size_t donelen)
{
	struct pnode *seq, *owner, *list, *item;
	long at;
	size_t pos;

	GUARD(section(c, root, k->section, op == PE_ADD, &seq));
	if ((at = pn_named(seq, p->name)) < 0) {
		if (op != PE_ADD)
			return fail(c, IPS_E_NOTFOUND, "no %s named '%s'",
			    k->owner, p->name);
		/* a first filter makes its list, a first offer its policy */
		if ((owner = pn_new(YAML_MAPPING_NODE, NULL)) == NULL ||
		    !pn_insert(seq, seq->n, owner) ||
		    !pn_put(owner, "name", pn_new(YAML_SCALAR_NODE, p->name)))
			return fail(c, IPS_E_NOMEM, "out of memory");
	} else {
		owner = seq->kid[at];
	}
	GUARD(section(c, owner, k->child, op == PE_ADD, &list));
	if (list == NULL)
		return fail(c, IPS_E_NOTFOUND, "%s '%s' has no %s", k->owner,
		    p->name, k->child);
	pos = p->position ? (size_t)p->position : list->n + 1;
	if (pos > list->n + (op == PE_ADD))
		return fail(c, IPS_E_NOTFOUND,
		    "%s '%s' has %zu %s: no position %zu", k->owner, p->name,
		    list->n, k->child, pos);
	if (op == PE_DELETE) {
		pn_remove(list, pos - 1, 1);
		snprintf(done, donelen, "%s %zu of %s '%s' deleted", k->what,
		    pos, k->owner, p->name);
		return IPS_OK;
	}
	if (op == PE_ADD) {
		if ((item = pn_new(YAML_MAPPING_NODE, NULL)) == NULL ||
		    !pn_insert(list, pos - 1, item))
			return fail(c, IPS_E_NOMEM, "out of memory");
	} else {
		item = list->kid[pos - 1];
		if (item->type != YAML_MAPPING_NODE)
			return fail(c, IPS_E_CONFIG, "%s %zu is not a mapping",
			    k->what, pos);
	}
	GUARD(apply_fields(c, k, p, item, op));
	snprintf(done, donelen, "%s %zu of %s '%s' %s", k->what, pos, k->owner,
	    p->name, op == PE_ADD ? "added" : "changed");
	return IPS_OK;
}

ips_res
policy_edit(const char *in, size_t len, enum pe_op op, const char *object,
    const struct pe_item *items, size_t nitems, char **out, char *done,
    size_t donelen, char *msg, size_t msglen)
{
	struct ectx c = {msg, msglen, 0};
	const struct pe_kind *k = NULL;
	struct parsed p;
	struct pnode *root = NULL;
	ips_res r;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (object != NULL && strcmp(kinds[i].object, object) == 0)
			k = &kinds[i];
	if (k == NULL)
		return fail(&c, IPS_E_INVAL,
		    "no such object '%s' (rule, filteraction, filter, mmoffer "
		    "or qmoffer)",
		    object != NULL ? object : "");
	GUARD(sort_items(&c, k, op, items, nitems, &p));
	GUARD(pn_read(&c, in, len, &root));
	r = k->owner == NULL ? edit_top(&c, k, op, &p, root, done, donelen)
			     : edit_nested(&c, k, op, &p, root, done, donelen);
	if (ips_ok(r))
		r = pn_write(&c, root, out);
	pn_free(root);
	return r;
}
