/*
 * ips_err: the one error type of the engine.
 *
 * Every fallible function returns an ips_res.  The list below generates the
 * enum and the message table; later columns (the RFC 2408 notify to send, the
 * drop-counter index) are added here, next to the name, so the four can never
 * drift apart.
 */
#ifndef IPS_ERR_H
#define IPS_ERR_H

/*
 * X(NAME, "message", notify): notify is the RFC 2408 3.14.1 Notify Message
 * Type a peer gets when this error ends processing of its message (0 when
 * the error is not about a peer's message).
 */
#define IPS_ERRORS(X) \
	X(OK, "success", 0) \
	X(NOMEM, "out of memory", 0) \
	X(SHORT, "input ends before the field being read", 16) \
	X(TOOBIG, "input exceeds a configured limit", 16) \
	X(INVAL, "invalid argument", 0) \
	X(IO, "input/output error", 0) \
	X(PERM, "insecure file permissions", 0) \
	X(NOTFOUND, "no such object", 0) \
	X(EXISTS, "object already exists", 0) \
	X(CONFIG, "invalid configuration", 0) \
	X(PROTO, "malformed control message", 0) \
	X(CLOSED, "peer closed the connection", 0) \
	X(IKE_VERSION, "unsupported ISAKMP major version", 5) \
	X(IKE_EXCHANGE, "unknown exchange type", 7) \
	X(IKE_FLAGS, "undefined header flags set", 8) \
	X(IKE_LENGTH, "header length disagrees with the datagram", 30) \
	X(IKE_PAYLOAD_TYPE, "unknown payload type", 1) \
	X(IKE_RESERVED, "reserved field is not zero", 16) \
	X(IKE_MALFORMED, "payload malformed", 16) \
	X(IKE_TOO_MANY, "too many payloads in one message", 16) \
	X(IKE_DOI, "DOI not supported", 2) \
	X(IKE_SITUATION, "situation not supported", 3) \
	X(IKE_PROPOSAL, "bad proposal syntax", 15) \
	X(IKE_PROTOCOL, "invalid protocol id", 10) \
	X(IKE_SPI, "invalid SPI size", 11) \
	X(IKE_ID, "invalid identification payload", 18) \
	X(IKE_TIMEOUT, "no answer from the peer", 0) \
	X(IKE_NONCE, "nonce length outside 8..256 bytes", 16) \
	X(IKE_NO_PROPOSAL, "no proposal chosen", 14) \
	X(IKE_BAD_HASH, "hash or signature does not verify", 23) \
	X(IKE_DECRYPT, "message does not decrypt", 16) \
	X(IKE_STATE, "message not expected in this state", 0) \
	X(IKE_SA_GONE, "its ISAKMP SA ended while it ran", 0) \
	X(IKE_NO_POLICY, "no policy for this peer", 14) \
	X(IKE_NO_SECRET, "no pre-shared key for this peer", 24) \
	X(IKE_CERT_UNTRUSTED, \
	    "certificate does not chain to a trusted authority", 22) \
	X(IKE_CERT_REVOKED, \
	    "certificate revoked (or, under a strict check, its revocation " \
	    "status unknown)", \
	    20) \
	X(ESP_ICV, "integrity check value does not verify", 0) \
	X(ESP_DECRYPT, "does not decrypt to a payload and trailer", 0) \
	X(IKE_PEER_UNEXPECTED, \
	    "certificate is not the peer this rule expects", 24)

enum ips_err {
#define IPS_ERR_ENUM(name, text, notify) IPS_E_##name,
	IPS_ERRORS(IPS_ERR_ENUM)
#undef IPS_ERR_ENUM
	    IPS_E_COUNT
};

#if defined(__GNUC__)
#define IPS_MUST_USE __attribute__((warn_unused_result))
#else
#define IPS_MUST_USE
#endif

/* A one-member struct, so a forgotten check is a type error, not a bug. */
typedef struct {
	enum ips_err err;
} ips_res;

#define IPS_OK ((ips_res){IPS_E_OK})
#define IPS_ERR(code) ((ips_res){IPS_E_##code})

static inline int
ips_ok(ips_res r)
{
	return r.err == IPS_E_OK;
}

/* Propagate a failure from a callee. */
#define GUARD(expr) \
	do { \
		ips_res guard_r_ = (expr); \
		if (!ips_ok(guard_r_)) \
			return guard_r_; \
	} while (0)

/* Fail with IPS_E_<code> unless cond holds. */
#define ENSURE(cond, code) \
	do { \
		if (!(cond)) \
			return IPS_ERR(code); \
	} while (0)

#define BAIL(code) return IPS_ERR(code)

/* Message for an error code; never NULL. */
const char *ips_strerror(enum ips_err err);
/* The notify to send a peer whose message failed with err, or 0. */
unsigned ips_err_notify(enum ips_err err);

#endif
