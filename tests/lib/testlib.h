/*
 * testlib: helpers for ipsecmon's tests — files, commands, child
 * processes, network namespaces and golden outputs.  Every helper that
 * cannot do its job fails the test loudly (cmocka fail_msg); none skips.
 */
#ifndef IPS_TESTLIB_H
#define IPS_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A required environment variable (set by CMake for every test). */
const char *tl_env(const char *name);

/* Whole file into a NUL-terminated malloc'd string, or NULL. */
char *tl_read_file(const char *path, size_t *len);
void tl_write_file(const char *path, const char *content, unsigned mode);
/* A fresh private directory; tl_rmrf() removes it. */
char *tl_mkdtemp(void);
void tl_rmrf(const char *path);

/* Run a shell command; its stdout (and stderr if merge) as a string. */
char *tl_run(const char *cmd, bool merge_stderr, int *exit_status);
/* Run a shell command that must succeed. */
void tl_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Replace every occurrence of from by to (returns a new string). */
char *tl_replace(const char *s, const char *from, const char *to);

/* Start argv[0] with argv, stdout+stderr appended to logpath. */
pid_t tl_spawn(char *const argv[], const char *logpath);
/* Signal and reap; returns the exit status (128+sig if killed). */
int tl_stop(pid_t pid, int sig);
/* Reap a child that should exit by itself within timeout_ms; -1 if not. */
int tl_wait_exit(pid_t pid, int timeout_ms);
/* A syslog receiver, as /dev/log is (a Unix datagram socket at sock):
 * a child process appending each message and a newline to out.  Stop it
 * with tl_stop. */
pid_t tl_syslog_receiver(const char *sock, const char *out);
/* Wait until a Unix socket accepts connections; false on timeout. */
bool tl_wait_socket(const char *path, int timeout_ms);

/* Create/delete a network namespace named after tag and our pid. */
const char *tl_netns_create(const char *tag, char *buf, size_t len);
void tl_netns_delete(const char *name);

/* From inside network namespace ns, one UDP datagram from address src
 * (any port) to dst:port: a hostile or replayed packet from the wire. */
void tl_netns_udp_send(const char *ns, const char *src, const char *dst,
    unsigned port, const void *data, size_t len);

/* Record n (from 0) of a libpcap capture file, malloc'd; fails the test
 * if there is none. */
uint8_t *tl_pcap_record(const char *path, size_t n, size_t *len);

/*
 * A test PKI in dir (created), made with openssl:
 * - ca.pem/ca.key, the lab CA; other.pem/other.key, an unrelated CA;
 * - a, b, c: RSA certificates (x.pem, key x.key, mode 0600) from the lab
 *   CA for "O=ipsecmon, CN=site-x", with subjectAltNames DNS
 *   site-x.example and e-mail site-x@example.org; crl.pem, the lab CA's
 *   revocation list, revokes c;
 * - int.pem, an intermediate CA under the lab CA, and d (the same form)
 *   under it; d-chain.pem is d.pem followed by int.pem.
 */
void tl_make_pki(const char *dir);
/* A statistic's key as IPSECMON-MIB spells it after ipsmMm/ipsmQm:
 * bad_spi_packets -> BadSPIPackets (words capitalised; SA, SAs, SPI, IKE,
 * ISADB as the MIB writes them). */
void tl_stat_mib_name(const char *key, char *out, size_t len);
/* Hex digits to bytes (a test vector); returns how many. */
size_t tl_unhex(const char *h, uint8_t *out);
/*
 * TCP through a tunnel: bytes random bytes from src in from_ns to a
 * listener on dst in to_ns (nc, port 5001), their SHA-256 compared at
 * the far end; files under dir.  Fails the test, with why_log's text,
 * if anything differs.
 */
void tl_tcp_transfer(const char *dir, const char *from_ns, const char *src,
    const char *to_ns, const char *dst, size_t bytes, const char *why_log);

/*
 * Compare actual with tests/golden/<name>; with IPS_UPDATE_GOLDEN=1 in the
 * environment, write actual there instead.  Fails with a diff.
 */
void tl_golden(const char *name, const char *actual);
/*
 * A view's output with the fields that change from run to run (cookies,
 * SPIs, ages, byte counts, times) masked, for tl_golden: fields names
 * them as the view does (a table's header, a list's key, JSON's key).
 * Tables keep their layout: a masked cell is '@' padded to its column.
 */
char *tl_mask_fields(const char *out, const char *const *fields, size_t n);
/* Fail unless json is what definition def of docs/ipsecmon.schema.json
 * allows (lines: a document per line), by tests/tools/check-json. */
void tl_check_json(const char *def, const char *json, bool lines);

#endif
