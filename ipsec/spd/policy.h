/*
 * policy: the IPsec policy an operator writes (docs/POLICY.md), parsed and
 * validated.  What IP Security Monitor shows as Active Policy, IKE Policies
 * (Main Mode offers), Negotiation Policies (Quick Mode offers) and, after
 * expansion by filter.h, Generic and Specific Filters.
 *
 * A struct policy is immutable once loaded; the records it hands out are
 * borrowed and live as long as the policy.  Secrets are not here: a PSK is
 * referred to by name and lives in secrets.h.
 */
#ifndef IPS_POLICY_H
#define IPS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/addr.h"
#include "base/ips_err.h"

/* X(ENUM, "config token", "display name") */
#define IPS_IKE_ENCRS(X) \
	X(AES128_CBC, "aes128", "AES-CBC-128") \
	X(AES192_CBC, "aes192", "AES-CBC-192") \
	X(AES256_CBC, "aes256", "AES-CBC-256") \
	X(TDES_CBC, "3des", "3DES-CBC")

#define IPS_IKE_HASHES(X) \
	X(SHA1, "sha1", "SHA-1") \
	X(SHA256, "sha256", "SHA-256") \
	X(SHA384, "sha384", "SHA-384") \
	X(SHA512, "sha512", "SHA-512")

/* X(ENUM, group number (RFC 2409, 3526, 5903), token, display) */
#define IPS_DH_GROUPS(X) \
	X(MODP1024, 2, "modp1024", "MODP-1024") \
	X(MODP1536, 5, "modp1536", "MODP-1536") \
	X(MODP2048, 14, "modp2048", "MODP-2048") \
	X(MODP3072, 15, "modp3072", "MODP-3072") \
	X(ECP256, 19, "ecp256", "ECP-256") \
	X(ECP384, 20, "ecp384", "ECP-384")

#define IPS_ESP_ENCRS(X) \
	X(AES128GCM16, "aes128gcm16", "AES-GCM-128") \
	X(AES256GCM16, "aes256gcm16", "AES-GCM-256") \
	X(AES128_CBC, "aes128", "AES-CBC-128") \
	X(AES192_CBC, "aes192", "AES-CBC-192") \
	X(AES256_CBC, "aes256", "AES-CBC-256") \
	X(TDES_CBC, "3des", "3DES-CBC") \
	X(NULL_ENC, "null", "NULL")

#define IPS_INTEGS(X) \
	X(NONE, "none", "None") \
	X(HMAC_SHA1_96, "sha1", "HMAC-SHA1-96") \
	X(HMAC_SHA256_128, "sha256", "HMAC-SHA-256-128")

#define IPS_ENUM_TOKEN(e, tok, disp) IPS_IKE_ENCR_##e,
enum ips_ike_encr { IPS_IKE_ENCRS(IPS_ENUM_TOKEN) IPS_IKE_ENCR_COUNT };
#undef IPS_ENUM_TOKEN
#define IPS_ENUM_TOKEN(e, tok, disp) IPS_IKE_HASH_##e,
enum ips_ike_hash { IPS_IKE_HASHES(IPS_ENUM_TOKEN) IPS_IKE_HASH_COUNT };
#undef IPS_ENUM_TOKEN
#define IPS_ENUM_TOKEN(e, tok, disp) IPS_ESP_ENCR_##e,
enum ips_esp_encr { IPS_ESP_ENCRS(IPS_ENUM_TOKEN) IPS_ESP_ENCR_COUNT };
#undef IPS_ENUM_TOKEN
#define IPS_ENUM_TOKEN(e, tok, disp) IPS_INTEG_##e,
enum ips_integ { IPS_INTEGS(IPS_ENUM_TOKEN) IPS_INTEG_COUNT };
#undef IPS_ENUM_TOKEN

const char *ips_ike_encr_name(enum ips_ike_encr e);
const char *ips_ike_hash_name(enum ips_ike_hash h);
const char *ips_esp_encr_name(enum ips_esp_encr e);
const char *ips_integ_name(enum ips_integ i);
/* "MODP-2048" for 14; NULL for a group we do not implement. */
const char *ips_dh_group_name(unsigned group);
bool ips_esp_encr_is_aead(enum ips_esp_encr e);

enum pol_store { POL_STORE_LOCAL, POL_STORE_DIRECTORY };
enum pol_action { POL_ACTION_PERMIT, POL_ACTION_BLOCK, POL_ACTION_NEGOTIATE };
enum pol_conn { POL_CONN_ALL, POL_CONN_LAN, POL_CONN_DIALUP };
enum pol_auth_method { POL_AUTH_PSK, POL_AUTH_CERT };
/* Revocation checking: Windows' strongcrlcheck levels 0, 1, 2. */
enum pol_crl_check { POL_CRL_NONE, POL_CRL_REVOKED, POL_CRL_STRICT };

const char *pol_store_name(enum pol_store s);
const char *pol_action_name(enum pol_action a);
const char *pol_conn_name(enum pol_conn c);
const char *pol_auth_method_name(enum pol_auth_method m);
const char *pol_crl_check_name(enum pol_crl_check c);
struct pol_auth;
/* "psk", "certificate" or "certificate (ca DN)", as the views show an
 * authentication method: never the secret.  buf >= 320 bytes. */
const char *pol_auth_text(const struct pol_auth *au, char *buf, size_t len);

/* IP protocol numbers; 0 means any. */
#define POL_PROTO_ANY 0
/* "any", "icmp", "tcp", "udp", "ipv6-icmp", else the number; buf >= 8. */
const char *pol_proto_name(uint8_t proto, char *buf, size_t len);
/* The inverse: a name above or a number 0-255; false if neither. */
bool pol_proto_parse(const char *s, uint8_t *out);

/* Where in the policy file a record was written (1-based). */
struct pol_pos {
	unsigned line;
	unsigned col;
};

struct pol_meta {
	const char *name;
	const char *description;
	time_t last_modified;
	enum pol_store store;
	const char *path; /* the file, or the directory object's path */
	const char *ou; /* organizational unit, "" if none */
	const char *gpo; /* group policy object name, "" if none */
};

/* One security method of an IKE policy (a Main Mode offer). */
struct pol_mm_offer {
	enum ips_ike_encr encr;
	enum ips_ike_hash hash;
	unsigned dh_group;
	uint32_t lifetime_s;
	uint32_t qm_limit; /* Quick Modes per Main Mode; 0 = no limit */
};

struct pol_ike_policy {
	const char *name;
	const struct pol_mm_offer *offers;
	size_t noffers;
	uint32_t dpd_delay_s; /* RFC 3706: probe after this much silence;
				 0 = no probing */
	uint32_t dpd_timeout_s; /* declare the peer dead after this */
};

#define POL_REPLAY_DEFAULT 64 /* packets: RFC 4303 3.4.3's default */
#define POL_REPLAY_MAX 4096

/* One security method of a negotiation policy (a Quick Mode offer). */
struct pol_qm_offer {
	bool ah; /* AH present */
	enum ips_integ ah_integ;
	bool esp; /* ESP present */
	enum ips_esp_encr esp_encr;
	enum ips_integ esp_integ;
	uint32_t lifetime_s;
	uint64_t lifetime_kb; /* 0 = no volume limit */
	bool esn; /* ask for extended sequence numbers (RFC 4304) */
};

struct pol_neg_policy {
	const char *name;
	unsigned pfs_group; /* 0 = no PFS */
	bool soft; /* fall back to clear if the peer does not answer */
	unsigned replay_window; /* inbound anti-replay, packets */
	const struct pol_qm_offer *offers;
	size_t noffers;
};

struct pol_filter {
	const char *description; /* "" if none */
	struct ips_aspec src, dst;
	uint8_t proto;
	uint16_t sport, dport; /* 0 = any */
	bool mirrored;
	struct pol_pos pos;
};

struct pol_filter_list {
	const char *name;
	const char *description;
	const struct pol_filter *filters;
	size_t nfilters;
};

struct pol_filter_action {
	const char *name;
	enum pol_action action;
	const struct pol_neg_policy *neg_policy; /* NEGOTIATE only, else NULL */
};

struct pol_auth {
	enum pol_auth_method method;
	const char *secret; /* PSK: name in the secrets file */
	const char *ca; /* CERT: trust anchor file, "" = system default */
	const char *cert; /* CERT: our certificate (PEM), "" if none */
	const char *key; /* CERT: its private key (PEM, mode 0600) */
	const char *crl; /* CERT: revocation lists (PEM), "" if none */
	enum pol_crl_check crl_check; /* CERT */
	bool crl_check_set; /* CERT: written, else strongcrlcheck decides */
	const char *peer_id; /* CERT: the peer's subject DN, "" = any */
	struct pol_pos pos;
};

struct pol_rule {
	const char *name;
	const char *description;
	const struct pol_filter_list *filter_list;
	const struct pol_filter_action *filter_action;
	const struct pol_ike_policy *ike_policy; /* NULL unless negotiating */
	const struct pol_auth *auth; /* in preference order */
	size_t nauth;
	bool tunnel; /* tunnel mode, else transport */
	struct ips_addr tunnel_remote; /* tunnel only */
	struct ips_aspec tunnel_local; /* tunnel only; "me" by default */
	enum pol_conn conn;
};

/* Why a policy file was refused: file:line:col: msg. */
struct policy_error {
	char file[256];
	unsigned line; /* 0 if the error is not tied to a position */
	unsigned col;
	char msg[256];
};

/* "file:line:col: msg" (or "file: msg") into buf; returns buf. */
const char *policy_error_str(
    const struct policy_error *e, char *buf, size_t len);

struct policy;

/*
 * Parse and validate a policy file.  On failure *out is untouched and err
 * says where and why.  Secret references are checked separately, by
 * secrets_check_policy().
 */
IPS_MUST_USE ips_res policy_load_file(
    const char *path, struct policy **out, struct policy_error *err);
/* A policy file's text (NUL-terminated, malloc'd) and mtime, unparsed. */
IPS_MUST_USE ips_res policy_read_file(const char *path, char **text,
    size_t *len, time_t *mtime, struct policy_error *err);
/* Parse text as the file path holding it: relative names are path's, and
 * last-modified defaults to mtime (policy_load_file is read, then this). */
IPS_MUST_USE ips_res policy_load_text(const char *path, const char *text,
    size_t len, time_t mtime, struct policy **out, struct policy_error *err);
/* The same from memory; name is used in messages and as the default path. */
IPS_MUST_USE ips_res policy_load_buffer(const char *name, const char *buf,
    size_t len, struct policy **out, struct policy_error *err);
void policy_free(struct policy *p);

const struct pol_meta *policy_meta(const struct policy *p);
/* Secrets file named by the policy (resolved against its directory), or
 * NULL if it names none. */
const char *policy_secrets_path(const struct policy *p);

size_t policy_nrules(const struct policy *p);
const struct pol_rule *policy_rule(const struct policy *p, size_t i);
size_t policy_nike_policies(const struct policy *p);
const struct pol_ike_policy *policy_ike_policy(
    const struct policy *p, size_t i);
size_t policy_nneg_policies(const struct policy *p);
const struct pol_neg_policy *policy_neg_policy(
    const struct policy *p, size_t i);

#endif
