/* siglongjmp out of a handler during a hooked call: five reads, each cut
 * by a one-shot 50 ms timer whose handler jumps away, then a read under a
 * 1 ms SIGALRM storm that must complete (bare, it fails with EINTR). */
#include "legacy.h"
#include <setjmp.h>
#include <sys/wait.h>

static sigjmp_buf jump;
static volatile sig_atomic_t jumps;

static void jump_away(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

static void one_shot_ms(long ms)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_usec = ms * 1000;
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		fail("setitimer");
}

int main(void)
{
	int p[2];
	char buf[64];
	ssize_t n;
	pid_t child;
	double start;

	if (pipe(p) != 0)
		fail("pipe");
	legacy_handle(SIGALRM, jump_away);
	start = now_ms();
	if (sigsetjmp(jump, 1))
		jumps++;
	if (jumps < 5) {
		one_shot_ms(50);
		n = read(p[0], buf, sizeof buf);
		fprintf(stderr, "read returned %zd instead of being jumped out of\n", n);
		return 2;
	}
	report_ms("jumps", now_ms() - start);

	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(p[0]);
		quiet_sleep_ms(300);
		if (write(p[1], "late data", 9) != 9)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	storm_start(1000);
	n = read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	storm_stop();
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	CHECK(legacy_signals > 10);
	waitpid(child, NULL, 0);
	return 0;
}
