/* accept4(2) with SOCK_CLOEXEC on a TCP listener whose client comes late,
 * under a 1 ms SIGALRM storm: the flag, the peer and the data are checked. */
#include "net.h"
#include <fcntl.h>

int main(void)
{
	struct sockaddr_in addr, peer;
	socklen_t peerlen = sizeof peer;
	int listener = tcp_listener(8, &addr), fd;
	pid_t child = late_client(&addr, 300, "hello from a late client");

	helper_start_and_storm();
	fd = accept4(listener, (struct sockaddr *)&peer, &peerlen, SOCK_CLOEXEC);
	if (fd < 0)
		fail("accept4");
	storm_stop();
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK(peerlen == sizeof peer && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	expect(fd, "hello from a late client");
	reap(child);
	CHECK(legacy_signals > 10);
	return 0;
}
