/* EINTRFIX_LOG_FILE=...%p...: the parent, a forked child and a fork-exec'd
 * child each have a read(2) interrupted by a 1 ms SIGALRM storm, and each
 * must write its own file. Prints parent=P forked=A execd=B. */
#include "legacy.h"
#include <sys/wait.h>

/* A read on a pipe whose writer (a quiet helper child) is 100 ms late. */
static void interrupted_read(void)
{
	int p[2];
	char buf[16];
	ssize_t n;
	pid_t writer;

	writer = late_pipe(p, 100, "x");
	storm_start(1000);
	n = read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	storm_stop();
	CHECK(n == 1 && buf[0] == 'x');
	close(p[0]);
	CHECK(waitpid(writer, NULL, 0) == writer);
}

/* Waits for `child` and returns its exit code (or 2). */
static int exit_code(pid_t child)
{
	int status;

	CHECK(waitpid(child, &status, 0) == child);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

int main(int argc, char **argv)
{
	pid_t forked, execd;
	int code;

	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		interrupted_read();
		return 0;
	}
	interrupted_read();
	fflush(stdout);
	forked = fork();
	if (forked < 0)
		fail("fork");
	if (forked == 0) {
		interrupted_read();
		exit(0);
	}
	code = exit_code(forked);
	if (code != 0)
		return code;
	execd = fork();
	if (execd < 0)
		fail("fork");
	if (execd == 0) {
		execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
		_exit(2);
	}
	code = exit_code(execd);
	if (code != 0)
		return code;
	printf("parent=%d forked=%d execd=%d\n", (int)getpid(), (int)forked, (int)execd);
	return 0;
}
