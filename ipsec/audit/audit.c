#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "base/log.h"

struct audit_log {
	char path[512];
	int fd;
	size_t size, max;
	unsigned keep;
};

const char *
audit_key(unsigned id)
{
	switch (id) {
#define IPS_AUDIT_KEY(n, e, k, d) \
	case n: \
		return k;
		IPS_AUDIT_EVENTS(IPS_AUDIT_KEY)
#undef IPS_AUDIT_KEY
	default:
		return NULL;
	}
}

const char *
audit_description(unsigned id)
{
	switch (id) {
#define IPS_AUDIT_DESC(n, e, k, d) \
	case n: \
		return d;
		IPS_AUDIT_EVENTS(IPS_AUDIT_DESC)
#undef IPS_AUDIT_DESC
	default:
		return NULL;
	}
}

static void
put_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_set_new(o, key, json_string(v));
}

static void
put_addr(json_t *o, const char *key, const struct ips_addr *a, uint16_t port)
{
	char buf[IPS_ADDRSTRLEN];

	if (a->af == 0)
		return;
	json_object_set_new(
	    o, key, json_string(ips_addr_str(a, buf, sizeof(buf))));
	if (port != 0) {
		char k[32];

		snprintf(k, sizeof(k), "%s_port", key);
		json_object_set_new(o, k, json_integer(port));
	}
}

static void
put_spi(json_t *o, const char *key, uint32_t spi)
{
	char buf[16];

	if (spi == 0)
		return;
	snprintf(buf, sizeof(buf), "%08x", spi);
	json_object_set_new(o, key, json_string(buf));
}

/* The event as a JSON object, fields in the log's order: the one place
 * that says which fields an event has (the log, show events, syslog). */
static json_t *
audit_object(const struct audit_event *ev, struct timespec now)
{
	json_t *o = json_object();
	char when[64];
	struct tm tm;

	if (o == NULL)
		return NULL;
	gmtime_r(&now.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (now.tv_nsec / 1000000) % 1000);
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "id", json_integer(ev->id));
	put_str(o, "event", audit_key(ev->id));
	put_str(o, "mode", ev->mode);
	put_str(o, "rule", ev->rule);
	put_addr(o, "local", &ev->local, ev->local_port);
	put_addr(o, "peer", &ev->remote, ev->remote_port);
	put_str(o, "peer_identity", ev->peer_identity);
	put_str(o, "cookies", ev->cookies);
	put_str(o, "filter", ev->filter);
	put_str(o, "parameters", ev->parameters);
	put_spi(o, "inbound_spi", ev->spi_in);
	put_spi(o, "outbound_spi", ev->spi_out);
	put_str(o, "attribute", ev->attribute);
	put_str(o, "expected", ev->expected);
	put_str(o, "received", ev->received);
	put_str(o, "failure_point", ev->failure_point);
	put_str(o, "reason", ev->reason);
	if (ev->suppressed != 0)
		json_object_set_new(o, "suppressed_before",
		    json_integer((json_int_t)ev->suppressed));
	return o;
}

char *
audit_json(const struct audit_event *ev, struct timespec now)
{
	json_t *o = audit_object(ev, now);
	char *s;

	if (o == NULL)
		return NULL;
	/* Compact, fields in the order set: one line per event. */
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* An SD-PARAM value (RFC 5424 6.3.3): '"', '\\' and ']' escaped. */
static void
sd_value(char *out, size_t len, size_t *n, const char *v)
{
	for (; *v != '\0' && *n + 3 < len; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			out[(*n)++] = '\\';
		out[(*n)++] = *v;
	}
}

char *
audit_rfc5424(const struct audit_event *ev, struct timespec now,
    const char *host, int pid)
{
	/* authpriv (10); failures are warnings (4), the rest notices (5) */
	int pri = 10 * 8 + (ev->id >= AUDIT_CERT_TRUST ? 4 : 5);
	json_t *o = audit_object(ev, now), *v;
	const char *k;
	char *out;
	size_t len = 4096, n;

	if (o == NULL || (out = malloc(len)) == NULL) {
		json_decref(o);
		return NULL;
	}
	/* HEADER: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID */
	n = (size_t)snprintf(out, len, "<%d>1 %s %s ipsecmond %d %u ", pri,
	    json_string_value(json_object_get(o, "time")),
	    host != NULL && *host ? host : "-", pid, ev->id);
	/* STRUCTURED-DATA: every field of the record but the time */
	n += (size_t)snprintf(out + n, len - n, "[%s", AUDIT_SD_ID);
	json_object_foreach(o, k, v)
	{
		char num[32];
		const char *s = json_is_string(v) ? json_string_value(v) : num;

		if (strcmp(k, "time") == 0 || n + 64 > len)
			continue;
		if (!json_is_string(v))
			snprintf(num, sizeof(num), "%lld",
			    (long long)json_integer_value(v));
		n += (size_t)snprintf(out + n, len - n, " %s=\"", k);
		sd_value(out, len, &n, s);
		out[n++] = '"';
	}
	/* MSG: what happened, in words */
	n += (size_t)snprintf(out + n, len - n, "] %s%s%s",
	    audit_description(ev->id), ev->reason && *ev->reason ? ": " : "",
	    ev->reason ? ev->reason : "");
	if (n >= len)
		out[len - 1] = '\0';
	json_decref(o);
	return out;
}

struct audit_syslog {
	int fd;
	struct sockaddr_un to;
	char host[256];
	unsigned long dropped;
};

ips_res
audit_syslog_open(
    const char *path, struct audit_syslog **out, char *errbuf, size_t errlen)
{
	struct audit_syslog *s = calloc(1, sizeof(*s));

	ENSURE(s != NULL, NOMEM);
	if (strlen(path) >= sizeof(s->to.sun_path)) {
		snprintf(errbuf, errlen, "%s: path too long", path);
		free(s);
		BAIL(INVAL);
	}
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		free(s);
		BAIL(IO);
	}
	s->to.sun_family = AF_UNIX;
	memcpy(s->to.sun_path, path, strlen(path) + 1);
	if (gethostname(s->host, sizeof(s->host)) != 0)
		snprintf(s->host, sizeof(s->host), "-");
	*out = s;
	return IPS_OK;
}

void
audit_syslog_close(struct audit_syslog *s)
{
	if (s == NULL)
		return;
	close(s->fd);
	free(s);
}

void
audit_syslog_send(
    struct audit_syslog *s, const struct audit_event *ev, struct timespec now)
{
	char *m;

	if (s == NULL ||
	    (m = audit_rfc5424(ev, now, s->host, getpid())) == NULL)
		return;
	/* never blocking the daemon: a full or absent receiver loses it,
	 * counted and said once; the event log has it */
	if (sendto(s->fd, m, strlen(m), 0, (struct sockaddr *)&s->to,
		sizeof(s->to)) < 0 &&
	    s->dropped++ == 0)
		ips_log(IPS_LOG_WARNING,
		    "audit: syslog %s does not take events (%s); the event "
		    "log still has them",
		    s->to.sun_path, strerror(errno));
	free(m);
}

ips_res
audit_log_open(const char *path, size_t max_bytes, unsigned keep,
    struct audit_log **out, char *errbuf, size_t errlen)
{
	struct audit_log *l = calloc(1, sizeof(*l));
	struct stat sb;

	ENSURE(l != NULL, NOMEM);
	if (snprintf(l->path, sizeof(l->path), "%s", path) >=
	    (int)sizeof(l->path)) {
		free(l);
		snprintf(errbuf, errlen, "%s: path too long", path);
		BAIL(INVAL);
	}
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0 || fstat(l->fd, &sb) != 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		if (l->fd >= 0)
			close(l->fd);
		free(l);
		BAIL(IO);
	}
	/* Ours from the start, whatever the umask: readable by the group
	 * that audits, never by others. */
	if (sb.st_size == 0)
		(void)fchmod(l->fd, 0640);
	l->size = (size_t)sb.st_size;
	l->max = max_bytes;
	l->keep = keep;
	*out = l;
	return IPS_OK;
}

void
audit_log_close(struct audit_log *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	free(l);
}

/* path.(keep-1) -> path.keep, ..., path -> path.1, and a new path. */
static void
rotate(struct audit_log *l)
{
	char from[600], to[600];
	int fd;

	for (unsigned i = l->keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", l->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", l->path, i);
		(void)rename(from, to);
	}
	snprintf(to, sizeof(to), "%s.1", l->path);
	if (l->keep == 0) {
		/* Told to keep nothing: the log starts over. */
		if (ftruncate(l->fd, 0) == 0)
			l->size = 0;
		return;
	}
	/* Whatever fails, nothing already written is thrown away: we go on
	 * appending to the file we hold, and try again when it has grown by
	 * another max_bytes. */
	l->size = 0;
	if (rename(l->path, to) != 0) {
		ips_log(IPS_LOG_ERR, "audit: cannot rotate %s: %s", l->path,
		    strerror(errno));
		return;
	}
	fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		ips_log(IPS_LOG_ERR, "audit: cannot start %s: %s", l->path,
		    strerror(errno));
		return; /* go on appending to the renamed file */
	}
	close(l->fd);
	l->fd = fd;
	l->size = 0;
}

void
audit_log_write(
    struct audit_log *l, const struct audit_event *ev, struct timespec now)
{
	char peer[IPS_ADDRSTRLEN];
	char *line = audit_json(ev, now);
	size_t len;

	ips_log(IPS_LOG_NOTICE, "audit %u: %s: %s %s%s%s", ev->id,
	    audit_description(ev->id), ev->rule ? ev->rule : "",
	    ips_addr_str(&ev->remote, peer, sizeof(peer)),
	    ev->reason && *ev->reason ? ": " : "",
	    ev->reason ? ev->reason : "");
	if (line == NULL) {
		ips_log(
		    IPS_LOG_ERR, "audit: out of memory, event %u lost", ev->id);
		return;
	}
	len = strlen(line);
	line[len] = '\n'; /* json_dumps left room: the terminator */
	if (l->max != 0 && l->size > 0 && l->size + len + 1 > l->max)
		rotate(l);
	/* One write with O_APPEND: a line is never torn across writers. */
	if (write(l->fd, line, len + 1) != (ssize_t)(len + 1))
		ips_log(IPS_LOG_ERR, "audit: cannot append to %s: %s", l->path,
		    strerror(errno));
	else
		l->size += len + 1;
	free(line);
}

struct ring_slot {
	uint64_t seq;
	int64_t time_ms;
	unsigned id;
	struct ips_addr peer;
	char *json;
};

struct audit_ring {
	struct ring_slot *slots;
	size_t cap, n, head; /* head: where the next one goes */
	uint64_t seq;
};

struct audit_ring *
audit_ring_new(size_t n)
{
	struct audit_ring *r = calloc(1, sizeof(*r));

	if (r == NULL || n == 0 ||
	    (r->slots = calloc(n, sizeof(*r->slots))) == NULL) {
		free(r);
		return NULL;
	}
	r->cap = n;
	return r;
}

void
audit_ring_free(struct audit_ring *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->cap; i++)
		free(r->slots[i].json);
	free(r->slots);
	free(r);
}

void
audit_ring_add(
    struct audit_ring *r, const struct audit_event *ev, struct timespec now)
{
	struct ring_slot *s;
	char *json;

	if (r == NULL || (json = audit_json(ev, now)) == NULL)
		return;
	s = &r->slots[r->head];
	free(s->json);
	s->json = json;
	s->seq = ++r->seq;
	s->time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	s->id = ev->id;
	s->peer = ev->remote;
	r->head = (r->head + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
}

static bool
matches(const struct ring_slot *s, const struct audit_query *q)
{
	return s->seq > q->after && s->time_ms >= q->since_ms &&
	    (q->id == 0 || s->id == q->id) &&
	    (q->peer == NULL || ips_addr_cmp(&s->peer, q->peer) == 0);
}

uint64_t
audit_ring_query(const struct audit_ring *r, const struct audit_query *q,
    void (*fn)(void *ctx, uint64_t seq, const char *json), void *ctx)
{
	size_t first = (r->head + r->cap - r->n) % r->cap, skip = 0, n = 0;

	/* with a limit, the newest max of those that match */
	if (q->max != 0) {
		for (size_t i = 0; i < r->n; i++)
			n += matches(&r->slots[(first + i) % r->cap], q);
		skip = n > q->max ? n - q->max : 0;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct ring_slot *s = &r->slots[(first + i) % r->cap];

		if (!matches(s, q))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		fn(ctx, s->seq, s->json);
	}
	return r->seq;
}
