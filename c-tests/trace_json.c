/* read(2) on a pipe whose writer is late, then nanosleep(2), under a 1 ms
 * SIGALRM storm: the events must name each function, the read's fd and
 * the signal. Prints the fd it reads from as read_fd=N. */
#include "legacy.h"
#include <sys/wait.h>

int main(void)
{
	int p[2];
	char buf[64];
	ssize_t n;
	pid_t child;
	struct timespec nap = { 0, 100 * 1000000L };

	child = late_pipe(p, 200, "late data");
	printf("read_fd=%d\n", p[0]);
	fflush(stdout);
	storm_start(1000);
	n = read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	if (nanosleep(&nap, NULL) != 0)
		fail("nanosleep");
	storm_stop();
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	CHECK(legacy_signals > 10);
	CHECK(waitpid(child, NULL, 0) == child);
	return 0;
}
