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

/* Print the view in resp; returns 0, or -1 if resp holds no view. */
int render_response(
    const Ipsm__Response *resp, enum render_format fmt, FILE *f);

#endif
