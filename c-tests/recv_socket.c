/* recv(2) on a stream socketpair whose peer writes late, under a 1 ms
 * SIGALRM storm. */
#include "net.h"

int main(void)
{
	int sv[2];
	char buf[64];
	/* A length in a variable, as in most real code: built with
	 * -D_FORTIFY_SOURCE=2 this call becomes its fortified form. */
	volatile size_t room = sizeof buf;
	ssize_t n;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("socketpair");
	child = fork_helper();
	if (child == 0) {
		close(sv[0]);
		quiet_sleep_ms(300);
		_exit(send(sv[1], "late data", 9, 0) == 9 ? 0 : 3);
	}
	close(sv[1]);
	helper_start_and_storm();
	n = recv(sv[0], buf, room, 0);
	if (n < 0)
		fail("recv");
	storm_stop();
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	reap(child);
	CHECK(legacy_signals > 10);
	return 0;
}
