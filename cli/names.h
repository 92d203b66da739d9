/*
 * names: resolvedns=yes, the addresses of a view shown by their names.
 *
 * Reverse lookups run in the CLI, never in the daemon: all of a view's
 * addresses at once through c-ares (hosts file, then DNS), the whole batch
 * bounded by a deadline; an address without an answer in time is shown as
 * it is.  Answers (and "no such name") are cached for the life of the
 * process, so --refresh asks once per address.
 */
#ifndef IPSM_NAMES_H
#define IPSM_NAMES_H

#include "ctl.pb-c.h"

struct names;

/* NULL if c-ares cannot start (the message is then on stderr). */
struct names *names_new(int deadline_ms);
void names_free(struct names *n);

/*
 * Put names in place of the addresses of resp's filters, SAs and tunnel
 * endpoints (ports kept).  The strings are the cache's: call
 * names_restore(n) before resp is freed, to put the addresses back.
 */
void names_apply(struct names *n, Ipsm__Response *resp);
void names_restore(struct names *n);

#endif
