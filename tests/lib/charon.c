#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "charon.h"
#include "testlib.h"

#define CHARON_BIN "/usr/lib/ipsec/charon"

void
charon_start(struct charon *c, const char *ns, const char *dir)
{
	char path[512], conf[2048], vici[320];
	char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec", c->ns,
	    (char *)"unshare", (char *)"-m", (char *)"--propagation",
	    (char *)"private", (char *)"sh", (char *)"-c",
	    (char *)"mount --bind \"$1/run\" /run && exec " CHARON_BIN,
	    (char *)"sh", c->dir, NULL};

	memset(c, 0, sizeof(*c));
	snprintf(c->ns, sizeof(c->ns), "%s", ns);
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	if (access(CHARON_BIN, X_OK) != 0)
		fail_msg("%s is missing: scripts/install-deps installs "
			 "strongswan-charon",
		    CHARON_BIN);
	tl_sh("mkdir -p %s/run %s/swanctl", dir, dir);
	snprintf(vici, sizeof(vici), "unix://%s/charon.vici", dir);
	/* One log level per line: charon reads "a = 1 b = 2" as one value.
	 * kernel-libipsec before kernel-netlink: the first one to register
	 * the kernel interface wins. */
	snprintf(conf, sizeof(conf),
	    "charon {\n"
	    "  load_modular = no\n"
	    "  load = random nonce openssl pem pkcs1 x509 revocation "
	    "constraints pubkey sha1 sha2 md5 hmac aes gcm kdf kernel-libipsec "
	    "kernel-netlink socket-default vici\n"
	    "  install_routes = yes\n"
	    "  retransmit_timeout = 2.0\n"
	    "  retransmit_tries = 3\n"
	    "  plugins {\n"
	    "    vici {\n      socket = %s\n    }\n"
	    "    kernel-libipsec {\n      allow_peer_ts = no\n    }\n"
	    "  }\n"
	    "  filelog {\n"
	    "    main {\n"
	    "      path = %s/charon.log\n"
	    "      time_format = %%H:%%M:%%S\n"
	    "      append = no\n"
	    "      flush_line = yes\n"
	    "      default = 1\n"
	    "      ike = 2\n"
	    "      cfg = 2\n"
	    "    }\n"
	    "  }\n"
	    "}\n"
	    "swanctl {\n"
	    "  load = random nonce openssl pem pkcs1 x509 revocation "
	    "constraints pubkey sha1 sha2 hmac aes\n"
	    "  socket = %s\n"
	    "}\n",
	    vici, dir, vici);
	snprintf(path, sizeof(path), "%s/strongswan.conf", dir);
	tl_write_file(path, conf, 0644);
	snprintf(path, sizeof(path), "%s/strongswan.conf", dir);
	setenv("STRONGSWAN_CONF", path, 1);
	snprintf(path, sizeof(path), "%s/charon.out", dir);
	c->pid = tl_spawn(argv, path);
	snprintf(path, sizeof(path), "%s/charon.vici", dir);
	if (!tl_wait_socket(path, 15000)) {
		char out[600], *log;

		snprintf(out, sizeof(out), "%s/charon.out", dir);
		log = tl_read_file(out, NULL);
		fail_msg("charon did not start:\n%s", log ? log : "");
	}
}

char *
charon_swanctl(struct charon *c, const char *args, int *status)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
	    "STRONGSWAN_CONF=%s/strongswan.conf SWANCTL_DIR=%s/swanctl "
	    "swanctl %s --uri unix://%s/charon.vici",
	    c->dir, c->dir, args, c->dir);
	return tl_run(cmd, true, status);
}

void
charon_load(struct charon *c, const char *swanctl_conf)
{
	char path[512], *out;
	int st;

	snprintf(path, sizeof(path), "%s/swanctl/swanctl.conf", c->dir);
	tl_write_file(path, swanctl_conf, 0600);
	out = charon_swanctl(c, "--load-all --clear", &st);
	if (st != 0)
		fail_msg("swanctl --load-all failed:\n%s", out);
	free(out);
}

bool
charon_wait_sa(struct charon *c, const char *want, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		char *out = charon_swanctl(c, "--list-sas", NULL);
		bool hit = strstr(out, want) != NULL;

		free(out);
		if (hit)
			return true;
		usleep(100000);
	}
	return false;
}

void
charon_stop(struct charon *c)
{
	if (c->pid > 0)
		tl_stop(c->pid, SIGTERM);
	c->pid = 0;
}
