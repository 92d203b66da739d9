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

#define IPS_ERRORS(X) \
	X(OK, "success") \
	X(NOMEM, "out of memory") \
	X(SHORT, "input ends before the field being read") \
	X(TOOBIG, "input exceeds a configured limit") \
	X(INVAL, "invalid argument") \
	X(IO, "input/output error") \
	X(PERM, "insecure file permissions") \
	X(NOTFOUND, "no such object") \
	X(EXISTS, "object already exists") \
	X(CONFIG, "invalid configuration") \
	X(PROTO, "malformed control message") \
	X(CLOSED, "peer closed the connection")

enum ips_err {
#define IPS_ERR_ENUM(name, text) IPS_E_##name,
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

#endif
