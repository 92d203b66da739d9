/*
 * Dynamic changes (policy_edit): each edit's text parses back as the
 * policy it should be, and each refusal says why and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spd/policy.h"
#include "spd/policy_edit.h"

static const char base[] =
    "# a comment the edit loses\n"
    "policy: { name: lab }\n"
    "ike-policies:\n"
    "  - name: mm\n"
    "    offers: [ { encryption: aes256, integrity: sha256, dh-group: 14 } ]\n"
    "negotiation-policies:\n"
    "  - { name: qm, offers: [ { esp: aes128gcm16 } ] }\n"
    "filter-lists:\n"
    "  - name: nets\n"
    "    filters:\n"
    "      - { source: \"2001:db8:1::/48\", destination: "
    "\"2001:db8::1-2001:db8::9\" "
    "}\n"
    "      - { source: me, destination: 10.2.0.0/16 }\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "  - { name: pass, action: permit }\n"
    "rules:\n"
    "  - name: r\n"
    "    filter-list: nets\n"
    "    filter-action: pass\n"
    "    description: \"yes\"\n";

/* Run one edit given as "key=value ..." on text; returns the new text
 * (NULL if refused, msg then says why). */
static char *
edit(const char *text, enum pe_op op, const char *object, const char *args,
    ips_res *res, char *msg)
{
	struct pe_item it[16];
	char buf[512], *save = NULL, *w, done[300], *out = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", args);
	for (w = strtok_r(buf, " ", &save); w != NULL && n < 16;
	     w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');

		assert_non_null(eq);
		*eq = '\0';
		it[n].key = w;
		it[n++].value = eq + 1;
	}
	*res = policy_edit(text, strlen(text), op, object, it, n, &out, done,
	    sizeof(done), msg, 300);
	return ips_ok(*res) ? out : NULL;
}

/* The edit must succeed and its text load. */
static struct policy *
edit_ok(const char *text, enum pe_op op, const char *object, const char *args,
    char **textp)
{
	struct policy_error err;
	struct policy *p = NULL;
	char msg[300], eb[600];
	ips_res r;
	char *out = edit(text, op, object, args, &r, msg);

	if (out == NULL)
		fail_msg("%s %s %s: %s", pe_op_name(op), object, args, msg);
	if (!ips_ok(policy_load_buffer("e.yaml", out, strlen(out), &p, &err)))
		fail_msg("edited policy does not load: %s\n%s",
		    policy_error_str(&err, eb, sizeof(eb)), out);
	if (textp != NULL)
		*textp = out;
	else
		free(out);
	return p;
}

static void
refused(const char *text, enum pe_op op, const char *object, const char *args,
    enum ips_err want, const char *says)
{
	char msg[300];
	ips_res r;
	char *out = edit(text, op, object, args, &r, msg);

	assert_null(out);
	assert_int_equal(r.err, want);
	if (strstr(msg, says) == NULL)
		fail_msg("'%s' does not say '%s'", msg, says);
}

static void
test_filters(void **state)
{
	struct policy *p;
	const struct pol_filter_list *fl;
	char *t;

	(void)state;
	p = edit_ok(base, PE_ADD, "filter",
	    "filterlist=nets position=1 srcaddr=10.3.0.0/16 dstaddr=any "
	    "protocol=tcp dstport=443",
	    &t);
	fl = policy_rule(p, 0)->filter_list;
	assert_int_equal(fl->nfilters, 3);
	assert_int_equal(fl->filters[0].dport, 443);
	/* a quoted range survives the round trip */
	assert_int_equal(fl->filters[1].dst.kind, IPS_ASPEC_RANGE);
	policy_free(p);
	p = edit_ok(
	    t, PE_SET, "filter", "filterlist=nets position=1 dstport=", NULL);
	assert_int_equal(policy_rule(p, 0)->filter_list->filters[0].dport, 0);
	policy_free(p);
	p = edit_ok(t, PE_DELETE, "filter", "filterlist=nets position=3", NULL);
	assert_int_equal(policy_rule(p, 0)->filter_list->nfilters, 2);
	policy_free(p);
	free(t);
	refused(base, PE_DELETE, "filter", "filterlist=nets position=3",
	    IPS_E_NOTFOUND, "has 2 filters");
	refused(base, PE_DELETE, "filter", "filterlist=nets", IPS_E_INVAL,
	    "needs position=");
	refused(base, PE_DELETE, "filter", "filterlist=nets position=1 x=1",
	    IPS_E_INVAL, "not 'x'");
	refused(base, PE_SET, "filter", "filterlist=gone position=1 srcaddr=me",
	    IPS_E_NOTFOUND, "no filterlist named 'gone'");
	refused(base, PE_ADD, "filter", "filterlist=nets position=0",
	    IPS_E_INVAL, "position must be");
}

static void
test_rules_and_actions(void **state)
{
	struct policy *p;
	const struct pol_rule *r;
	char *t, *t2;

	(void)state;
	/* a first filter makes its list; the rule then names it */
	p = edit_ok(base, PE_ADD, "filter",
	    "filterlist=web srcaddr=me dstaddr=192.0.2.80", &t);
	policy_free(p);
	p = edit_ok(t, PE_ADD, "rule",
	    "name=web filterlist=web filteraction=sec psk=k tunnel=192.0.2.1 "
	    "conntype=lan",
	    &t2);
	assert_int_equal(policy_nrules(p), 2);
	r = policy_rule(p, 1);
	assert_string_equal(r->name, "web");
	assert_true(r->tunnel);
	assert_int_equal(r->conn, POL_CONN_LAN);
	assert_int_equal(r->nauth, 1);
	assert_string_equal(r->auth[0].secret, "k");
	policy_free(p);
	/* certificate keys gather into one method, after the psk */
	p = edit_ok(t2, PE_SET, "rule",
	    "name=web psk=k2 ca=/etc/ca.pem crl=/etc/crl.pem crlcheck=strict "
	    "tunnel=",
	    NULL);
	r = policy_rule(p, 1);
	assert_false(r->tunnel);
	assert_int_equal(r->nauth, 2);
	assert_int_equal(r->auth[0].method, POL_AUTH_PSK);
	assert_int_equal(r->auth[1].method, POL_AUTH_CERT);
	assert_int_equal(r->auth[1].crl_check, POL_CRL_STRICT);
	policy_free(p);
	/* the parser judges what the edit means: a permit rule takes no
	 * authentication */
	{
		struct policy_error err;
		char msg[300], *out;
		ips_res er;

		out = edit(
		    t2, PE_SET, "rule", "name=web filteraction=pass", &er, msg);
		assert_non_null(out);
		assert_false(ips_ok(
		    policy_load_buffer("e.yaml", out, strlen(out), &p, &err)));
		assert_non_null(strstr(err.msg, "authentication applies only"));
		free(out);
	}
	free(t2);
	p = edit_ok(
	    base, PE_ADD, "filteraction", "name=block action=block", &t2);
	policy_free(p);
	p = edit_ok(t2, PE_SET, "rule", "name=r filteraction=block", NULL);
	assert_int_equal(
	    policy_rule(p, 0)->filter_action->action, POL_ACTION_BLOCK);
	/* "yes" stayed a quoted string where it was one */
	assert_string_equal(policy_rule(p, 0)->description, "yes");
	policy_free(p);
	free(t2);
	p = edit_ok(t, PE_DELETE, "rule", "name=r", NULL);
	assert_int_equal(policy_nrules(p), 0);
	policy_free(p);
	free(t);
	refused(base, PE_ADD, "rule", "name=r filterlist=nets", IPS_E_EXISTS,
	    "exists");
	refused(base, PE_DELETE, "rule", "name=q", IPS_E_NOTFOUND,
	    "no rule named 'q'");
	refused(base, PE_ADD, "rule", "filterlist=nets", IPS_E_INVAL,
	    "needs name=");
	refused(
	    base, PE_SET, "rule", "name=r", IPS_E_INVAL, "needs a key=value");
	refused(
	    base, PE_ADD, "policy", "name=x", IPS_E_INVAL, "no such object");
	/* what no policy file could hold */
	refused(base, PE_SET, "rule", "name=r description=\xff\xfe",
	    IPS_E_INVAL, "UTF-8");
	refused(base, PE_SET, "rule", "name=r description=a\x1b[2Jb",
	    IPS_E_INVAL, "control characters");
	/* psk= where there is no authentication: none, not an empty list */
	p = edit_ok(base, PE_SET, "rule", "name=r psk=", NULL);
	assert_int_equal(policy_rule(p, 0)->nauth, 0);
	policy_free(p);
}

static void
test_offers(void **state)
{
	struct policy *p;
	char *t;

	(void)state;
	p = edit_ok(base, PE_ADD, "mmoffer",
	    "mmpolicy=mm encryption=aes128 integrity=sha1 dhgroup=19 "
	    "lifetime=1h qmlimit=5",
	    &t);
	assert_int_equal(policy_ike_policy(p, 0)->noffers, 2);
	assert_int_equal(policy_ike_policy(p, 0)->offers[1].dh_group, 19);
	assert_int_equal(policy_ike_policy(p, 0)->offers[1].qm_limit, 5);
	policy_free(p);
	p = edit_ok(t, PE_DELETE, "mmoffer", "mmpolicy=mm position=1", NULL);
	assert_int_equal(
	    policy_ike_policy(p, 0)->offers[0].encr, IPS_IKE_ENCR_AES128_CBC);
	policy_free(p);
	free(t);
	p = edit_ok(base, PE_SET, "qmoffer",
	    "qmpolicy=qm position=1 esp=aes256-sha256 lifetimekb=0", NULL);
	assert_int_equal(policy_neg_policy(p, 0)->offers[0].esp_integ,
	    IPS_INTEG_HMAC_SHA256_128);
	assert_int_equal(policy_neg_policy(p, 0)->offers[0].lifetime_kb, 0);
	policy_free(p);
	/* a first offer makes its policy */
	p = edit_ok(
	    base, PE_ADD, "qmoffer", "qmpolicy=qm2 esp=aes256gcm16", NULL);
	assert_int_equal(policy_nneg_policies(p), 2);
	policy_free(p);
}

/* What the edit cannot read, it refuses. */
static void
test_bad_documents(void **state)
{
	(void)state;
	refused("- a\n- b\n", PE_DELETE, "rule", "name=r", IPS_E_CONFIG,
	    "not a mapping");
	refused("rules: 3\n", PE_DELETE, "rule", "name=r", IPS_E_CONFIG,
	    "not a list");
	refused(
	    "a: [\n", PE_DELETE, "rule", "name=r", IPS_E_CONFIG, "not YAML");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_rules_and_actions),
	    cmocka_unit_test(test_offers),
	    cmocka_unit_test(test_bad_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
