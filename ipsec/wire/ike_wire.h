/*
 * ike_wire: every IKEv1 protocol number the engine uses, named after the
 * RFC that assigns it, each registry one X-macro list so that the enum and
 * its name table cannot drift (style guide #14).
 *
 * RFC 2408 (ISAKMP), RFC 2407 (IPsec DOI), RFC 2409 (IKE), RFC 3947/3948
 * (NAT traversal), RFC 3706 (DPD), RFC 4106/4868/4304 (algorithms, ESN).
 */
#ifndef IPS_IKE_WIRE_H
#define IPS_IKE_WIRE_H

#include <stdint.h>

#define ISAKMP_HDR_LEN 28 /* RFC 2408 3.1 */
#define ISAKMP_GEN_LEN 4 /* generic payload header, RFC 2408 3.2 */
#define ISAKMP_COOKIE_LEN 8
#define ISAKMP_VERSION 0x10 /* major 1, minor 0 */
#define ISAKMP_NONCE_MIN 8 /* RFC 2409 5: 8..256 bytes */
#define ISAKMP_NONCE_MAX 256
#define IKE_PORT 500
#define IKE_NATT_PORT 4500

/* RFC 2408 3.1 flags */
#define ISAKMP_FLAG_E 0x01 /* encrypted */
#define ISAKMP_FLAG_C 0x02 /* commit */
#define ISAKMP_FLAG_A 0x04 /* authentication only */

/* RFC 2408 3.1 and 3.3 payload types; X(ENUM, value, "name") */
#define ISAKMP_PAYLOADS(X) \
	X(NONE, 0, "NONE") \
	X(SA, 1, "SA") \
	X(P, 2, "PROPOSAL") \
	X(T, 3, "TRANSFORM") \
	X(KE, 4, "KE") \
	X(ID, 5, "ID") \
	X(CERT, 6, "CERT") \
	X(CR, 7, "CERTREQ") \
	X(HASH, 8, "HASH") \
	X(SIG, 9, "SIG") \
	X(NONCE, 10, "NONCE") \
	X(N, 11, "NOTIFY") \
	X(D, 12, "DELETE") \
	X(VID, 13, "VENDOR") \
	X(NATD, 20, "NAT-D") \
	X(NATOA, 21, "NAT-OA") \
	X(NATD_DRAFT, 130, "NAT-D(draft)") \
	X(NATOA_DRAFT, 131, "NAT-OA(draft)")

/* RFC 2408 3.1 and RFC 2409 exchange types */
#define ISAKMP_EXCHANGES(X) \
	X(NONE, 0, "NONE") \
	X(BASE, 1, "BASE") \
	X(IDPROT, 2, "MAIN_MODE") \
	X(AUTHONLY, 3, "AUTH_ONLY") \
	X(AGGRESSIVE, 4, "AGGRESSIVE") \
	X(INFO, 5, "INFORMATIONAL") \
	X(QUICK, 32, "QUICK_MODE") \
	X(NEWGROUP, 33, "NEW_GROUP")

/* RFC 2408 3.14.1 errors, RFC 2407 4.6.3 and RFC 3706 status types */
#define ISAKMP_NOTIFIES(X) \
	X(INVALID_PAYLOAD_TYPE, 1, "INVALID_PAYLOAD_TYPE") \
	X(DOI_NOT_SUPPORTED, 2, "DOI_NOT_SUPPORTED") \
	X(SITUATION_NOT_SUPPORTED, 3, "SITUATION_NOT_SUPPORTED") \
	X(INVALID_COOKIE, 4, "INVALID_COOKIE") \
	X(INVALID_MAJOR_VERSION, 5, "INVALID_MAJOR_VERSION") \
	X(INVALID_MINOR_VERSION, 6, "INVALID_MINOR_VERSION") \
	X(INVALID_EXCHANGE_TYPE, 7, "INVALID_EXCHANGE_TYPE") \
	X(INVALID_FLAGS, 8, "INVALID_FLAGS") \
	X(INVALID_MESSAGE_ID, 9, "INVALID_MESSAGE_ID") \
	X(INVALID_PROTOCOL_ID, 10, "INVALID_PROTOCOL_ID") \
	X(INVALID_SPI, 11, "INVALID_SPI") \
	X(INVALID_TRANSFORM_ID, 12, "INVALID_TRANSFORM_ID") \
	X(ATTRIBUTES_NOT_SUPPORTED, 13, "ATTRIBUTES_NOT_SUPPORTED") \
	X(NO_PROPOSAL_CHOSEN, 14, "NO_PROPOSAL_CHOSEN") \
	X(BAD_PROPOSAL_SYNTAX, 15, "BAD_PROPOSAL_SYNTAX") \
	X(PAYLOAD_MALFORMED, 16, "PAYLOAD_MALFORMED") \
	X(INVALID_KEY_INFORMATION, 17, "INVALID_KEY_INFORMATION") \
	X(INVALID_ID_INFORMATION, 18, "INVALID_ID_INFORMATION") \
	X(INVALID_CERT_ENCODING, 19, "INVALID_CERT_ENCODING") \
	X(INVALID_CERTIFICATE, 20, "INVALID_CERTIFICATE") \
	X(CERT_TYPE_UNSUPPORTED, 21, "CERT_TYPE_UNSUPPORTED") \
	X(INVALID_CERT_AUTHORITY, 22, "INVALID_CERT_AUTHORITY") \
	X(INVALID_HASH_INFORMATION, 23, "INVALID_HASH_INFORMATION") \
	X(AUTHENTICATION_FAILED, 24, "AUTHENTICATION_FAILED") \
	X(INVALID_SIGNATURE, 25, "INVALID_SIGNATURE") \
	X(ADDRESS_NOTIFICATION, 26, "ADDRESS_NOTIFICATION") \
	X(NOTIFY_SA_LIFETIME, 27, "NOTIFY_SA_LIFETIME") \
	X(CERTIFICATE_UNAVAILABLE, 28, "CERTIFICATE_UNAVAILABLE") \
	X(UNSUPPORTED_EXCHANGE_TYPE, 29, "UNSUPPORTED_EXCHANGE_TYPE") \
	X(UNEQUAL_PAYLOAD_LENGTHS, 30, "UNEQUAL_PAYLOAD_LENGTHS") \
	X(CONNECTED, 16384, "CONNECTED") \
	X(RESPONDER_LIFETIME, 24576, "RESPONDER_LIFETIME") \
	X(REPLAY_STATUS, 24577, "REPLAY_STATUS") \
	X(INITIAL_CONTACT, 24578, "INITIAL_CONTACT") \
	X(R_U_THERE, 36136, "R_U_THERE") \
	X(R_U_THERE_ACK, 36137, "R_U_THERE_ACK")

/* RFC 2407 4.4.1 protocol identifiers */
#define ISAKMP_PROTOS(X) \
	X(ISAKMP, 1, "ISAKMP") \
	X(AH, 2, "AH") \
	X(ESP, 3, "ESP") \
	X(IPCOMP, 4, "IPCOMP")

/* RFC 2407 4.6.2.1 identification types */
#define ISAKMP_ID_TYPES(X) \
	X(IPV4_ADDR, 1, "ID_IPV4_ADDR") \
	X(FQDN, 2, "ID_FQDN") \
	X(USER_FQDN, 3, "ID_USER_FQDN") \
	X(IPV4_ADDR_SUBNET, 4, "ID_IPV4_ADDR_SUBNET") \
	X(IPV6_ADDR, 5, "ID_IPV6_ADDR") \
	X(IPV6_ADDR_SUBNET, 6, "ID_IPV6_ADDR_SUBNET") \
	X(IPV4_ADDR_RANGE, 7, "ID_IPV4_ADDR_RANGE") \
	X(IPV6_ADDR_RANGE, 8, "ID_IPV6_ADDR_RANGE") \
	X(DER_ASN1_DN, 9, "ID_DER_ASN1_DN") \
	X(DER_ASN1_GN, 10, "ID_DER_ASN1_GN") \
	X(KEY_ID, 11, "ID_KEY_ID")

/* RFC 2409 Appendix A: phase 1 SA attributes (B = basic, V = variable) */
#define IKE_ATTRS(X) \
	X(ENCRYPTION, 1, "Encryption-Algorithm") \
	X(HASH, 2, "Hash-Algorithm") \
	X(AUTH_METHOD, 3, "Authentication-Method") \
	X(GROUP_DESC, 4, "Group-Description") \
	X(GROUP_TYPE, 5, "Group-Type") \
	X(LIFE_TYPE, 11, "Life-Type") \
	X(LIFE_DURATION, 12, "Life-Duration") \
	X(PRF, 13, "PRF") \
	X(KEY_LENGTH, 14, "Key-Length")

/* RFC 2407 4.5: phase 2 (IPsec) SA attributes */
#define IPSEC_ATTRS(X) \
	X(LIFE_TYPE, 1, "SA-Life-Type") \
	X(LIFE_DURATION, 2, "SA-Life-Duration") \
	X(GROUP_DESC, 3, "Group-Description") \
	X(ENCAP_MODE, 4, "Encapsulation-Mode") \
	X(AUTH_ALG, 5, "Authentication-Algorithm") \
	X(KEY_LENGTH, 6, "Key-Length") \
	X(KEY_ROUNDS, 7, "Key-Rounds") \
	X(ESN, 11, "Extended-Sequence-Number")

/* Values of the attributes above that the engine speaks. */
#define IKE_TRANSFORM_KEY_IKE 1 /* RFC 2409 App A */
#define IKE_ENCR_3DES_CBC 5
#define IKE_ENCR_AES_CBC 7 /* RFC 3602 */
#define IKE_HASH_SHA1 2
#define IKE_HASH_SHA2_256 4 /* RFC 4868 */
#define IKE_HASH_SHA2_384 5
#define IKE_HASH_SHA2_512 6
#define IKE_AUTH_PSK 1
#define IKE_AUTH_RSA_SIG 3
#define IKE_LIFE_SECONDS 1
#define IKE_LIFE_KILOBYTES 2

#define IPSEC_DOI 1 /* RFC 2407 */
#define IPSEC_SIT_IDENTITY_ONLY 1
#define ESP_TRANSFORM_3DES 3 /* RFC 2407 4.4.4 */
#define ESP_TRANSFORM_NULL 11 /* RFC 2410 */
#define ESP_TRANSFORM_AES_CBC 12 /* RFC 3602 */
#define ESP_TRANSFORM_AES_GCM_16 20 /* RFC 4106 */
#define AH_TRANSFORM_SHA 3
#define AH_TRANSFORM_SHA2_256 5 /* RFC 4868 */
#define IPSEC_AUTH_HMAC_SHA 2
#define IPSEC_AUTH_HMAC_SHA2_256 5 /* RFC 4868 */
#define IPSEC_ENCAP_TUNNEL 1
#define IPSEC_ENCAP_TRANSPORT 2
#define IPSEC_ENCAP_UDP_TUNNEL 3 /* RFC 3947 */
#define IPSEC_ENCAP_UDP_TRANSPORT 4
#define IPSEC_ENCAP_UDP_TUNNEL_DRAFT 61443 /* draft-ietf-ipsec-nat-t-ike */
#define IPSEC_ENCAP_UDP_TRANSPORT_DRAFT 61444

#define ISAKMP_ENUM(pfx, e, v, n) pfx##e = v,
enum isakmp_pl_type {
#define X(e, v, n) ISAKMP_ENUM(ISAKMP_PL_, e, v, n)
	ISAKMP_PAYLOADS(X)
#undef X
};
enum isakmp_exchange {
#define X(e, v, n) ISAKMP_ENUM(ISAKMP_EXCH_, e, v, n)
	ISAKMP_EXCHANGES(X)
#undef X
};
enum isakmp_notify_type {
#define X(e, v, n) ISAKMP_ENUM(ISAKMP_N_, e, v, n)
	ISAKMP_NOTIFIES(X)
#undef X
};
enum isakmp_proto {
#define X(e, v, n) ISAKMP_ENUM(ISAKMP_PROTO_, e, v, n)
	ISAKMP_PROTOS(X)
#undef X
};
enum isakmp_id_type {
#define X(e, v, n) ISAKMP_ENUM(ISAKMP_ID_, e, v, n)
	ISAKMP_ID_TYPES(X)
#undef X
};
enum ike_attr {
#define X(e, v, n) ISAKMP_ENUM(IKE_ATTR_, e, v, n)
	IKE_ATTRS(X)
#undef X
};
enum ipsec_attr {
#define X(e, v, n) ISAKMP_ENUM(IPSEC_ATTR_, e, v, n)
	IPSEC_ATTRS(X)
#undef X
};
#undef ISAKMP_ENUM

/* Names for logs and the trace; "UNKNOWN(n)"-style text is the caller's. */
const char *isakmp_payload_name(unsigned v);
const char *isakmp_exchange_name(unsigned v);
const char *isakmp_notify_name(unsigned v);
const char *isakmp_proto_name(unsigned v);
const char *isakmp_id_type_name(unsigned v);
const char *ike_attr_name(unsigned v);
const char *ipsec_attr_name(unsigned v);

#endif
