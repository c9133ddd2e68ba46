/* accept(2) on a TCP listener whose client comes late, under a 1 ms
 * SIGALRM storm: the peer address and the client's message are checked. */
#include "net.h"

int main(void)
{
	struct sockaddr_in addr, peer;
	socklen_t peerlen = sizeof peer;
	int listener = tcp_listener(8, &addr), fd;
	pid_t child = late_client(&addr, 300, "hello from a late client");

	helper_start_and_storm();
	fd = accept(listener, (struct sockaddr *)&peer, &peerlen);
	if (fd < 0)
		fail("accept");
	storm_stop();
	CHECK(peerlen == sizeof peer && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	expect(fd, "hello from a late client");
	reap(child);
	CHECK(legacy_signals > 10);
	return 0;
}
