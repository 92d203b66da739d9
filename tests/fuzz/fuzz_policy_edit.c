/*
 * Dynamic changes: the input's first line is an edit ("add filter
 * filterlist=x srcaddr=me"), the rest the policy it edits; whatever the
 * edit writes is parsed again as a policy.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spd/policy.h"
#include "spd/policy_edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ops[] = {"add", "delete", "set"};
	const char *nl = memchr(data, '\n', size);
	char line[512], *w, *save = NULL, *object = NULL, *out = NULL;
	char done[300], msg[300];
	struct pe_item it[16];
	size_t n = 0, ll;
	int op = -1;

	if (nl == NULL ||
	    (ll = (size_t)(nl - (const char *)data)) >= sizeof(line))
		return 0;
	memcpy(line, data, ll);
	line[ll] = '\0';
	for (w = strtok_r(line, " ", &save); w != NULL && n < 16;
	     w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');

		if (op < 0) {
			for (int i = 0; i < 3; i++)
				if (strcmp(w, ops[i]) == 0)
					op = i;
			if (op < 0)
				return 0;
		} else if (object == NULL) {
			object = w;
		} else if (eq != NULL) {
			*eq = '\0';
			it[n].key = w;
			it[n++].value = eq + 1;
		}
	}
	if (op < 0)
		return 0;
	if (ips_ok(policy_edit(nl + 1, size - ll - 1, (enum pe_op)op, object,
		it, n, &out, done, sizeof(done), msg, sizeof(msg)))) {
		struct policy_error err;
		struct policy *p = NULL;

		if (ips_ok(policy_load_buffer(
			"fuzz.yaml", out, strlen(out), &p, &err)))
			policy_free(p);
		free(out);
	}
	return 0;
}
