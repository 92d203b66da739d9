/*
 * Main Mode (identity protection, RFC 2409 5 and 5.4), pre-shared keys:
 *
 *   Initiator                          Responder
 *   HDR, SA                       -->
 *                                 <--  HDR, SA
 *   HDR, KE, Ni, NAT-D, NAT-D     -->
 *                                 <--  HDR, KE, Nr, NAT-D, NAT-D
 *   HDR*, IDii, HASH_I [, N(IC)]  -->
 *                                 <--  HDR*, IDir, HASH_R
 *
 * Each received message is a step: the state it may arrive in, whether it
 * must be encrypted, which payloads it may hold how often, and its handler.
 * The engine checks all of that before the handler runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "ike_int.h"

/* RFC 3706 DPD and RFC 3947 NAT-T vendor IDs (MD5 hashes of their names,
 * fixed by those RFCs). */
static const uint8_t vid_dpd[16] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1,
    0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
static const uint8_t vid_natt[16] = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58,
    0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};

struct pl_rule {
	uint8_t type;
	uint8_t min, max;
};

typedef ips_res (*mm_handler)(struct ike_sa *sa, const struct isakmp_hdr *h,
    const struct isakmp_chain *c);

struct mm_step {
	enum ike_sa_state state; /* the SA waits in this state for it */
	bool encrypted;
	const struct pl_rule *rules;
	size_t nrules;
	mm_handler handle;
	const char *name;
};

#define RULES(r) r, sizeof(r) / sizeof(r[0])

static const struct pl_rule sa_rules[] = {
    {ISAKMP_PL_SA, 1, 1},
    {ISAKMP_PL_VID, 0, 16},
};
static const struct pl_rule ke_rules[] = {
    {ISAKMP_PL_KE, 1, 1},
    {ISAKMP_PL_NONCE, 1, 1},
    {ISAKMP_PL_NATD, 0, 4},
    {ISAKMP_PL_NATD_DRAFT, 0, 4},
    {ISAKMP_PL_CR, 0, 8},
    {ISAKMP_PL_VID, 0, 16},
};
static const struct pl_rule id_rules[] = {
    {ISAKMP_PL_ID, 1, 1},
    {ISAKMP_PL_HASH, 0, 1}, /* pre-shared keys */
    {ISAKMP_PL_SIG, 0, 1}, /* signatures, */
    {ISAKMP_PL_CERT, 0, 4}, /* with the certificate */
    {ISAKMP_PL_CR, 0, 4},
    {ISAKMP_PL_N, 0, 4},
    {ISAKMP_PL_VID, 0, 16},
};

static ips_res i_msg2(
    struct ike_sa *, const struct isakmp_hdr *, const struct isakmp_chain *);
static ips_res i_msg4(
    struct ike_sa *, const struct isakmp_hdr *, const struct isakmp_chain *);
static ips_res i_msg6(
    struct ike_sa *, const struct isakmp_hdr *, const struct isakmp_chain *);
static ips_res r_msg3(
    struct ike_sa *, const struct isakmp_hdr *, const struct isakmp_chain *);
static ips_res r_msg5(
    struct ike_sa *, const struct isakmp_hdr *, const struct isakmp_chain *);

enum mm_step_id {
	MM_I_MSG2,
	MM_I_MSG4,
	MM_I_MSG6,
	MM_R_MSG3,
	MM_R_MSG5,
	MM_NSTEPS
};

static const struct mm_step mm_steps[] = {
    [MM_I_MSG2] = {IKE_SA_MM_I1, false, RULES(sa_rules), i_msg2, "MM2"},
    [MM_I_MSG4] = {IKE_SA_MM_I2, false, RULES(ke_rules), i_msg4, "MM4"},
    [MM_I_MSG6] = {IKE_SA_MM_I3, true, RULES(id_rules), i_msg6, "MM6"},
    [MM_R_MSG3] = {IKE_SA_MM_R1, false, RULES(ke_rules), r_msg3, "MM3"},
    [MM_R_MSG5] = {IKE_SA_MM_R2, true, RULES(id_rules), r_msg5, "MM5"},
};
_Static_assert(sizeof(mm_steps) / sizeof(mm_steps[0]) == MM_NSTEPS,
    "one Main Mode step per message");

/* Payload counts against a step's rules; private types are ignored. */
static ips_res
check_rules(const struct isakmp_chain *c, const struct pl_rule *rules, size_t n)
{
	for (size_t i = 0; i < c->n; i++) {
		size_t k;

		for (k = 0; k < n; k++)
			if (rules[k].type == c->pl[i].type)
				break;
		if (k == n && c->pl[i].type < 128)
			BAIL(IKE_PAYLOAD_TYPE);
	}
	for (size_t k = 0; k < n; k++) {
		size_t cnt = isakmp_chain_count(c, rules[k].type);

		ENSURE(cnt >= rules[k].min && cnt <= rules[k].max,
		    IKE_PAYLOAD_TYPE);
	}
	return IPS_OK;
}

static bool
has_vid(const struct isakmp_chain *c, const uint8_t vid[static 16])
{
	const struct isakmp_payload *pl;

	for (size_t i = 0; (pl = isakmp_chain_find(c, ISAKMP_PL_VID, i)); i++)
		if (rbuf_left(&pl->body) == 16 &&
		    memcmp(pl->body.p + pl->body.off, vid, 16) == 0)
			return true;
	return false;
}

static ips_res
begin(struct ike_sa *sa, struct wbuf *wb, struct isakmp_builder *b)
{
	struct isakmp_hdr h;

	memset(&h, 0, sizeof(h));
	memcpy(h.icookie, sa->cky_i, 8);
	memcpy(h.rcookie, sa->cky_r, 8);
	h.exchange = ISAKMP_EXCH_IDPROT;
	wbuf_init(wb, IKE_MSG_MAX);
	return isakmp_build_begin(b, wb, &h);
}

static ips_res
put_vids(struct isakmp_builder *b, bool natt)
{
	GUARD(isakmp_build_raw(b, ISAKMP_PL_VID, vid_dpd, 16));
	if (natt)
		GUARD(isakmp_build_raw(b, ISAKMP_PL_VID, vid_natt, 16));
	return IPS_OK;
}

/* RFC 3947 3.2: HASH(CKY-I | CKY-R | IP | Port), the negotiated hash. */
static ips_res
natd_hash(const struct ike_sa *sa, const struct ike_endpoint *ep, uint8_t *out)
{
	const uint8_t port[2] = {(uint8_t)(ep->port >> 8), (uint8_t)ep->port};
	const struct ike_chunk in[] = {{sa->cky_i, 8}, {sa->cky_r, 8},
	    {ep->addr.b, ips_addr_bits(ep->addr.af) / 8}, {port, 2}};

	return ike_hash(sa->ike->cx, sa->chosen.hash, in, 4, out);
}

/* The destination's NAT-D first, then ours (RFC 3947 3.2). */
static ips_res
put_natd(struct ike_sa *sa, struct isakmp_builder *b)
{
	uint8_t h[IKE_HASH_MAX];
	size_t n = ike_hash_len(sa->chosen.hash);

	GUARD(natd_hash(sa, &sa->remote, h));
	GUARD(isakmp_build_raw(b, ISAKMP_PL_NATD, h, n));
	GUARD(natd_hash(sa, &sa->local, h));
	return isakmp_build_raw(b, ISAKMP_PL_NATD, h, n);
}

/* Whether the peer's NAT-D payloads show a NAT between us. */
static bool
nat_between(struct ike_sa *sa, const struct isakmp_chain *c)
{
	const struct isakmp_payload *pl;
	uint8_t mine[IKE_HASH_MAX], theirs[IKE_HASH_MAX];
	size_t n = ike_hash_len(sa->chosen.hash);
	bool local_ok, remote_ok = false;

	if ((pl = isakmp_chain_find(c, ISAKMP_PL_NATD, 0)) == NULL)
		return false; /* no NAT-T: nothing to float for */
	if (!ips_ok(natd_hash(sa, &sa->local, mine)) ||
	    !ips_ok(natd_hash(sa, &sa->remote, theirs)))
		return true;
	/* The first is how the peer saw us ... */
	local_ok = rbuf_left(&pl->body) == n &&
	    memcmp(pl->body.p + pl->body.off, mine, n) == 0;
	/* ... the others how it sees itself. */
	for (size_t i = 1; (pl = isakmp_chain_find(c, ISAKMP_PL_NATD, i)); i++)
		if (rbuf_left(&pl->body) == n &&
		    memcmp(pl->body.p + pl->body.off, theirs, n) == 0)
			remote_ok = true;
	if (!local_ok || !remote_ok)
		ips_log(IPS_LOG_INFO,
		    "ike: %s: NAT detected (%s); using "
		    "port %u",
		    sa->rule,
		    !local_ok ? "we are behind it" : "the peer is behind it",
		    IKE_NATT_PORT);
	return !local_ok || !remote_ok;
}

static ips_res
take_ke_nonce(struct ike_sa *sa, const struct isakmp_chain *c, uint8_t *gx,
    uint8_t *nonce, size_t *nlen)
{
	const struct isakmp_payload *ke = isakmp_chain_find(c, ISAKMP_PL_KE, 0);
	const struct isakmp_payload *no =
	    isakmp_chain_find(c, ISAKMP_PL_NONCE, 0);

	ENSURE(rbuf_left(&ke->body) == ike_dh_public_len(sa->chosen.group),
	    IKE_MALFORMED);
	GUARD(isakmp_nonce_check(no));
	memcpy(gx, ke->body.p + ke->body.off, rbuf_left(&ke->body));
	*nlen = rbuf_left(&no->body);
	memcpy(nonce, no->body.p + no->body.off, *nlen);
	return IPS_OK;
}

/* SKEYID and its family, the cipher key and the first IV: all from
 * locals, swapped into the SA only when every step succeeded. */
static ips_res
compute_keys(struct ike_sa *sa, const uint8_t *peer_gx)
{
	const struct secrets *sec = sa->ike->pv.secrets;
	uint8_t gxy[IKE_DH_MAX];
	size_t gxylen = 0, psklen = 0;
	const uint8_t *psk;
	ips_res r;

	bool sig = sa->chosen.auth == IKE_AUTH_RSA_SIG;

	ENSURE(sig || sa->chosen.auth == IKE_AUTH_PSK, IKE_NO_PROPOSAL);
	if (sig) {
		ENSURE(sa->cred != NULL, IKE_NO_SECRET);
		psk = NULL;
	} else {
		psk = sec != NULL && sa->secret[0]
		    ? secrets_get(sec, sa->secret, &psklen)
		    : NULL;
		ENSURE(psk != NULL, IKE_NO_SECRET);
	}
	r = ike_dh_derive(sa->dh, peer_gx, sa->gxlen, gxy, &gxylen);
	/* RFC 2409 5: SKEYID from the PSK, or (signatures) from g^xy */
	if (ips_ok(r) && sig)
		r = ike_skeyid_sig(sa->ike->cx, sa->chosen.hash, sa->ni,
		    sa->nilen, sa->nr, sa->nrlen, gxy, gxylen, sa->skeyid);
	else if (ips_ok(r))
		r = ike_skeyid_psk(sa->ike->cx, sa->chosen.hash, psk, psklen,
		    sa->ni, sa->nilen, sa->nr, sa->nrlen, sa->skeyid);
	if (ips_ok(r))
		r = ike_skeyid_derive(sa->ike->cx, sa->chosen.hash, sa->skeyid,
		    gxy, gxylen, sa->cky_i, sa->cky_r, &sa->sk);
	sa->kalen = ike_cipher_keylen(sa->chosen.encr, sa->chosen.keybits);
	sa->block = ike_cipher_block(sa->chosen.encr);
	if (ips_ok(r))
		r = ike_enc_key(
		    sa->ike->cx, sa->chosen.hash, &sa->sk, sa->kalen, sa->ka);
	if (ips_ok(r))
		r = ike_iv_phase1(sa->ike->cx, sa->chosen.hash, sa->gx_i,
		    sa->gxlen, sa->gx_r, sa->gxlen, sa->block, sa->iv);
	OPENSSL_cleanse(gxy, sizeof(gxy));
	sa->keyed = ips_ok(r);
	/* The DH private key has done its work. */
	ike_dh_free(sa->dh);
	sa->dh = NULL;
	return r;
}

#define ID_MAX (4 + 1024) /* an ID payload body we send or check */

/* Our ID payload body (RFC 2407 4.6.2): with signatures, our certificate's
 * subject as ID_DER_ASN1_DN; else our address, protocol 0, port 0 as
 * charon sends it. */
static size_t
own_id(const struct ike_sa *sa, uint8_t out[static ID_MAX])
{
	size_t alen = ips_addr_bits(sa->local.addr.af) / 8;

	out[1] = 0;
	out[2] = out[3] = 0;
	if (sa->chosen.auth == IKE_AUTH_RSA_SIG && sa->cred != NULL) {
		size_t dlen;
		const uint8_t *dn = ike_cred_subject_der(sa->cred, &dlen);

		if (dlen <= ID_MAX - 4) {
			out[0] = ISAKMP_ID_DER_ASN1_DN;
			memcpy(out + 4, dn, dlen);
			return 4 + dlen;
		}
	}
	out[0] = sa->local.addr.af == AF_INET ? ISAKMP_ID_IPV4_ADDR
					      : ISAKMP_ID_IPV6_ADDR;
	memcpy(out + 4, sa->local.addr.b, alen);
	return 4 + alen;
}

/* HASH_I (initiator) or HASH_R (responder) for an ID payload body. */
static ips_res
auth_hash(const struct ike_sa *sa, bool of_initiator, const uint8_t *id,
    size_t idlen, uint8_t *out)
{
	const uint8_t *gx_own = of_initiator ? sa->gx_i : sa->gx_r;
	const uint8_t *gx_peer = of_initiator ? sa->gx_r : sa->gx_i;
	const uint8_t *c_own = of_initiator ? sa->cky_i : sa->cky_r;
	const uint8_t *c_peer = of_initiator ? sa->cky_r : sa->cky_i;

	return ike_hash_auth(sa->ike->cx, sa->chosen.hash, sa->skeyid,
	    sa->sk.len, gx_own, gx_peer, sa->gxlen, c_own, c_peer, sa->sai_b,
	    sa->sai_len, id, idlen, out);
}

/*
 * The ID and HASH (or CERT and SIG) of MM5/MM6 from the peer: a HASH is
 * compared in constant time; a signature is checked with a certificate
 * that must chain to our anchors and name the claimed subject.
 */
/* The identity kinds a certificate can vouch for (RFC 2407 4.6.2.1). */
static ips_res
peer_id_kind(uint8_t type, enum ike_peer_id_kind *out)
{
	switch (type) {
	case ISAKMP_ID_DER_ASN1_DN:
		*out = IKE_PEER_ID_DN;
		return IPS_OK;
	case ISAKMP_ID_FQDN:
		*out = IKE_PEER_ID_FQDN;
		return IPS_OK;
	case ISAKMP_ID_USER_FQDN:
		*out = IKE_PEER_ID_EMAIL;
		return IPS_OK;
	case ISAKMP_ID_IPV4_ADDR:
	case ISAKMP_ID_IPV6_ADDR:
		*out = IKE_PEER_ID_IP;
		return IPS_OK;
	default:
		BAIL(IKE_ID);
	}
}

static ips_res
verify_peer(
    struct ike_sa *sa, const struct isakmp_chain *c, bool peer_is_initiator)
{
	const struct isakmp_payload *idp =
	    isakmp_chain_find(c, ISAKMP_PL_ID, 0);
	const struct isakmp_payload *hp =
	    isakmp_chain_find(c, ISAKMP_PL_HASH, 0);
	uint8_t want[IKE_HASH_MAX];
	struct isakmp_id id;
	size_t n = ike_hash_len(sa->chosen.hash);

	GUARD(isakmp_id_parse(idp, &id));
	GUARD(auth_hash(sa, peer_is_initiator, idp->body.p + idp->body.off,
	    rbuf_left(&idp->body), want));
	if (sa->chosen.auth == IKE_AUTH_RSA_SIG) {
		const struct isakmp_payload *sp =
		    isakmp_chain_find(c, ISAKMP_PL_SIG, 0);
		const struct isakmp_payload *cp;
		struct isakmp_cert cert;
		struct ike_der certs[8];
		size_t ncerts = 0;
		enum ike_peer_id_kind kind;
		char why[256];
		ips_res r;

		ENSURE(sp != NULL && sa->cred != NULL, IKE_BAD_HASH);
		GUARD(peer_id_kind(id.type, &kind));
		/* RFC 2408 3.9: X.509 signature certificates (encoding 4);
		 * the first is the peer's, any others may help the chain. */
		for (size_t i = 0; ncerts < 8 &&
		     (cp = isakmp_chain_find(c, ISAKMP_PL_CERT, i)) != NULL;
		     i++)
			if (ips_ok(isakmp_cert_parse(cp, &cert)) &&
			    cert.encoding == 4)
				certs[ncerts++] =
				    (struct ike_der){cert.data, cert.len};
		r = ike_cred_verify_peer(sa->cred, certs, ncerts, kind, id.data,
		    id.len, want, n, sp->body.p, rbuf_left(&sp->body), why,
		    sizeof(why));
		if (!ips_ok(r) && why[0] != '\0')
			ips_log(IPS_LOG_NOTICE, "ike: %s: peer certificate: %s",
			    sa->rule, why);
		GUARD(r);
	} else {
		ENSURE(hp != NULL && rbuf_left(&hp->body) == n, IKE_BAD_HASH);
		ENSURE(ike_ct_equal(hp->body.p + hp->body.off, want, n),
		    IKE_BAD_HASH);
	}
	sa->peer_id_type = id.type;
	sa->peer_id_len =
	    id.len < sizeof(sa->peer_id) ? id.len : sizeof(sa->peer_id);
	memcpy(sa->peer_id, id.data, sa->peer_id_len);
	return IPS_OK;
}

/* MM5 or MM6: ID, HASH [, N(INITIAL-CONTACT)], encrypted. */
static ips_res
send_id_hash(struct ike_sa *sa, bool initial_contact)
{
	struct isakmp_builder b;
	struct wbuf wb;
	uint8_t id[ID_MAX], hash[IKE_HASH_MAX], spi[16], sig[512];
	size_t idlen = own_id(sa, id);
	ips_res r;

	r = auth_hash(sa, sa->role == IKE_INITIATOR, id, idlen, hash);
	if (ips_ok(r))
		r = begin(sa, &wb, &b);
	if (ips_ok(r))
		r = isakmp_build_raw(&b, ISAKMP_PL_ID, id, idlen);
	if (ips_ok(r) && sa->chosen.auth == IKE_AUTH_RSA_SIG) {
		/* ID, CERT (ours, then any intermediates), SIG (RFC 2409
		 * 5.1) */
		size_t clen, slen = 0;
		const uint8_t *der;

		for (size_t i = 0; ips_ok(r) &&
		     (der = ike_cred_cert_der(sa->cred, i, &clen)) != NULL;
		     i++) {
			r = isakmp_build_open(&b, ISAKMP_PL_CERT);
			if (ips_ok(r)) /* X.509 signature certificate */
				r = wbuf_u8(&wb, 4);
			if (ips_ok(r))
				r = wbuf_bytes(&wb, der, clen);
			if (ips_ok(r))
				r = isakmp_build_close(&b);
		}
		if (ips_ok(r))
			r = ike_cred_sign(sa->cred, hash,
			    ike_hash_len(sa->chosen.hash), sig, &slen);
		if (ips_ok(r))
			r = isakmp_build_raw(&b, ISAKMP_PL_SIG, sig, slen);
	} else if (ips_ok(r)) {
		r = isakmp_build_raw(
		    &b, ISAKMP_PL_HASH, hash, ike_hash_len(sa->chosen.hash));
	}
	if (ips_ok(r) && initial_contact) {
		memcpy(spi, sa->cky_i, 8);
		memcpy(spi + 8, sa->cky_r, 8);
		r = isakmp_build_notify(&b, IPSEC_DOI, ISAKMP_PROTO_ISAKMP, spi,
		    16, ISAKMP_N_INITIAL_CONTACT, NULL, 0);
	}
	if (ips_ok(r))
		r = isakmp_build_finish(&b);
	if (ips_ok(r))
		r = ike_crypt_encrypt(sa, &wb, sa->iv);
	if (ips_ok(r))
		ike_sa_send(sa, wb.p, wb.len, sa->role == IKE_INITIATOR);
	OPENSSL_cleanse(hash, sizeof(hash));
	wbuf_free(&wb);
	return r;
}

/* MM3 or MM4: KE, nonce, NAT-D pair. */
static ips_res
send_ke(struct ike_sa *sa, bool natt)
{
	struct isakmp_builder b;
	struct wbuf wb;
	uint8_t *gx = sa->role == IKE_INITIATOR ? sa->gx_i : sa->gx_r;
	uint8_t *nonce = sa->role == IKE_INITIATOR ? sa->ni : sa->nr;
	size_t *nlen = sa->role == IKE_INITIATOR ? &sa->nilen : &sa->nrlen;
	ips_res r;

	sa->gxlen = ike_dh_public_len(sa->chosen.group);
	*nlen = IKE_NONCE_LEN;
	GUARD(ike_dh_new(sa->ike->cx, sa->chosen.group, &sa->dh));
	GUARD(ike_dh_public(sa->dh, gx, sa->gxlen));
	GUARD(ike_random(nonce, *nlen));
	r = begin(sa, &wb, &b);
	if (ips_ok(r))
		r = isakmp_build_raw(&b, ISAKMP_PL_KE, gx, sa->gxlen);
	if (ips_ok(r))
		r = isakmp_build_raw(&b, ISAKMP_PL_NONCE, nonce, *nlen);
	/* RFC 2409 5.1: ask for the peer's certificate (any authority);
	 * charon sends one only when asked. */
	if (ips_ok(r) && sa->chosen.auth == IKE_AUTH_RSA_SIG) {
		const uint8_t enc = 4;

		r = isakmp_build_raw(&b, ISAKMP_PL_CR, &enc, 1);
	}
	if (ips_ok(r) && natt)
		r = put_natd(sa, &b);
	if (ips_ok(r))
		r = isakmp_build_finish(&b);
	if (ips_ok(r))
		ike_sa_send(sa, wb.p, wb.len, true);
	wbuf_free(&wb);
	return r;
}

/* Float to the NAT-T port from here on (RFC 3947 4). */
static void
float_natt(struct ike_sa *sa)
{
	sa->nat = true;
	sa->local.port = IKE_NATT_PORT;
	sa->remote.port = IKE_NATT_PORT;
}

ips_res
mm_initiate(struct ike_sa *sa)
{
	struct isakmp_builder b;
	struct wbuf wb;
	size_t off;
	ips_res r;

	ike_sa_set_state(sa, IKE_SA_MM_I1); /* cookie: from ike_sa_new */
	r = begin(sa, &wb, &b);
	if (ips_ok(r))
		r = isakmp_build_open(&b, ISAKMP_PL_SA);
	off = wb.len;
	if (ips_ok(r))
		r = ike_mm_sa_write(&wb, sa->offers, sa->noffers);
	/* SAi_b, the SA body both sides hash (RFC 2409 5). */
	if (ips_ok(r) && (sa->sai_b = malloc(wb.len - off)) != NULL) {
		sa->sai_len = wb.len - off;
		memcpy(sa->sai_b, wb.p + off, sa->sai_len);
	}
	if (ips_ok(r) && sa->sai_b == NULL)
		r = IPS_ERR(NOMEM);
	if (ips_ok(r))
		r = isakmp_build_close(&b);
	if (ips_ok(r))
		r = put_vids(&b, true);
	if (ips_ok(r))
		r = isakmp_build_finish(&b);
	if (ips_ok(r))
		ike_sa_send(sa, wb.p, wb.len, true);
	wbuf_free(&wb);
	return r;
}

/* Initiator: the responder's choice; on with KE and nonce. */
static ips_res
i_msg2(
    struct ike_sa *sa, const struct isakmp_hdr *h, const struct isakmp_chain *c)
{
	struct isakmp_sa s;

	GUARD(isakmp_sa_parse(isakmp_chain_find(c, ISAKMP_PL_SA, 0), &s));
	GUARD(ike_mm_sa_accept(&s, sa->offers, sa->noffers, &sa->chosen));
	memcpy(sa->cky_r, h->rcookie, 8);
	sa->nat = has_vid(c, vid_natt); /* NAT-T possible; NAT-D decides */
	sa->peer_dpd = has_vid(c, vid_dpd);
	GUARD(send_ke(sa, sa->nat));
	ike_sa_set_state(sa, IKE_SA_MM_I2);
	return IPS_OK;
}

static bool
other_sa_with(const struct ike_sa *sa)
{
	/* Any other SA, even one still negotiating: the peer must not drop
	 * those when we run several Main Modes to it at once. */
	for (const struct ike_sa *o = sa->ike->sas; o != NULL; o = o->next)
		if (o != sa && o->state != IKE_SA_DEAD &&
		    ips_addr_cmp(&o->remote.addr, &sa->remote.addr) == 0)
			return true;
	return false;
}

/* Initiator: the responder's KE and nonce; keys; our ID and HASH_I. */
static ips_res
i_msg4(
    struct ike_sa *sa, const struct isakmp_hdr *h, const struct isakmp_chain *c)
{
	bool natt = sa->nat;

	(void)h;
	GUARD(take_ke_nonce(sa, c, sa->gx_r, sa->nr, &sa->nrlen));
	GUARD(compute_keys(sa, sa->gx_r));
	sa->nat = false;
	if (natt && nat_between(sa, c))
		float_natt(sa);
	/* RFC 2407 4.6.3.3: tell a peer with stale SAs of ours to drop them. */
	GUARD(send_id_hash(sa, !other_sa_with(sa)));
	ike_sa_set_state(sa, IKE_SA_MM_I3);
	return IPS_OK;
}

static ips_res
i_msg6(
    struct ike_sa *sa, const struct isakmp_hdr *h, const struct isakmp_chain *c)
{
	(void)h;
	GUARD(verify_peer(sa, c, false));
	ike_sa_set_state(sa, IKE_SA_ESTABLISHED);
	/* We started this for a rule: its SAs are what was wanted. */
	if (sa->start_qm)
		qm_start_for_rule(sa);
	acq_mm_up(sa);
	return IPS_OK;
}

/* Responder: the initiator's KE and nonce; ours back, and keys. */
static ips_res
r_msg3(
    struct ike_sa *sa, const struct isakmp_hdr *h, const struct isakmp_chain *c)
{
	bool natt = sa->nat;

	(void)h;
	sa->gxlen = ike_dh_public_len(sa->chosen.group);
	GUARD(take_ke_nonce(sa, c, sa->gx_i, sa->ni, &sa->nilen));
	sa->nat = natt && nat_between(sa, c);
	GUARD(send_ke(sa, natt));
	GUARD(compute_keys(sa, sa->gx_i));
	ike_sa_set_state(sa, IKE_SA_MM_R2);
	return IPS_OK;
}

/*
 * RFC 2407 4.6.3.3: INITIAL-CONTACT says the peer has no state from
 * before: every other SA with it, ISAKMP and IPsec, is stale.
 */
static void
initial_contact(struct ike_sa *sa, const struct isakmp_chain *c)
{
	const struct isakmp_payload *pl;
	struct isakmp_notify n;
	bool seen = false;

	for (size_t i = 0; (pl = isakmp_chain_find(c, ISAKMP_PL_N, i)); i++)
		if (ips_ok(isakmp_notify_parse(pl, &n)) &&
		    n.type == ISAKMP_N_INITIAL_CONTACT)
			seen = true;
	if (!seen)
		return;
	for (struct ike_sa *o = sa->ike->sas; o != NULL; o = o->next) {
		/* The sender is an identity, not an address: behind one NAT
		 * several peers share an address, and one's restart must not
		 * end the others' SAs.  Established SAs of the same
		 * authenticated identity and address go. */
		if (o == sa || o->state != IKE_SA_ESTABLISHED ||
		    ips_addr_cmp(&o->remote.addr, &sa->remote.addr) != 0 ||
		    o->peer_id_type != sa->peer_id_type ||
		    o->peer_id_len != sa->peer_id_len ||
		    memcmp(o->peer_id, sa->peer_id, sa->peer_id_len) != 0)
			continue;
		ips_log(IPS_LOG_NOTICE,
		    "ike: %s: INITIAL-CONTACT from the "
		    "peer: dropping its stale SAs",
		    sa->rule);
		qm_forget_peer(o);
		o->end_why = "the peer restarted (INITIAL-CONTACT)";
		ike_sa_set_state(o, IKE_SA_DEAD);
	}
}

static ips_res
r_msg5(
    struct ike_sa *sa, const struct isakmp_hdr *h, const struct isakmp_chain *c)
{
	(void)h;
	GUARD(verify_peer(sa, c, true));
	GUARD(send_id_hash(sa, false));
	ike_sa_set_state(sa, IKE_SA_ESTABLISHED);
	initial_contact(sa, c);
	acq_mm_up(sa); /* the peer got there first: use its SA */
	return IPS_OK;
}

/* The reason a failed step gives the statistics. */
static enum stats_neg_failure
failure_of(ips_res r)
{
	switch (r.err) {
	case IPS_E_IKE_NO_PROPOSAL:
	case IPS_E_IKE_PROPOSAL:
	case IPS_E_IKE_NO_POLICY:
		return STATS_NEG_NO_PROPOSAL;
	case IPS_E_IKE_BAD_HASH:
	case IPS_E_IKE_NO_SECRET:
	case IPS_E_IKE_CERT_UNTRUSTED:
	case IPS_E_IKE_CERT_REVOKED:
	case IPS_E_IKE_PEER_UNEXPECTED:
		return STATS_NEG_AUTH;
	case IPS_E_IKE_ID:
		return STATS_NEG_INVALID_ID;
	default:
		return STATS_NEG_OTHER;
	}
}

static void
fail(struct ike_sa *sa, const char *step, ips_res r)
{
	ips_log(IPS_LOG_NOTICE, "ike: %s: Main Mode failed at %s: %s",
	    sa->rule[0] ? sa->rule : "(no rule)", step, ips_strerror(r.err));
	stats_on_negotiation_failed(sa->ike->stats, failure_of(r));
	{
		char why[128];

		snprintf(
		    why, sizeof(why), "%s at %s", ips_strerror(r.err), step);
		/* the closest miss belongs to a proposal failure only */
		ike_audit_mm_fail(sa, r, why,
		    r.err == IPS_E_IKE_NO_PROPOSAL ? &sa->mismatch : NULL);
	}
	/* Before keys exist a notify can only go in the clear. */
	if (!sa->keyed && ips_err_notify(r.err) != 0)
		ike_send_notify_plain(sa->ike, &sa->local, &sa->remote,
		    sa->cky_i, sa->cky_r, (uint16_t)ips_err_notify(r.err));
	ike_sa_set_state(sa, IKE_SA_DEAD);
}

void
mm_input(struct ike_sa *sa, const struct isakmp_hdr *h,
    const struct isakmp_chain *c, const struct mm_rx *rx)
{
	const struct mm_step *st = NULL;
	ips_res r;

	for (size_t i = 0; i < MM_NSTEPS; i++)
		if (mm_steps[i].state == sa->state)
			st = &mm_steps[i];
	if (st == NULL) {
		/* Established, or gone: a stray Main Mode message. */
		stats_on_invalid_packet(sa->ike->stats);
		return;
	}
	if (st->encrypted != ((h->flags & ISAKMP_FLAG_E) != 0)) {
		/* RFC 2409 5: MM5/MM6 must be protected, the rest not. */
		stats_on_invalid_packet(sa->ike->stats);
		return;
	}
	r = check_rules(c, st->rules, st->nrules);
	if (!ips_ok(r) && st->encrypted) {
		/*
		 * Decrypted, but not the payloads of MM5/MM6: noise that
		 * happened to parse, or a forgery.  Drop it and keep the IV
		 * chain, so the real message still decrypts.
		 */
		stats_on_invalid_packet(sa->ike->stats);
		return;
	}
	if (ips_ok(r)) {
		if (rx->next_iv != NULL)
			memcpy(sa->iv, rx->next_iv, sa->block);
		memcpy(sa->in_digest, rx->digest, 32);
		sa->have_in = true;
		/* Floating to 4500 (RFC 3947 4): follow the peer's port. */
		sa->remote.port = rx->remote->port;
		sa->local.port = rx->local->port;
		r = st->handle(sa, h, c);
	}
	if (!ips_ok(r))
		fail(sa, st->name, r);
}

void
mm_respond(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const struct isakmp_hdr *h,
    const struct isakmp_chain *c, const uint8_t *msg, size_t len)
{
	const struct pol_rule *rule = ike_rule_for_peer(ike, local, remote);
	const struct isakmp_payload *sap;
	struct isakmp_builder b;
	struct isakmp_sa s;
	struct ike_sa *sa;
	struct wbuf wb;
	ips_res r;

	if (!ips_ok(check_rules(c, RULES(sa_rules)))) {
		stats_on_invalid_packet(ike->stats);
		return;
	}
	if ((sa = ike_sa_new(ike, IKE_RESPONDER, local, remote, h->icookie)) ==
	    NULL)
		return;
	ike_sa_set_state(sa, IKE_SA_MM_R1);
	r = ike_random(sa->cky_r, 8);
	{
		/* Remember MM1, so a repeat gets MM2 again. */
		const struct ike_chunk in[] = {{msg, len}};

		if (ips_ok(r))
			r = ike_hash(sa->ike->cx, IKE_HASH_ALG_SHA256, in, 1,
			    sa->in_digest);
		sa->have_in = ips_ok(r);
	}
	if (ips_ok(r) && rule == NULL)
		r = IPS_ERR(IKE_NO_POLICY);
	if (ips_ok(r)) {
		snprintf(sa->rule, sizeof(sa->rule), "%s", rule->name);
		for (size_t i = 0; i < rule->nauth; i++)
			if (rule->auth[i].method == POL_AUTH_PSK) {
				snprintf(sa->secret, sizeof(sa->secret), "%s",
				    rule->auth[i].secret);
				break;
			}
		sa->cred = ike_cred_for(ike, rule);
		sa->noffers = ike_mm_offers(rule->ike_policy, rule->auth,
		    rule->nauth, sa->cred != NULL, sa->offers, IKE_MAX_OFFERS);
		sap = isakmp_chain_find(c, ISAKMP_PL_SA, 0);
		r = isakmp_sa_parse(sap, &s);
		if (ips_ok(r))
			r = ike_mm_sa_select(&s, sa->offers, sa->noffers,
			    &sa->chosen, &sa->mismatch);
		if (r.err == IPS_E_IKE_NO_PROPOSAL)
			ips_log(IPS_LOG_NOTICE,
			    "ike: %s: no acceptable phase 1 "
			    "proposal: %s",
			    sa->rule, sa->mismatch.what);
		if (ips_ok(r) && ike->tracing) {
			char eb[32];

			ike_trace(ike,
			    "rule %s: phase 1 proposal accepted (transform "
			    "%u of %zu offers of ours): %s %s group %u %s, "
			    "lifetime %u s",
			    sa->rule, sa->chosen.tnum, sa->noffers,
			    ike_encr_text(sa->chosen.encr, sa->chosen.keybits,
				eb, sizeof(eb)),
			    ike_hash_text(sa->chosen.hash), sa->chosen.group,
			    ike_auth_method_text(sa->chosen.auth),
			    ike_mm_lifetime(&sa->chosen));
		} else if (r.err == IPS_E_IKE_NO_PROPOSAL)
			ike_trace(ike,
			    "rule %s: no acceptable phase 1 proposal: %s",
			    sa->rule, sa->mismatch.what);
		if (ips_ok(r) &&
		    (sa->sai_b = malloc(rbuf_left(&sap->body))) != NULL) {
			sa->sai_len = rbuf_left(&sap->body);
			memcpy(sa->sai_b, sap->body.p + sap->body.off,
			    sa->sai_len);
		} else if (ips_ok(r)) {
			r = IPS_ERR(NOMEM);
		}
	}
	if (!ips_ok(r)) {
		fail(sa, "MM1", r);
		return;
	}
	sa->nat = has_vid(c, vid_natt);
	sa->peer_dpd = has_vid(c, vid_dpd);
	sa->dpd_delay_ms = (uint64_t)rule->ike_policy->dpd_delay_s * 1000;
	sa->dpd_timeout_ms = (uint64_t)rule->ike_policy->dpd_timeout_s * 1000;
	r = begin(sa, &wb, &b);
	if (ips_ok(r))
		r = isakmp_build_open(&b, ISAKMP_PL_SA);
	if (ips_ok(r))
		r = ike_mm_sa_write(&wb, &sa->chosen, 1);
	if (ips_ok(r))
		r = isakmp_build_close(&b);
	if (ips_ok(r))
		r = put_vids(&b, sa->nat);
	if (ips_ok(r))
		r = isakmp_build_finish(&b);
	if (ips_ok(r))
		ike_sa_send(sa, wb.p, wb.len, true);
	wbuf_free(&wb);
	if (!ips_ok(r))
		fail(sa, "MM2", r);
}
