#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "settings.h"

static const struct settings_desc descs[SETTINGS_N] = {
#define IPS_SETTINGS_DESC(n, lo, hi, d, what) {#n, what, lo, hi, d},
    IPS_SETTINGS(IPS_SETTINGS_DESC)
#undef IPS_SETTINGS_DESC
};

const struct settings_desc *
settings_desc(enum settings_id id)
{
	return id < SETTINGS_N ? &descs[id] : NULL;
}

bool
settings_find(const char *name, enum settings_id *out)
{
	for (size_t i = 0; i < SETTINGS_N; i++)
		if (strcmp(descs[i].name, name) == 0) {
			*out = (enum settings_id)i;
			return true;
		}
	return false;
}

void
settings_defaults(struct settings *s)
{
	for (size_t i = 0; i < SETTINGS_N; i++)
		s->v[i] = descs[i].def;
}

static ips_res
check(enum settings_id id, long long x, char *errbuf, size_t errlen)
{
	const struct settings_desc *d = &descs[id];

	if (x < d->min || x > d->max) {
		snprintf(errbuf, errlen, "%s must be %u..%u, not %lld", d->name,
		    d->min, d->max, x);
		return IPS_ERR(INVAL);
	}
	return IPS_OK;
}

ips_res
settings_set(struct settings *s, const char *name, const char *value,
    char *errbuf, size_t errlen)
{
	enum settings_id id;
	char *end;
	long long x;

	if (!settings_find(name, &id)) {
		snprintf(errbuf, errlen, "no setting '%s'", name);
		return IPS_ERR(INVAL);
	}
	errno = 0;
	x = strtoll(value, &end, 10);
	if (*value == '\0' || *end != '\0' || errno != 0) {
		snprintf(errbuf, errlen, "%s must be a number, not '%s'", name,
		    value);
		return IPS_ERR(INVAL);
	}
	GUARD(check(id, x, errbuf, errlen));
	s->v[id] = (uint32_t)x;
	return IPS_OK;
}

ips_res
settings_load(const char *path, struct settings *s, char *errbuf, size_t errlen)
{
	json_error_t je;
	json_t *j;
	const char *k;
	json_t *v;
	struct settings n;

	settings_defaults(&n);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		*s = n; /* never set: every default */
		return IPS_OK;
	}
	if ((j = json_load_file(path, 0, &je)) == NULL) {
		snprintf(errbuf, errlen, "%s:%d: %s", path, je.line, je.text);
		return IPS_ERR(INVAL);
	}
	if (!json_is_object(j)) {
		snprintf(errbuf, errlen, "%s: not a JSON object", path);
		json_decref(j);
		return IPS_ERR(INVAL);
	}
	json_object_foreach(j, k, v)
	{
		enum settings_id id;
		ips_res r;

		if (!settings_find(k, &id) || !json_is_integer(v)) {
			snprintf(errbuf, errlen, "%s: '%s' is %s", path, k,
			    settings_find(k, &id) ? "not a number"
						  : "no setting");
			json_decref(j);
			return IPS_ERR(INVAL);
		}
		r = check(id, json_integer_value(v), errbuf, errlen);
		if (!ips_ok(r)) {
			char why[200];

			snprintf(why, sizeof(why), "%s", errbuf);
			snprintf(errbuf, errlen, "%s: %s", path, why);
			json_decref(j);
			return r;
		}
		n.v[id] = (uint32_t)json_integer_value(v);
	}
	json_decref(j);
	*s = n;
	return IPS_OK;
}

ips_res
settings_save(
    const char *path, const struct settings *s, char *errbuf, size_t errlen)
{
	json_t *j = json_object();
	char tmp[4096];
	char *text;
	int fd;
	size_t len;
	bool ok;

	if (j == NULL)
		return IPS_ERR(NOMEM);
	for (size_t i = 0; i < SETTINGS_N; i++)
		json_object_set_new(j, descs[i].name, json_integer(s->v[i]));
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (text == NULL)
		return IPS_ERR(NOMEM);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, text, len) == (ssize_t)len &&
	    write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	free(text);
	if (!ok || rename(tmp, path) != 0) {
		snprintf(errbuf, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
		return IPS_ERR(IO);
	}
	/* the rename is in the directory: kept only once it is synced, or
	 * a power cut could bring back the previous settings */
	{
		char dir[4096];
		int dfd;

		snprintf(dir, sizeof(dir), "%s", path);
		if ((dfd = open(dirname(dir),
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    fsync(dfd) != 0) {
			snprintf(errbuf, errlen,
			    "cannot sync the directory of %s: %s", path,
			    strerror(errno));
			if (dfd >= 0)
				close(dfd);
			return IPS_ERR(IO);
		}
		close(dfd);
	}
	return IPS_OK;
}
