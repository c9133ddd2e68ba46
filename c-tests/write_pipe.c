/* write(2) of 1 MiB into a pipe whose reader is slow, under a 1 ms SIGALRM
 * storm. A partial write is success: the loop goes on from where it was.
 * Bare, the write that finds the pipe full fails with EINTR. */
#include "net.h"

#define TOTAL (1024 * 1024)

static unsigned char data[TOTAL];

int main(void)
{
	int p[2];
	size_t done = 0, i;
	ssize_t n;
	pid_t child;

	for (i = 0; i < TOTAL; i++)
		data[i] = pattern(i);
	if (pipe(p) != 0)
		fail("pipe");
	child = fork_helper();
	if (child == 0) {
		close(p[1]);
		quiet_sleep_ms(300);
		_exit(drain_and_check(p[0], TOTAL));
	}
	close(p[0]);
	helper_start_and_storm();
	while (done < TOTAL) {
		n = write(p[1], data + done, TOTAL - done);
		if (n < 0)
			fail("write");
		CHECK(n > 0);
		done += (size_t)n;
	}
	storm_stop();
	close(p[1]);
	reap(child);
	CHECK(legacy_signals > 10);
	return 0;
}
