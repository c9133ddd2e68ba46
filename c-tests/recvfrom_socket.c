/* recvfrom(2) on a UDP socket whose sender is late, under a 1 ms SIGALRM
 * storm: the datagram and the sender's address are checked. */
#include "net.h"

int main(void)
{
	struct sockaddr_in addr, from;
	socklen_t fromlen = sizeof from;
	char buf[64];
	/* A length in a variable, as in most real code: built with
	 * -D_FORTIFY_SOURCE=2 this call becomes its fortified form. */
	volatile size_t room = sizeof buf;
	ssize_t n;
	pid_t child;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		fail("socket");
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
		fail("bind");
	if (getsockname(fd, (struct sockaddr *)&addr, &(socklen_t){ sizeof addr }) != 0)
		fail("getsockname");
	child = fork_helper();
	if (child == 0) {
		int out = socket(AF_INET, SOCK_DGRAM, 0);
		quiet_sleep_ms(300);
		_exit(sendto(out, "late datagram", 13, 0, (struct sockaddr *)&addr,
			     sizeof addr) == 13 ? 0 : 3);
	}
	helper_start_and_storm();
	n = recvfrom(fd, buf, room, 0, (struct sockaddr *)&from, &fromlen);
	if (n < 0)
		fail("recvfrom");
	storm_stop();
	CHECK(n == 13 && memcmp(buf, "late datagram", 13) == 0);
	CHECK(fromlen == sizeof from && from.sin_family == AF_INET &&
	      from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && from.sin_port != 0);
	reap(child);
	CHECK(legacy_signals > 10);
	return 0;
}
