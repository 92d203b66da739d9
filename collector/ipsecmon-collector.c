/*
 * ipsecmon-collector: the fleet view.  Polls several ipsecmond instances
 * and prints one line per host with its policy and headline statistics; a
 * host that cannot be reached is shown as such, never skipped.
 *
 * This first version reaches daemons through their control sockets (hosts
 * on this machine, or sockets forwarded to it); SNMP polling of remote
 * agents arrives with the MIB and subagent.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/ctl_client.h"
#include "table.h"

#define MAX_TARGETS 1024

struct target {
	const char *name;
	const char *socket;
};

struct sample {
	char policy[128];
	char error[256]; /* non-empty: unreachable, and why */
	uint64_t isadb, mm, qm, negfail, authfail, invalid, active_sas, badspi;
};

/* The reason a host is unreachable goes last: it is long and rare. */
static const char *const columns[] = {"Host", "Status", "Policy", "ISADB",
    "IKE MM", "IKE QM", "Neg Fail", "Auth Fail", "Invalid Pkts", "Active SAs",
    "Bad SPI", "Detail"};

static uint64_t
stat_value(Ipsm__Stat **s, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i]->key, key) == 0)
			return s[i]->value;
	return 0;
}

/* One request; fails unless the daemon answers with the expected view. */
static int
call(struct ctl_client *cl, Ipsm__Request *req, Ipsm__Response__ViewCase want,
    Ipsm__Response **resp, struct sample *out)
{
	if (!ips_ok(
		ctl_client_call(cl, req, resp, out->error, sizeof(out->error))))
		return -1;
	if ((*resp)->status != 0 || (*resp)->view_case != want) {
		snprintf(out->error, sizeof(out->error), "%s",
		    (*resp)->status != 0 ? (*resp)->error
					 : "daemon answered without the view "
					   "(version mismatch?)");
		ipsm__response__free_unpacked(*resp, NULL);
		return -1;
	}
	return 0;
}

static void
poll_target(const struct target *t, int timeout_ms, struct sample *out)
{
	Ipsm__Request req = IPSM__REQUEST__INIT;
	Ipsm__ShowPolicy sp = IPSM__SHOW_POLICY__INIT;
	Ipsm__ShowStats ss = IPSM__SHOW_STATS__INIT;
	Ipsm__Response *resp;
	struct ctl_client *cl;

	memset(out, 0, sizeof(*out));
	if (!ips_ok(ctl_client_connect(
		t->socket, timeout_ms, &cl, out->error, sizeof(out->error))))
		return;
	req.op_case = IPSM__REQUEST__OP_SHOW_POLICY;
	req.show_policy = &sp;
	if (call(cl, &req, IPSM__RESPONSE__VIEW_POLICY, &resp, out) != 0)
		goto done;
	snprintf(out->policy, sizeof(out->policy), "%s", resp->policy->name);
	ipsm__response__free_unpacked(resp, NULL);
	req.op_case = IPSM__REQUEST__OP_SHOW_STATS;
	req.show_stats = &ss;
	if (call(cl, &req, IPSM__RESPONSE__VIEW_STATS, &resp, out) != 0)
		goto done;
	{
		Ipsm__StatsView *v = resp->stats;

		out->isadb =
		    stat_value(v->main_mode, v->n_main_mode, "isadb_list_size");
		out->mm =
		    stat_value(v->main_mode, v->n_main_mode, "ike_main_mode");
		out->qm =
		    stat_value(v->main_mode, v->n_main_mode, "ike_quick_mode");
		out->negfail = stat_value(
		    v->main_mode, v->n_main_mode, "negotiation_failures");
		out->authfail = stat_value(
		    v->main_mode, v->n_main_mode, "authentication_failures");
		out->invalid = stat_value(
		    v->main_mode, v->n_main_mode, "invalid_packets_received");
		out->active_sas =
		    stat_value(v->quick_mode, v->n_quick_mode, "active_sas");
		out->badspi = stat_value(
		    v->quick_mode, v->n_quick_mode, "bad_spi_packets");
	}
	ipsm__response__free_unpacked(resp, NULL);
done:
	ctl_client_close(cl);
}

static void
print_round(const struct target *t, const struct sample *s, size_t n, int json)
{
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_pack("{s:s, s:s}", "host", t[i].name,
			    "status", s[i].error[0] ? "unreachable" : "ok");

			if (s[i].error[0]) {
				json_object_set_new(
				    o, "error", json_string(s[i].error));
			} else {
				json_object_set_new(
				    o, "policy", json_string(s[i].policy));
				json_object_set_new(o, "isadb_list_size",
				    json_integer((json_int_t)s[i].isadb));
				json_object_set_new(o, "ike_main_mode",
				    json_integer((json_int_t)s[i].mm));
				json_object_set_new(o, "ike_quick_mode",
				    json_integer((json_int_t)s[i].qm));
				json_object_set_new(o, "negotiation_failures",
				    json_integer((json_int_t)s[i].negfail));
				json_object_set_new(o,
				    "authentication_failures",
				    json_integer((json_int_t)s[i].authfail));
				json_object_set_new(o,
				    "invalid_packets_received",
				    json_integer((json_int_t)s[i].invalid));
				json_object_set_new(o, "active_sas",
				    json_integer((json_int_t)s[i].active_sas));
				json_object_set_new(o, "bad_spi_packets",
				    json_integer((json_int_t)s[i].badspi));
			}
			json_array_append_new(a, o);
		}
		json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(a);
	} else {
		struct table *tab =
		    table_new(sizeof(columns) / sizeof(columns[0]), columns);

		for (size_t i = 0; tab != NULL && i < n; i++) {
			char v[8][24];
			const uint64_t x[8] = {s[i].isadb, s[i].mm, s[i].qm,
			    s[i].negfail, s[i].authfail, s[i].invalid,
			    s[i].active_sas, s[i].badspi};
			const char *row[12] = {t[i].name,
			    s[i].error[0] ? "unreachable" : "ok",
			    s[i].error[0] ? "-" : s[i].policy};

			for (int k = 0; k < 8; k++) {
				snprintf(v[k], sizeof(v[k]), "%" PRIu64, x[k]);
				row[3 + k] = s[i].error[0] ? "-" : v[k];
			}
			row[11] = s[i].error;
			table_add(tab, row);
		}
		if (tab != NULL)
			table_print(tab, stdout);
		table_free(tab);
	}
	fflush(stdout);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ipsecmon-collector [options] NAME=SOCKET ...\n"
	    "  -i, --interval S   poll every S seconds (default: once)\n"
	    "  -n, --count N      stop after N rounds (with --interval)\n"
	    "  -t, --timeout MS   per-host timeout (default 2000)\n"
	    "      --json         JSON instead of a table\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interval", required_argument, NULL, 'i'},
	    {"count", required_argument, NULL, 'n'},
	    {"timeout", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct target *targets;
	struct sample *samples;
	int interval = 0, count = 0, timeout_ms = 2000, json = 0, c;
	size_t n;

	while ((c = getopt_long(argc, argv, "i:n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			interval = atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	n = (size_t)(argc - optind);
	if (n == 0 || n > MAX_TARGETS || interval < 0 || count < 0 ||
	    timeout_ms <= 0) {
		usage(stderr);
		return 2;
	}
	targets = calloc(n, sizeof(*targets));
	samples = calloc(n, sizeof(*samples));
	if (targets == NULL || samples == NULL)
		return 1;
	for (size_t i = 0; i < n; i++) {
		char *arg = argv[optind + (int)i], *eq = strchr(arg, '=');

		if (eq == NULL || eq == arg || eq[1] == '\0') {
			fprintf(stderr,
			    "ipsecmon-collector: '%s' is not "
			    "NAME=SOCKET\n",
			    arg);
			return 2;
		}
		*eq = '\0';
		targets[i].name = arg;
		targets[i].socket = eq + 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int round = 1;; round++) {
		for (size_t i = 0; i < n; i++)
			poll_target(&targets[i], timeout_ms, &samples[i]);
		print_round(targets, samples, n, json);
		if (interval == 0 || (count > 0 && round >= count))
			break;
		sleep((unsigned)interval);
	}
	free(targets);
	free(samples);
	return 0;
}
