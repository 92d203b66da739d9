/*
 * policy_edit: netsh ipsec dynamic's add, delete and set, as edits of the
 * policy document (docs/CLI.md, Dynamic changes).
 *
 * An edit takes the running policy's YAML text and gives back new text;
 * the caller loads that like a file, so an edited policy passes every
 * check a policy file does, and a refused edit changes nothing.  Only the
 * text is touched here: what an edit means is decided by the parser.
 *
 * Objects and their keys (the policy file's own keys, or netsh's names):
 *   rule          name=  filterlist= filteraction= mmpolicy= tunnel=
 *                 tunnellocal= conntype= description=; psk=SECRETNAME or
 *                 ca= cert= key= crl= crlcheck= peerid= for authentication
 *   filteraction  name=  action= qmpolicy=
 *   filter        filterlist= [position=N]  srcaddr= dstaddr= protocol=
 *                 srcport= dstport= mirrored= description=
 *   mmoffer       mmpolicy= [position=N]  encryption= integrity= dhgroup=
 *                 lifetime= qmlimit=
 *   qmoffer       qmpolicy= [position=N]  esp= ah= lifetime= lifetimekb=
 *                 esn=
 * Positions count from 1.  add appends unless given one; delete and set
 * of a filter or offer need one.  In set, an empty value removes the key.
 */
#ifndef IPS_POLICY_EDIT_H
#define IPS_POLICY_EDIT_H

#include <stddef.h>

#include "base/ips_err.h"

enum pe_op { PE_ADD, PE_DELETE, PE_SET };

struct pe_item {
	const char *key, *value;
};

/*
 * Apply one edit to the YAML text in[0..len).  On success *out is new
 * malloc'd NUL-terminated text and done says what was done ("rule 'x'
 * added"); on failure msg says why and *out is untouched.
 */
IPS_MUST_USE ips_res policy_edit(const char *in, size_t len, enum pe_op op,
    const char *object, const struct pe_item *items, size_t nitems, char **out,
    char *done, size_t donelen, char *msg, size_t msglen);

const char *pe_op_name(enum pe_op op);
/* The keys an object takes, by their netsh names (for --help and shell
 * completion): NULL-terminated, or NULL for no such object. */
const char *const *pe_keys(const char *object);

#endif
