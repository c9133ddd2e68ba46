/* The stop-flag program over stdio: a SIGINT handler sets a flag, and the
 * fgets loop checks it when fgets fails with EINTR, under a 1 ms SIGALRM
 * storm. A helper child sends SIGINT at 300 ms (noting when, in shared
 * memory) and writes a line at 1500 ms, in case the flag is never seen.
 * Exit 0: stopped by SIGINT (prints stop_ms, from SIGINT to stop);
 * 1: fgets failed with EINTR before SIGINT; 3: the line came first. */
#include "legacy.h"
#include <sys/mman.h>
#include <sys/wait.h>

static volatile sig_atomic_t stop;

static void on_int(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	int p[2];
	char line[64];
	pid_t child;
	volatile double *sent_at;
	FILE *in;

	sent_at = mmap(NULL, sizeof *sent_at, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sent_at == MAP_FAILED)
		fail("mmap");
	if (pipe(p) != 0)
		fail("pipe");
	legacy_handle(SIGINT, on_int);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(p[0]);
		quiet_sleep_ms(300);
		*sent_at = now_ms();
		kill(getppid(), SIGINT);
		quiet_sleep_ms(1200);
		if (write(p[1], "line\n", 5) != 5)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	in = fdopen(p[0], "r");
	if (!in)
		fail("fdopen");
	storm_start(1000);
	while (fgets(line, sizeof line, in)) {
		storm_stop();
		fprintf(stderr, "read '%s': SIGINT did not stop the loop\n", line);
		return 3;
	}
	if (!(errno == EINTR && stop))
		fail("fgets");
	storm_stop();
	report_ms("stop", now_ms() - *sent_at);
	CHECK(legacy_signals > 10);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
