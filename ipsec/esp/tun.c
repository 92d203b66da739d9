#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

/* One interface ioctl on a throwaway socket. */
static int
if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -1;
	r = ioctl(s, req, ifr);
	close(s);
	return r;
}

ips_res
tun_open(const char *name, unsigned mtu, int *fd, char *errbuf, size_t errlen)
{
	struct ifreq ifr;
	int t;

	if (strlen(name) >= IFNAMSIZ) {
		snprintf(errbuf, errlen, "TUN device name %s is longer than %d",
		    name, IFNAMSIZ - 1);
		BAIL(INVAL);
	}
	if ((t = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(errbuf, errlen, "cannot open /dev/net/tun: %s",
		    strerror(errno));
		BAIL(IO);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(t, TUNSETIFF, &ifr) != 0) {
		snprintf(errbuf, errlen, "cannot create TUN device %s: %s",
		    name, strerror(errno));
		close(t);
		BAIL(IO);
	}
	ifr.ifr_mtu = (int)mtu;
	if (if_ioctl(SIOCSIFMTU, &ifr) != 0 ||
	    if_ioctl(SIOCGIFFLAGS, &ifr) != 0 ||
	    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING,
		if_ioctl(SIOCSIFFLAGS, &ifr) != 0)) {
		snprintf(errbuf, errlen, "cannot bring %s up: %s", name,
		    strerror(errno));
		close(t);
		BAIL(IO);
	}
	*fd = t;
	return IPS_OK;
}
