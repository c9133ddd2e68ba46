/* send(2) of 1 MiB on a stream socketpair whose reader is slow, under a
 * 1 ms SIGALRM storm. A partial send is success: the loop goes on. Bare,
 * the send that finds the buffer full fails with EINTR. */
#include "net.h"

#define TOTAL (1024 * 1024)

static unsigned char data[TOTAL];

int main(void)
{
	int sv[2];
	size_t done = 0, i;
	ssize_t n;
	pid_t child;

	for (i = 0; i < TOTAL; i++)
		data[i] = pattern(i);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("socketpair");
	child = fork_helper();
	if (child == 0) {
		close(sv[0]);
		quiet_sleep_ms(300);
		_exit(drain_and_check(sv[1], TOTAL));
	}
	close(sv[1]);
	helper_start_and_storm();
	while (done < TOTAL) {
		n = send(sv[0], data + done, TOTAL - done, 0);
		if (n < 0)
			fail("send");
		CHECK(n > 0);
		done += (size_t)n;
	}
	storm_stop();
	close(sv[0]);
	reap(child);
	CHECK(legacy_signals > 10);
	return 0;
}
