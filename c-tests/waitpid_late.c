/* waitpid(2) for a child that exits late, under a 1 ms SIGALRM storm:
 * the child's exit status is checked. */
#include "net.h"

int main(void)
{
	int status = 0;
	pid_t got, child = fork_helper();
	if (child == 0) {
		quiet_sleep_ms(300);
		_exit(42);
	}
	helper_start_and_storm();
	got = waitpid(child, &status, 0);
	if (got < 0)
		fail("waitpid");
	storm_stop();
	CHECK(got == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);
	CHECK(legacy_signals > 10);
	return 0;
}
