/*
 * trace: the IKE trace log (Windows' Oakley.log), written while
 * `set config ikelogging=1`: one line per event of every exchange (what
 * came and went, state changes, proposals, decisions and their reasons).
 *
 * The file holds at most TRACE_MAX_LINES lines: when full it becomes
 * FILE.bak (the previous .bak goes) and a new file starts; when the log is
 * opened, at the daemon's start, an existing FILE becomes FILE.sav.  Each
 * line is written whole, with one write(2), so a line is never torn nor
 * split across the two files.
 *
 * Lines carry names, addresses, cookies, SPIs and algorithms: never keys,
 * nonces, or anything derived from them (the engine never formats those).
 */
#ifndef IPS_TRACE_H
#define IPS_TRACE_H

#include <stddef.h>
#include <time.h>

#include "base/ips_err.h"

#define TRACE_MAX_LINES 50000
#define TRACE_LINE_MAX 1024 /* longer lines are cut, marked with "..." */

struct trace_log;

IPS_MUST_USE ips_res trace_log_open(const char *path, size_t max_lines,
    struct trace_log **out, char *errbuf, size_t errlen);
void trace_log_close(struct trace_log *t);
/* Append one line (no newline), stamped with now (UTC, milliseconds);
 * control characters become '?'.  Errors are counted, never fatal. */
void trace_log_write(
    struct trace_log *t, struct timespec now, const char *line);
/* Lines in the current file. */
size_t trace_log_lines(const struct trace_log *t);

#endif
