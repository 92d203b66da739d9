#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "engine.h"
#include "spd/secrets.h"

/* What a policy load produces; swapped in as a whole. */
struct loaded {
	struct policy *policy;
	struct secrets *secrets;
	struct flt_set *filters;
};

struct engine {
	char *policy_path;
	struct loaded cur;
	struct hostenv *host;
	struct stats *stats;
	time_t loaded_at;
};

static void
loaded_free(struct loaded *l)
{
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

/* Load policy and secrets, check one against the other, expand. */
static ips_res
load(const char *path, const struct hostenv *host, struct loaded *out,
    char *errbuf, size_t errlen)
{
	struct policy_error err;
	struct loaded l = {NULL, NULL, NULL};
	ips_res r;

	r = policy_load_file(path, &l.policy, &err);
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
	if (host != NULL &&
	    !ips_ok(r = flt_set_build(l.policy, host, &l.filters))) {
		snprintf(errbuf, errlen, "%s: cannot expand filters: %s", path,
		    ips_strerror(r.err));
		loaded_free(&l);
		return r;
	}
	*out = l;
	return IPS_OK;
fail:
	policy_error_str(&err, errbuf, errlen);
	loaded_free(&l);
	return r;
}

ips_res
engine_check_policy(const char *policy_path, char *errbuf, size_t errlen)
{
	struct loaded l;

	GUARD(load(policy_path, NULL, &l, errbuf, errlen));
	loaded_free(&l);
	return IPS_OK;
}

ips_res
engine_new(const char *policy_path, struct hostenv *host, struct engine **out,
    char *errbuf, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	ips_res r = IPS_ERR(NOMEM);

	if (e == NULL || (e->policy_path = strdup(policy_path)) == NULL ||
	    (e->stats = stats_new()) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
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
	if (!ips_ok(r = load(policy_path, e->host, &e->cur, errbuf, errlen)))
		goto fail;
	e->loaded_at = time(NULL);
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
	loaded_free(&e->cur);
	hostenv_free(e->host);
	stats_free(e->stats);
	free(e->policy_path);
	free(e);
}

ips_res
engine_reload(struct engine *e, char *errbuf, size_t errlen)
{
	struct loaded l;

	GUARD(load(e->policy_path, e->host, &l, errbuf, errlen));
	loaded_free(&e->cur);
	e->cur = l;
	e->loaded_at = time(NULL);
	return IPS_OK;
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

void
engine_view_src(const struct engine *e, struct ctl_view_src *src,
    struct ips_mm_stats *mm, struct ips_qm_stats *qm)
{
	/* No IKE or ESP state exists yet: every table is empty, so every
	 * gauge is zero by measurement, not by assumption. */
	struct stats_gauges g;

	memset(&g, 0, sizeof(g));
	stats_snapshot(e->stats, &g, mm, qm);
	src->policy = e->cur.policy;
	src->filters = e->cur.filters;
	src->host = e->host;
	src->mm = mm;
	src->qm = qm;
	src->discontinuity = stats_discontinuity_time(e->stats);
	src->loaded_at = e->loaded_at;
}
