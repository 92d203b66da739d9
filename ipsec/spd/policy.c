#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define IPS_DISP(e, tok, disp) disp,
static const char *const ike_encr_names[] = {IPS_IKE_ENCRS(IPS_DISP)};
static const char *const ike_hash_names[] = {IPS_IKE_HASHES(IPS_DISP)};
static const char *const esp_encr_names[] = {IPS_ESP_ENCRS(IPS_DISP)};
static const char *const integ_names[] = {IPS_INTEGS(IPS_DISP)};
#undef IPS_DISP

#define NAME_OR_UNKNOWN(tab, i) \
	((size_t)(i) < sizeof(tab) / sizeof(tab[0]) ? tab[i] : "unknown")

const char *
ips_ike_encr_name(enum ips_ike_encr e)
{
	return NAME_OR_UNKNOWN(ike_encr_names, e);
}

const char *
ips_ike_hash_name(enum ips_ike_hash h)
{
	return NAME_OR_UNKNOWN(ike_hash_names, h);
}

const char *
ips_esp_encr_name(enum ips_esp_encr e)
{
	return NAME_OR_UNKNOWN(esp_encr_names, e);
}

const char *
ips_integ_name(enum ips_integ i)
{
	return NAME_OR_UNKNOWN(integ_names, i);
}

const char *
ips_dh_group_name(unsigned group)
{
	switch (group) {
#define IPS_DH_CASE(e, num, tok, disp) \
	case num: \
		return disp;
		IPS_DH_GROUPS(IPS_DH_CASE)
#undef IPS_DH_CASE
	default:
		return NULL;
	}
}

bool
ips_esp_encr_is_aead(enum ips_esp_encr e)
{
	return e == IPS_ESP_ENCR_AES128GCM16 || e == IPS_ESP_ENCR_AES256GCM16;
}

const char *
pol_store_name(enum pol_store s)
{
	return s == POL_STORE_DIRECTORY ? "directory" : "local";
}

const char *
pol_action_name(enum pol_action a)
{
	switch (a) {
	case POL_ACTION_PERMIT:
		return "permit";
	case POL_ACTION_BLOCK:
		return "block";
	case POL_ACTION_NEGOTIATE:
		return "negotiate";
	}
	return "unknown";
}

const char *
pol_conn_name(enum pol_conn c)
{
	switch (c) {
	case POL_CONN_ALL:
		return "all";
	case POL_CONN_LAN:
		return "lan";
	case POL_CONN_DIALUP:
		return "dialup";
	}
	return "unknown";
}

const char *
pol_auth_method_name(enum pol_auth_method m)
{
	return m == POL_AUTH_PSK ? "psk" : "certificate";
}

const char *
pol_auth_text(const struct pol_auth *au, char *buf, size_t len)
{
	/* A PSK is named by reference only; its value never leaves the
	 * secrets module. */
	if (au->method == POL_AUTH_PSK)
		snprintf(buf, len, "psk");
	else if (au->ca[0] != '\0')
		snprintf(buf, len, "certificate (ca %s)", au->ca);
	else
		snprintf(buf, len, "certificate");
	return buf;
}

const char *
pol_crl_check_name(enum pol_crl_check c)
{
	return c == POL_CRL_NONE  ? "none"
	    : c == POL_CRL_STRICT ? "strict"
				  : "revoked";
}

bool
pol_proto_parse(const char *s, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t num;
	} names[] = {
	    {"any", 0},
	    {"icmp", 1},
	    {"tcp", 6},
	    {"udp", 17},
	    {"ipv6-icmp", 58},
	};
	char *end;
	unsigned long n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].num;
			return true;
		}
	if (*s < '0' || *s > '9')
		return false;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n > 255)
		return false;
	*out = (uint8_t)n;
	return true;
}

const char *
pol_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case POL_PROTO_ANY:
		return "any";
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "ipv6-icmp";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

const char *
policy_error_str(const struct policy_error *e, char *buf, size_t len)
{
	if (e->line > 0)
		snprintf(
		    buf, len, "%s:%u:%u: %s", e->file, e->line, e->col, e->msg);
	else
		snprintf(buf, len, "%s: %s", e->file, e->msg);
	return buf;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	arena_free(p->arena);
	free(p);
}

const struct pol_meta *
policy_meta(const struct policy *p)
{
	return &p->meta;
}

const char *
policy_secrets_path(const struct policy *p)
{
	return p->secrets_path;
}

size_t
policy_nrules(const struct policy *p)
{
	return p->nrules;
}

const struct pol_rule *
policy_rule(const struct policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i] : NULL;
}

size_t
policy_nike_policies(const struct policy *p)
{
	return p->nike;
}

const struct pol_ike_policy *
policy_ike_policy(const struct policy *p, size_t i)
{
	return i < p->nike ? &p->ike[i] : NULL;
}

size_t
policy_nneg_policies(const struct policy *p)
{
	return p->nneg;
}

const struct pol_neg_policy *
policy_neg_policy(const struct policy *p, size_t i)
{
	return i < p->nneg ? &p->neg[i] : NULL;
}
