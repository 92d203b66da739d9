/*
 * The audit event log: one JSON object per line with exactly the fields
 * that apply, appended, and rotated by size without losing a record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "audit/trace.h"
#include "testlib.h"

static struct audit_event
failure(void)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = AUDIT_BAD_PROPOSAL;
	ev.mode = "main";
	ev.rule = "to-branch";
	assert_true(ips_addr_parse("192.0.2.1", &ev.local));
	assert_true(ips_addr_parse("2001:db8::7", &ev.remote));
	ev.local_port = ev.remote_port = 500;
	ev.attribute = "dh-group";
	ev.expected = "14";
	ev.received = "2";
	ev.failure_point = "peer";
	ev.reason = "no proposal chosen at MM1";
	return ev;
}

static void
test_record(void **state)
{
	struct audit_event ev = failure();
	struct timespec t = {1764000000, 123456789};
	char *s;

	(void)state;
	s = audit_json(&ev, t);
	assert_non_null(s);
	assert_string_equal(s,
	    "{\"time\":\"2025-11-24T16:00:00.123Z\",\"id\":546,"
	    "\"event\":\"invalid_proposal\",\"mode\":\"main\","
	    "\"rule\":\"to-branch\",\"local\":\"192.0.2.1\","
	    "\"local_port\":500,\"peer\":\"2001:db8::7\","
	    "\"peer_port\":500,\"attribute\":\"dh-group\","
	    "\"expected\":\"14\",\"received\":\"2\","
	    "\"failure_point\":\"peer\","
	    "\"reason\":\"no proposal chosen at MM1\"}");
	free(s);
	/* SPIs as the SA views show them; absent fields stay absent */
	ev = (struct audit_event){.id = AUDIT_QM_ENDED,
	    .spi_in = 0xc0ffee,
	    .spi_out = 0x1234abcd,
	    .reason = "lifetime expired"};
	s = audit_json(&ev, t);
	assert_non_null(strstr(s, "\"inbound_spi\":\"00c0ffee\""));
	assert_non_null(strstr(s, "\"outbound_spi\":\"1234abcd\""));
	assert_null(strstr(s, "\"peer\""));
	assert_null(strstr(s, "\"attribute\""));
	free(s);
	assert_string_equal(audit_key(547), "negotiation_failed");
	assert_null(audit_key(540));
}

/* Lines in a file, or -1 if it does not exist. */
static int
lines(const char *path)
{
	size_t len;
	char *s = tl_read_file(path, &len);
	int n = 0;

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	free(s);
	return n;
}

static void
test_rotation(void **state)
{
	struct audit_event ev = failure();
	struct timespec t = {1764000000, 0};
	char *dir = tl_mkdtemp(), path[600], old[620], err[256];
	struct audit_log *l;
	struct stat sb;
	char *line = audit_json(&ev, t);
	size_t one = strlen(line) + 1;

	(void)state;
	free(line);
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	/* room for three records per file, two old files kept */
	assert_true(
	    ips_ok(audit_log_open(path, 3 * one, 2, &l, err, sizeof(err))));
	for (int i = 0; i < 10; i++)
		audit_log_write(l, &ev, t);
	audit_log_close(l);
	/* 10 records: 3 + 3 rotated out to .2 and .1, 1 dropped with the
	 * oldest file, 3 in the live one */
	assert_int_equal(lines(path), 1);
	snprintf(old, sizeof(old), "%s.1", path);
	assert_int_equal(lines(old), 3);
	snprintf(old, sizeof(old), "%s.2", path);
	assert_int_equal(lines(old), 3);
	snprintf(old, sizeof(old), "%s.3", path);
	assert_int_equal(lines(old), -1);
	/* reopened, it appends */
	assert_true(
	    ips_ok(audit_log_open(path, 3 * one, 2, &l, err, sizeof(err))));
	audit_log_write(l, &ev, t);
	audit_log_close(l);
	assert_int_equal(lines(path), 2);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	/* a directory that does not exist: a clear error */
	snprintf(old, sizeof(old), "%s/none/events.jsonl", dir);
	assert_int_equal(
	    audit_log_open(old, 0, 0, &l, err, sizeof(err)).err, IPS_E_IO);
	assert_non_null(strstr(err, "No such file"));
	tl_rmrf(dir);
	free(dir);
}

/* RFC 5424: header, the fields as structured data with '"', '\\' and ']'
 * escaped (6.3.3), the description and reason as the message. */
static void
test_rfc5424(void **state)
{
	struct audit_event ev;
	struct timespec now = {1767225600, 250000000};
	char *m;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.id = AUDIT_AUTH_FAILED;
	ev.mode = "main";
	ev.rule = "to \"hq\"";
	ev.remote.af = AF_INET;
	ev.remote.b[0] = 192;
	ev.remote.b[3] = 7;
	ev.remote_port = 500;
	ev.failure_point = "peer";
	ev.reason = "keys ] differ \\";
	m = audit_rfc5424(&ev, now, "gw1", 42);
	assert_non_null(m);
	assert_string_equal(m,
	    "<84>1 2026-01-01T00:00:00.250Z gw1 ipsecmond 42 545 "
	    "[ipsecmon@32473 id=\"545\" event=\"authentication_failed\" "
	    "mode=\"main\" rule=\"to \\\"hq\\\"\" peer=\"192.0.0.7\" "
	    "peer_port=\"500\" failure_point=\"peer\" "
	    "reason=\"keys \\] differ \\\\\"] IKE peer authentication "
	    "failed: keys ] differ \\");
	free(m);
	ev.id = AUDIT_SA_ESTABLISHED; /* a notice: <85> */
	m = audit_rfc5424(&ev, now, NULL, 1);
	assert_true(
	    strncmp(m, "<85>1 2026-01-01T00:00:00.250Z - ipsecmond 1 541 [",
		41) == 0);
	free(m);
}

static size_t
lines_of(const char *path)
{
	size_t len, n = 0;
	char *t = tl_read_file(path, &len);

	for (size_t i = 0; t != NULL && i < len; i++)
		n += t[i] == '\n';
	/* and every line whole: the file ends with one */
	if (t != NULL && len > 0)
		assert_int_equal(t[len - 1], '\n');
	free(t);
	return n;
}

/*
 * The IKE trace log: TRACE_MAX_LINES lines a file, then .bak; at open the
 * previous file becomes .sav; a line with a newline in it stays one line.
 */
static void
test_trace_rotation(void **state)
{
	char *dir = tl_mkdtemp(), path[600], bak[620], sav[620], err[256];
	struct timespec now = {1767225600, 5000000};
	struct trace_log *t;
	char *text;

	(void)state;
	snprintf(path, sizeof(path), "%s/oakley.log", dir);
	snprintf(bak, sizeof(bak), "%s.bak", path);
	snprintf(sav, sizeof(sav), "%s.sav", path);
	tl_write_file(path, "the last run\n", 0640);
	assert_true(ips_ok(
	    trace_log_open(path, TRACE_MAX_LINES, &t, err, sizeof(err))));
	assert_int_equal(lines_of(sav), 1);
	for (int i = 0; i < TRACE_MAX_LINES; i++)
		trace_log_write(t, now, "a line");
	assert_int_equal(lines_of(path), TRACE_MAX_LINES);
	assert_int_equal(access(bak, F_OK), -1);
	trace_log_write(t, now, "the first of the next file\nnot a line");
	assert_int_equal(lines_of(bak), TRACE_MAX_LINES);
	assert_int_equal(lines_of(path), 1);
	text = tl_read_file(path, NULL);
	assert_string_equal(text,
	    "2026-01-01 00:00:00.005Z the first of the next file?not a line\n");
	free(text);
	trace_log_close(t);
	/* the next start keeps this run's file as .sav */
	assert_true(ips_ok(
	    trace_log_open(path, TRACE_MAX_LINES, &t, err, sizeof(err))));
	assert_int_equal(lines_of(sav), 1);
	assert_int_equal(lines_of(path), 0);
	trace_log_close(t);
	tl_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_trace_rotation),
	    cmocka_unit_test(test_rfc5424),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
