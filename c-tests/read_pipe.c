/* read(2) from a pipe whose writer is late, under a 1 ms SIGALRM storm. */
#include "net.h"

int main(void)
{
	int p[2];
	char buf[64];
	/* A length in a variable, as in most real code: built with
	 * -D_FORTIFY_SOURCE=2 this call becomes its fortified form. */
	volatile size_t room = sizeof buf;
	ssize_t n;
	pid_t child;

	if (pipe(p) != 0)
		fail("pipe");
	child = fork_helper();
	if (child == 0) {
		close(p[0]);
		quiet_sleep_ms(300);
		if (write(p[1], "late data", 9) != 9)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	helper_start_and_storm();
	n = read(p[0], buf, room);
	if (n < 0)
		fail("read");
	storm_stop();
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	CHECK(legacy_signals > 10);
	return 0;
}
