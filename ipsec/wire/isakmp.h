/*
 * isakmp: the ISAKMP message codec (RFC 2408, with the IPsec DOI of
 * RFC 2407), in the two passes of style guide #2.
 *
 * Pass 1 (isakmp_hdr_parse, isakmp_chain_parse) checks only structure:
 * the fixed header, then the chain of generic payload headers (lengths,
 * next-payload values, reserved bytes), building an index of views into
 * the message.  Pass 2 decodes one payload's body on demand and checks its
 * meaning.  Nothing allocates; every view borrows the message bytes; a
 * failed parse consumes nothing.  Errors are ips_err codes whose
 * ips_err_notify() is the notify to answer with.
 *
 * Writing goes through struct isakmp_builder over a wbuf, which fills in
 * next-payload and length fields as payloads are closed.
 */
#ifndef IPS_ISAKMP_H
#define IPS_ISAKMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ips_err.h"
#include "wire/ike_wire.h"
#include "wire/rbuf.h"

struct isakmp_hdr {
	uint8_t icookie[ISAKMP_COOKIE_LEN];
	uint8_t rcookie[ISAKMP_COOKIE_LEN];
	uint8_t next; /* first payload */
	uint8_t version;
	uint8_t exchange;
	uint8_t flags;
	uint32_t msgid;
	uint32_t len; /* whole message, header included */
};

/*
 * Read the 28-byte header from the start of a datagram of rbuf_left(rb)
 * bytes: major version 1 (minor ignored, RFC 2408 5.1), only the E, C and
 * A flags, and a length that covers the header and equals the datagram's.
 */
IPS_MUST_USE ips_res isakmp_hdr_parse(struct rbuf *rb, struct isakmp_hdr *h);

#define ISAKMP_MAX_PAYLOADS 32

struct isakmp_payload {
	uint8_t type;
	struct rbuf body; /* after the generic header; borrowed */
};

struct isakmp_chain {
	struct isakmp_payload pl[ISAKMP_MAX_PAYLOADS];
	size_t n;
	size_t padding; /* bytes after the last payload (decrypted only) */
};

/*
 * Walk the payload chain of a message body that starts with payload type
 * first.  Each generic header must have a zero reserved byte and a length
 * of at least 4 that fits; types must be defined (RFC 2408 3.1, NAT-T's
 * 20/21) or private (128..255, kept for the caller to ignore or use);
 * PROPOSAL and TRANSFORM may only appear inside an SA.  Bytes after the
 * last payload are padding, allowed only in a decrypted body (RFC 2409
 * 5.3) and then at most 255.
 */
IPS_MUST_USE ips_res isakmp_chain_parse(
    struct rbuf *body, uint8_t first, bool decrypted, struct isakmp_chain *out);
/* The nth payload of a type, or NULL. */
const struct isakmp_payload *isakmp_chain_find(
    const struct isakmp_chain *c, uint8_t type, size_t nth);
size_t isakmp_chain_count(const struct isakmp_chain *c, uint8_t type);

/* ---- pass 2: payload bodies -------------------------------------------- */

struct isakmp_sa {
	uint32_t doi;
	uint32_t situation;
	struct rbuf proposals; /* for isakmp_proposal_next */
};

/* SA payload: IPsec DOI and SIT_IDENTITY_ONLY only (RFC 2407 4.2). */
IPS_MUST_USE ips_res isakmp_sa_parse(
    const struct isakmp_payload *pl, struct isakmp_sa *sa);

struct isakmp_proposal {
	uint8_t num;
	uint8_t proto;
	uint8_t spi_size;
	uint8_t ntransforms;
	const uint8_t *spi; /* borrowed; spi_size bytes */
	struct rbuf transforms; /* for isakmp_transform_next */
};

/*
 * Take the next proposal from an SA's proposal list; *more says whether
 * another follows.  Checks the protocol, the SPI size (0 or 16 for ISAKMP,
 * 4 for AH/ESP, 2 or 4 for IPCOMP) and that the transform list holds
 * exactly the declared number of well-formed transforms.
 */
IPS_MUST_USE ips_res isakmp_proposal_next(
    struct rbuf *rb, struct isakmp_proposal *p, bool *more);

struct isakmp_transform {
	uint8_t num;
	uint8_t id;
	struct rbuf attrs; /* for isakmp_attr_next */
};

IPS_MUST_USE ips_res isakmp_transform_next(
    struct rbuf *rb, struct isakmp_transform *t, bool *more);

struct isakmp_attr {
	uint16_t type; /* without the AF bit */
	bool basic; /* TV form: value in two bytes */
	uint16_t basic_value;
	const uint8_t *val; /* TLV form; borrowed */
	size_t len;
};

IPS_MUST_USE ips_res isakmp_attr_next(struct rbuf *rb, struct isakmp_attr *a);
/* The attribute as an unsigned number (TV, or TLV of 1..8 bytes). */
IPS_MUST_USE ips_res isakmp_attr_uint(const struct isakmp_attr *a, uint64_t *v);

struct isakmp_id {
	uint8_t type;
	uint8_t proto;
	uint16_t port;
	const uint8_t *data; /* borrowed */
	size_t len;
};

/* ID payload, IPsec DOI form (RFC 2407 4.6.2): addresses, subnets and
 * ranges must have their exact sizes; names must not be empty. */
IPS_MUST_USE ips_res isakmp_id_parse(
    const struct isakmp_payload *pl, struct isakmp_id *id);

struct isakmp_notify {
	uint32_t doi;
	uint8_t proto;
	uint8_t spi_size;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t data_len;
};

IPS_MUST_USE ips_res isakmp_notify_parse(
    const struct isakmp_payload *pl, struct isakmp_notify *n);

struct isakmp_delete {
	uint32_t doi;
	uint8_t proto;
	uint8_t spi_size;
	uint16_t nspis;
	const uint8_t *spis; /* nspis * spi_size bytes */
};

IPS_MUST_USE ips_res isakmp_delete_parse(
    const struct isakmp_payload *pl, struct isakmp_delete *d);

/* CERT and CR: an encoding byte, then data. */
struct isakmp_cert {
	uint8_t encoding;
	const uint8_t *data;
	size_t len;
};

IPS_MUST_USE ips_res isakmp_cert_parse(
    const struct isakmp_payload *pl, struct isakmp_cert *c);

/* NONCE: RFC 2409 5 bounds its length to 8..256 bytes. */
IPS_MUST_USE ips_res isakmp_nonce_check(const struct isakmp_payload *pl);

/* ---- writing ------------------------------------------------------------- */

struct isakmp_builder {
	struct wbuf *wb; /* borrowed */
	size_t start; /* offset of the header in wb */
	size_t
	    next_off; /* the next-payload byte to fill for the next payload */
	size_t open; /* offset of the open payload, or SIZE_MAX */
};

/* Start a message: write the header (next and length filled in later). */
IPS_MUST_USE ips_res isakmp_build_begin(
    struct isakmp_builder *b, struct wbuf *wb, const struct isakmp_hdr *h);
/* Open a payload of a type: the caller then writes its body into b->wb. */
IPS_MUST_USE ips_res isakmp_build_open(struct isakmp_builder *b, uint8_t type);
/* Close the open payload, fixing its length. */
IPS_MUST_USE ips_res isakmp_build_close(struct isakmp_builder *b);
/* A whole payload whose body is data. */
IPS_MUST_USE ips_res isakmp_build_raw(
    struct isakmp_builder *b, uint8_t type, const void *data, size_t len);
/* Fix the header's length; the message is b->wb->p + b->start. */
IPS_MUST_USE ips_res isakmp_build_finish(struct isakmp_builder *b);

IPS_MUST_USE ips_res isakmp_build_notify(struct isakmp_builder *b, uint32_t doi,
    uint8_t proto, const void *spi, uint8_t spi_size, uint16_t type,
    const void *data, size_t len);
IPS_MUST_USE ips_res isakmp_build_delete(struct isakmp_builder *b,
    uint8_t proto, uint8_t spi_size, const void *spis, uint16_t nspis);

/*
 * SA bodies: open an SA payload, write isakmp_put_sa_head, then each
 * proposal with isakmp_put_proposal (returns its offset), its transforms
 * with isakmp_put_transform and their attributes, closing each transform
 * and proposal with isakmp_put_close16 on the offset it returned.
 */
IPS_MUST_USE ips_res isakmp_put_sa_head(struct wbuf *wb);
IPS_MUST_USE ips_res isakmp_put_proposal(struct wbuf *wb, bool last,
    uint8_t num, uint8_t proto, const void *spi, uint8_t spi_size,
    uint8_t ntransforms, size_t *off);
IPS_MUST_USE ips_res isakmp_put_transform(
    struct wbuf *wb, bool last, uint8_t num, uint8_t id, size_t *off);
/* An attribute as TV when the value fits 16 bits, else TLV of 4 or 8
 * bytes. */
IPS_MUST_USE ips_res isakmp_put_attr(
    struct wbuf *wb, uint16_t type, uint64_t value);
IPS_MUST_USE ips_res isakmp_put_close16(struct wbuf *wb, size_t off);

#endif
