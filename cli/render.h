/*
 * render: turn a control-protocol view into what the operator reads, in
 * one of three formats.  The same code renders a view whether it came from
 * the local control socket or (later) from SNMP, so both look alike.
 */
#ifndef IPSM_RENDER_H
#define IPSM_RENDER_H

#include <stdio.h>

#include "ctl.pb-c.h"

enum render_format { RENDER_DEFAULT, RENDER_TABLE, RENDER_LIST, RENDER_JSON };

#include <stdbool.h>
#include <stdint.h>

/* Print the view in resp; returns 0, or -1 if resp holds no view. */
int render_response(
    const Ipsm__Response *resp, enum render_format fmt, FILE *f);

/* Audit events (cli/events.c): as a view, or, when lines, one line (or
 * one JSON record) each, for `--follow`. */
int render_events(
    const Ipsm__EventsView *v, enum render_format fmt, bool lines, FILE *f);
/* since= as UTC ms: "10m" ago (s, m, h, d), or "2026-12-02T01:00:00Z". */
bool events_parse_since(const char *s, int64_t now_ms, int64_t *out);

#endif
