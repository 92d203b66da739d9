/*
 * ipsecmon: the command line, in the manner of `netsh ipsec dynamic`.
 * Reads the daemon's live views through its control socket.
 *
 * Exit codes (docs/CLI.md): 0 success, 1 the daemon refused the request,
 * 2 usage error, 3 cannot reach the daemon.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/addr.h"
#include "spd/policy.h"
#include "spd/policy_edit.h"
#include "ctl/ctl_client.h"
#include "names.h"
#include "remote.h"
#include "render.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define EXIT_HELP (-1) /* parse_opts printed a command's help: exit 0 */

/* Which key=value options a command takes. */
enum {
	OPT_FORMAT = 1,
	OPT_TYPE = 2,
	OPT_ADDR = 4,
	OPT_RULE = 8,
	OPT_SETTINGS = 16, /* any other key=value is a setting */
	OPT_EVENTS = 32, /* since=, id=, peer=, max=, follow= */
	OPT_STATTYPE = 64, /* type=all|ike|ipsec */
	OPT_SAQ = 128, /* all, protocol= (with OPT_ADDR: the SA views) */
	OPT_KEYFMT = 256, /* --format wireshark, required */
	OPT_TRAFFIC = 512, /* protocol=, srcport=, dstport= (qmfilter) */
	OPT_MASK = 1024, /* srcmask=, dstmask= (the filter views) */
	OPT_EDIT = 2048, /* every key=value is the object's (policy_edit.h) */
	OPT_DNS = 4096 /* resolvedns=yes|no */
};

struct command {
	const char *verb, *noun;
	unsigned opts;
	const char *help;
};

static const struct command commands[] = {
    {"show", "policy", OPT_FORMAT, "the active policy (Active Policy)"},
    {"show", "mmfilter", OPT_FORMAT | OPT_TYPE | OPT_ADDR | OPT_MASK | OPT_DNS,
	"Main Mode filters, generic or specific (srcaddr= srcmask= dstaddr= "
	"dstmask=)"},
    {"show", "qmfilter",
	OPT_FORMAT | OPT_TYPE | OPT_ADDR | OPT_MASK | OPT_TRAFFIC | OPT_DNS,
	"Quick Mode filters, generic or specific (srcaddr= srcmask= "
	"dstaddr= dstmask= protocol= srcport= dstport=)"},
    {"show", "mmpolicy", OPT_FORMAT, "Main Mode offers (IKE policies)"},
    {"show", "qmpolicy", OPT_FORMAT,
	"Quick Mode offers (negotiation policies)"},
    {"show", "stats", OPT_FORMAT | OPT_STATTYPE,
	"Main Mode and Quick Mode statistics (type=all|ike|ipsec)"},
    {"show", "mmsas", OPT_FORMAT | OPT_ADDR | OPT_SAQ | OPT_DNS,
	"Main Mode security associations ([all] srcaddr= dstaddr=)"},
    {"show", "qmsas", OPT_FORMAT | OPT_ADDR | OPT_SAQ | OPT_DNS,
	"Quick Mode security associations ([all] srcaddr= dstaddr= "
	"protocol=)"},
    {"show", "config", OPT_FORMAT, "the engine's settings (set config)"},
    {"show", "all", OPT_FORMAT | OPT_DNS,
	"every view: policy, offers, generic filters, SAs, statistics, "
	"settings"},
    {"show", "events", OPT_FORMAT | OPT_EVENTS,
	"recent audit events 541-547 (since= id= peer= max= follow=yes)"},
    {"set", "config", OPT_FORMAT | OPT_SETTINGS,
	"change settings, e.g. ikeaudits=0 (kept across restarts)"},
    {"initiate", NULL, OPT_FORMAT | OPT_RULE,
	"start Main Mode for a rule (rule=NAME [peer=IP])"},
    {"reload", NULL, OPT_FORMAT, "re-read the policy file"},
/* the dynamic store: netsh ipsec dynamic's add, delete and set */
#define EDIT_COMMANDS(verb, does) \
	{verb, "rule", OPT_FORMAT | OPT_EDIT, \
	    does " a rule (name= filterlist= filteraction= mmpolicy= " \
		 "tunnel= psk= ...)"}, \
	    {verb, "filteraction", OPT_FORMAT | OPT_EDIT, \
		does " a filter action (name= action= qmpolicy=)"}, \
	    {verb, "filter", OPT_FORMAT | OPT_EDIT, \
		does " a filter of a list (filterlist= position= srcaddr= " \
		     "dstaddr= ...)"}, \
	    {verb, "mmoffer", OPT_FORMAT | OPT_EDIT, \
		does " a Main Mode offer (mmpolicy= position= encryption= " \
		     "...)"}, \
	{ \
		verb, "qmoffer", OPT_FORMAT | OPT_EDIT, \
		    does " a Quick Mode offer (qmpolicy= position= esp= ...)" \
	}
    EDIT_COMMANDS("add", "add"),
    EDIT_COMMANDS("delete", "delete"),
    EDIT_COMMANDS("set", "change"),
#undef EDIT_COMMANDS
    {"export-keys", NULL, OPT_KEYFMT,
	"the live SAs' keys for Wireshark (--format wireshark; root only)"},
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ipsecmon [--socket PATH | --host HOST[:PORT] "
	    "[--community C | --user U]]\n"
	    "                [--timeout MS] COMMAND [key=value ...]\n\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s%s%s", commands[i].verb,
		    commands[i].noun ? " " : "",
		    commands[i].noun ? commands[i].noun : "");
		fprintf(f, "  %-16s %s\n", name, commands[i].help);
	}
	fprintf(f,
	    "\noptions:\n"
	    "  format=table|list|json   output format (all commands)\n"
	    "  type=generic|specific    filter view (default generic)\n"
	    "  srcaddr=any|me|IP        filters matching this source\n"
	    "  dstaddr=any|me|IP        filters matching this "
	    "destination\n"
	    "  srcmask=, dstmask=       with an IP: the subnet around it "
	    "(24 or 255.255.255.0)\n"
	    "  rule=NAME peer=IP        what initiate starts\n"
	    "  NAME=VALUE               a setting for set config (see show "
	    "config)\n"
	    "\nThe socket defaults to $IPSECMON_SOCKET, "
	    "else " CTL_DEFAULT_SOCKET ".\n"
	    "--host reads a show command's view from HOST's SNMP agent "
	    "instead\n"
	    "(IPSECMON-MIB, SNMPv2c, community default public).  --user U "
	    "speaks SNMPv3\n"
	    "(authPriv, SHA-256/AES) with the passphrases in "
	    "$IPSECMON_SNMP_AUTH_PASS and\n"
	    "$IPSECMON_SNMP_PRIV_PASS.\n");
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: say what is wrong, point at --help. */
static int
bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ipsecmon: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try: ipsecmon --help)\n");
	return EXIT_USAGE;
}

/* `ipsecmon VERB NOUN --help`: what the command does and takes. */
static void
command_help(const struct command *c, FILE *f)
{
	fprintf(f, "usage: ipsecmon %s%s%s [key=value ...]\n\n%s\n", c->verb,
	    c->noun ? " " : "", c->noun ? c->noun : "", c->help);
	fprintf(f, "\noptions:\n");
	if (c->opts & OPT_FORMAT)
		fprintf(f, "  format=table|list|json\n");
	if (c->opts & OPT_TYPE)
		fprintf(f, "  type=generic|specific\n");
	if (c->opts & OPT_STATTYPE)
		fprintf(f, "  type=all|ike|ipsec\n");
	if (c->opts & OPT_ADDR)
		fprintf(f, "  srcaddr=any|me|IP  dstaddr=any|me|IP\n");
	if (c->opts & OPT_DNS)
		fprintf(f,
		    "  resolvedns=yes   addresses shown by their names "
		    "(reverse lookups, 2 s at most)\n");
	if (c->opts & OPT_MASK)
		fprintf(f,
		    "  srcmask=LEN|MASK  dstmask=LEN|MASK (with an IP "
		    "srcaddr=/dstaddr=)\n");
	if (c->opts & OPT_TRAFFIC)
		fprintf(
		    f, "  protocol=any|icmp|tcp|udp|N  srcport=N  dstport=N\n");
	if (c->opts & OPT_RULE)
		fprintf(f, "  rule=NAME  peer=IP\n");
	if (c->opts & OPT_EVENTS)
		fprintf(f,
		    "  since=10m|2h|1d|2026-12-02T01:00:00Z  id=541..547  "
		    "peer=IP  max=N\n"
		    "  follow=yes (or --since T --id N --peer IP "
		    "--follow)\n");
	if (c->opts & OPT_EDIT) {
		fprintf(f, " ");
		for (const char *const *k = pe_keys(c->noun); k && *k; k++)
			fprintf(f, " %s=", *k);
		fprintf(f,
		    "\n  (values as in the policy file; docs/CLI.md, "
		    "Dynamic changes)\n");
	}
	if (c->opts & OPT_SETTINGS)
		fprintf(f,
		    "  NAME=VALUE ...   (ipsecmon show config lists "
		    "them)\n");
	if (strcmp(c->verb, "show") == 0)
		fprintf(f,
		    "\nWith --refresh N (before the command) the view "
		    "is redrawn every N seconds.\n");
}

/*
 * `ipsecmon __complete WORD...`: the words that may come next, one a line,
 * for cli/ipsecmon-completion.bash, from the one command table.
 */
static int
complete(int argc, char **argv)
{
	static const char *const takes_arg[] = {"--socket", "--timeout",
	    "--host", "--community", "--user", "--refresh"};
	const char *w[2] = {NULL, NULL};
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		bool skip = false;

		for (size_t k = 0; k < sizeof(takes_arg) / sizeof(takes_arg[0]);
		     k++)
			skip |= strcmp(argv[i], takes_arg[k]) == 0;
		if (skip)
			i++; /* and its argument */
		else if (argv[i][0] != '-' && n < 2)
			w[n++] = argv[i];
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		bool dup = false;

		if (n == 0) { /* verbs, once each */
			for (size_t j = 0; j < i; j++)
				dup |= strcmp(commands[j].verb, c->verb) == 0;
			if (!dup)
				printf("%s\n", c->verb);
		} else if (n == 1 && strcmp(w[0], c->verb) == 0 &&
		    c->noun != NULL) {
			printf("%s\n", c->noun);
		} else if (strcmp(w[0], c->verb) == 0 &&
		    (c->noun == NULL ? n == 1
				     : n == 2 && strcmp(w[1], c->noun) == 0)) {
			printf("--help\n");
			if (c->opts & OPT_FORMAT)
				printf(
				    "format=table\nformat=list\nformat=json\n");
			if (c->opts & OPT_TYPE)
				printf("type=generic\ntype=specific\n");
			if (c->opts & OPT_STATTYPE)
				printf("type=all\ntype=ike\ntype=ipsec\n");
			if (c->opts & OPT_ADDR)
				printf("srcaddr=\ndstaddr=\n");
			if (c->opts & OPT_MASK)
				printf("srcmask=\ndstmask=\n");
			if (c->opts & OPT_DNS)
				printf("resolvedns=yes\n");
			for (const char *const *k =
				 c->opts & OPT_EDIT ? pe_keys(c->noun) : NULL;
			     k != NULL && *k != NULL; k++)
				printf("%s=\n", *k);
			if (c->opts & OPT_TRAFFIC)
				printf("protocol=\nsrcport=\ndstport=\n");
			if (c->opts & OPT_RULE)
				printf("rule=\npeer=\n");
			if (c->opts & OPT_EVENTS)
				printf(
				    "since=\nid=\npeer=\nmax=\nfollow=yes\n");
		}
	}
	if (n == 0)
		printf("help\n");
	return 0;
}

static int
parse_addr(const char *v, Ipsm__AddrQuery *q)
{
	struct ips_addr a;

	if (strcmp(v, "any") == 0) {
		q->kind = IPSM__ADDR_QUERY__KIND__ANY;
	} else if (strcmp(v, "me") == 0) {
		q->kind = IPSM__ADDR_QUERY__KIND__ME;
	} else if (ips_addr_parse(v, &a)) {
		q->kind = IPSM__ADDR_QUERY__KIND__ADDR;
		q->addr = (char *)v;
	} else {
		return -1;
	}
	return 0;
}

/* A mask as a prefix length: "24", "/24" or "255.255.255.0" (IPv6 too);
 * 0 if bad.  af is the family a dotted mask is written in. */
static int
parse_mask(const char *v, unsigned *plen, int *af)
{
	struct ips_addr m;
	char *end;
	unsigned long n;
	unsigned i, bits;

	*af = 0;
	if (*v == '/')
		v++;
	if (*v >= '0' && *v <= '9' && (n = strtoul(v, &end, 10), *end == 0)) {
		if (n == 0 || n > 128)
			return 0;
		*plen = (unsigned)n;
		return 1;
	}
	if (!ips_addr_parse(v, &m))
		return 0;
	bits = ips_addr_bits(m.af);
	for (i = 0; i < bits && (m.b[i / 8] >> (7 - i % 8)) & 1; i++)
		;
	for (unsigned j = i; j < bits; j++)
		if ((m.b[j / 8] >> (7 - j % 8)) & 1)
			return 0; /* not contiguous */
	if (i == 0)
		return 0;
	*plen = i;
	*af = m.af;
	return 1;
}

/* srcmask=/dstmask= onto their address, once every option is read. */
static int
apply_mask(const char *name, const char *v, Ipsm__AddrQuery *q)
{
	struct ips_addr a;
	unsigned plen;
	int af;

	if (v == NULL)
		return 0;
	if (!parse_mask(v, &plen, &af))
		return bad("%s must be a prefix length (24) or a contiguous "
			   "mask (255.255.255.0), not '%s'",
		    name, v);
	if (q->kind != IPSM__ADDR_QUERY__KIND__ADDR ||
	    !ips_addr_parse(q->addr, &a))
		return bad("%s needs an IP address in %s=", name,
		    name[0] == 's' ? "srcaddr" : "dstaddr");
	if ((af != 0 && af != a.af) || plen > ips_addr_bits(a.af))
		return bad("%s does not fit %s", name, q->addr);
	q->plen = plen;
	return 0;
}

/* `set config`'s items, in the request. */
#define MAX_SETTINGS 32
struct set_args {
	Ipsm__SetConfig sc;
	Ipsm__ConfigItem item[MAX_SETTINGS];
	Ipsm__ConfigItem *ptr[MAX_SETTINGS];
};

/* What show events and show stats take besides the request's own. */
struct show_args {
	Ipsm__ShowEvents se;
	bool follow;
	enum { STATS_ALL, STATS_IKE, STATS_IPSEC } stats;
	const char *protocol; /* show qmsas protocol= */
	const char *srcmask, *dstmask; /* the filter views' */
	bool resolve; /* resolvedns=yes */
	struct names *names; /* its lookups and their cache */
	bool keys; /* export-keys --format wireshark given */
};

static int
parse_event_opt(const char *k, const char *v, struct show_args *ea)
{
	char *end;
	unsigned long n;
	struct timespec now;

	if (strcmp(k, "follow") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return bad("follow must be yes or no, not '%s'", v);
		ea->follow = strcmp(v, "yes") == 0;
		return 0;
	}
	if (strcmp(k, "since") == 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		if (!events_parse_since(v,
			(int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
			&ea->se.since_ms))
			return bad("since must be like 10m, 2h, 1d or "
				   "2026-12-02T01:00:00Z, not '%s'",
			    v);
		return 0;
	}
	if (strcmp(k, "peer") == 0) {
		struct ips_addr a;

		if (!ips_addr_parse(v, &a))
			return bad("peer must be an IP address, not '%s'", v);
		ea->se.peer = (char *)v;
		return 0;
	}
	n = strtoul(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n > 100000)
		return bad("%s must be a number, not '%s'", k, v);
	if (strcmp(k, "id") == 0 && (n < 541 || n > 547))
		return bad("id must be an audit event, 541..547, not '%s'", v);
	if (strcmp(k, "id") == 0)
		ea->se.id = (uint32_t)n;
	else
		ea->se.max = (uint32_t)n;
	return 0;
}

/* Which of the n words v is; -1 if none. */
static int
keyword(const char *v, const char *const *words, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v, words[i]) == 0)
			return i;
	return -1;
}

/* Parse key=value options into the request; returns an exit code or 0. */
static int
parse_opts(const struct command *cmd, int argc, char **argv,
    Ipsm__ShowFilters *sf, Ipsm__Initiate *in, struct set_args *sa,
    struct show_args *ea, enum render_format *fmt)
{
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *v;

		if (strcmp(argv[i], "--help") == 0) {
			command_help(cmd, stdout);
			return EXIT_HELP;
		}
		if (cmd->opts & OPT_KEYFMT &&
		    (strcmp(argv[i], "format=wireshark") == 0 ||
			(strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
			    strcmp(argv[i + 1], "wireshark") == 0))) {
			i += argv[i][1] == '-';
			ea->keys = true;
			continue;
		}
		if (cmd->opts & OPT_SAQ && strcmp(argv[i], "all") == 0)
			continue; /* netsh's: every SA, which is the default */
		/* show events also takes --since T --id N --peer IP --follow */
		if (cmd->opts & OPT_EVENTS && strncmp(argv[i], "--", 2) == 0) {
			const char *k = argv[i] + 2;
			int rc;

			if (strcmp(k, "follow") == 0)
				rc = parse_event_opt("follow", "yes", ea);
			else if (i + 1 < argc &&
			    (strcmp(k, "since") == 0 || strcmp(k, "id") == 0 ||
				strcmp(k, "peer") == 0 ||
				strcmp(k, "max") == 0))
				rc = parse_event_opt(k, argv[++i], ea);
			else
				rc = bad("'%s' is not an option of show "
					 "events",
				    argv[i]);
			if (rc != 0)
				return rc;
			continue;
		}
		if (eq == NULL)
			return bad("expected key=value, got '%s'", argv[i]);
		*eq = '\0';
		v = eq + 1;
		if (strcmp(argv[i], "format") == 0 && cmd->opts & OPT_FORMAT) {
			static const char *const f[] = {
			    "table", "list", "json"};
			static const enum render_format fv[] = {
			    RENDER_TABLE, RENDER_LIST, RENDER_JSON};
			int x = keyword(v, f, 3);

			if (x < 0)
				return bad("format must be table, list or "
					   "json, not '%s'",
				    v);
			*fmt = fv[x];
		} else if (strcmp(argv[i], "type") == 0 &&
		    cmd->opts & OPT_STATTYPE) {
			static const char *const t[] = {"all", "ike", "ipsec"};
			int x = keyword(v, t, 3);

			if (x < 0)
				return bad("type must be all, ike or ipsec, "
					   "not '%s'",
				    v);
			ea->stats = x == 0 ? STATS_ALL
			    : x == 1	   ? STATS_IKE
					   : STATS_IPSEC;
		} else if (strcmp(argv[i], "type") == 0 &&
		    cmd->opts & OPT_TYPE) {
			static const char *const t[] = {"generic", "specific"};
			int x = keyword(v, t, 2);

			if (x < 0)
				return bad("type must be generic or specific, "
					   "not '%s'",
				    v);
			sf->type = x == 0 ? IPSM__FILTER_TYPE__GENERIC
					  : IPSM__FILTER_TYPE__SPECIFIC;
		} else if ((strcmp(argv[i], "srcaddr") == 0 ||
			       strcmp(argv[i], "dstaddr") == 0) &&
		    cmd->opts & OPT_ADDR) {
			bool src = argv[i][0] == 's';

			if (parse_addr(v, src ? sf->src : sf->dst) != 0)
				return bad("address must be any, me or an IP "
					   "address, not '%s'",
				    v);
		} else if (strcmp(argv[i], "resolvedns") == 0 &&
		    cmd->opts & OPT_DNS) {
			static const char *const yn[] = {"no", "yes"};
			int x = keyword(v, yn, 2);

			if (x < 0)
				return bad("resolvedns must be yes or no, not "
					   "'%s'",
				    v);
			ea->resolve = x == 1;
		} else if ((strcmp(argv[i], "srcmask") == 0 ||
			       strcmp(argv[i], "dstmask") == 0) &&
		    cmd->opts & OPT_MASK) {
			if (argv[i][0] == 's')
				ea->srcmask = v;
			else
				ea->dstmask = v;
		} else if ((strcmp(argv[i], "srcport") == 0 ||
			       strcmp(argv[i], "dstport") == 0) &&
		    cmd->opts & OPT_TRAFFIC) {
			char *end;
			unsigned long port = strtoul(v, &end, 10);

			if (*v == '\0' || *end != '\0' || port > 65535)
				return bad("%s must be a port, 0-65535, not "
					   "'%s'",
				    argv[i], v);
			if (argv[i][0] == 's')
				sf->src_port = (uint32_t)port;
			else
				sf->dst_port = (uint32_t)port;
		} else if (strcmp(argv[i], "protocol") == 0 &&
		    (cmd->opts & OPT_TRAFFIC ||
			(cmd->opts & OPT_SAQ &&
			    strcmp(cmd->noun, "qmsas") == 0))) {
			/* qmfilter's traffic, or qmsas's selectors */
			uint8_t pn;

			if (!pol_proto_parse(v, &pn))
				return bad("protocol must be any, icmp, tcp, "
					   "udp, ipv6-icmp or 0-255, not '%s'",
				    v);
			if (cmd->opts & OPT_TRAFFIC)
				sf->protocol = (char *)v;
			else
				ea->protocol = v;
		} else if (strcmp(argv[i], "rule") == 0 &&
		    cmd->opts & OPT_RULE) {
			in->rule = (char *)v;
		} else if (strcmp(argv[i], "peer") == 0 &&
		    cmd->opts & OPT_RULE) {
			in->peer = (char *)v;
		} else if (cmd->opts & OPT_EVENTS &&
		    (strcmp(argv[i], "since") == 0 ||
			strcmp(argv[i], "id") == 0 ||
			strcmp(argv[i], "peer") == 0 ||
			strcmp(argv[i], "max") == 0 ||
			strcmp(argv[i], "follow") == 0)) {
			int rc = parse_event_opt(argv[i], v, ea);

			if (rc != 0)
				return rc;
		} else if (cmd->opts & (OPT_SETTINGS | OPT_EDIT)) {
			/* the daemon knows the settings: it says which
			 * name or value is wrong */
			Ipsm__ConfigItem *it = &sa->item[sa->sc.n_items];

			if (sa->sc.n_items == MAX_SETTINGS)
				return bad("at most %d settings at a time",
				    MAX_SETTINGS);
			ipsm__config_item__init(it);
			it->key = argv[i];
			it->value = (char *)v;
			sa->ptr[sa->sc.n_items++] = it;
		} else {
			return bad(
			    "'%s' is not an option of this command", argv[i]);
		}
	}
	if (apply_mask("srcmask", ea->srcmask, sf->src) != 0 ||
	    apply_mask("dstmask", ea->dstmask, sf->dst) != 0)
		return EXIT_USAGE;
	return 0;
}

/* Render, leaving out the statistics section type= does not ask for
 * (the view itself stays whole, for its owner to free). */
static int
show(Ipsm__Response *resp, enum render_format fmt, const struct show_args *ea,
    FILE *f)
{
	Ipsm__StatsView *sv =
	    resp->view_case == IPSM__RESPONSE__VIEW_STATS ? resp->stats : NULL;
	size_t nmm = sv ? sv->n_main_mode : 0, nqm = sv ? sv->n_quick_mode : 0;
	int rc;

	if (sv != NULL && ea->stats == STATS_IKE)
		sv->n_quick_mode = 0;
	if (sv != NULL && ea->stats == STATS_IPSEC)
		sv->n_main_mode = 0;
	if (ea->names != NULL)
		names_apply(ea->names, resp);
	rc = render_response(resp, fmt, f);
	if (ea->names != NULL)
		names_restore(ea->names); /* resp's own strings, to be freed */
	if (sv != NULL) {
		sv->n_main_mode = nmm;
		sv->n_quick_mode = nqm;
	}
	return rc;
}

static volatile sig_atomic_t stop_following;

static void
on_interrupt(int sig)
{
	(void)sig;
	stop_following = 1;
}

/* Ctrl-C and SIGTERM end --follow and --refresh cleanly (status 0). */
static void
catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * show events follow=yes: the newest (max, default 10), then each new
 * one as a line, asking the daemon every half second for what came after
 * the last it gave; Ctrl-C (or SIGTERM) ends it with status 0.
 */
static int
follow_events(struct ctl_client *cl, Ipsm__Request *req, Ipsm__ShowEvents *se,
    enum render_format fmt)
{
	char err[512];
	int rc = 0;

	catch_interrupts();
	if (se->max == 0)
		se->max = 10;
	while (!stop_following) {
		Ipsm__Response *resp;

		if (!ips_ok(
			ctl_client_call(cl, req, &resp, err, sizeof(err)))) {
			if (stop_following)
				break;
			fprintf(stderr, "ipsecmon: %s\n", err);
			rc = EXIT_UNREACHABLE;
			break;
		}
		if (resp->status != 0 ||
		    resp->view_case != IPSM__RESPONSE__VIEW_EVENTS) {
			fprintf(stderr, "ipsecmon: %s\n",
			    resp->error ? resp->error : "no events view");
			ipsm__response__free_unpacked(resp, NULL);
			rc = EXIT_REFUSED;
			break;
		}
		render_events(resp->events, fmt, true, stdout);
		if (resp->events->last > se->after)
			se->after = resp->events->last;
		se->max = 0; /* from now on: everything new */
		ipsm__response__free_unpacked(resp, NULL);
		for (int i = 0; i < 5 && !stop_following; i++)
			usleep(100000);
	}
	ctl_client_close(cl);
	return rc;
}

/* export-keys' answer: its key texts wiped before they are freed. */
static void
wipe_keys(Ipsm__Response *resp)
{
	if (resp->view_case != IPSM__RESPONSE__VIEW_KEYS)
		return;
	for (size_t i = 0; i < resp->keys->n_ike; i++)
		explicit_bzero(
		    resp->keys->ike[i]->key, strlen(resp->keys->ike[i]->key));
	for (size_t i = 0; i < resp->keys->n_esp; i++) {
		Ipsm__EspKey *k = resp->keys->esp[i];

		explicit_bzero(k->encryption_key, strlen(k->encryption_key));
		explicit_bzero(k->integrity_key, strlen(k->integrity_key));
	}
}

/* One request and its view: over SNMP when host, else the socket. */
static int
run_once(const char *host, const struct remote_auth *auth, const char *sock,
    int timeout_ms, Ipsm__Request *req, enum render_format fmt,
    const struct show_args *ea, FILE *f)
{
	struct ctl_client *cl;
	Ipsm__Response *resp;
	char err[512];
	int rc;

	if (host != NULL) {
		if (remote_show(host, auth, timeout_ms, req, &resp, err,
			sizeof(err)) != 0) {
			fprintf(stderr, "ipsecmon: %s\n", err);
			return EXIT_UNREACHABLE;
		}
		rc = show(resp, fmt, ea, f) == 0 ? 0 : EXIT_REFUSED;
		remote_free(resp);
		return rc;
	}
	if (!ips_ok(
		ctl_client_connect(sock, timeout_ms, &cl, err, sizeof(err)))) {
		fprintf(stderr, "ipsecmon: %s\n", err);
		return EXIT_UNREACHABLE;
	}
	/* Ctrl-C in --refresh ends a call the daemon is slow to answer */
	ctl_client_stop_on(cl, &stop_following);
	if (!ips_ok(ctl_client_call(cl, req, &resp, err, sizeof(err)))) {
		ctl_client_close(cl);
		if (stop_following)
			return 0;
		fprintf(stderr, "ipsecmon: %s\n", err);
		return EXIT_UNREACHABLE;
	}
	ctl_client_close(cl);
	if (resp->status != 0) {
		fprintf(stderr, "ipsecmon: %s\n", resp->error);
		ipsm__response__free_unpacked(resp, NULL);
		return EXIT_REFUSED;
	}
	rc = show(resp, fmt, ea, f) == 0 ? 0 : EXIT_REFUSED;
	if (rc != 0)
		fprintf(stderr, "ipsecmon: the daemon sent no view\n");
	wipe_keys(resp);
	ipsm__response__free_unpacked(resp, NULL);
	return rc;
}

/*
 * show all: every view in turn, each under its title; in JSON one object
 * with a member per view.  Over --host, what SNMP serves (no settings).
 */
static int
run_all(const char *host, const struct remote_auth *auth, const char *sock,
    int timeout_ms, enum render_format fmt, const struct show_args *ea)
{
	Ipsm__ShowPolicy sp = IPSM__SHOW_POLICY__INIT;
	Ipsm__ShowMmPolicy smp = IPSM__SHOW_MM_POLICY__INIT;
	Ipsm__ShowQmPolicy sqp = IPSM__SHOW_QM_POLICY__INIT;
	Ipsm__ShowFilters mmf = IPSM__SHOW_FILTERS__INIT,
			  qmf = IPSM__SHOW_FILTERS__INIT;
	Ipsm__ShowMmSas smm = IPSM__SHOW_MM_SAS__INIT;
	Ipsm__ShowQmSas sqm = IPSM__SHOW_QM_SAS__INIT;
	Ipsm__ShowStats ss = IPSM__SHOW_STATS__INIT;
	Ipsm__ShowConfig sc = IPSM__SHOW_CONFIG__INIT;
	Ipsm__Request r[9];
	static const char *const titles[9] = {"Active Policy",
	    "Main Mode Policies", "Quick Mode Policies",
	    "Main Mode Generic Filters", "Quick Mode Generic Filters",
	    "Main Mode Security Associations",
	    "Quick Mode Security Associations", "Statistics", "Settings"};
	static const char *const keys[9] = {"policy", "mmpolicy", "qmpolicy",
	    "mmfilter", "qmfilter", "mmsas", "qmsas", "stats", "config"};
	size_t n = host != NULL ? 8 : 9;
	int rc = 0;

	mmf.mode = IPSM__FILTER_MODE__MAIN_MODE;
	qmf.mode = IPSM__FILTER_MODE__QUICK_MODE;
	sqm.protocol = (char *)"";
	for (size_t i = 0; i < 9; i++)
		ipsm__request__init(&r[i]);
	r[0].op_case = IPSM__REQUEST__OP_SHOW_POLICY, r[0].show_policy = &sp;
	r[1].op_case = IPSM__REQUEST__OP_SHOW_MMPOLICY;
	r[1].show_mmpolicy = &smp;
	r[2].op_case = IPSM__REQUEST__OP_SHOW_QMPOLICY;
	r[2].show_qmpolicy = &sqp;
	r[3].op_case = IPSM__REQUEST__OP_SHOW_FILTERS, r[3].show_filters = &mmf;
	r[4].op_case = IPSM__REQUEST__OP_SHOW_FILTERS, r[4].show_filters = &qmf;
	r[5].op_case = IPSM__REQUEST__OP_SHOW_MMSAS, r[5].show_mmsas = &smm;
	r[6].op_case = IPSM__REQUEST__OP_SHOW_QMSAS, r[6].show_qmsas = &sqm;
	r[7].op_case = IPSM__REQUEST__OP_SHOW_STATS, r[7].show_stats = &ss;
	r[8].op_case = IPSM__REQUEST__OP_SHOW_CONFIG, r[8].show_config = &sc;
	if (fmt == RENDER_JSON)
		printf("{\n");
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (fmt == RENDER_JSON) {
			/* each view's own JSON, as a member */
			char *text = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&text, &len);

			if (m == NULL)
				return EXIT_REFUSED;
			rc = run_once(
			    host, auth, sock, timeout_ms, &r[i], fmt, ea, m);
			fclose(m);
			while (len > 0 && text[len - 1] == '\n')
				text[--len] = '\0';
			if (rc == 0)
				printf("%s\"%s\": %s", i > 0 ? ",\n" : "",
				    keys[i], text);
			free(text);
			continue;
		}
		printf("%s=== %s ===\n\n", i > 0 ? "\n" : "", titles[i]);
		fflush(stdout);
		rc = run_once(
		    host, auth, sock, timeout_ms, &r[i], fmt, ea, stdout);
	}
	if (fmt == RENDER_JSON)
		printf("\n}\n"); /* whole JSON even when a view failed */
	return rc;
}

/* The request's view: once, or (--refresh) redrawn every N seconds, as
 * the snap-in's refresh; Ctrl-C ends that with status 0. */
static int
run_views(const char *host, const struct remote_auth *auth, const char *sock,
    int timeout_ms, const struct command *cmd, Ipsm__Request *req,
    enum render_format fmt, const struct show_args *ea, unsigned refresh_s)
{
	bool all = strcmp(cmd->noun ? cmd->noun : "", "all") == 0;
	int rc;

	if (refresh_s == 0)
		return all ? run_all(host, auth, sock, timeout_ms, fmt, ea)
			   : run_once(host, auth, sock, timeout_ms, req, fmt,
				 ea, stdout);
	catch_interrupts();
	for (;;) {
		time_t now = time(NULL);
		char when[32];

		if (isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout); /* home, clear */
		strftime(
		    when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
		printf("Every %us: ipsecmon %s%s%s    %s\n\n", refresh_s,
		    cmd->verb, cmd->noun ? " " : "", cmd->noun ? cmd->noun : "",
		    when);
		rc = all ? run_all(host, auth, sock, timeout_ms, fmt, ea)
			 : run_once(host, auth, sock, timeout_ms, req, fmt, ea,
			       stdout);
		fflush(stdout);
		if (rc != 0)
			return rc;
		for (unsigned k = 0; k < refresh_s * 10 && !stop_following; k++)
			usleep(100000);
		if (stop_following)
			return 0;
	}
}

static const struct command *
find_command(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[0], c->verb) != 0)
			continue;
		if (c->noun == NULL) {
			*used = 1;
			return c;
		}
		if (argc > 1 && strcmp(argv[1], c->noun) == 0) {
			*used = 2;
			return c;
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"host", required_argument, NULL, 'H'},
	    {"community", required_argument, NULL, 'C'},
	    {"user", required_argument, NULL, 'U'},
	    {"refresh", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *sock = getenv("IPSECMON_SOCKET");
	const char *host = NULL;
	struct remote_auth auth = {"public", NULL, NULL, NULL};
	int timeout_ms = 10000, used, c, rc;
	unsigned refresh_s = 0; /* --refresh: redraw every this many s */
	Ipsm__Request req = IPSM__REQUEST__INIT;
	Ipsm__ShowFilters sf = IPSM__SHOW_FILTERS__INIT;
	Ipsm__AddrQuery qs = IPSM__ADDR_QUERY__INIT,
			qd = IPSM__ADDR_QUERY__INIT;
	Ipsm__ShowPolicy sp = IPSM__SHOW_POLICY__INIT;
	Ipsm__ShowMmPolicy smp = IPSM__SHOW_MM_POLICY__INIT;
	Ipsm__ShowQmPolicy sqp = IPSM__SHOW_QM_POLICY__INIT;
	Ipsm__ShowStats ss = IPSM__SHOW_STATS__INIT;
	Ipsm__Reload rl = IPSM__RELOAD__INIT;
	Ipsm__ShowMmSas smm = IPSM__SHOW_MM_SAS__INIT;
	Ipsm__ShowQmSas sqm = IPSM__SHOW_QM_SAS__INIT;
	Ipsm__Initiate ini = IPSM__INITIATE__INIT;
	Ipsm__ShowConfig shc = IPSM__SHOW_CONFIG__INIT;
	Ipsm__ExportKeys exk = IPSM__EXPORT_KEYS__INIT;
	Ipsm__EditPolicy edp = IPSM__EDIT_POLICY__INIT;
	struct set_args sa;
	struct show_args ea;
	enum render_format fmt = RENDER_DEFAULT;
	const struct command *cmd;
	struct ctl_client *cl;
	char err[512];

	if (argc > 1 && strcmp(argv[1], "__complete") == 0)
		return complete(argc - 2, argv + 2);
	if (sock == NULL || *sock == '\0')
		sock = CTL_DEFAULT_SOCKET;
	while ((c = getopt_long(argc, argv, "+s:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout_ms = atoi(optarg);
			if (timeout_ms <= 0)
				return bad("timeout must be a positive number "
					   "of milliseconds, not '%s'",
				    optarg);
			break;
		case 'H':
			host = optarg;
			break;
		case 'R': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || n < 1 ||
			    n > 86400)
				return bad("refresh must be 1..86400 seconds, "
					   "not '%s'",
				    optarg);
			refresh_s = (unsigned)n;
			break;
		}
		case 'C':
			auth.community = optarg;
			break;
		case 'U':
			/* the passphrases from the environment: on the
			 * command line, ps would show them */
			auth.user = optarg;
			auth.auth_pass = getenv("IPSECMON_SNMP_AUTH_PASS");
			auth.priv_pass = getenv("IPSECMON_SNMP_PRIV_PASS");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || strcmp(argv[0], "help") == 0) {
		usage(argc == 0 ? stderr : stdout);
		return argc == 0 ? EXIT_USAGE : 0;
	}
	if ((cmd = find_command(argc, argv, &used)) == NULL)
		return bad("unknown command '%s'", argv[argc > 1 ? 1 : 0]);
	sf.src = &qs;
	sf.dst = &qd;
	memset(&sa, 0, sizeof(sa));
	ipsm__set_config__init(&sa.sc);
	sa.sc.items = sa.ptr;
	memset(&ea, 0, sizeof(ea));
	ipsm__show_events__init(&ea.se);
	if ((rc = parse_opts(cmd, argc - used, argv + used, &sf, &ini, &sa, &ea,
		 &fmt)) != 0)
		return rc == EXIT_HELP ? 0 : rc;

	if (strcmp(cmd->verb, "export-keys") == 0) {
		if (!ea.keys)
			return bad(
			    "export-keys needs --format wireshark%s", "");
		if (host != NULL)
			return bad(
			    "export-keys: on the host itself, never over "
			    "SNMP%s",
			    "");
		/* said before the keys come: what this is */
		fprintf(stderr,
		    "ipsecmon: WARNING: these are the live keys of every SA. "
		    "With them anyone\n"
		    "can read this host's protected traffic.  Keep them "
		    "private and delete\n"
		    "them when the capture is read.\n");
		/* the keys will be in this process: never in a core dump */
		{
			const struct rlimit none = {0, 0};

			(void)setrlimit(RLIMIT_CORE, &none);
			(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		}
		req.op_case = IPSM__REQUEST__OP_EXPORT_KEYS;
		req.export_keys = &exk;
	} else if (cmd->opts & OPT_EDIT) {
		static const Ipsm__EditPolicy__Op ops[] = {
		    IPSM__EDIT_POLICY__OP__ADD, IPSM__EDIT_POLICY__OP__DELETE,
		    IPSM__EDIT_POLICY__OP__SET};
		static const char *const verbs[] = {"add", "delete", "set"};

		edp.op = ops[keyword(cmd->verb, verbs, 3)];
		edp.object = (char *)cmd->noun;
		edp.items = sa.sc.items;
		edp.n_items = sa.sc.n_items;
		req.op_case = IPSM__REQUEST__OP_EDIT_POLICY;
		req.edit_policy = &edp;
	} else if (strcmp(cmd->verb, "initiate") == 0) {
		if (ini.rule == NULL || *ini.rule == '\0')
			return bad("initiate needs rule=NAME%s", "");
		req.op_case = IPSM__REQUEST__OP_INITIATE;
		req.initiate = &ini;
	} else if (cmd->noun == NULL) {
		req.op_case = IPSM__REQUEST__OP_RELOAD;
		req.reload = &rl;
	} else if (strcmp(cmd->noun, "mmsas") == 0) {
		req.op_case = IPSM__REQUEST__OP_SHOW_MMSAS;
		smm.src = &qs;
		smm.dst = &qd;
		req.show_mmsas = &smm;
	} else if (strcmp(cmd->noun, "qmsas") == 0) {
		req.op_case = IPSM__REQUEST__OP_SHOW_QMSAS;
		sqm.src = &qs;
		sqm.dst = &qd;
		sqm.protocol = (char *)(ea.protocol ? ea.protocol : "");
		req.show_qmsas = &sqm;
	} else if (strcmp(cmd->noun, "policy") == 0) {
		req.op_case = IPSM__REQUEST__OP_SHOW_POLICY;
		req.show_policy = &sp;
	} else if (strcmp(cmd->noun, "mmfilter") == 0 ||
	    strcmp(cmd->noun, "qmfilter") == 0) {
		sf.mode = cmd->noun[0] == 'm' ? IPSM__FILTER_MODE__MAIN_MODE
					      : IPSM__FILTER_MODE__QUICK_MODE;
		req.op_case = IPSM__REQUEST__OP_SHOW_FILTERS;
		req.show_filters = &sf;
	} else if (strcmp(cmd->noun, "mmpolicy") == 0) {
		req.op_case = IPSM__REQUEST__OP_SHOW_MMPOLICY;
		req.show_mmpolicy = &smp;
	} else if (strcmp(cmd->noun, "config") == 0 &&
	    strcmp(cmd->verb, "set") == 0) {
		if (sa.sc.n_items == 0)
			return bad("set config needs name=value, e.g. "
				   "ikeaudits=0%s",
			    "");
		req.op_case = IPSM__REQUEST__OP_SET_CONFIG;
		req.set_config = &sa.sc;
	} else if (strcmp(cmd->noun, "config") == 0) {
		req.op_case = IPSM__REQUEST__OP_SHOW_CONFIG;
		req.show_config = &shc;
	} else if (strcmp(cmd->noun, "events") == 0) {
		req.op_case = IPSM__REQUEST__OP_SHOW_EVENTS;
		req.show_events = &ea.se;
	} else if (strcmp(cmd->noun, "qmpolicy") == 0) {
		req.op_case = IPSM__REQUEST__OP_SHOW_QMPOLICY;
		req.show_qmpolicy = &sqp;
	} else {
		req.op_case = IPSM__REQUEST__OP_SHOW_STATS;
		req.show_stats = &ss;
	}

	if (host != NULL) {
		/* the same view, from the host's agent (IPSECMON-MIB) */
		if (req.op_case == IPSM__REQUEST__OP_INITIATE ||
		    req.op_case == IPSM__REQUEST__OP_RELOAD ||
		    req.op_case == IPSM__REQUEST__OP_SET_CONFIG ||
		    req.op_case == IPSM__REQUEST__OP_EDIT_POLICY ||
		    req.op_case == IPSM__REQUEST__OP_SHOW_CONFIG ||
		    req.op_case == IPSM__REQUEST__OP_SHOW_EVENTS)
			return bad("--host shows views; '%s' needs the host's "
				   "control socket",
			    cmd->verb);
		if ((req.op_case == IPSM__REQUEST__OP_SHOW_FILTERS ||
			req.op_case == IPSM__REQUEST__OP_SHOW_MMSAS ||
			req.op_case == IPSM__REQUEST__OP_SHOW_QMSAS) &&
		    (qs.kind != IPSM__ADDR_QUERY__KIND__ANY ||
			qd.kind != IPSM__ADDR_QUERY__KIND__ANY ||
			ea.protocol != NULL ||
			(sf.protocol != NULL && *sf.protocol != '\0') ||
			sf.src_port != 0 || sf.dst_port != 0))
			return bad("--host: srcaddr=, dstaddr= and protocol= "
				   "are searches the host does; run them on "
				   "the host%s",
			    "");
	}
	if (ea.follow) {
		if (!ips_ok(ctl_client_connect(
			sock, timeout_ms, &cl, err, sizeof(err)))) {
			fprintf(stderr, "ipsecmon: %s\n", err);
			return EXIT_UNREACHABLE;
		}
		ctl_client_stop_on(cl, &stop_following);
		return follow_events(cl, &req, &ea.se, fmt);
	}
	if (refresh_s != 0 && strcmp(cmd->verb, "show") != 0)
		return bad("--refresh redraws show commands only, not '%s'",
		    cmd->verb);
	if (ea.resolve && (ea.names = names_new(2000)) == NULL)
		return EXIT_REFUSED;
	rc = run_views(
	    host, &auth, sock, timeout_ms, cmd, &req, fmt, &ea, refresh_s);
	names_free(ea.names);
	return rc;
}
