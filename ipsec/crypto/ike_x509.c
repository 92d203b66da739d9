#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "ike_x509.h"

#define IKE_CHAIN_MAX 8 /* certificates we send: ours + intermediates */

struct ike_cred {
	int refs;
	X509 *cert;
	STACK_OF(X509) * chain; /* intermediates we send after ours */
	EVP_PKEY *key;
	X509_STORE *anchors; /* and the CRLs */
	enum ike_crl_check crl_check;
	X509_NAME *peer_dn; /* NULL: any subject the anchors vouch for */
	uint8_t *der[IKE_CHAIN_MAX]; /* ours, then the intermediates */
	int der_len[IKE_CHAIN_MAX];
	size_t nder;
	uint8_t *subject_der;
	int subject_len;
};

struct ike_cred *
ike_cred_ref(struct ike_cred *c)
{
	if (c != NULL)
		c->refs++;
	return c;
}

void
ike_cred_free(struct ike_cred *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	EVP_PKEY_free(c->key); /* OpenSSL clears private keys it frees */
	X509_STORE_free(c->anchors);
	X509_NAME_free(c->peer_dn);
	for (size_t i = 0; i < c->nder; i++)
		OPENSSL_free(c->der[i]);
	OPENSSL_free(c->subject_der);
	OPENSSL_free(c);
}

/* Whether a PEM read loop ended at the end of the file rather than on a
 * block it could not read (which must not be skipped in silence). */
static bool
pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return e == 0 ||
	    (ERR_GET_LIB(e) == ERR_LIB_PEM &&
		ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

/* "<path>: <why>" into errbuf; the OpenSSL error queue is dropped. */
static ips_res
fail(char *errbuf, size_t errlen, enum ips_err e, const char *path,
    const char *why)
{
	snprintf(errbuf, errlen, "%s: %s", path, why);
	ERR_clear_error();
	return (ips_res){e};
}

/*
 * "O=ipsecmon, CN=site-b" (strongSwan's way of writing a DN, first RDN
 * first; a backslash escapes a comma) as an X509_NAME, or NULL.
 */
static X509_NAME *
parse_dn(const char *s)
{
	X509_NAME *n = X509_NAME_new();
	char buf[1024], *key, *val, *eq;
	size_t len;

	while (n != NULL && *s != '\0') {
		len = 0;
		while (*s == ' ')
			s++;
		for (; *s != '\0' && *s != ','; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (len + 1 >= sizeof(buf))
				goto bad;
			buf[len++] = *s;
		}
		if (*s == ',')
			s++;
		while (len > 0 && buf[len - 1] == ' ')
			len--;
		buf[len] = '\0';
		if ((eq = strchr(buf, '=')) == NULL || eq == buf ||
		    eq[1] == '\0')
			goto bad;
		*eq = '\0';
		key = buf;
		val = eq + 1;
		while (*val == ' ')
			val++;
		if (X509_NAME_add_entry_by_txt(n, key, MBSTRING_UTF8,
			(const unsigned char *)val, -1, -1, 0) != 1)
			goto bad;
	}
	if (n != NULL && X509_NAME_entry_count(n) > 0)
		return n;
bad:
	X509_NAME_free(n);
	return NULL;
}

ips_res
ike_dn_parse(const char *text, uint8_t *der, size_t max, size_t *len)
{
	X509_NAME *n = parse_dn(text);
	uint8_t *out = NULL;
	int k;

	ERR_clear_error();
	ENSURE(n != NULL, CONFIG);
	k = i2d_X509_NAME(n, &out);
	X509_NAME_free(n);
	if (k <= 0 || (size_t)k > max) {
		OPENSSL_free(out);
		return k <= 0 ? IPS_ERR(NOMEM) : IPS_ERR(TOOBIG);
	}
	memcpy(der, out, (size_t)k);
	OPENSSL_free(out);
	*len = (size_t)k;
	return IPS_OK;
}

/* Our certificate and the intermediates after it in the same file. */
static ips_res
load_certs(struct ike_cred *c, const char *path, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "re");
	X509 *x;

	if (f == NULL ||
	    (c->cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		if (f != NULL)
			fclose(f);
		return fail(errbuf, errlen, IPS_E_CONFIG, path,
		    "not a readable PEM certificate");
	}
	if ((c->chain = sk_X509_new_null()) == NULL) {
		fclose(f);
		BAIL(NOMEM);
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (sk_X509_num(c->chain) + 1 >= IKE_CHAIN_MAX ||
		    sk_X509_push(c->chain, x) <= 0) {
			X509_free(x);
			fclose(f);
			return fail(errbuf, errlen, IPS_E_CONFIG, path,
			    "too many intermediate certificates (at most 7)");
		}
	fclose(f);
	if (!pem_at_end())
		return fail(errbuf, errlen, IPS_E_CONFIG, path,
		    "a certificate after the first does not read as PEM");
	ERR_clear_error(); /* the end of the file */
	return IPS_OK;
}

/* Every CRL of a PEM file into the store; at least one. */
static ips_res
load_crls(X509_STORE *st, const char *path, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "re");
	X509_CRL *crl;
	int n = 0;

	if (f == NULL)
		return fail(errbuf, errlen, IPS_E_CONFIG, path,
		    "cannot open the revocation list");
	ERR_clear_error();
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		int ok = X509_STORE_add_crl(st, crl);

		X509_CRL_free(crl);
		if (ok != 1) {
			fclose(f);
			return fail(errbuf, errlen, IPS_E_CONFIG, path,
			    "cannot use a revocation list");
		}
		n++;
	}
	fclose(f);
	/* A list that does not read would let its revoked certificates
	 * through: refuse the file. */
	if (!pem_at_end())
		return fail(errbuf, errlen, IPS_E_CONFIG, path,
		    "a revocation list does not read as PEM");
	if (n == 0)
		return fail(errbuf, errlen, IPS_E_CONFIG, path,
		    "holds no PEM revocation list (X509 CRL)");
	ERR_clear_error();
	return IPS_OK;
}

ips_res
ike_cred_load(const char *cert, const char *key,
    const struct ike_cred_opts *opts, struct ike_cred **out, char *errbuf,
    size_t errlen)
{
	struct ike_cred *c = OPENSSL_zalloc(sizeof(*c));
	struct stat sb;
	ips_res r;
	FILE *f;

	ENSURE(c != NULL, NOMEM);
	c->refs = 1;
	c->crl_check = opts->crl_check;
	if (!ips_ok(r = load_certs(c, cert, errbuf, errlen))) {
		ike_cred_free(c);
		return r;
	}
	if (stat(key, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		ike_cred_free(c);
		return fail(errbuf, errlen, IPS_E_PERM, key,
		    "group or others may access the private key; run chmod "
		    "600 on it");
	}
	if ((f = fopen(key, "re")) == NULL ||
	    (c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		if (f != NULL)
			fclose(f);
		ike_cred_free(c);
		return fail(errbuf, errlen, IPS_E_CONFIG, key,
		    "not a readable PEM private key");
	}
	fclose(f);
	if (EVP_PKEY_get_base_id(c->key) != EVP_PKEY_RSA ||
	    X509_check_private_key(c->cert, c->key) != 1) {
		ike_cred_free(c);
		return fail(errbuf, errlen, IPS_E_CONFIG, key,
		    "not the RSA key of the certificate");
	}
	if ((c->anchors = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(c->anchors, opts->ca) != 1) {
		ike_cred_free(c);
		return fail(errbuf, errlen, IPS_E_CONFIG, opts->ca,
		    "cannot load the trust anchors");
	}
	if (opts->crl != NULL && *opts->crl != '\0' &&
	    !ips_ok(r = load_crls(c->anchors, opts->crl, errbuf, errlen))) {
		ike_cred_free(c);
		return r;
	}
	if (opts->peer_dn != NULL && *opts->peer_dn != '\0' &&
	    (c->peer_dn = parse_dn(opts->peer_dn)) == NULL) {
		ike_cred_free(c);
		return fail(errbuf, errlen, IPS_E_CONFIG, opts->peer_dn,
		    "peer-id is not a distinguished name like "
		    "\"O=example, CN=gateway\"");
	}
	c->der_len[0] = i2d_X509(c->cert, &c->der[0]);
	c->nder = 1;
	for (int i = 0; i < sk_X509_num(c->chain); i++, c->nder++)
		c->der_len[c->nder] =
		    i2d_X509(sk_X509_value(c->chain, i), &c->der[c->nder]);
	c->subject_len =
	    i2d_X509_NAME(X509_get_subject_name(c->cert), &c->subject_der);
	for (size_t i = 0; i < c->nder; i++)
		if (c->der_len[i] <= 0)
			c->subject_len = 0;
	if (c->subject_len <= 0) {
		ike_cred_free(c);
		BAIL(NOMEM);
	}
	*out = c;
	return IPS_OK;
}

const uint8_t *
ike_cred_cert_der(const struct ike_cred *c, size_t i, size_t *len)
{
	if (i >= c->nder)
		return NULL;
	*len = (size_t)c->der_len[i];
	return c->der[i];
}

const uint8_t *
ike_cred_subject_der(const struct ike_cred *c, size_t *len)
{
	*len = (size_t)c->subject_len;
	return c->subject_der;
}

ips_res
ike_cred_sign(const struct ike_cred *c, const uint8_t *hash, size_t hlen,
    uint8_t *out, size_t *olen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(c->key, NULL);
	size_t n = 512;
	bool ok;

	ENSURE(ctx != NULL, NOMEM);
	/* No signature digest: PKCS#1 type 1 padding over the raw hash. */
	ok = EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_sign(ctx, out, &n, hash, hlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	ENSURE(ok, INVAL);
	*olen = n;
	return IPS_OK;
}

/* The verify errors that mean "revocation status unknown". */
static bool
crl_unknown(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
		return true;
	default:
		return false;
	}
}

/* Level 1 (IKE_CRL_REVOKED): only a revocation refuses a certificate;
 * a list that is missing, stale or unverifiable does not. */
static int
lenient_crl(int ok, X509_STORE_CTX *ctx)
{
	return ok || crl_unknown(X509_STORE_CTX_get_error(ctx));
}

/* Build and check the peer's chain; IPS_OK or why not. */
static ips_res
check_chain(const struct ike_cred *c, X509 *x, STACK_OF(X509) * untrusted,
    char *why, size_t whylen)
{
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	ips_res r = IPS_OK;
	int e;

	if (sctx == NULL ||
	    X509_STORE_CTX_init(sctx, c->anchors, x, untrusted) != 1)
		r = IPS_ERR(NOMEM);
	if (ips_ok(r) && c->crl_check != IKE_CRL_NONE) {
		/* RFC 5280 6.3: every certificate of the path, not the
		 * end entity alone. */
		X509_STORE_CTX_set_flags(
		    sctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
		if (c->crl_check == IKE_CRL_REVOKED)
			X509_STORE_CTX_set_verify_cb(sctx, lenient_crl);
	}
	if (ips_ok(r) && X509_verify_cert(sctx) != 1) {
		e = X509_STORE_CTX_get_error(sctx);
		snprintf(why, whylen, "%s", X509_verify_cert_error_string(e));
		r = e == X509_V_ERR_CERT_REVOKED || crl_unknown(e)
		    ? IPS_ERR(IKE_CERT_REVOKED)
		    : IPS_ERR(IKE_CERT_UNTRUSTED);
	}
	X509_STORE_CTX_free(sctx);
	return r;
}

/* Whether the certificate names the identity the peer claimed. */
static bool
names_identity(
    X509 *x, enum ike_peer_id_kind kind, const uint8_t *id, size_t idlen)
{
	const uint8_t *p = id;
	X509_NAME *claimed;
	bool same;

	switch (kind) {
	case IKE_PEER_ID_DN:
		/*
		 * Compare names, not bytes: strongSwan encodes a configured
		 * DN with its own string types (PrintableString where it
		 * can), so the ID's DER need not match the certificate's
		 * UTF8String subject byte for byte.
		 */
		claimed = d2i_X509_NAME(NULL, &p, (long)idlen);
		same = claimed != NULL && p == id + idlen &&
		    X509_NAME_cmp(claimed, X509_get_subject_name(x)) == 0;
		X509_NAME_free(claimed);
		return same;
	case IKE_PEER_ID_FQDN:
		/* No wildcards: a gateway's name is exact. */
		return X509_check_host(x, (const char *)id, idlen,
			   X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
	case IKE_PEER_ID_EMAIL:
		return X509_check_email(x, (const char *)id, idlen, 0) == 1;
	case IKE_PEER_ID_IP:
		return X509_check_ip(x, id, idlen, 0) == 1;
	}
	return false;
}

ips_res
ike_cred_verify_peer(const struct ike_cred *c, const struct ike_der *certs,
    size_t n, enum ike_peer_id_kind id_kind, const uint8_t *id, size_t idlen,
    const uint8_t *hash, size_t hlen, const uint8_t *sig, size_t siglen,
    char *why, size_t whylen)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	EVP_PKEY_CTX *vctx = NULL;
	X509 *x = NULL;
	ips_res r = IPS_OK;

	snprintf(why, whylen, "%s", "");
	if (untrusted == NULL || n == 0) {
		r = n == 0 ? IPS_ERR(IKE_CERT_UNTRUSTED) : IPS_ERR(NOMEM);
		goto out;
	}
	for (size_t i = 0; i < n && ips_ok(r); i++) {
		const uint8_t *p = certs[i].p;
		X509 *y = d2i_X509(NULL, &p, (long)certs[i].len);

		if (y == NULL || p != certs[i].p + certs[i].len) {
			X509_free(y);
			snprintf(why, whylen, "certificate %zu is not DER", i);
			r = IPS_ERR(IKE_MALFORMED);
		} else if (i == 0) {
			x = y;
		} else if (sk_X509_push(untrusted, y) <= 0) {
			X509_free(y);
			r = IPS_ERR(NOMEM);
		}
	}
	if (ips_ok(r))
		r = check_chain(c, x, untrusted, why, whylen);
	if (ips_ok(r) && !names_identity(x, id_kind, id, idlen)) {
		snprintf(why, whylen, "%s",
		    "the certificate does not name the identity in the ID "
		    "payload");
		r = IPS_ERR(IKE_ID);
	}
	if (ips_ok(r) && c->peer_dn != NULL &&
	    X509_NAME_cmp(c->peer_dn, X509_get_subject_name(x)) != 0) {
		snprintf(why, whylen, "%s",
		    "the certificate's subject is not the rule's peer-id");
		r = IPS_ERR(IKE_PEER_UNEXPECTED);
	}
	if (ips_ok(r) &&
	    ((vctx = EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL)) == NULL ||
		EVP_PKEY_verify_init(vctx) != 1 ||
		EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) != 1 ||
		EVP_PKEY_verify(vctx, sig, siglen, hash, hlen) != 1)) {
		snprintf(why, whylen, "%s", "the signature does not verify");
		r = IPS_ERR(IKE_BAD_HASH);
	}
	EVP_PKEY_CTX_free(vctx);
out:
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(x);
	ERR_clear_error();
	return r;
}

void
ike_dn_text(const uint8_t *der, size_t len, char *buf, size_t buflen)
{
	const uint8_t *p = der;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);
	BIO *b = BIO_new(BIO_s_mem());
	int k = 0;

	buf[0] = '\0';
	/* Comma-space separated, in DER order, UTF-8 kept: what an
	 * operator writes in a peer-id. */
	if (n != NULL && b != NULL && p == der + len &&
	    X509_NAME_print_ex(b, n, 0,
		(XN_FLAG_SEP_CPLUS_SPC | ASN1_STRFLGS_RFC2253) &
		    ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (k = BIO_read(b, buf, (int)buflen - 1)) > 0) {
		/* Cut at a character boundary: a truncated UTF-8 sequence
		 * would make the text invalid for JSON and the views. */
		int end = k;

		while (end > 0 && ((unsigned char)buf[end - 1] & 0xc0) == 0x80)
			end--;
		if (end > 0 && ((unsigned char)buf[end - 1] & 0x80) != 0) {
			unsigned char lead = (unsigned char)buf[end - 1];
			int want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

			k = k - (end - 1) == want ? k : end - 1;
		}
		buf[k] = '\0';
	}
	BIO_free(b);
	X509_NAME_free(n);
	ERR_clear_error();
}
