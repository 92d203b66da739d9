/*
 * log: the daemon's diagnostics, to stderr (foreground) or syslog.  Never
 * pass key material or secret values to it.
 */
#ifndef IPS_LOG_H
#define IPS_LOG_H

#include <stdbool.h>

enum ips_log_level {
	IPS_LOG_ERR = 3,
	IPS_LOG_WARNING = 4,
	IPS_LOG_NOTICE = 5,
	IPS_LOG_INFO = 6,
	IPS_LOG_DEBUG = 7,
};

/* Route messages to syslog (ident) instead of stderr; set the threshold. */
void ips_log_setup(
    const char *ident, bool use_syslog, enum ips_log_level max_level);
void ips_log(enum ips_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
