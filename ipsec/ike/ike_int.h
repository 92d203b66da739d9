/* Internal to the IKE engine: shared by ike.c, ike_crypt.c and mm.c. */
#ifndef IPS_IKE_INT_H
#define IPS_IKE_INT_H

#include "crypto/ike_crypto.h"
#include "crypto/ike_keys.h"
#include "crypto/ike_x509.h"
#include "ike.h"
#include "proposal.h"
#include "sad/sad.h"
#include "wire/isakmp.h"

#define IKE_MAX_OFFERS 32
#define IKE_NONCE_LEN 32
#define IKE_MSG_MAX 8192 /* no MM/QM message we build comes close */
#define IKE_RETX_FIRST_MS 2000 /* then doubling, RFC 2408 leaves it to us */
#define IKE_RETX_MAX_MS 16000 /* where the doubling stops */
#define IKE_RETX_TRIES 5
/* An SA pair replaced by a rekey lives on this long for what is in
 * flight, then is deleted, the peer told. */
#define IKE_REKEY_GRACE_MS 10000

/* The wait after a message's send number tries (0: the first send):
 * 2, 4, 8, 16, 16, 16 s, so an exchange gives up about a minute after it
 * began (62 s). */
static inline uint64_t
ike_retx_delay_ms(unsigned tries)
{
	uint64_t d = (uint64_t)IKE_RETX_FIRST_MS << (tries < 16 ? tries : 16);

	return d < IKE_RETX_MAX_MS ? d : IKE_RETX_MAX_MS;
}

/* From the first send to giving up. */
static inline uint64_t
ike_retx_span_ms(void)
{
	uint64_t t = 0;

	for (unsigned k = 0; k <= IKE_RETX_TRIES; k++)
		t += ike_retx_delay_ms(k);
	return t;
}
/* Quick Modes a peer may have open with us at once, per ISAKMP SA, and
 * how many of its message IDs we remember against replays. */
#define IKE_MAX_RESPONDER_QMS 16
#define IKE_MID_HISTORY 64
#define IKE_HALF_OPEN_MAX 1024 /* default bound on half-open responders */
/* Failure events from peers that never authenticated: this many a second
 * on average, in bursts of up to IKE_AUDIT_BURST; the rest are counted. */
#define IKE_AUDIT_RATE 10
#define IKE_AUDIT_BURST 50
/* A peer silent this long after an acquire's first Main Mode message
 * means clear traffic, if the policy allows it (Windows waits 3 s too). */
#define IKE_SOFT_AFTER_MS 3000
/* A soft SA lasts this long (Windows' 5-minute idle time; with no
 * datapath to report use yet, counted from creation). */
#define IKE_SOFT_SA_LIFE_MS 300000

enum ike_role { IKE_INITIATOR, IKE_RESPONDER };

#define IKE_MAX_QM_OFFERS 16

enum qm_state {
	QM_I1, /* initiator sent QM1, awaits QM2 */
	QM_R1, /* responder sent QM2, awaits QM3 */
	QM_I_DONE, /* initiator sent QM3; kept to resend it if QM2 repeats */
};

/* One Quick Mode exchange in progress (qm.c). */
struct ike_qm {
	struct ike_qm *next;
	uint32_t msgid;
	enum qm_state state;
	bool initiator;
	uint8_t iv[IKE_BLOCK_MAX]; /* this exchange's CBC chain */
	char rule[128];
	bool tunnel;
	struct ike_qm_choice offers[IKE_MAX_QM_OFFERS];
	size_t noffers;
	struct ike_qm_choice chosen;
	uint32_t spi_in, spi_out;
	uint8_t ni[ISAKMP_NONCE_MAX], nr[ISAKMP_NONCE_MAX];
	size_t nilen, nrlen;
	struct ike_dh *dh; /* PFS */
	uint8_t gx[IKE_DH_MAX]; /* ours */
	uint8_t gqm[IKE_DH_MAX]; /* g(qm)^xy, a secret */
	size_t gxlen, gqmlen;
	uint8_t idci[4 + 32], idcr[4 + 32]; /* ID payload bodies */
	size_t idcilen, idcrlen;
	struct ips_aspec local_sel, remote_sel;
	uint8_t sel_proto;
	uint16_t local_port, remote_port;
	uint8_t *out;
	size_t out_len;
	unsigned tries;
	uint64_t retx_at;
	uint8_t in_digest[32];
	bool have_in;
	uint32_t acq_id; /* the acquire this exchange answers, 0 if none */
	struct ike_mm_mismatch mismatch; /* why no proposal was chosen */
};

/*
 * An acquire (acquire.c): the datapath found no SA for an outbound packet
 * that a negotiate filter covers.  It waits for Main Mode, then for its
 * Quick Mode, and ends when that installs an SA pair or fails.
 */
enum acq_state {
	ACQ_WAIT_MM, /* no ISAKMP SA with the peer yet */
	ACQ_QM, /* its Quick Mode runs (tagged with the acquire's id) */
	ACQ_ENDED, /* completed or abandoned; freed on the next tick */
};

struct ike_acq {
	struct ike_acq *next;
	uint32_t id;
	enum acq_state state;
	bool soft; /* fell back to clear: no longer counted as active */
	char rule[128];
	struct ike_endpoint local, remote; /* for Main Mode */
	struct ips_aspec src, dst; /* the outbound filter, ours first */
	uint8_t proto;
	uint16_t sport, dport;
	uint64_t started_ms;
};

struct ike_sa {
	struct ike *ike;
	struct ike_sa *next;
	struct ike_sa *cnext; /* next in its initiator-cookie bucket */
	enum ike_role role;
	enum ike_sa_state state; /* changed only by ike_sa_set_state() */
	uint8_t cky_i[ISAKMP_COOKIE_LEN], cky_r[ISAKMP_COOKIE_LEN];
	struct ike_endpoint local, remote;
	char rule[128];
	char secret[128]; /* PSK name, "" if none */
	struct ike_cred *cred; /* our certificate and key (a reference) */

	struct ike_mm_choice offers[IKE_MAX_OFFERS];
	size_t noffers;
	struct ike_mm_choice chosen;

	struct ike_dh *dh;
	uint8_t gx_i[IKE_DH_MAX], gx_r[IKE_DH_MAX];
	size_t gxlen;
	uint8_t ni[ISAKMP_NONCE_MAX], nr[ISAKMP_NONCE_MAX];
	size_t nilen, nrlen;
	uint8_t *sai_b; /* initiator's SA payload body (owned) */
	size_t sai_len;

	/* Keys, all wiped on free. */
	uint8_t skeyid[IKE_HASH_MAX];
	struct ike_skeyids sk;
	uint8_t ka[IKE_KEY_MAX];
	size_t kalen, block;
	uint8_t iv[IKE_BLOCK_MAX]; /* next CBC IV of this exchange */
	bool keyed;

	bool nat; /* NAT between us: float to 4500 */
	uint8_t peer_id_type;
	uint8_t peer_id[256];
	size_t peer_id_len;

	/* Retransmission: our last message, and the last one we got. */
	uint8_t *out;
	size_t out_len;
	unsigned tries;
	uint64_t retx_at;
	uint8_t in_digest[32];
	bool have_in;

	uint64_t created_ms, established_ms;
	uint32_t index; /* ipsmMmSaIndex: given once, in creation order */
	bool start_qm; /* we initiated for a rule: Quick Mode follows */
	/* Why an established SA ends (for its audit event), set just
	 * before the state changes; NULL says "deleted". */
	const char *end_why;
	struct ike_mm_mismatch mismatch; /* why no proposal was chosen */
	bool undecryptable; /* a message for it did not decrypt */
	bool rekeyed; /* a replacement Main Mode has been started */

	/* Dead peer detection (RFC 3706). */
	bool peer_dpd; /* the peer sent the DPD vendor ID */
	uint64_t dpd_delay_ms, dpd_timeout_ms; /* from the IKE policy */
	uint64_t last_rx; /* last authenticated message from the peer */
	uint32_t dpd_seq; /* last R-U-THERE sequence number sent */
	uint32_t dpd_first; /* first one of the probes outstanding */
	uint64_t dpd_since; /* probing since (0: not probing) */
	uint64_t dpd_sent;
	struct ike_qm *qms;
	uint32_t mids[IKE_MID_HISTORY]; /* peer's recent Quick Mode IDs */
	size_t mid_next;
};

struct ike {
	const struct ike_ops *ops;
	void *ctx;
	struct stats *stats;
	struct ike_policy_view pv;
	struct ike_sa *sas;
	size_t nsas;
	/* The ISADB indexed by initiator cookie (a keyed hash: responders'
	 * cookies are the peer's choice), so a message finds its SA in O(1). */
	struct ike_sa **by_cky;
	/* Every SA by index, ascending (new SAs get the next index, so an
	 * append keeps it sorted): the MIB's table seeks in O(log n). */
	struct ike_sa **by_index;
	size_t nindex, index_cap;
	uint32_t next_index;
	size_t nbuckets; /* a power of two */
	uint64_t cky_key;
	struct sad *sad; /* owned */
	struct ike_crypto *cx; /* owned: algorithms fetched once */
	size_t half_open_max; /* responder SAs before MM6 */
	bool audits_off; /* ikeaudits=0: no audit events (DisableIKEAudits) */
	bool tracing; /* ikelogging=1: lines to ops->trace */
	uint64_t half_open_logged; /* rate limit for the warning */
	struct ike_acq *acqs;
	uint32_t acq_last_id;
	/* Rate limit on failure events from unauthenticated peers: a token
	 * bucket (ike_audit.c). */
	double audit_tokens;
	uint64_t audit_at_ms;
	unsigned long audit_suppressed;
};

/* The one place an SA changes state: checks the transition, logs it,
 * and keeps the statistics that follow from it. */
void ike_sa_set_state(struct ike_sa *sa, enum ike_sa_state to);

/* A protected message of the exchange that did not decrypt: during
 * Main Mode with a pre-shared key, the evidence that the keys differ,
 * reported if Main Mode then times out. */
void ike_note_undecryptable(struct ike_sa *sa, uint8_t exchange);
/* The peer refused our Main Mode with error notify type: counted,
 * audited, and the SA ends. */
void ike_mm_refused(struct ike_sa *sa, uint16_t type);

/* Send a complete message from sa, keeping it for retransmission when
 * expect_reply (we are waiting for the peer). */
void ike_sa_send(
    struct ike_sa *sa, const uint8_t *msg, size_t len, bool expect_reply);

/* Encrypt a built message in place from ISAKMP_HDR_LEN, padding the body
 * to the cipher block and fixing the header length and E flag.  The IV
 * chain moves on to the last ciphertext block (RFC 2409 App B). */
IPS_MUST_USE ips_res ike_crypt_encrypt(
    struct ike_sa *sa, struct wbuf *wb, uint8_t *iv);
/* Decrypt a received body into out (same length); iv moves on only if
 * commit is later called with the returned next_iv. */
IPS_MUST_USE ips_res ike_crypt_decrypt(const struct ike_sa *sa,
    const uint8_t *iv, const uint8_t *body, size_t len, uint8_t *out,
    uint8_t *next_iv);

/* Main Mode. */
IPS_MUST_USE ips_res mm_initiate(struct ike_sa *sa);
/* A new SA from a first Main Mode message (responder). */
void mm_respond(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const struct isakmp_hdr *h,
    const struct isakmp_chain *c, const uint8_t *msg, size_t len);
/* What Main Mode takes from a received message once it is accepted. */
struct mm_rx {
	const struct ike_endpoint *local, *remote;
	const uint8_t *digest; /* SHA-256 of the message, for repeats */
	const uint8_t *next_iv; /* the CBC chain after it; NULL if clear */
};
/* The next message of an exchange in progress. */
void mm_input(struct ike_sa *sa, const struct isakmp_hdr *h,
    const struct isakmp_chain *c, const struct mm_rx *rx);

/* Informational exchanges of an established SA (info.c). */
void info_input(struct ike_sa *sa, const struct isakmp_hdr *h,
    const uint8_t *msg, size_t len);
/* A protected Informational under a fresh message ID, carrying one
 * Notify (RFC 2408 3.14; DOI IPsec) ... */
IPS_MUST_USE ips_res info_send_notify(struct ike_sa *sa, uint8_t proto,
    const void *spi, uint8_t spi_size, uint16_t type, const void *data,
    size_t dlen);
/* ... or one Delete of n SPIs of spi_size bytes each (RFC 2408 3.15). */
IPS_MUST_USE ips_res info_send_delete_spis(struct ike_sa *sa, uint8_t proto,
    uint8_t spi_size, const void *spis, uint16_t n);
/* Tell the peer we delete the ISAKMP SA. */
IPS_MUST_USE ips_res info_send_delete(struct ike_sa *sa);
/* Probe, or give up on, a silent peer (RFC 3706); from ike_tick. */
void info_dpd_tick(struct ike_sa *sa, uint64_t now);
/* An authenticated message from the peer: it is alive. */
void ike_sa_heard(struct ike_sa *sa);

/* Quick Mode (qm.c). */
void qm_input(struct ike_sa *sa, const struct isakmp_hdr *h, const uint8_t *msg,
    size_t len);
/* Start one Quick Mode per filter of the SA's rule. */
void qm_start_for_rule(struct ike_sa *sa);
/* Soft and hard lifetimes of the IPsec SAs (rekey, then delete). */
void qm_lifetimes(struct ike *ike, uint64_t now);
/* Retransmit or time out this SA's exchanges. */
void qm_tick(struct ike_sa *sa, uint64_t now);
/* The SA ended: each exchange still open fails (counted, audited, its
 * SPI released). */
void qm_abandon_all(struct ike_sa *sa);
/* Free every exchange quietly (the engine is going). */
void qm_free_all(struct ike_sa *sa);
/* A peer's notify refused our Quick Mode. */
void qm_refused(struct ike_sa *sa, const struct isakmp_notify *n);
/* The peer deleted IPsec SAs it knows by these (its inbound) SPIs. */
void qm_peer_deleted(
    struct ike_sa *sa, uint8_t proto, const uint8_t *spis, uint16_t n);
/* Tell the peer, then remove, every IPsec SA pair with it. */
void qm_delete_all(struct ike_sa *sa);
/* End, telling their peers, the SA pairs whose rule the current policy
 * no longer has or no longer negotiates (after a reload). */
void qm_drop_orphans(struct ike *ike);
/* Remove every IPsec SA pair with the SA's peer, telling no one (the
 * peer has forgotten them: INITIAL-CONTACT). */
void qm_forget_peer(struct ike_sa *sa);
size_t qm_count(const struct ike *ike);

/* Send an unencrypted Informational with one notify about cookies. */
void ike_send_notify_plain(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t cky_i[static 8],
    const uint8_t cky_r[static 8], uint16_t type);

/* The credentials of a rule's certificate method (a new reference), or
 * NULL. */
struct ike_cred *ike_cred_for(const struct ike *ike, const struct pol_rule *r);

/* Find the negotiating rule that covers a peer (its most specific Main
 * Mode filter), or NULL. */
const struct pol_rule *ike_rule_for_peer(const struct ike *ike,
    const struct ike_endpoint *local, const struct ike_endpoint *remote);

/* Audit events (ike_audit.c). */
void ike_audit_mm_up(struct ike_sa *sa);
void ike_audit_mm_end(struct ike_sa *sa, const char *why);
/* why NULL: the error's own text; m: a proposal mismatch, or NULL. */
void ike_audit_mm_fail(struct ike_sa *sa, ips_res r, const char *why,
    const struct ike_mm_mismatch *m);
/* 541 or 542 for an SA pair (its outbound row); sa may be NULL. */
void ike_audit_qm_pair(struct ike *ike, struct ike_sa *sa, unsigned id,
    const struct sad_info *out, const char *why);
void ike_audit_qm_fail(struct ike_sa *sa, const struct ike_qm *qm, ips_res r,
    const struct ike_mm_mismatch *m);
/* The identity the peer authenticated as, as text ("" before). */
void ike_peer_identity_text(const struct ike_sa *sa, char *buf, size_t len);

/* The current policy's rule of that name, or NULL (after a reload). */
const struct pol_rule *ike_rule_named(const struct ike *ike, const char *name);

/* Start Main Mode for rule r; when start_qm, the rule's Quick Modes
 * follow it. */
IPS_MUST_USE ips_res ike_sa_initiate(struct ike *ike, const struct pol_rule *r,
    const struct ike_endpoint *local, const struct ike_endpoint *remote,
    bool start_qm);

/* Acquires (acquire.c). */
/* An ISAKMP SA is established: start the Quick Modes waiting for it. */
void acq_mm_up(struct ike_sa *sa);
/* An ISAKMP SA died before it was established. */
void acq_mm_down(struct ike_sa *sa);
/* The Quick Mode of acquire id installed its pair (ok) or failed. */
void acq_qm_end(struct ike *ike, uint32_t id, bool ok);
/* Fall back to clear, reap ended acquires, expire soft SAs. */
void acq_tick(struct ike *ike, uint64_t now);
void acq_free_all(struct ike *ike);

/* Start Quick Mode for an acquire with these selectors, or join one
 * already under way for the same selectors. */
IPS_MUST_USE ips_res qm_for_acquire(
    struct ike_sa *sa, const struct pol_rule *r, const struct ike_acq *a);

/* Allocate, link and index a new SA under the initiator cookie cky_i
 * (NULL: a fresh random one, we initiate); the responder cookie, state and
 * offers are left to the caller.  NULL if out of memory. */
struct ike_sa *ike_sa_new(struct ike *ike, enum ike_role role,
    const struct ike_endpoint *local, const struct ike_endpoint *remote,
    const uint8_t *cky_i);

/* A line of the trace log, formatted only while it is on.  Never pass
 * a key, a nonce or anything derived from them. */
void ike_trace(struct ike *ike, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The trace's payload lines (ike_trace.c): a parsed chain, or the chain
 * of a whole clear message (what: the line above them). */
struct isakmp_chain;
void ike_trace_payloads(struct ike *ike, const struct isakmp_chain *c);
void ike_trace_message(struct ike *ike, const char *what, const uint8_t *msg,
    size_t len, bool decrypted);
/* Every datagram IKE sends goes here: traced, then ops->send. */
int ike_send_dgram(struct ike *ike, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len);
/* "10.0.0.1:500", for trace lines. */
const char *ike_ep_text(const struct ike_endpoint *ep, char *buf, size_t len);

#endif
