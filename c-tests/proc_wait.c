/* wait/wait3/wait4/waitid for a child that exits 300 ms late, under a
 * 1 ms SIGALRM storm. Usage: proc_wait wait|wait3|wait4|waitid */
#include "legacy.h"
#include <sys/resource.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	const char *call = argc > 1 ? argv[1] : "wait";
	int status = 0;
	pid_t child, got;
	struct rusage usage;
	siginfo_t info;

	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		quiet_sleep_ms(300);
		_exit(7);
	}
	storm_start(1000);
	if (!strcmp(call, "wait"))
		got = wait(&status);
	else if (!strcmp(call, "wait3"))
		got = wait3(&status, 0, &usage);
	else if (!strcmp(call, "wait4"))
		got = wait4(child, &status, 0, &usage);
	else {
		memset(&info, 0, sizeof info);
		if (waitid(P_PID, child, &info, WEXITED) != 0)
			fail(call);
		got = info.si_pid;
		status = info.si_status << 8;
	}
	if (got < 0)
		fail(call);
	storm_stop();
	CHECK(got == child && WEXITSTATUS(status) == 7);
	CHECK(legacy_signals > 10);
	return 0;
}
