/*
 * bench/udp_floor: the I/O floor of an IKEv1 handshake between two hosts.
 * A handshake (Main Mode + Quick Mode) is nine datagrams, alternating:
 * MM1 ->, <- MM2, MM3 ->, <- MM4, MM5 ->, <- MM6, QM1 ->, <- QM2, QM3 ->.
 * This plays exactly that exchange, N at once, with datagrams of the same
 * size and one sendto/recvfrom per datagram as ipsecmond does, but no
 * crypto and no state: what the kernel and the link cost per handshake.
 *
 *   udp_floor serve PORT            (answers; runs until killed)
 *   udp_floor run ADDR PORT N SIZE  (prints handshakes per second)
 *
 * bench/peers.sh runs both, pinned like the daemons, beside the real thing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define STEPS 9 /* datagrams per handshake */
#define MAXDGRAM 2048

struct msg {
	uint32_t conv; /* which handshake */
	uint32_t step; /* 0..8: MM1 .. QM3 */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
udp_socket(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_ANY)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("udp_floor: socket");
		exit(1);
	}
	struct timeval tv = {10, 0};

	/* Room for a burst: the floor, not the drops, is what we measure;
	 * and a lost datagram ends the run instead of hanging it. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The responder: answers the initiator's steps 0, 2, 4, 6 with the next. */
static _Noreturn void
serve(uint16_t port)
{
	int fd = udp_socket(port);
	uint8_t buf[MAXDGRAM];

	struct timeval forever = {0, 0};

	(void)setsockopt(
	    fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(
		    fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		struct msg m;

		if (n < (ssize_t)sizeof(m))
			continue;
		memcpy(&m, buf, sizeof(m));
		if (m.step % 2 == 1 || m.step + 1 >= STEPS)
			continue;
		m.step++;
		memcpy(buf, &m, sizeof(m));
		(void)sendto(
		    fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int
run(const char *addr, uint16_t port, long n, size_t size)
{
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(port)};
	int fd = udp_socket(0);
	uint8_t buf[MAXDGRAM];
	long done = 0;
	double t0, t1;

	if (inet_pton(AF_INET, addr, &to.sin_addr) != 1 || size < 8 ||
	    size > MAXDGRAM) {
		fprintf(stderr, "udp_floor: bad address or size\n");
		return 2;
	}
	memset(buf, 0xa5, sizeof(buf));
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		struct msg m = {(uint32_t)i, 0};

		memcpy(buf, &m, sizeof(m));
		(void)sendto(
		    fd, buf, size, 0, (struct sockaddr *)&to, sizeof(to));
	}
	while (done < n) {
		struct msg m;
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr,
			    "udp_floor: %ld of %ld done, then "
			    "silence (datagrams lost)\n",
			    done, n);
			return 1;
		}
		if (r < (ssize_t)sizeof(m))
			continue;
		memcpy(&m, buf, sizeof(m));
		m.step++;
		memcpy(buf, &m, sizeof(m));
		(void)sendto(
		    fd, buf, size, 0, (struct sockaddr *)&to, sizeof(to));
		done += m.step == STEPS - 1; /* QM3 sent: that one is over */
	}
	t1 = now_s();
	printf("%.0f\n", (double)n / (t1 - t0));
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		serve((uint16_t)atoi(argv[2]));
	if (argc == 6 && strcmp(argv[1], "run") == 0)
		return run(argv[2], (uint16_t)atoi(argv[3]), atol(argv[4]),
		    (size_t)atol(argv[5]));
	fprintf(stderr,
	    "usage: udp_floor serve PORT | "
	    "run ADDR PORT N SIZE\n");
	return 2;
}
