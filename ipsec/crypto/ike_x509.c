#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "ike_x509.h"

struct ike_cred {
	int refs;
	X509 *cert;
	EVP_PKEY *key;
	X509_STORE *anchors;
	uint8_t *cert_der;
	int cert_len;
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
	EVP_PKEY_free(c->key); /* OpenSSL clears private keys it frees */
	X509_STORE_free(c->anchors);
	OPENSSL_free(c->cert_der);
	OPENSSL_free(c->subject_der);
	OPENSSL_free(c);
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

ips_res
ike_cred_load(const char *cert, const char *key, const char *ca,
    struct ike_cred **out, char *errbuf, size_t errlen)
{
	struct ike_cred *c = OPENSSL_zalloc(sizeof(*c));
	struct stat sb;
	FILE *f;

	ENSURE(c != NULL, NOMEM);
	c->refs = 1;
	if ((f = fopen(cert, "re")) == NULL ||
	    (c->cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		if (f != NULL)
			fclose(f);
		ike_cred_free(c);
		return fail(errbuf, errlen, IPS_E_CONFIG, cert,
		    "not a readable PEM certificate");
	}
	fclose(f);
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
	    X509_STORE_load_file(c->anchors, ca) != 1) {
		ike_cred_free(c);
		return fail(errbuf, errlen, IPS_E_CONFIG, ca,
		    "cannot load the trust anchors");
	}
	c->cert_len = i2d_X509(c->cert, &c->cert_der);
	c->subject_len =
	    i2d_X509_NAME(X509_get_subject_name(c->cert), &c->subject_der);
	if (c->cert_len <= 0 || c->subject_len <= 0) {
		ike_cred_free(c);
		BAIL(NOMEM);
	}
	*out = c;
	return IPS_OK;
}

const uint8_t *
ike_cred_cert_der(const struct ike_cred *c, size_t *len)
{
	*len = (size_t)c->cert_len;
	return c->cert_der;
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

ips_res
ike_cred_verify_peer(const struct ike_cred *c, const uint8_t *cert, size_t clen,
    const uint8_t *subject, size_t slen, const uint8_t *hash, size_t hlen,
    const uint8_t *sig, size_t siglen)
{
	const uint8_t *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)clen);
	X509_STORE_CTX *sctx = NULL;
	EVP_PKEY_CTX *vctx = NULL;
	X509_NAME *claimed = NULL;
	ips_res r = IPS_OK;

	if (x == NULL || p != cert + clen) {
		r = IPS_ERR(IKE_MALFORMED);
		goto out;
	}
	/* The certificate must chain to one of our anchors. */
	if ((sctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sctx, c->anchors, x, NULL) != 1 ||
	    X509_verify_cert(sctx) != 1) {
		r = IPS_ERR(IKE_CERT_UNTRUSTED);
		goto out;
	}
	/*
	 * The identity the peer claimed is the certificate's subject.  Compare
	 * names, not bytes: strongSwan encodes a configured DN with its own
	 * string types (PrintableString where it can), so the ID's DER need
	 * not match the certificate's UTF8String subject byte for byte.
	 */
	p = subject;
	claimed = d2i_X509_NAME(NULL, &p, (long)slen);
	if (claimed == NULL || p != subject + slen ||
	    X509_NAME_cmp(claimed, X509_get_subject_name(x)) != 0) {
		r = IPS_ERR(IKE_ID);
		goto out;
	}
	if ((vctx = EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL)) == NULL ||
	    EVP_PKEY_verify_init(vctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_verify(vctx, sig, siglen, hash, hlen) != 1)
		r = IPS_ERR(IKE_BAD_HASH);
out:
	EVP_PKEY_CTX_free(vctx);
	X509_STORE_CTX_free(sctx);
	X509_free(x);
	X509_NAME_free(claimed);
	ERR_clear_error();
	return r;
}
