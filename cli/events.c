/*
 * `ipsecmon show events`: the daemon's recent audit events (docs/AUDIT.md),
 * each the event log's JSON record, as a table, records, JSON, or, when
 * following, one line each as they come.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "render.h"
#include "table.h"

static const char *
field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	static char num[32];

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(
		    num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return num;
	}
	return "";
}

/* One line of `--follow`: time id event mode rule peer: reason. */
static void
print_line(json_t *o, FILE *f)
{
	char id[16];
	const char *reason = field(o, "reason");

	snprintf(id, sizeof(id), "%s", field(o, "id"));
	fprintf(f, "%s %s %s %s %s %s%s%s\n", field(o, "time"), id,
	    field(o, "event"), field(o, "mode"),
	    *field(o, "rule") ? field(o, "rule") : "-",
	    *field(o, "peer") ? field(o, "peer") : "-", *reason ? ": " : "",
	    reason);
}

int
render_events(
    const Ipsm__EventsView *v, enum render_format fmt, bool lines, FILE *f)
{
	static const char *const hdr[] = {
	    "Time", "ID", "Event", "Mode", "Rule", "Peer", "Reason"};
	json_t *all = json_array();
	struct table *t = NULL;
	int rc = 0;

	if (all == NULL)
		return -1;
	for (size_t i = 0; i < v->n_events; i++) {
		json_t *o = json_loads(v->events[i]->json, 0, NULL);

		if (o == NULL)
			continue; /* not ours to repair: skip it */
		if (lines && fmt == RENDER_JSON) {
			/* JSON lines as they come: the log's own records */
			json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
			fputc('\n', f);
			json_decref(o);
		} else if (lines) {
			print_line(o, f);
			json_decref(o);
		} else {
			json_array_append_new(all, o);
		}
	}
	if (lines) {
		json_decref(all);
		fflush(f);
		return 0;
	}
	if (fmt == RENDER_JSON) {
		rc = json_dumpf(all, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', f);
		json_decref(all);
		return rc == 0 ? 0 : -1;
	}
	if (fmt == RENDER_LIST) {
		/* every field of every record */
		size_t i;
		json_t *o;

		json_array_foreach(all, i, o)
		{
			const char *k;
			json_t *x;

			fprintf(f, "%s", i > 0 ? "\n" : "");
			json_object_foreach(o, k, x)
			    fprintf(f, "%-18s : %s\n", k, field(o, k));
		}
		fprintf(f, "\nEvents: %zu\n", json_array_size(all));
		json_decref(all);
		return 0;
	}
	if ((t = table_new(7, hdr)) == NULL) {
		json_decref(all);
		return -1;
	}
	{
		size_t i;
		json_t *o;

		json_array_foreach(all, i, o)
		{
			char id[16];
			const char *row[7];

			snprintf(id, sizeof(id), "%s", field(o, "id"));
			row[0] = field(o, "time");
			row[1] = id;
			row[2] = field(o, "event");
			row[3] = field(o, "mode");
			row[4] = field(o, "rule");
			row[5] = field(o, "peer");
			row[6] = field(o, "reason");
			table_add(t, row);
		}
	}
	fprintf(f, "Events: %zu\n\n", table_rows(t));
	if (table_rows(t) > 0)
		table_print(t, f);
	table_free(t);
	json_decref(all);
	return rc;
}

bool
events_parse_since(const char *s, int64_t now_ms, int64_t *out)
{
	char *end;
	long long n = strtoll(s, &end, 10);
	struct tm tm;

	/* a while ago: 30s, 10m, 2h, 1d */
	if (end != s && n >= 0 && end[0] != '\0' && end[1] == '\0') {
		long long unit = end[0] == 's' ? 1
		    : end[0] == 'm'	       ? 60
		    : end[0] == 'h'	       ? 3600
		    : end[0] == 'd'	       ? 86400
					       : 0;

		if (unit == 0)
			return false;
		*out = now_ms - n * unit * 1000;
		return true;
	}
	/* or a moment: 2026-12-02T01:00:00Z */
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return false;
	*out = (int64_t)timegm(&tm) * 1000;
	return true;
}
