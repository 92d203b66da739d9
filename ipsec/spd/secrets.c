#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

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
err_at(struct policy_error *err, size_t line, size_t col, const char *msg)
{
	err->line = (unsigned)line;
	err->col = (unsigned)col;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	return IPS_ERR(CONFIG);
}

/*
 * The secrets file is a flat YAML mapping, one "name: value" per line, and
 * is read by this small scanner rather than libyaml: libyaml grows its
 * scalar buffers with realloc and frees the old copies unwiped, which would
 * leave pieces of keys in the heap.  Here every decoded byte goes straight
 * into the protected arena.  Supported: comments, plain values, '...'
 * (with '' for a quote) and "..." (with \\ \" \t \n \xHH).  Anything else
 * YAML allows is refused with a reason, never guessed at.
 */
struct scan {
	const char *p;
	size_t len, off;
	size_t line, line_start;
	struct secrets *s;
	struct policy_error *err;
};

static int
peek(const struct scan *sc)
{
	return sc->off < sc->len ? (unsigned char)sc->p[sc->off] : -1;
}

static ips_res
scan_fail(struct scan *sc, const char *msg)
{
	return err_at(sc->err, sc->line, sc->off - sc->line_start + 1, msg);
}

static void
skip_blanks(struct scan *sc)
{
	while (peek(sc) == ' ' || peek(sc) == '\t')
		sc->off++;
}

/* After a value: blanks, then a comment or the end of the line. */
static ips_res
end_of_line(struct scan *sc)
{
	skip_blanks(sc);
	if (peek(sc) == '#')
		while (peek(sc) != -1 && peek(sc) != '\n')
			sc->off++;
	if (peek(sc) == '\r')
		sc->off++;
	if (peek(sc) != -1 && peek(sc) != '\n')
		return scan_fail(sc, "unexpected text after the value");
	return IPS_OK;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append one decoded byte to the value being built in the arena. */
static ips_res
put(struct scan *sc, size_t start, uint8_t b)
{
	struct secrets *s = sc->s;

	if (s->arena_used - start >= SECRET_MAX_LEN)
		return scan_fail(sc, "secret value is longer than 1024 bytes");
	/* Decoding never lengthens text, and the arena holds the whole file;
	 * this guards that reasoning. */
	if (s->arena_used >= s->arena_len)
		return scan_fail(sc, "secret value does not fit");
	s->arena[s->arena_used++] = b;
	return IPS_OK;
}

static ips_res
scan_quoted(struct scan *sc, size_t start)
{
	int q = peek(sc), c;

	sc->off++;
	for (;;) {
		c = peek(sc);
		if (c == -1 || c == '\n')
			return scan_fail(sc, "unterminated quoted value");
		sc->off++;
		if (c == q) {
			/* '' inside single quotes is one quote */
			if (q == '\'' && peek(sc) == '\'') {
				sc->off++;
				GUARD(put(sc, start, '\''));
				continue;
			}
			return IPS_OK;
		}
		if (q == '"' && c == '\\') {
			int e = peek(sc), hi, lo;

			sc->off++;
			switch (e) {
			case '\\':
			case '"':
				c = e;
				break;
			case 't':
				c = '\t';
				break;
			case 'n':
				c = '\n';
				break;
			case 'x':
				hi = hexval(peek(sc));
				sc->off++;
				lo = hexval(peek(sc));
				sc->off++;
				if (hi < 0 || lo < 0)
					return scan_fail(sc,
					    "\\x needs two hex "
					    "digits");
				c = hi << 4 | lo;
				break;
			default:
				return scan_fail(sc,
				    "unknown escape (use \\\\, "
				    "\\\", \\t, \\n or \\xHH)");
			}
		}
		GUARD(put(sc, start, (uint8_t)c));
	}
}

static ips_res
scan_plain(struct scan *sc, size_t start)
{
	size_t last = sc->s->arena_used; /* end of the value without blanks */
	int c;

	if (strchr("[]{}&*!|>%@`,", peek(sc)) != NULL)
		return scan_fail(sc,
		    "a secret value must be plain or quoted "
		    "text (collections, anchors, aliases, "
		    "tags and block scalars are not supported)");
	while ((c = peek(sc)) != -1 && c != '\n' && c != '\r') {
		/* " #" starts a comment, as in YAML */
		if (c == '#' && sc->s->arena_used > start &&
		    (sc->p[sc->off - 1] == ' ' || sc->p[sc->off - 1] == '\t'))
			break;
		GUARD(put(sc, start, (uint8_t)c));
		if (c != ' ' && c != '\t')
			last = sc->s->arena_used;
		sc->off++;
	}
	/* trailing blanks belong to the line, not the value: wipe them */
	OPENSSL_cleanse(sc->s->arena + last, sc->s->arena_used - last);
	sc->s->arena_used = last;
	return IPS_OK;
}

static ips_res
add_entry(struct scan *sc, const char *name, size_t nlen, size_t start,
    size_t name_col)
{
	struct secrets *s = sc->s;
	struct secret *nv;
	char *copy;

	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i].name) == nlen &&
		    memcmp(s->v[i].name, name, nlen) == 0)
			return err_at(sc->err, sc->line, name_col,
			    "duplicate secret name");
	if (s->arena_used == start)
		return scan_fail(sc, "secret value is empty");
	if (s->n >= SECRETS_MAX_COUNT)
		return err_at(sc->err, sc->line, name_col, "too many secrets");
	if ((nv = realloc(s->v, (s->n + 1) * sizeof(*nv))) == NULL)
		return IPS_ERR(NOMEM);
	s->v = nv;
	if ((copy = strndup(name, nlen)) == NULL)
		return IPS_ERR(NOMEM);
	nv[s->n].name = copy;
	nv[s->n].off = start;
	nv[s->n].len = s->arena_used - start;
	s->n++;
	return IPS_OK;
}

static ips_res
scan_line(struct scan *sc)
{
	size_t name_start, name_len, name_col, start;
	int c;

	skip_blanks(sc);
	c = peek(sc);
	if (c == -1 || c == '\n' || c == '\r' || c == '#')
		return end_of_line(sc);
	if (sc->off != sc->line_start)
		return scan_fail(sc,
		    "secret names start at the beginning of "
		    "a line");
	if (c == '-' || c == '"' || c == '\'' || c == '{' || c == '[')
		return scan_fail(sc,
		    "secrets file must be a mapping of "
		    "names to values (name: value)");
	name_start = sc->off;
	name_col = sc->off - sc->line_start + 1;
	while ((c = peek(sc)) != -1 && c != ':' && c != '\n' && c != ' ' &&
	    c != '\t')
		sc->off++;
	if (peek(sc) != ':')
		return scan_fail(sc, "expected 'name: value'");
	name_len = sc->off - name_start;
	if (name_len == 0)
		return scan_fail(sc, "secret name is empty");
	sc->off++;
	if (peek(sc) != ' ' && peek(sc) != '\t' && peek(sc) != '\n' &&
	    peek(sc) != -1)
		return scan_fail(sc, "expected a blank after ':'");
	skip_blanks(sc);
	start = sc->s->arena_used;
	if (peek(sc) == '"' || peek(sc) == '\'')
		GUARD(scan_quoted(sc, start));
	else
		GUARD(scan_plain(sc, start));
	GUARD(end_of_line(sc));
	return add_entry(sc, sc->p + name_start, name_len, start, name_col);
}

static ips_res
scan_file(struct scan *sc)
{
	while (sc->off < sc->len) {
		GUARD(scan_line(sc));
		if (peek(sc) == '\n')
			sc->off++;
		sc->line++;
		sc->line_start = sc->off;
	}
	return IPS_OK;
}

ips_res
secrets_load_buffer(const char *name, const char *buf, size_t len,
    struct secrets **out, struct policy_error *err)
{
	struct secrets *s;
	struct scan sc;
	ips_res r;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
	if (len > SECRETS_MAX_BYTES)
		return err_at(err, 0, 0, "secrets file is too large");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return IPS_ERR(NOMEM);
	s->arena_len = len + 1;
	if ((s->arena = secure_map(s->arena_len)) == NULL) {
		free(s);
		return IPS_ERR(NOMEM);
	}
	sc = (struct scan){buf, len, 0, 1, 0, s, err};
	if (!ips_ok(r = scan_file(&sc))) {
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
		return err_at(err, 0, 0,
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
