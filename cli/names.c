#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/select.h>

#include <ares.h>

#include "base/addr.h"
#include "names.h"

enum lookup { L_NEW, L_PENDING, L_FOUND, L_NONE };

struct entry {
	struct ips_addr a;
	enum lookup st;
	char *name; /* L_FOUND */
};

/* A field of the response and what it held before names_apply. */
struct slot {
	char **field;
	char *orig, *repl;
};

struct names {
	ares_channel ch;
	int deadline_ms;
	struct entry *e; /* the cache; searched linearly: views are small */
	size_t n, cap;
	size_t pending;
	struct slot *s;
	size_t ns, scap;
};

struct names *
names_new(int deadline_ms)
{
	struct names *n = calloc(1, sizeof(*n));
	struct ares_options o;
	int rc;

	if (n == NULL)
		return NULL;
	memset(&o, 0, sizeof(o));
	/* the hosts file first, then DNS; one try, so that a dead server
	 * costs the deadline at most */
	o.lookups = (char *)"fb";
	o.timeout = deadline_ms;
	o.tries = 1;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS ||
	    (rc = ares_init_options(&n->ch, &o,
		 ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES)) !=
		ARES_SUCCESS) {
		fprintf(
		    stderr, "ipsecmon: resolvedns: %s\n", ares_strerror(rc));
		free(n);
		return NULL;
	}
	n->deadline_ms = deadline_ms;
	return n;
}

void
names_free(struct names *n)
{
	if (n == NULL)
		return;
	names_restore(n);
	free(n->s);
	ares_destroy(n->ch);
	ares_library_cleanup();
	for (size_t i = 0; i < n->n; i++)
		free(n->e[i].name);
	free(n->e);
	free(n);
}

/* What a name server says is shown on a terminal: host names only. */
static bool
printable_name(const char *s)
{
	size_t len = strlen(s);
	struct ips_addr a;
	const char *last = strrchr(s, '.');

	if (len == 0 || len > 253)
		return false;
	/* a PTR record that reads as an address (or ends in a numeric
	 * label) would show some other host's address: not a name */
	last = last != NULL ? last + 1 : s;
	if (ips_addr_parse(s, &a) || strspn(last, "0123456789") == strlen(last))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
			*s == '_'))
			return false;
	return true;
}

struct cb {
	struct names *n;
	size_t i;
};

static void
on_host(void *arg, int status, int timeouts, struct hostent *h)
{
	struct cb *c = arg;
	struct entry *e = &c->n->e[c->i];

	(void)timeouts;
	c->n->pending--;
	if (status == ARES_SUCCESS && h != NULL && h->h_name != NULL &&
	    printable_name(h->h_name) && (e->name = strdup(h->h_name)) != NULL)
		e->st = L_FOUND;
	else if (status == ARES_ENOTFOUND || status == ARES_SUCCESS)
		e->st = L_NONE; /* an answer: no (usable) name */
	else
		e->st = L_NEW; /* no answer in time: asked again next time */
	free(c);
}

static struct entry *
entry_find(struct names *n, const struct ips_addr *a)
{
	for (size_t i = 0; i < n->n; i++)
		if (ips_addr_cmp(&n->e[i].a, a) == 0)
			return &n->e[i];
	return NULL;
}

/* The cache entry of a, made (and its lookup begun) if new or unanswered
 * before; NULL when out of memory. */
static struct entry *
entry_for(struct names *n, const struct ips_addr *a)
{
	struct entry *e = entry_find(n, a);
	struct cb *c;

	if (e == NULL) {
		if (n->n == n->cap) {
			size_t cap = n->cap ? n->cap * 2 : 32;
			struct entry *v = realloc(n->e, cap * sizeof(*v));

			if (v == NULL)
				return NULL;
			n->e = v;
			n->cap = cap;
		}
		e = &n->e[n->n++];
		memset(e, 0, sizeof(*e));
		e->a = *a;
	}
	if (e->st != L_NEW || (c = malloc(sizeof(*c))) == NULL)
		return e;
	c->n = n;
	c->i = (size_t)(e - n->e);
	e->st = L_PENDING;
	n->pending++;
	/* may answer (and free c) at once, from the hosts file */
	ares_gethostbyaddr(
	    n->ch, a->b, a->af == AF_INET ? 4 : 16, a->af, on_host, c);
	return e;
}

/* "addr", "v4:port" or "[v6]:port": the address, and the rest. */
static bool
split(const char *s, struct ips_addr *a, const char **rest)
{
	char buf[IPS_ADDRSTRLEN];
	const char *end;
	size_t len;

	*rest = "";
	if (ips_addr_parse(s, a))
		return true;
	if (s[0] == '[') {
		if ((end = strstr(s, "]:")) == NULL)
			return false;
		s++;
	} else if ((end = strchr(s, ':')) == NULL || strchr(end + 1, ':')) {
		return false;
	}
	if ((len = (size_t)(end - s)) >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*rest = end + (*end == ']');
	return ips_addr_parse(buf, a);
}

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000 + (double)t.tv_nsec / 1e6;
}

/* Until every lookup answered or the deadline passed. */
static void
wait_answers(struct names *n)
{
	double deadline = now_ms() + n->deadline_ms;

	while (n->pending > 0 && now_ms() < deadline) {
		fd_set r, w;
		struct timeval max, tv, *tvp;
		double left = deadline - now_ms();
		int nfds;

		FD_ZERO(&r);
		FD_ZERO(&w);
		nfds = ares_fds(n->ch, &r, &w);
		max.tv_sec = (time_t)(left / 1000);
		max.tv_usec = (suseconds_t)((long)left % 1000 * 1000);
		tvp = ares_timeout(n->ch, &max, &tv);
		if (select(nfds, &r, &w, NULL, tvp) < 0)
			break;
		ares_process(n->ch, &r, &w);
	}
	ares_cancel(n->ch); /* the late ones: shown as addresses */
}

/* The fields of a response that hold addresses. */
struct fields {
	char ***v;
	size_t n, cap;
};

static void
collect(struct names *n, char **f, struct fields *fv)
{
	struct ips_addr a;
	const char *rest;

	if (*f == NULL || !split(*f, &a, &rest))
		return;
	if (fv->n == fv->cap) {
		size_t c = fv->cap ? fv->cap * 2 : 64;
		char ***v = realloc(fv->v, c * sizeof(*v));

		if (v == NULL)
			return;
		fv->v = v;
		fv->cap = c;
	}
	fv->v[fv->n++] = f;
	(void)entry_for(n, &a);
}

void
names_apply(struct names *n, Ipsm__Response *resp)
{
	struct fields fv = {NULL, 0, 0};

	switch (resp->view_case) {
	case IPSM__RESPONSE__VIEW_FILTERS:
		for (size_t i = 0; i < resp->filters->n_filters; i++) {
			Ipsm__Filter *x = resp->filters->filters[i];

			collect(n, &x->src, &fv);
			collect(n, &x->dst, &fv);
			collect(n, &x->tunnel_src, &fv);
			collect(n, &x->tunnel_dst, &fv);
		}
		break;
	case IPSM__RESPONSE__VIEW_MMSAS:
		for (size_t i = 0; i < resp->mmsas->n_sas; i++) {
			collect(n, &resp->mmsas->sas[i]->me, &fv);
			collect(n, &resp->mmsas->sas[i]->peer, &fv);
		}
		break;
	case IPSM__RESPONSE__VIEW_QMSAS:
		for (size_t i = 0; i < resp->qmsas->n_sas; i++) {
			Ipsm__QmSa *x = resp->qmsas->sas[i];

			collect(n, &x->me, &fv);
			collect(n, &x->peer, &fv);
			collect(n, &x->tunnel_me, &fv);
			collect(n, &x->tunnel_peer, &fv);
		}
		break;
	default:
		return;
	}
	wait_answers(n);
	for (size_t i = 0; i < fv.n; i++) {
		struct ips_addr a;
		const char *rest;
		struct entry *e;
		size_t len;
		char *repl;

		if (!split(*fv.v[i], &a, &rest) ||
		    (e = entry_find(n, &a)) == NULL || e->st != L_FOUND)
			continue;
		if (n->ns == n->scap) {
			size_t c = n->scap ? n->scap * 2 : 64;
			struct slot *v = realloc(n->s, c * sizeof(*v));

			if (v == NULL)
				break;
			n->s = v;
			n->scap = c;
		}
		len = strlen(e->name) + strlen(rest) + 1;
		if ((repl = malloc(len)) == NULL)
			break;
		snprintf(repl, len, "%s%s", e->name, rest);
		n->s[n->ns++] = (struct slot){fv.v[i], *fv.v[i], repl};
		*fv.v[i] = repl;
	}
	free(fv.v);
}

void
names_restore(struct names *n)
{
	while (n->ns > 0) {
		struct slot *s = &n->s[--n->ns];

		*s->field = s->orig;
		free(s->repl);
	}
}
