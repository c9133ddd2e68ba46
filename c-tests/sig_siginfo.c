/* SA_SIGINFO payloads: a child sigqueue()s SIGRTMIN with values 1, 2, ...
 * every millisecond while the parent is in read(2); the handler checks the
 * sender's pid, SI_QUEUE and the value's order. The child writes data after
 * its 200th signal. Also checks a sigqueue to self. */
#include "legacy.h"
#include <sys/wait.h>

static volatile sig_atomic_t received, wrong, last_value;
static volatile pid_t expected_sender;

static void on_rt(int sig, siginfo_t *info, void *uc)
{
	if (sig != SIGRTMIN || info == NULL || uc == NULL ||
	    info->si_signo != SIGRTMIN || info->si_code != SI_QUEUE ||
	    info->si_pid != expected_sender ||
	    info->si_value.sival_int <= last_value)
		wrong++;
	last_value = info->si_value.sival_int;
	received++;
}

int main(void)
{
	struct sigaction sa;
	int p[2];
	char buf[64];
	ssize_t n;
	pid_t child;
	union sigval v;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) != 0)
		fail("sigaction");

	expected_sender = getpid();
	v.sival_int = 7;
	if (sigqueue(getpid(), SIGRTMIN, v) != 0)
		fail("sigqueue");
	CHECK(received == 1 && wrong == 0 && last_value == 7);
	received = 0;
	last_value = 0;

	if (pipe(p) != 0)
		fail("pipe");
	/* Held until the parent knows the child's pid (real-time signals queue). */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &sa.sa_mask, NULL);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		int i;
		close(p[0]);
		for (i = 1; i <= 200; i++) {
			v.sival_int = i;
			if (sigqueue(getppid(), SIGRTMIN, v) != 0)
				_exit(3);
			quiet_sleep_ms(1);
		}
		quiet_sleep_ms(50);
		if (write(p[1], "late data", 9) != 9)
			_exit(3);
		_exit(0);
	}
	expected_sender = child;
	sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
	close(p[1]);
	n = read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	printf("received=%d wrong=%d last=%d\n", (int)received, (int)wrong, (int)last_value);
	CHECK(wrong == 0 && received == 200 && last_value == 200);
	waitpid(child, NULL, 0);
	return 0;
}
