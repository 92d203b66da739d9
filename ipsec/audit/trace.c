#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "trace.h"

struct trace_log {
	char *path;
	int fd;
	size_t lines, max_lines;
	unsigned long errors;
};

static int
open_new(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

ips_res
trace_log_open(const char *path, size_t max_lines, struct trace_log **out,
    char *errbuf, size_t errlen)
{
	struct trace_log *t = calloc(1, sizeof(*t));
	char sav[4096];

	ENSURE(t != NULL && max_lines > 0, NOMEM);
	if ((t->path = strdup(path)) == NULL) {
		free(t);
		BAIL(NOMEM);
	}
	/* the previous run's trace is kept once, as .sav; an empty one (a
	 * run that traced nothing) does not push out the last real one */
	snprintf(sav, sizeof(sav), "%s.sav", path);
	{
		struct stat st;

		if (stat(path, &st) == 0 && st.st_size == 0)
			(void)unlink(path);
	}
	if (rename(path, sav) != 0 && errno != ENOENT) {
		snprintf(errbuf, errlen, "cannot save %s as %s: %s", path, sav,
		    strerror(errno));
		free(t->path);
		free(t);
		BAIL(IO);
	}
	if ((t->fd = open_new(path)) < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		free(t->path);
		free(t);
		BAIL(IO);
	}
	t->max_lines = max_lines;
	t->lines = 0; /* the file is new: the old one is .sav now */
	*out = t;
	return IPS_OK;
}

void
trace_log_close(struct trace_log *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
	free(t);
}

size_t
trace_log_lines(const struct trace_log *t)
{
	return t->lines;
}

/* Full: the file becomes .bak and a new one starts.  If the file is
 * gone (an operator removed it) a new one starts all the same; if no new
 * one can be opened, the old goes on and rotation is tried again after
 * another full file, not on every line. */
static void
rotate(struct trace_log *t)
{
	char bak[4096];
	int fd;

	snprintf(bak, sizeof(bak), "%s.bak", t->path);
	if ((rename(t->path, bak) != 0 && errno != ENOENT) ||
	    (fd = open_new(t->path)) < 0) {
		if (t->errors++ == 0)
			ips_log(IPS_LOG_WARNING, "trace: cannot rotate %s: %s",
			    t->path, strerror(errno));
		t->lines = 0;
		return;
	}
	close(t->fd);
	t->fd = fd;
	t->lines = 0;
}

void
trace_log_write(struct trace_log *t, struct timespec now, const char *line)
{
	char buf[TRACE_LINE_MAX + 64];
	struct tm tm;
	size_t n, len = strlen(line), room;

	if (t == NULL || t->fd < 0)
		return;
	if (t->lines >= t->max_lines)
		rotate(t);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(
	    buf + n, sizeof(buf) - n, ".%03ldZ ", now.tv_nsec / 1000000);
	room = sizeof(buf) - n - 5; /* "...\n" and the NUL */
	for (size_t i = 0; i < len && i < room; i++)
		buf[n++] = (unsigned char)line[i] < 0x20 || line[i] == 0x7f
		    ? '?'
		    : line[i];
	if (len > room) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '\n';
	/* one write: the line lands whole or not at all */
	if (write(t->fd, buf, n) != (ssize_t)n) {
		if (t->errors++ == 0)
			ips_log(IPS_LOG_WARNING, "trace: cannot write %s: %s",
			    t->path, strerror(errno));
		return;
	}
	t->lines++;
}
