/* Strict ISO C (-std=c99): <signal.h> makes signal() System V's
 * __sysv_signal, a one-shot handler that calls do not restart. The handler
 * re-installs itself, as such programs do, while a child sends SIGWINCH
 * every millisecond (ignored by default, so a signal that lands before the
 * re-install is harmless) and writes data after 250 of them. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_winch(int sig)
{
	signal(sig, on_winch);
	count++;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void fail(const char *call)
{
	int e = errno;
	fprintf(stderr, "%s: %s\n", call, strerror(e));
	exit(e == EINTR ? 1 : 2);
}

int main(void)
{
	struct sigaction sa;
	int p[2];
	char buf[64];
	ssize_t n;
	pid_t child;
	int i;

	if (signal(SIGWINCH, on_winch) == SIG_ERR)
		fail("signal");
	if (signal(SIGWINCH, on_winch) != on_winch)
		fail("signal returns the previous handler");
	if (sigaction(SIGWINCH, NULL, &sa) != 0)
		fail("sigaction");
	printf("handler_is_ours=%d resethand=%d nodefer=%d restart=%d siginfo=%d\n",
	       sa.sa_handler == on_winch, !!(sa.sa_flags & SA_RESETHAND),
	       !!(sa.sa_flags & SA_NODEFER), !!(sa.sa_flags & SA_RESTART),
	       !!(sa.sa_flags & SA_SIGINFO));
	fflush(stdout);
	if (pipe(p) != 0)
		fail("pipe");
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(p[0]);
		for (i = 0; i < 250; i++) {
			kill(getppid(), SIGWINCH);
			sleep_ms(1);
		}
		if (write(p[1], "late data", 9) != 9)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	if (n != 9 || count < 10) {
		fprintf(stderr, "n=%d count=%d\n", (int)n, (int)count);
		return 2;
	}
	waitpid(child, NULL, 0);
	return 0;
}
