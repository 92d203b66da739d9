#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "base/log.h"
#include "engine.h"
#include "crypto/ike_x509.h"
#include "spd/secrets.h"
#include "sad/sad.h"
#include "wire/ike_wire.h"

/* What a policy load produces; swapped in as a whole. */
struct loaded {
	struct policy *policy;
	struct secrets *secrets;
	struct flt_set *filters;
	struct ike_cred **creds; /* per rule, NULL where none */
	char *text; /* the document it came from (the file, or edited) */
	size_t len;
};

struct engine {
	char *policy_path;
	struct loaded cur;
	struct hostenv *host;
	struct stats *stats;
	struct ike *ike;
	time_t loaded_at;
	time_t file_mtime;
	unsigned changes; /* dynamic changes since the file was read */
	struct settings settings; /* `set config` */
	char *settings_path; /* NULL: not kept */
};

/* The IKE engine negotiates by whatever is current. */
static void
update_ike(struct engine *e)
{
	struct ike_policy_view pv = {e->cur.policy, e->cur.secrets,
	    e->cur.filters, e->host, e->cur.creds};

	ike_set_policy(e->ike, &pv);
}

static void
loaded_free(struct loaded *l)
{
	if (l->creds != NULL && l->policy != NULL)
		for (size_t i = 0; i < policy_nrules(l->policy); i++)
			ike_cred_free(l->creds[i]);
	free(l->creds);
	free(l->text);
	flt_set_free(l->filters);
	secrets_free(l->secrets);
	policy_free(l->policy);
	memset(l, 0, sizeof(*l));
}

static bool
uses_psk(const struct policy *p)
{
	for (size_t i = 0; i < policy_nrules(p); i++) {
		const struct pol_rule *r = policy_rule(p, i);

		for (size_t j = 0; j < r->nauth; j++)
			if (r->auth[j].method == POL_AUTH_PSK)
				return true;
	}
	return false;
}

/* What a load reads: a policy document and how to take it. */
struct load_in {
	const char *path; /* the policy file's, for names and messages */
	char *text; /* the document (the load takes it) */
	size_t len;
	time_t mtime;
	bool edited; /* errors then leave out line and column: in no file */
	enum pol_crl_check crl; /* strongcrlcheck: where a method names none */
	const struct hostenv *host; /* NULL: check only */
};

/* Load policy and secrets, check one against the other, expand. */
static ips_res
load(const struct load_in *in, struct loaded *out, char *errbuf, size_t errlen)
{
	struct policy_error err;
	struct loaded l = {NULL, NULL, NULL, NULL, in->text, in->len};
	const char *path = in->path;
	ips_res r;

	r = policy_load_text(
	    path, in->text, in->len, in->mtime, &l.policy, &err);
	if (!ips_ok(r))
		goto fail;
	if (policy_secrets_path(l.policy) != NULL) {
		r = secrets_load(
		    policy_secrets_path(l.policy), &l.secrets, &err);
		if (!ips_ok(r))
			goto fail;
		snprintf(err.file, sizeof(err.file), "%s", path);
		r = secrets_check_policy(l.secrets, l.policy, &err);
		if (!ips_ok(r))
			goto fail;
	} else if (uses_psk(l.policy)) {
		snprintf(err.file, sizeof(err.file), "%s", path);
		err.line = err.col = 0;
		snprintf(err.msg, sizeof(err.msg),
		    "a rule uses psk "
		    "authentication but the policy names no secrets file");
		r = IPS_ERR(CONFIG);
		goto fail;
	}
	/* Certificates and keys of the rules that use them. */
	l.creds = calloc(policy_nrules(l.policy) + 1, sizeof(*l.creds));
	if (l.creds == NULL) {
		loaded_free(&l);
		BAIL(NOMEM);
	}
	for (size_t i = 0; i < policy_nrules(l.policy); i++) {
		const struct pol_rule *rr = policy_rule(l.policy, i);

		for (size_t j = 0; j < rr->nauth && l.creds[i] == NULL; j++) {
			const struct pol_auth *a = &rr->auth[j];
			enum pol_crl_check crl =
			    a->crl_check_set ? a->crl_check : in->crl;

			if (a->method != POL_AUTH_CERT || *a->cert == '\0')
				continue;
			/* as the parser refuses a strict method without
			 * lists: no peer could pass it */
			if (crl == POL_CRL_STRICT && *a->crl == '\0') {
				snprintf(errbuf, errlen,
				    "rule '%s': strongcrlcheck=2 needs 'crl' "
				    "in its certificate method (or a "
				    "crl-check of its own)",
				    rr->name);
				loaded_free(&l);
				BAIL(CONFIG);
			}
			const struct ike_cred_opts o = {
			    a->ca, a->crl, (enum ike_crl_check)crl, a->peer_id};

			r = ike_cred_load(
			    a->cert, a->key, &o, &l.creds[i], errbuf, errlen);
			if (!ips_ok(r)) {
				loaded_free(&l);
				return r;
			}
		}
	}
	if (in->host != NULL &&
	    !ips_ok(r = flt_set_build(l.policy, in->host, &l.filters))) {
		snprintf(errbuf, errlen, "%s: cannot expand filters: %s", path,
		    ips_strerror(r.err));
		loaded_free(&l);
		return r;
	}
	*out = l;
	return IPS_OK;
fail:
	if (in->edited)
		snprintf(errbuf, errlen, "%s", err.msg);
	else
		policy_error_str(&err, errbuf, errlen);
	loaded_free(&l);
	return r;
}

/* The policy file, read and loaded. */
static ips_res
load_file(const char *path, enum pol_crl_check crl, const struct hostenv *host,
    struct loaded *out, time_t *mtime, char *errbuf, size_t errlen)
{
	struct policy_error err;
	struct load_in in = {path, NULL, 0, 0, false, crl, host};
	ips_res r = policy_read_file(path, &in.text, &in.len, mtime, &err);

	if (!ips_ok(r)) {
		policy_error_str(&err, errbuf, errlen);
		return r;
	}
	in.mtime = *mtime;
	return load(&in, out, errbuf, errlen);
}

/* The running document again, under another strongcrlcheck. */
static ips_res
load_again(const struct engine *e, enum pol_crl_check crl, struct loaded *out,
    char *errbuf, size_t errlen)
{
	struct load_in in = {e->policy_path, malloc(e->cur.len + 1), e->cur.len,
	    e->file_mtime, e->changes > 0, crl, e->host};

	if (in.text == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		BAIL(NOMEM);
	}
	memcpy(in.text, e->cur.text, e->cur.len + 1);
	return load(&in, out, errbuf, errlen);
}

/* The strongcrlcheck the engine's settings ask for. */
static enum pol_crl_check
crl_default(const struct settings *s)
{
	return (enum pol_crl_check)s->v[SETTING_strongcrlcheck];
}

ips_res
engine_check_policy(const char *policy_path, const char *settings_path,
    char *errbuf, size_t errlen)
{
	struct settings s;
	struct loaded l;
	time_t mtime;

	settings_defaults(&s);
	/* as the daemon would start: under the kept strongcrlcheck */
	if (settings_path != NULL)
		GUARD(settings_load(settings_path, &s, errbuf, errlen));
	GUARD(load_file(
	    policy_path, crl_default(&s), NULL, &l, &mtime, errbuf, errlen));
	loaded_free(&l);
	return IPS_OK;
}

ips_res
engine_new(const char *policy_path, struct hostenv *host,
    const struct ike_ops *ops, void *ctx, struct engine **out, char *errbuf,
    size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	ips_res r = IPS_ERR(NOMEM);

	if (e == NULL || (e->policy_path = strdup(policy_path)) == NULL ||
	    (e->stats = stats_new()) == NULL ||
	    (e->ike = ike_new(ops, ctx, e->stats)) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	settings_defaults(&e->settings);
	if (host == NULL) {
		if ((host = hostenv_new()) == NULL) {
			snprintf(errbuf, errlen, "out of memory");
			goto fail;
		}
		if (!ips_ok(r = hostenv_load_system(host))) {
			snprintf(errbuf, errlen,
			    "cannot read interface "
			    "addresses: %s",
			    ips_strerror(r.err));
			goto fail; /* which frees host */
		}
	}
	e->host = host;
	host = NULL;
	if (!ips_ok(r = load_file(policy_path, crl_default(&e->settings),
			e->host, &e->cur, &e->file_mtime, errbuf, errlen)))
		goto fail;
	e->loaded_at = time(NULL);
	update_ike(e);
	*out = e;
	return IPS_OK;
fail:
	hostenv_free(host);
	engine_free(e);
	return r;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	ike_free(e->ike); /* before what it borrows */
	loaded_free(&e->cur);
	hostenv_free(e->host);
	stats_free(e->stats);
	free(e->policy_path);
	free(e->settings_path);
	free(e);
}

/* A new policy in place of the running one.  The engine ends the SAs whose
 * rule left (ike_set_policy); the others keep running. */
static void
swap_in(struct engine *e, struct loaded *l)
{
	loaded_free(&e->cur);
	e->cur = *l;
	e->loaded_at = time(NULL);
	update_ike(e);
}

ips_res
engine_reload(struct engine *e, char *errbuf, size_t errlen)
{
	struct loaded l;
	time_t mtime;

	GUARD(load_file(e->policy_path, crl_default(&e->settings), e->host, &l,
	    &mtime, errbuf, errlen));
	if (e->changes > 0)
		ips_log(IPS_LOG_NOTICE,
		    "reload: %u dynamic change%s to the policy discarded",
		    e->changes, e->changes == 1 ? "" : "s");
	swap_in(e, &l);
	e->file_mtime = mtime;
	e->changes = 0;
	return IPS_OK;
}

ips_res
engine_edit(struct engine *e, enum pe_op op, const char *object,
    const struct pe_item *items, size_t n, char *done, size_t donelen,
    char *errbuf, size_t errlen)
{
	struct loaded l;
	char *text, msg[400];
	ips_res r;

	r = policy_edit(e->cur.text, e->cur.len, op, object, items, n, &text,
	    done, donelen, msg, sizeof(msg));
	if (!ips_ok(r)) {
		snprintf(errbuf, errlen, "%s %s: %s", pe_op_name(op),
		    object != NULL ? object : "", msg);
		return r;
	}
	const struct load_in in = {e->policy_path, text, strlen(text),
	    e->file_mtime, true, crl_default(&e->settings), e->host};

	r = load(&in, &l, msg, sizeof(msg));
	if (!ips_ok(r)) {
		snprintf(errbuf, errlen, "%s %s refused: %s", pe_op_name(op),
		    object, msg);
		return r;
	}
	swap_in(e, &l);
	e->changes++;
	ips_log(
	    IPS_LOG_NOTICE, "policy: %s (dynamic change %u)", done, e->changes);
	return IPS_OK;
}

unsigned
engine_dynamic_changes(const struct engine *e)
{
	return e->changes;
}

ips_res
engine_set_host(struct engine *e, struct hostenv *host, bool *changed)
{
	struct flt_set *fs;
	ips_res r;

	*changed = !hostenv_equal(e->host, host);
	if (!*changed) {
		hostenv_free(host);
		return IPS_OK;
	}
	if (!ips_ok(r = flt_set_build(e->cur.policy, host, &fs))) {
		hostenv_free(host);
		return r;
	}
	flt_set_free(e->cur.filters);
	e->cur.filters = fs;
	hostenv_free(e->host);
	e->host = host;
	update_ike(e);
	return IPS_OK;
}

const struct policy *
engine_policy(const struct engine *e)
{
	return e->cur.policy;
}

const struct flt_set *
engine_filters(const struct engine *e)
{
	return e->cur.filters;
}

const struct hostenv *
engine_host(const struct engine *e)
{
	return e->host;
}

struct stats *
engine_stats(struct engine *e)
{
	return e->stats;
}

struct ike *
engine_ike(struct engine *e)
{
	return e->ike;
}

bool
engine_source_for(const struct ips_addr *remote, struct ips_addr *out)
{
	struct sockaddr_storage ss, me;
	socklen_t sl, ml = sizeof(me);
	int fd;
	bool ok;

	memset(&ss, 0, sizeof(ss));
	if (remote->af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(IKE_PORT);
		memcpy(&s->sin_addr, remote->b, 4);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(IKE_PORT);
		memcpy(&s->sin6_addr, remote->b, 16);
		sl = sizeof(*s);
	}
	if ((fd = socket(remote->af, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&ss, sl) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &ml) == 0;
	close(fd);
	if (!ok)
		return false;
	memset(out, 0, sizeof(*out));
	out->af = remote->af;
	if (remote->af == AF_INET)
		memcpy(out->b, &((struct sockaddr_in *)&me)->sin_addr, 4);
	else
		memcpy(out->b, &((struct sockaddr_in6 *)&me)->sin6_addr, 16);
	return true;
}

/* The policy's CRL levels are the engine's, number for number. */
_Static_assert((int)POL_CRL_NONE == (int)IKE_CRL_NONE &&
	(int)POL_CRL_REVOKED == (int)IKE_CRL_REVOKED &&
	(int)POL_CRL_STRICT == (int)IKE_CRL_STRICT,
    "CRL check levels differ");

ips_res
engine_initiate(struct engine *e, const char *rule, const char *peer,
    char *errbuf, size_t errlen)
{
	const struct pol_rule *r = NULL;
	struct ike_endpoint local, remote;
	ips_res res;

	for (size_t i = 0; i < policy_nrules(e->cur.policy); i++)
		if (strcmp(policy_rule(e->cur.policy, i)->name, rule) == 0)
			r = policy_rule(e->cur.policy, i);
	if (r == NULL) {
		snprintf(errbuf, errlen, "no rule named '%s'", rule);
		BAIL(NOTFOUND);
	}
	if (r->filter_action->action != POL_ACTION_NEGOTIATE) {
		snprintf(errbuf, errlen, "rule '%s' does not negotiate", rule);
		BAIL(INVAL);
	}
	memset(&remote, 0, sizeof(remote));
	remote.port = IKE_PORT;
	if (peer != NULL && *peer != '\0') {
		if (!ips_addr_parse(peer, &remote.addr)) {
			snprintf(errbuf, errlen, "peer '%s' is not an address",
			    peer);
			BAIL(INVAL);
		}
	} else if (r->tunnel) {
		remote.addr = r->tunnel_remote;
	} else {
		snprintf(errbuf, errlen,
		    "rule '%s' is a transport rule: name "
		    "the peer (peer=ADDRESS)",
		    rule);
		BAIL(INVAL);
	}
	local.port = IKE_PORT;
	if (r->tunnel && r->tunnel_local.kind == IPS_ASPEC_HOST)
		local.addr = r->tunnel_local.lo;
	else if (!engine_source_for(&remote.addr, &local.addr)) {
		snprintf(
		    errbuf, errlen, "no route to %s", peer ? peer : "peer");
		BAIL(IO);
	}
	res = ike_initiate(e->ike, r, &local, &remote);
	if (!ips_ok(res))
		snprintf(errbuf, errlen, "cannot start Main Mode: %s",
		    ips_strerror(res.err));
	return res;
}

/* What each setting changes, now; and said in the log. */
static void
apply_settings(struct engine *e, const struct settings *old)
{
	const struct settings *s = &e->settings;

	for (size_t i = 0; old != NULL && i < SETTINGS_N; i++)
		if (old->v[i] != s->v[i])
			ips_log(IPS_LOG_NOTICE, "config: %s %u -> %u",
			    settings_desc(i)->name, old->v[i], s->v[i]);
	ike_set_audits(e->ike, s->v[SETTING_ikeaudits] != 0);
	ike_set_trace(e->ike, s->v[SETTING_ikelogging] != 0);
	if (s->v[SETTING_ikeaudits] == 0 &&
	    (old == NULL || old->v[SETTING_ikeaudits] != 0))
		ips_log(IPS_LOG_NOTICE,
		    "IKE audit events are off (ikeaudits=0): events 541-547 "
		    "are neither logged nor sent");
}

ips_res
engine_settings_open(
    struct engine *e, const char *path, char *errbuf, size_t errlen)
{
	struct settings kept;

	GUARD(settings_load(path, &kept, errbuf, errlen));
	/* the policy was loaded under the default: again, if kept differs */
	if (crl_default(&kept) != crl_default(&e->settings)) {
		struct loaded l;
		char why[400];

		if (!ips_ok(load_again(
			e, crl_default(&kept), &l, why, sizeof(why)))) {
			snprintf(errbuf, errlen, "%s: strongcrlcheck=%u: %s",
			    path, kept.v[SETTING_strongcrlcheck], why);
			BAIL(CONFIG);
		}
		swap_in(e, &l);
	}
	e->settings = kept;
	free(e->settings_path);
	ENSURE((e->settings_path = strdup(path)) != NULL, NOMEM);
	apply_settings(e, NULL);
	return IPS_OK;
}

const struct settings *
engine_settings(const struct engine *e)
{
	return &e->settings;
}

ips_res
engine_set_config(struct engine *e, const char *const *names,
    const char *const *values, size_t n, char *errbuf, size_t errlen)
{
	struct settings next = e->settings, old = e->settings;
	struct loaded l;
	bool creds = false;
	ips_res r;

	if (n == 0) {
		snprintf(errbuf, errlen, "set config needs key=value");
		BAIL(INVAL);
	}
	for (size_t i = 0; i < n; i++)
		GUARD(settings_set(&next, names[i], values[i], errbuf, errlen));
	/* strongcrlcheck: the certificate methods that name no crl-check
	 * take it, so their credentials are built again (all or nothing) */
	if (crl_default(&next) != crl_default(&e->settings)) {
		char why[400];

		if (!ips_ok(r = load_again(
				e, crl_default(&next), &l, why, sizeof(why)))) {
			snprintf(errbuf, errlen,
			    "strongcrlcheck=%u refused: %s",
			    next.v[SETTING_strongcrlcheck], why);
			return r;
		}
		creds = true;
	}
	/* kept first: a change that would not survive a restart is none */
	if (e->settings_path != NULL &&
	    !ips_ok(
		r = settings_save(e->settings_path, &next, errbuf, errlen))) {
		if (creds)
			loaded_free(&l);
		return r;
	}
	if (creds)
		swap_in(e, &l);
	e->settings = next;
	apply_settings(e, &old);
	return IPS_OK;
}

void
engine_view_src(const struct engine *e, struct ctl_view_src *src,
    struct ips_mm_stats *mm, struct ips_qm_stats *qm, bool tables,
    struct arena *a)
{
	/* Gauges are measured from the live tables; the ones whose tables
	 * do not exist yet (receive queues, offload) are empty tables, so
	 * zero by measurement, not by assumption. */
	struct stats_gauges g;
	size_t n = ike_isadb_size(e->ike);
	struct sad *sad = ike_sad(e->ike);

	memset(&g, 0, sizeof(g));
	g.isadb_list_size = n;
	g.connection_list_size = ike_qm_count(e->ike);
	g.active_sas = sad_active(sad);
	g.active_tunnels = sad_tunnels(sad);
	g.pending_key_operations = ike_qm_count(e->ike) + sad_larval(sad);
	g.active_acquire = ike_acquire_active(e->ike);
	g.acquire_heap_size = ike_acquire_heap(e->ike);
	stats_snapshot(e->stats, &g, mm, qm);
	src->settings = &e->settings;
	src->settings_path = e->settings_path != NULL ? e->settings_path : "";
	src->mmsas = NULL;
	src->qmsas = NULL;
	src->nmmsas = src->nqmsas = 0;
	/* The SA tables cost O(SAs) to copy: only for views that show them
	 * (statistics are polled often). */
	if (tables) {
		struct ike_sa_info *sas =
		    arena_calloc(a, n ? n : 1, sizeof(*sas));
		size_t q = sad_count(sad);
		struct sad_info *rows =
		    arena_calloc(a, q ? q : 1, sizeof(*rows));

		src->mmsas = sas;
		src->nmmsas = sas != NULL ? ike_sa_list(e->ike, sas, n) : 0;
		size_t ns = sad_soft_list(sad, NULL, 0);
		struct sad_soft *softs =
		    arena_calloc(a, ns ? ns : 1, sizeof(*softs));

		src->qmsas = rows;
		src->nqmsas = rows != NULL ? sad_list(sad, rows, q) : 0;
		src->softs = softs;
		src->nsofts = softs != NULL ? sad_soft_list(sad, softs, ns) : 0;
	}
	src->policy = e->cur.policy;
	src->filters = e->cur.filters;
	src->host = e->host;
	src->mm = mm;
	src->qm = qm;
	src->discontinuity = stats_discontinuity_time(e->stats);
	src->loaded_at = e->loaded_at;
	src->dynamic_changes = e->changes;
	src->now_ms = ike_now_ms(e->ike);
}
