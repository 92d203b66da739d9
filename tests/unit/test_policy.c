/*
 * The policy file: valid examples read back field by field, every invalid
 * example in tests/data/policies/invalid gives its own message at its own
 * line and column (EXPECTED lists them), and the secrets file's rules.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "spd/policy.h"
#include "spd/secrets.h"
#include "testlib.h"

static struct policy *
load_ok(const char *path)
{
	struct policy_error err;
	struct policy *p = NULL;
	char buf[600];

	if (!ips_ok(policy_load_file(path, &p, &err)))
		fail_msg("%s", policy_error_str(&err, buf, sizeof(buf)));
	return p;
}

static void
test_example_policy(void **state)
{
	char path[512];
	struct policy *p;
	const struct pol_meta *m;
	const struct pol_rule *r;
	const struct pol_ike_policy *ip;
	const struct pol_neg_policy *np;

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/policy.yaml",
	    tl_env("IPS_SOURCE_DIR"));
	p = load_ok(path);
	m = policy_meta(p);
	assert_string_equal(m->name, "Branch office");
	assert_int_equal(m->last_modified, 1795168800); /* 2026-11-20T10Z */
	assert_int_equal(m->store, POL_STORE_LOCAL);
	assert_string_equal(m->ou, "OU=Branches,DC=example,DC=net");
	assert_string_equal(m->gpo, "Branch IPsec");
	assert_non_null(
	    strstr(policy_secrets_path(p), "/examples/secrets.yaml"));

	assert_int_equal(policy_nike_policies(p), 1);
	ip = policy_ike_policy(p, 0);
	assert_int_equal(ip->noffers, 2);
	assert_int_equal(ip->offers[0].encr, IPS_IKE_ENCR_AES256_CBC);
	assert_int_equal(ip->offers[0].hash, IPS_IKE_HASH_SHA256);
	assert_int_equal(ip->offers[0].dh_group, 14);
	assert_int_equal(ip->offers[0].lifetime_s, 8 * 3600);
	assert_int_equal(ip->offers[1].dh_group, 19);

	assert_int_equal(policy_nneg_policies(p), 2);
	np = policy_neg_policy(p, 0);
	assert_int_equal(np->pfs_group, 19);
	assert_true(np->offers[0].esp);
	assert_int_equal(np->offers[0].esp_encr, IPS_ESP_ENCR_AES128GCM16);
	assert_int_equal(np->offers[0].esp_integ, IPS_INTEG_NONE);
	assert_int_equal(np->offers[1].esp_integ, IPS_INTEG_HMAC_SHA256_128);
	assert_int_equal(np->offers[1].lifetime_s, 3600); /* default */
	np = policy_neg_policy(p, 1);
	assert_true(np->offers[0].ah);
	assert_int_equal(np->offers[0].ah_integ, IPS_INTEG_HMAC_SHA256_128);
	assert_int_equal(np->offers[0].lifetime_s, 1800);

	assert_int_equal(policy_nrules(p), 4);
	r = policy_rule(p, 0);
	assert_string_equal(r->name, "to-head-office");
	assert_true(r->tunnel);
	assert_int_equal(r->tunnel_local.kind, IPS_ASPEC_ME);
	assert_int_equal(r->filter_action->action, POL_ACTION_NEGOTIATE);
	assert_string_equal(r->filter_action->neg_policy->name, "qm-gcm");
	assert_ptr_equal(r->ike_policy, ip);
	assert_int_equal(r->nauth, 1);
	assert_string_equal(r->auth[0].secret, "head-office");
	r = policy_rule(p, 1);
	assert_int_equal(r->conn, POL_CONN_LAN);
	assert_int_equal(r->nauth, 2);
	assert_int_equal(r->auth[0].method, POL_AUTH_CERT);
	assert_string_equal(r->auth[0].ca, "/etc/ipsecmon/ca.pem");
	assert_int_equal(r->filter_list->filters[0].proto, 6);
	assert_int_equal(r->filter_list->filters[0].dport, 22);
	assert_true(r->filter_list->filters[0].mirrored);
	r = policy_rule(p, 3);
	assert_false(r->filter_list->filters[0].mirrored);
	assert_int_equal(r->filter_action->action, POL_ACTION_BLOCK);
	assert_null(r->ike_policy);
	policy_free(p);
}

/* Every file in tests/data/policies/valid loads. */
static void
test_valid_corpus(void **state)
{
	char dir[512], path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)state;
	snprintf(
	    dir, sizeof(dir), "%s/policies/valid", tl_env("IPS_TEST_DATA"));
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".yaml") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		policy_free(load_ok(path));
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
}

/* Each invalid file fails with exactly the message EXPECTED records. */
static void
test_invalid_corpus(void **state)
{
	char dir[512], path[1600], line[1024], got[1200];
	FILE *f;
	int n = 0;

	(void)state;
	snprintf(
	    dir, sizeof(dir), "%s/policies/invalid", tl_env("IPS_TEST_DATA"));
	snprintf(path, sizeof(path), "%s/EXPECTED", dir);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		struct policy_error err;
		struct policy *p = NULL;
		ips_res r;

		assert_non_null(tab);
		if (nl != NULL)
			*nl = '\0';
		*tab = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		r = policy_load_file(path, &p, &err);
		if (ips_ok(r))
			fail_msg("%s was accepted", line);
		assert_null(p);
		if (err.line > 0)
			snprintf(got, sizeof(got), "%u:%u: %s", err.line,
			    err.col, err.msg);
		else
			snprintf(got, sizeof(got), "%s", err.msg);
		if (strcmp(got, tab + 1) != 0)
			fail_msg("%s:\n  expected: %s\n  got:      %s", line,
			    tab + 1, got);
		n++;
	}
	fclose(f);
	/* The issue asks for at least 15 distinct invalid examples. */
	assert_true(n >= 15);
	/* and an example nobody listed would be checked by nobody */
	{
		DIR *d = opendir(dir);
		struct dirent *e;
		int files = 0;

		assert_non_null(d);
		while ((e = readdir(d)) != NULL)
			files += strstr(e->d_name, ".yaml") != NULL;
		closedir(d);
		assert_int_equal(files, n);
	}
}

static void
test_error_names_the_file(void **state)
{
	struct policy_error err;
	struct policy *p = NULL;
	char buf[600];

	(void)state;
	assert_false(
	    ips_ok(policy_load_file("/nonexistent/policy.yaml", &p, &err)));
	assert_string_equal(policy_error_str(&err, buf, sizeof(buf)),
	    "/nonexistent/policy.yaml: cannot read: No such file or directory");
	assert_false(ips_ok(
	    policy_load_buffer("mem.yaml", "policy: {}\n", 11, &p, &err)));
	assert_string_equal(policy_error_str(&err, buf, sizeof(buf)),
	    "mem.yaml:1:9: policy has no 'name'");
}

static const char policy_with_psk[] =
    "policy: { name: p }\n"
    "secrets: secrets.yaml\n"
    "ike-policies:\n"
    "  - name: mm\n"
    "    offers: [ { encryption: aes128, integrity: sha1, dh-group: 14 } ]\n"
    "negotiation-policies:\n"
    "  - { name: qm, offers: [ { esp: aes128gcm16 } ] }\n"
    "filter-lists:\n"
    "  - { name: fl, filters: [ { source: me, destination: 192.0.2.1 } ] }\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "rules:\n"
    "  - name: r\n"
    "    filter-list: fl\n"
    "    filter-action: sec\n"
    "    authentication:\n"
    "      - { method: psk, secret: site-a }\n";

static void
test_secrets(void **state)
{
	char *dir = tl_mkdtemp(), path[512];
	struct policy_error err;
	struct secrets *s = NULL;
	struct policy *p = NULL;
	const uint8_t *v;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/secrets.yaml", dir);
	tl_write_file(
	    path, "site-a: \"hunter2-but-longer\"\nsite-b: xyz\n", 0600);
	assert_true(ips_ok(secrets_load(path, &s, &err)));
	assert_int_equal(secrets_count(s), 2);
	v = secrets_get(s, "site-a", &len);
	assert_non_null(v);
	assert_int_equal(len, 18);
	assert_memory_equal(v, "hunter2-but-longer", 18);
	assert_null(secrets_get(s, "site-c", &len));

	/* The PSK the rule names exists. */
	assert_true(ips_ok(policy_load_buffer("/x/policy.yaml", policy_with_psk,
	    sizeof(policy_with_psk) - 1, &p, &err)));
	assert_string_equal(policy_secrets_path(p), "/x/secrets.yaml");
	assert_true(ips_ok(secrets_check_policy(s, p, &err)));
	secrets_free(s);

	/* ... and here it does not: the error points at the reference. */
	tl_write_file(path, "other: \"hunter2-but-longer\"\n", 0600);
	assert_true(ips_ok(secrets_load(path, &s, &err)));
	assert_int_equal(secrets_check_policy(s, p, &err).err, IPS_E_NOTFOUND);
	assert_int_equal(err.line, 17);
	assert_int_equal(err.col, 9);
	assert_string_equal(err.msg,
	    "rule 'r': no secret named 'site-a' in "
	    "the secrets file");
	secrets_free(s);
	policy_free(p);

	/* Group- or world-accessible: refused, whatever it holds. */
	tl_write_file(path, "site-a: x\n", 0640);
	assert_int_equal(secrets_load(path, &s, &err).err, IPS_E_PERM);
	assert_string_equal(err.msg,
	    "group or others may access it (mode "
	    "0640); run chmod 600 on it");
	tl_write_file(path, "site-a: x\n", 0604);
	assert_int_equal(secrets_load(path, &s, &err).err, IPS_E_PERM);
	tl_rmrf(dir);
	free(dir);
}

/* Malformed secrets are refused without ever quoting a value. */
/* Quoting and comments decode as YAML would decode them. */
static void
test_secret_forms(void **state)
{
	static const char text[] = "# site keys\n"
				   "plain: a b c   # comment\n"
				   "hash: a#b\n"
				   "dq: \"x\\\"y\\\\z\\t\\x41\"\n"
				   "sq: 'it''s'\r\n"
				   "\n"
				   "last: end";
	struct policy_error err;
	struct secrets *s = NULL;
	const uint8_t *v;
	size_t len;

	(void)state;
	assert_true(ips_ok(
	    secrets_load_buffer("s.yaml", text, sizeof(text) - 1, &s, &err)));
	assert_int_equal(secrets_count(s), 5);
	v = secrets_get(s, "plain", &len);
	assert_int_equal(len, 5);
	assert_memory_equal(v, "a b c", 5);
	v = secrets_get(s, "hash", &len);
	assert_memory_equal(v, "a#b", 3);
	v = secrets_get(s, "dq", &len);
	assert_int_equal(len, 7);
	assert_memory_equal(v, "x\"y\\z\tA", 7);
	v = secrets_get(s, "sq", &len);
	assert_int_equal(len, 4);
	assert_memory_equal(v, "it's", 4);
	v = secrets_get(s, "last", &len);
	assert_memory_equal(v, "end", 3);
	secrets_free(s);
}

static void
test_bad_secrets_never_echo_values(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"a: s3cr3t-value\na: s3cr3t-value\n", "duplicate secret name"},
	    {"a: [s3cr3t-value]\n",
		"a secret value must be plain or quoted "
		"text (collections, anchors, aliases, tags and block scalars "
		"are not supported)"},
	    {"- s3cr3t-value\n",
		"secrets file must be a mapping of names to "
		"values (name: value)"},
	    {"a: \"\"\n", "secret value is empty"},
	    {"a: &x s3cr3t-value\nb: *x\n",
		"a secret value must be plain or "
		"quoted text (collections, anchors, aliases, tags and block "
		"scalars are not supported)"},
	    {"a: \"s3cr3t-value\n", "unterminated quoted value"},
	    {"a: \"s3cr3t\\q\"\n",
		"unknown escape (use \\\\, \\\", "
		"\\t, \\n or \\xHH)"},
	    {"a: 's3cr3t' x\n", "unexpected text after the value"},
	    {"a:s3cr3t\n", "expected a blank after ':'"},
	    {"  a: s3cr3t\n", "secret names start at the beginning of a line"},
	    {"a s3cr3t\n", "expected 'name: value'"},
	};
	struct policy_error err;
	struct secrets *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = NULL;
		assert_false(ips_ok(secrets_load_buffer(
		    "s.yaml", bad[i].text, strlen(bad[i].text), &s, &err)));
		assert_null(s);
		assert_string_equal(err.msg, bad[i].msg);
		assert_null(strstr(err.msg, "s3cr3t"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_policy),
	    cmocka_unit_test(test_valid_corpus),
	    cmocka_unit_test(test_invalid_corpus),
	    cmocka_unit_test(test_error_names_the_file),
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test(test_secret_forms),
	    cmocka_unit_test(test_bad_secrets_never_echo_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
