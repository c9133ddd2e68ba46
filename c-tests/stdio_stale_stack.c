/* Stale words on the stack must not pass for a hook's call. The program
 * first makes hooked calls (write to /dev/null) from deep in a recursion,
 * which leaves return addresses into the shim in stack memory no live
 * frame uses; then, at that depth, it reads a slow pipe with fscanf, whose
 * large libc frames leave such words uninitialised, under a 1 ms SIGALRM
 * storm. The read inside fscanf is libc's, to be restarted by the kernel;
 * a shim that took a stale word for a hook's frame would turn it into an
 * EINTR for a hook that is not there.
 * Exit 0: every line arrived; 1: fscanf failed with EINTR (bare: the storm). */
#include "legacy.h"
#include <fcntl.h>
#include <sys/wait.h>

#define LINES 200

static int devnull;

/* Hooked calls at every depth of a recursion `n` deep. */
static void leave_stale_words(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	if (write(devnull, (const void *)pad, 1) != 1)
		fail("write");
	if (n > 0)
		leave_stale_words(n - 1);
	pad[1] = 0;
}

/* Reads every line with fscanf, `n` frames deep. */
static int read_lines(FILE *in, int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	if (n > 0)
		return read_lines(in, n - 1) + pad[1];
	for (int i = 0; i < LINES; i++) {
		int got;
		if (fscanf(in, "%d\n", &got) != 1) {
			if (ferror(in))
				fail("fscanf");
			fprintf(stderr, "fscanf: end of file after %d lines\n", i);
			exit(2);
		}
		CHECK(got == i);
	}
	return 0;
}

int main(void)
{
	int p[2];
	pid_t child;

	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0)
		fail("open");
	if (pipe(p) != 0)
		fail("pipe");
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(p[0]);
		for (int i = 0; i < LINES; i++) {
			char line[16];
			int len = snprintf(line, sizeof line, "%d\n", i);
			if (write(p[1], line, (size_t)len) != len)
				_exit(3);
			if (i % 5 == 0)
				quiet_sleep_ms(2);
		}
		_exit(0);
	}
	close(p[1]);
	FILE *in = fdopen(p[0], "r");
	if (!in)
		fail("fdopen");
	for (int depth = 0; depth < 12; depth++)
		leave_stale_words(depth);
	storm_start(1000);
	read_lines(in, 6);
	storm_stop();
	CHECK(legacy_signals > 10);
	waitpid(child, NULL, 0);
	return 0;
}
