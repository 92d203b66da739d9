/*
 * Main Mode with RSA signatures and X.509 certificates between two
 * engines: trust anchors, peer-sent intermediates, revocation lists at
 * each check level, and a rule's expected peer identity.  The PKI is made
 * with openssl once for the group (tl_make_pki).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_net.h"
#include "testlib.h"

static char *pki;
static struct ike_cred *creds_a[2], *creds_b[2];

/* How one side signs and checks its peer; file names are in the PKI. */
struct certs {
	const char *cert, *key, *ca, *crl;
	enum ike_crl_check check;
	const char *peer_dn;
};

static const char *
in_pki(const char *name, char *buf, size_t len)
{
	if (name == NULL)
		return NULL;
	snprintf(buf, len, "%s/%s", pki, name);
	return buf;
}

/* Side s authenticates with certificates as c says. */
static void
use_certs(struct side *s, struct ike_cred **slot, const struct certs *c)
{
	static const char fmt[] =
	    "policy: { name: c }\n"
	    "ike-policies:\n"
	    "  - { name: mm, offers: [ { encryption: aes128, integrity: "
	    "sha256, dh-group: 19 } ] }\n"
	    "negotiation-policies:\n"
	    "  - { name: qm, offers: [ { esp: aes128gcm16 } ] }\n"
	    "filter-lists:\n"
	    "  - { name: peer, filters: [ { source: me, destination: %s } ] }\n"
	    "filter-actions:\n"
	    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
	    "rules:\n"
	    "  - { name: to-peer, filter-list: peer, filter-action: sec,\n"
	    "      authentication: [ { method: certificate, ca: ca.pem,\n"
	    "        cert: me.pem, key: me.key } ] }\n";
	char yaml[2048], err[256], cert[600], key[600], ca[600], crl[600];
	struct policy_error perr;
	struct ike_policy_view pv;
	struct ike_cred_opts o;
	int n;

	n = snprintf(
	    yaml, sizeof(yaml), fmt, s == &net.a ? "10.99.0.2" : "10.99.0.1");
	flt_set_free(s->filters);
	policy_free(s->policy);
	assert_true(ips_ok(
	    policy_load_buffer("c.yaml", yaml, (size_t)n, &s->policy, &perr)));
	assert_true(ips_ok(flt_set_build(s->policy, s->host, &s->filters)));
	o = (struct ike_cred_opts){in_pki(c->ca, ca, sizeof(ca)),
	    in_pki(c->crl, crl, sizeof(crl)), c->check, c->peer_dn};
	if (!ips_ok(ike_cred_load(in_pki(c->cert, cert, sizeof(cert)),
		in_pki(c->key, key, sizeof(key)), &o, &slot[0], err,
		sizeof(err))))
		fail_msg("%s", err);
	slot[1] = NULL;
	pv = (struct ike_policy_view){
	    s->policy, s->secrets, s->filters, s->host, slot};
	ike_set_policy(s->ike, &pv);
}

static const struct certs site_a = {
    "a.pem", "a.key", "ca.pem", NULL, IKE_CRL_REVOKED, NULL};
static const struct certs site_b = {
    "b.pem", "b.key", "ca.pem", NULL, IKE_CRL_REVOKED, NULL};

/* A (signing as a) initiates to B (checking as b says); true if both
 * end up established. */
static bool
negotiate(const struct certs *a, const struct certs *b)
{
	bool up;

	setup_pair("19", "19", "unused", "unused");
	use_certs(&net.a, creds_a, a);
	use_certs(&net.b, creds_b, b);
	initiate();
	pump();
	up = ike_isadb_size(net.a.ike) == 1 && ike_isadb_size(net.b.ike) == 1 &&
	    only_sa(&net.a)->state == IKE_SA_ESTABLISHED &&
	    only_sa(&net.b)->state == IKE_SA_ESTABLISHED;
	return up;
}

static void
done(void)
{
	teardown(NULL);
	ike_cred_free(creds_a[0]);
	ike_cred_free(creds_b[0]);
	creds_a[0] = creds_b[0] = NULL;
}

/* RSA signatures with certificates from a CA both sides trust:
 * ID_DER_ASN1_DN, CERT, SIG, and on to Quick Mode. */
static void
test_certificates(void **state)
{
	(void)state;
	assert_true(negotiate(&site_a, &site_b));
	assert_int_equal(only_sa(&net.a)->chosen.auth, IKE_AUTH_RSA_SIG);
	assert_int_equal(only_sa(&net.b)->peer_id_type, ISAKMP_ID_DER_ASN1_DN);
	assert_int_equal(sad_active(ike_sad(net.b.ike)), 2);
	keys_cross();
	done();
}

/* B trusts another CA: A's certificate does not chain, so B counts an
 * Authentication Failure and nothing is established. */
static void
test_untrusted(void **state)
{
	struct certs b = site_b;

	(void)state;
	b.ca = "other.pem";
	assert_false(negotiate(&site_a, &b));
	assert_int_equal(MM_STAT(&net.b, authentication_failures), 1);
	assert_int_equal(MM_STAT(&net.b, ike_main_mode), 0);
	done();
}

/* A rule that names its peer accepts that subject and no other the same
 * CA signed. */
static void
test_expected_peer(void **state)
{
	struct certs b = site_b;

	(void)state;
	b.peer_dn = "O=ipsecmon, CN=site-a";
	assert_true(negotiate(&site_a, &b));
	done();
	b.peer_dn = "O=ipsecmon, CN=site-x";
	assert_false(negotiate(&site_a, &b));
	assert_int_equal(MM_STAT(&net.b, authentication_failures), 1);
	done();
}

/* c is on the CA's revocation list: refused when B checks the list (the
 * default level), accepted when B's level is none. */
static void
test_revoked(void **state)
{
	struct certs a = site_a, b = site_b;

	(void)state;
	a.cert = "c.pem";
	a.key = "c.key";
	b.crl = "crl.pem";
	assert_false(negotiate(&a, &b));
	assert_int_equal(MM_STAT(&net.b, authentication_failures), 1);
	done();
	b.check = IKE_CRL_NONE;
	assert_true(negotiate(&a, &b));
	done();
	/* a is not on the list */
	b.check = IKE_CRL_REVOKED;
	assert_true(negotiate(&site_a, &b));
	done();
}

/* d chains through an intermediate that A sends after its certificate.
 * Without it the chain breaks; with it, level 1 accepts d, while level 2
 * refuses: no list vouches for d (the intermediate publishes none). */
static void
test_intermediates_and_strict(void **state)
{
	struct certs a = site_a, b = site_b;

	(void)state;
	a.cert = "d.pem";
	a.key = "d.key";
	assert_false(negotiate(&a, &b));
	assert_int_equal(MM_STAT(&net.b, authentication_failures), 1);
	done();
	a.cert = "d-chain.pem";
	assert_true(negotiate(&a, &b));
	done();
	b.crl = "crl.pem";
	b.check = IKE_CRL_STRICT;
	assert_false(negotiate(&a, &b));
	assert_int_equal(MM_STAT(&net.b, authentication_failures), 1);
	done();
	/* a's status is known: the lab CA's list does not name it */
	assert_true(negotiate(&site_a, &b));
	done();
}

/* What a policy names must load, or the policy is refused. */
static void
test_bad_credentials(void **state)
{
	struct ike_cred_opts o = {NULL, NULL, IKE_CRL_REVOKED, NULL};
	char cert[600], key[600], ca[600], crl[600], err[256];
	struct ike_cred *c = NULL;

	(void)state;
	in_pki("a.pem", cert, sizeof(cert));
	in_pki("a.key", key, sizeof(key));
	o.ca = in_pki("ca.pem", ca, sizeof(ca));
	o.peer_dn = "not a name";
	assert_int_equal(ike_cred_load(cert, key, &o, &c, err, sizeof(err)).err,
	    IPS_E_CONFIG);
	assert_non_null(strstr(err, "distinguished name"));
	o.peer_dn = NULL;
	o.crl = in_pki("ca.pem", crl, sizeof(crl)); /* no CRL in it */
	assert_int_equal(ike_cred_load(cert, key, &o, &c, err, sizeof(err)).err,
	    IPS_E_CONFIG);
	assert_non_null(strstr(err, "revocation list"));
	/* a good list followed by one that does not read: refused, not
	 * skipped (its revocations would be lost) */
	{
		char bad[700],
		    *good =
			tl_read_file(in_pki("crl.pem", crl, sizeof(crl)), NULL),
		    *both;

		assert_non_null(good);
		both = malloc(strlen(good) + 100);
		sprintf(both,
		    "%s-----BEGIN X509 CRL-----\nAAAA\n"
		    "-----END X509 CRL-----\n",
		    good);
		snprintf(bad, sizeof(bad), "%s/bad-crl.pem", pki);
		tl_write_file(bad, both, 0644);
		o.crl = bad;
		assert_int_equal(
		    ike_cred_load(cert, key, &o, &c, err, sizeof(err)).err,
		    IPS_E_CONFIG);
		assert_non_null(strstr(err, "does not read"));
		free(good);
		free(both);
	}
	assert_null(c);
}

static int
make_pki(void **state)
{
	(void)state;
	pki = tl_mkdtemp();
	tl_make_pki(pki);
	return 0;
}

static int
remove_pki(void **state)
{
	(void)state;
	tl_rmrf(pki);
	free(pki);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_certificates),
	    cmocka_unit_test(test_untrusted),
	    cmocka_unit_test(test_expected_peer),
	    cmocka_unit_test(test_revoked),
	    cmocka_unit_test(test_intermediates_and_strict),
	    cmocka_unit_test(test_bad_credentials),
	};

	return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
