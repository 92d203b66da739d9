#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

/*
 * Process-wide by nature (like syslog itself): set once by main() before
 * the loop starts, read-only afterwards.
 */
static struct {
	bool use_syslog;
	enum ips_log_level max;
	const char *ident;
} log_cfg = {false, IPS_LOG_INFO, "ipsecmon"};

void
ips_log_setup(const char *ident, bool use_syslog, enum ips_log_level max_level)
{
	log_cfg.ident = ident;
	log_cfg.use_syslog = use_syslog;
	log_cfg.max = max_level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
ips_log(enum ips_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {[IPS_LOG_ERR] = "error",
	    [IPS_LOG_WARNING] = "warning",
	    [IPS_LOG_NOTICE] = "notice",
	    [IPS_LOG_INFO] = "info",
	    [IPS_LOG_DEBUG] = "debug"};
	va_list ap;

	if (level > log_cfg.max)
		return;
	va_start(ap, fmt);
	if (log_cfg.use_syslog) {
		vsyslog((int)level, fmt, ap);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		strftime(
		    ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		fprintf(stderr, "%s %s[%s]: ", ts, log_cfg.ident, names[level]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
