#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "secrets.h"

#define SECRETS_MAX_BYTES (1u << 20)
#define SECRET_MAX_LEN 1024
#define SECRETS_MAX_COUNT 4096

struct secret {
	char *name;
	size_t off; /* into the value arena */
	size_t len;
};

struct secrets {
	struct secret *v;
	size_t n;
	uint8_t *arena; /* mmap: MADV_DONTDUMP, mlock best effort */
	size_t arena_len;
	size_t arena_used;
};

/* Private memory kept out of core dumps. */
static uint8_t *
secure_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_DONTDUMP);
	(void)mlock(p, len); /* may fail without CAP_IPC_LOCK: still excluded */
	return p;
}

static void
secure_unmap(uint8_t *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	(void)munlock(p, len);
	munmap(p, len);
}

void
secrets_free(struct secrets *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	secure_unmap(s->arena, s->arena_len);
	free(s);
}

size_t
secrets_count(const struct secrets *s)
{
	return s->n;
}

const uint8_t *
secrets_get(const struct secrets *s, const char *name, size_t *len)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].name, name) == 0) {
			*len = s->v[i].len;
			return s->arena + s->v[i].off;
		}
	}
	return NULL;
}

static ips_res
err_at(struct policy_error *err, const yaml_mark_t *m, const char *msg)
{
	if (m != NULL) {
		err->line = (unsigned)m->line + 1;
		err->col = (unsigned)m->column + 1;
	}
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	return IPS_ERR(CONFIG);
}

static ips_res
add_secret(struct secrets *s, const yaml_event_t *key, const yaml_event_t *val,
    struct policy_error *err)
{
	const char *name = (const char *)key->data.scalar.value;
	size_t len = val->data.scalar.length;
	struct secret *nv;

	if (*name == '\0')
		return err_at(err, &key->start_mark, "secret name is empty");
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return err_at(
			    err, &key->start_mark, "duplicate secret name");
	if (len == 0)
		return err_at(err, &val->start_mark, "secret value is empty");
	if (len > SECRET_MAX_LEN)
		return err_at(err, &val->start_mark,
		    "secret value is longer "
		    "than 1024 bytes");
	if (s->n >= SECRETS_MAX_COUNT)
		return err_at(err, &key->start_mark, "too many secrets");
	if ((nv = realloc(s->v, (s->n + 1) * sizeof(*nv))) == NULL)
		return IPS_ERR(NOMEM);
	s->v = nv;
	if ((nv[s->n].name = strdup(name)) == NULL)
		return IPS_ERR(NOMEM);
	/* The arena was sized from the whole input, so the values fit. */
	nv[s->n].off = s->arena_used;
	nv[s->n].len = len;
	memcpy(s->arena + s->arena_used, val->data.scalar.value, len);
	s->arena_used += len;
	s->n++;
	return IPS_OK;
}

/*
 * Event-driven, so each value is copied into the arena and the event's own
 * copy wiped at once; the parser's buffers are wiped before release too.
 */
static ips_res
parse_events(yaml_parser_t *ps, struct secrets *s, struct policy_error *err)
{
	yaml_event_t ev, key;
	int depth = 0;
	bool have_key = false, done = false;
	ips_res r = IPS_OK;

	while (!done && ips_ok(r)) {
		if (!yaml_parser_parse(ps, &ev)) {
			err->line = (unsigned)ps->problem_mark.line + 1;
			err->col = (unsigned)ps->problem_mark.column + 1;
			snprintf(err->msg, sizeof(err->msg), "YAML syntax: %s",
			    ps->problem ? ps->problem : "error");
			r = IPS_ERR(CONFIG);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
			if (depth++ != 0)
				r = err_at(err, &ev.start_mark,
				    "a secret "
				    "value must be a single string");
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SEQUENCE_START_EVENT:
			r = err_at(err, &ev.start_mark,
			    depth == 0
				? "secrets file must be a mapping of names "
				  "to values"
				: "a secret value must be a single string");
			break;
		case YAML_ALIAS_EVENT:
			r = err_at(err, &ev.start_mark,
			    "aliases are not "
			    "allowed in a secrets file");
			break;
		case YAML_SCALAR_EVENT:
			if (depth == 0) {
				r = err_at(err, &ev.start_mark,
				    "secrets file "
				    "must be a mapping of names to values");
			} else if (!have_key) {
				key = ev; /* keep: freed after its value */
				have_key = true;
				continue;
			} else {
				r = add_secret(s, &key, &ev, err);
				yaml_event_delete(&key);
				have_key = false;
				OPENSSL_cleanse(ev.data.scalar.value,
				    ev.data.scalar.length);
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (have_key)
		yaml_event_delete(&key);
	return r;
}

static void
wipe_parser(yaml_parser_t *ps)
{
	if (ps->buffer.start != NULL)
		OPENSSL_cleanse(ps->buffer.start,
		    (size_t)(ps->buffer.end - ps->buffer.start));
	if (ps->raw_buffer.start != NULL)
		OPENSSL_cleanse(ps->raw_buffer.start,
		    (size_t)(ps->raw_buffer.end - ps->raw_buffer.start));
}

ips_res
secrets_load_buffer(const char *name, const char *buf, size_t len,
    struct secrets **out, struct policy_error *err)
{
	struct secrets *s;
	yaml_parser_t ps;
	ips_res r;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
	if (len > SECRETS_MAX_BYTES)
		return err_at(err, NULL, "secrets file is too large");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return IPS_ERR(NOMEM);
	s->arena_len = len + 1;
	if ((s->arena = secure_map(s->arena_len)) == NULL) {
		free(s);
		return IPS_ERR(NOMEM);
	}
	if (!yaml_parser_initialize(&ps)) {
		secrets_free(s);
		return IPS_ERR(NOMEM);
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
	r = parse_events(&ps, s, err);
	wipe_parser(&ps);
	yaml_parser_delete(&ps);
	if (!ips_ok(r)) {
		secrets_free(s);
		return r;
	}
	*out = s;
	return IPS_OK;
}

ips_res
secrets_load(const char *path, struct secrets **out, struct policy_error *err)
{
	struct stat sb;
	uint8_t *buf;
	size_t len = 0, cap;
	ssize_t got;
	int fd;
	ips_res r;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &sb) < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot read: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return IPS_ERR(IO);
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)SECRETS_MAX_BYTES) {
		close(fd);
		return err_at(err, NULL,
		    S_ISREG(sb.st_mode) ? "secrets file is too large"
					: "not a regular file");
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err->msg, sizeof(err->msg),
		    "group or others may "
		    "access it (mode %04o); run chmod 600 on it",
		    (unsigned)(sb.st_mode & 07777));
		close(fd);
		return IPS_ERR(PERM);
	}
	cap = (size_t)sb.st_size + 1;
	if ((buf = secure_map(cap)) == NULL) {
		close(fd);
		return IPS_ERR(NOMEM);
	}
	while (len < cap - 1 && (got = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	r = secrets_load_buffer(path, (const char *)buf, len, out, err);
	secure_unmap(buf, cap);
	return r;
}

ips_res
secrets_check_policy(
    const struct secrets *s, const struct policy *p, struct policy_error *err)
{
	for (size_t i = 0; i < policy_nrules(p); i++) {
		const struct pol_rule *r = policy_rule(p, i);

		for (size_t j = 0; j < r->nauth; j++) {
			const struct pol_auth *a = &r->auth[j];
			size_t len;

			if (a->method != POL_AUTH_PSK ||
			    secrets_get(s, a->secret, &len) != NULL)
				continue;
			err->line = a->pos.line;
			err->col = a->pos.col;
			snprintf(err->msg, sizeof(err->msg),
			    "rule '%s': no secret named '%s' in the secrets "
			    "file",
			    r->name, a->secret);
			return IPS_ERR(NOTFOUND);
		}
	}
	return IPS_OK;
}
