/* Internal to the policy module: shared by policy.c and policy_yaml.c. */
#ifndef IPS_POLICY_INT_H
#define IPS_POLICY_INT_H

#include "base/arena.h"
#include "spd/policy.h"

struct policy {
	struct arena *arena; /* owns everything below */
	struct pol_meta meta;
	const char *secrets_path;
	struct pol_ike_policy *ike;
	size_t nike;
	struct pol_neg_policy *neg;
	size_t nneg;
	struct pol_filter_list *lists;
	size_t nlists;
	struct pol_filter_action *actions;
	size_t nactions;
	struct pol_rule *rules;
	size_t nrules;
};

#endif
