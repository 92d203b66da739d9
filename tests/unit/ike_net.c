/*
 * Two IKE engines in one process, joined by a mock transport whose queue
 * the test delivers (or drops) one datagram at a time, and a clock it moves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ike_net.h"

struct net net;

static int
mock_send(void *ctx, const struct ike_endpoint *local,
    const struct ike_endpoint *remote, const uint8_t *msg, size_t len)
{
	(void)ctx;
	assert_true(net.n < MAXQ);
	net.q[net.n].from = *local;
	net.q[net.n].to = *remote;
	memcpy(net.q[net.n].msg, msg, len);
	net.q[net.n].len = len;
	net.n++;
	return 0;
}

static uint64_t
mock_now(void *ctx)
{
	(void)ctx;
	return net.now;
}

/* ctx is the side whose engine reports. */
static void
mock_audit(void *ctx, const struct audit_event *ev)
{
	struct side *s = ctx;

	if (s == NULL)
		return;
	if (s->nevents < sizeof(s->events) / sizeof(s->events[0]))
		s->events[s->nevents++] = ev->id;
	snprintf(s->last_reason, sizeof(s->last_reason), "%s",
	    ev->reason ? ev->reason : "");
	snprintf(s->last_attribute, sizeof(s->last_attribute), "%s",
	    ev->attribute ? ev->attribute : "");
	s->last_suppressed = ev->suppressed;
}

/* The trace log: lines kept, one per line, in s->trace. */
static void
mock_trace(void *ctx, const char *line)
{
	struct side *s = ctx;
	size_t n = strlen(line);
	char *t;

	if (s == NULL)
		return;
	s->trace_lines++;
	if (s->log != NULL) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		trace_log_write(s->log, now, line);
		return;
	}
	if ((t = realloc(s->trace, s->trace_len + n + 2)) == NULL)
		return;
	memcpy(t + s->trace_len, line, n);
	t[s->trace_len + n] = '\n';
	t[s->trace_len + n + 1] = '\0';
	s->trace = t;
	s->trace_len += n + 1;
}

const struct ike_ops mock_ops = {
    mock_send, mock_now, NULL, mock_audit, mock_trace};

static const char policy_fmt[] =
    "policy: { name: %s }\n"
    "ike-policies:\n"
    "  - name: mm\n"
    "    offers: [ { encryption: %s, integrity: %s, dh-group: %s } ]\n"
    "negotiation-policies:\n"
    "  - { name: qm, pfs-group: %s, soft: %s, offers: [ { %s%s } ] }\n"
    "filter-lists:\n"
    "  - { name: peer, filters: [ { source: me, destination: %s } ] }\n"
    "filter-actions:\n"
    "  - { name: sec, action: negotiate, negotiation-policy: qm }\n"
    "rules:\n"
    "  - { name: to-peer, filter-list: peer, filter-action: sec,\n"
    "      authentication: [ { method: psk, secret: peer } ] }\n";

void
side_init(struct side *s, const char *me, const char *peer, const char *encr,
    const char *hash, const char *group, const char *psk)
{
	const char *offer = s == &net.a ? net.esp_a : net.esp_b;
	char yaml[2048], sec[256];
	struct policy_error err;
	struct ike_policy_view pv;
	int n;

	memset(s, 0, sizeof(*s));
	assert_true(ips_addr_parse(me, &s->ep.addr));
	s->ep.port = IKE_PORT;
	n = snprintf(yaml, sizeof(yaml), policy_fmt, me, encr, hash, group,
	    net.pfs, net.soft ? "yes" : "no",
	    strncmp(offer, "ah:", 3) == 0 ? "" : "esp: ", offer, peer);

	assert_true(ips_ok(
	    policy_load_buffer("p.yaml", yaml, (size_t)n, &s->policy, &err)));
	n = snprintf(sec, sizeof(sec), "peer: \"%s\"\n", psk);
	assert_true(ips_ok(
	    secrets_load_buffer("s.yaml", sec, (size_t)n, &s->secrets, &err)));
	s->host = hostenv_new();
	assert_true(ips_ok(hostenv_add(s->host, HOSTENV_LOCAL, &s->ep.addr)));
	assert_true(ips_ok(flt_set_build(s->policy, s->host, &s->filters)));
	s->stats = stats_new();
	s->ike = ike_new(&mock_ops, s, s->stats);
	pv = (struct ike_policy_view){
	    s->policy, s->secrets, s->filters, s->host, NULL};
	ike_set_policy(s->ike, &pv);
}

void
side_free(struct side *s)
{
	ike_free(s->ike);
	stats_free(s->stats);
	flt_set_free(s->filters);
	hostenv_free(s->host);
	secrets_free(s->secrets);
	policy_free(s->policy);
	free(s->trace);
	s->trace = NULL;
	s->trace_len = 0;
}

void
setup_pair(const char *a_group, const char *b_group, const char *a_psk,
    const char *b_psk)
{
	const char *pfs = net.pfs ? net.pfs : "none";
	const char *esp_a = net.esp_a ? net.esp_a : "aes128gcm16";
	const char *esp_b = net.esp_b ? net.esp_b : "aes128gcm16";
	bool soft = net.soft;

	memset(&net, 0, sizeof(net));
	net.now = 1000;
	net.pfs = pfs;
	net.esp_a = esp_a;
	net.esp_b = esp_b;
	net.soft = soft;
	side_init(&net.a, "10.99.0.1", "10.99.0.2", "aes128", "sha256", a_group,
	    a_psk);
	side_init(&net.b, "10.99.0.2", "10.99.0.1", "aes128", "sha256", b_group,
	    b_psk);
}

int
teardown(void **state)
{
	(void)state;
	side_free(&net.a);
	side_free(&net.b);
	net.pfs = net.esp_a = net.esp_b = NULL;
	net.soft = false;
	return 0;
}

/* Deliver the oldest queued datagram; drop it instead if drop. */
void
deliver(bool drop)
{
	struct dgram d;
	struct side *to;

	assert_true(net.n > 0);
	d = net.q[0];
	memmove(&net.q[0], &net.q[1], (net.n - 1) * sizeof(net.q[0]));
	net.n--;
	if (drop)
		return;
	to = ips_addr_cmp(&d.to.addr, &net.a.ep.addr) == 0 ? &net.a : &net.b;
	ike_input(to->ike, &d.to, &d.from, d.msg, d.len);
}

struct ike_sa *
only_sa(struct side *s)
{
	assert_int_equal(ike_isadb_size(s->ike), 1);
	return s->ike->sas;
}

uint64_t
mm_stat(struct side *s, size_t offset)
{
	struct stats_gauges g;
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;
	uint64_t v;

	memset(&g, 0, sizeof(g));
	stats_snapshot(s->stats, &g, &mm, &qm);
	memcpy(&v, (const char *)&mm + offset, sizeof(v));
	return v;
}

void
initiate(void)
{
	struct ike_endpoint peer = net.b.ep;

	assert_true(ips_ok(ike_initiate(
	    net.a.ike, policy_rule(net.a.policy, 0), &net.a.ep, &peer)));
}

void
establish(void)
{
	setup_pair("19", "19", "k", "k");
	initiate();
	while (net.n > 0)
		deliver(false);
	assert_int_equal(only_sa(&net.a)->state, IKE_SA_ESTABLISHED);
	assert_int_equal(only_sa(&net.b)->state, IKE_SA_ESTABLISHED);
}

uint64_t
qm_stat(struct side *s, size_t offset)
{
	struct stats_gauges g;
	struct ips_mm_stats mm;
	struct ips_qm_stats qm;
	uint64_t v;

	memset(&g, 0, sizeof(g));
	stats_snapshot(s->stats, &g, &mm, &qm);
	memcpy(&v, (const char *)&qm + offset, sizeof(v));
	return v;
}
#define QM_STAT(s, f) qm_stat((s), offsetof(struct ips_qm_stats, f))

/* Each side's outbound key is the other's inbound key, SPI for SPI. */
void
keys_cross(void)
{
	struct sad *sa = ike_sad(net.a.ike), *sb = ike_sad(net.b.ike);
	struct sad_info rows[4];
	size_t n = sad_list(sa, rows, 4);

	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		size_t ka, kb;
		const uint8_t *x = sad_key(sa, rows[i].dir, rows[i].spi, &ka);
		const uint8_t *y = sad_key(sb,
		    rows[i].dir == SAD_INBOUND ? SAD_OUTBOUND : SAD_INBOUND,
		    rows[i].spi, &kb);

		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(ka, kb);
		assert_memory_equal(x, y, ka);
	}
}

void
pump(void)
{
	while (net.n > 0)
		deliver(false);
}
