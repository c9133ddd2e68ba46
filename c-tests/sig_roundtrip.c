/* Round trips of every way to install and query a disposition. Prints what
 * each query reports; the test asserts that the output is the same bare
 * and under the shim (this program meets no EINTR). */
#include "legacy.h"

/* Old interfaces, used on purpose: they are what the shim must keep. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wrestrict"
extern __sighandler_t bsd_signal(int sig, __sighandler_t handler);

static volatile sig_atomic_t fired;

static void h1(int sig) { (void)sig; fired++; }
static void h2(int sig) { (void)sig; fired++; }
static void h3(int sig, siginfo_t *info, void *uc) { (void)sig; (void)info; (void)uc; fired++; }

static const char *name(void *h)
{
	if (h == (void *)SIG_DFL) return "DFL";
	if (h == (void *)SIG_IGN) return "IGN";
	if (h == (void *)SIG_ERR) return "ERR";
	if (h == (void *)SIG_HOLD) return "HOLD";
	if (h == (void *)h1) return "h1";
	if (h == (void *)h2) return "h2";
	if (h == (void *)h3) return "h3";
	return "other";
}

/* Prints a queried sigaction: handler, flags and mask. */
static void show(const char *what, const struct sigaction *sa)
{
	int s;
	printf("%s: handler=%s flags=%#x mask=", what,
	       name((sa->sa_flags & SA_SIGINFO) ? (void *)sa->sa_sigaction : (void *)sa->sa_handler),
	       (unsigned)sa->sa_flags);
	for (s = 1; s < 65; s++)
		if (sigismember(&sa->sa_mask, s) == 1)
			printf("%d,", s);
	printf("\n");
}

/* Prints a call's result and the errno it left. */
#define ERRS(fmt, call)                                                    \
	do {                                                               \
		errno = 0;                                                 \
		printf(fmt, call);                                         \
		printf(" errno=%d\n", errno);                              \
	} while (0)

static void query(const char *what, int sig)
{
	struct sigaction sa;
	memset(&sa, 0x5a, sizeof sa);
	if (sigaction(sig, NULL, &sa) != 0)
		fail("sigaction query");
	show(what, &sa);
}

int main(void)
{
	struct sigaction sa, old;

	/* sigaction: handler, mask and every flag kept. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h1;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGRTMIN + 3);
	sa.sa_flags = SA_RESTART | SA_NODEFER | SA_ONSTACK;
	if (sigaction(SIGUSR1, &sa, &old) != 0)
		fail("sigaction");
	show("first old", &old);
	query("h1 restart nodefer onstack", SIGUSR1);

	/* SA_SIGINFO, and the old action written over the new one. */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h3;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGUSR1, &sa, &sa) != 0)
		fail("sigaction aliased");
	show("aliased old", &sa);
	query("h3 siginfo", SIGUSR1);

	/* SIG_IGN and SIG_DFL, with flags. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR1, &sa, &old) != 0)
		fail("sigaction ign");
	show("old of ign", &old);
	query("ign", SIGUSR1);
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGUSR1, &sa, &old) != 0)
		fail("sigaction dfl");
	query("dfl siginfo", SIGUSR1);

	/* signal: BSD semantics, returns the previous handler. */
	printf("signal h1 prev=%s\n", name((void *)signal(SIGUSR2, h1)));
	printf("signal h2 prev=%s\n", name((void *)signal(SIGUSR2, h2)));
	query("signal h2", SIGUSR2);
	printf("siginterrupt=%d\n", siginterrupt(SIGUSR2, 1));
	query("after siginterrupt 1", SIGUSR2);
	printf("signal h1 prev=%s\n", name((void *)signal(SIGUSR2, h1)));
	query("signal h1 interrupting", SIGUSR2);
	printf("siginterrupt=%d\n", siginterrupt(SIGUSR2, 0));
	query("after siginterrupt 0", SIGUSR2);
	printf("bsd_signal h2 prev=%s\n", name((void *)bsd_signal(SIGUSR2, h2)));
	query("bsd_signal h2", SIGUSR2);

	/* sysv_signal: one-shot, not blocked, no restart. */
	printf("sysv_signal h1 prev=%s\n", name((void *)sysv_signal(SIGURG, h1)));
	printf("sysv_signal h2 prev=%s\n", name((void *)sysv_signal(SIGURG, h2)));
	query("sysv_signal h2", SIGURG);

	/* SA_RESETHAND: fires once, then reads SIG_DFL (SIGURG is ignored by default). */
	fired = 0;
	raise(SIGURG);
	raise(SIGURG);
	printf("resethand fired=%d\n", (int)fired);
	query("after resethand", SIGURG);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h3;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	if (sigaction(SIGWINCH, &sa, NULL) != 0)
		fail("sigaction resethand");
	fired = 0;
	raise(SIGWINCH);
	raise(SIGWINCH);
	printf("siginfo resethand fired=%d\n", (int)fired);
	query("after siginfo resethand", SIGWINCH);

	/* sigset: SIG_HOLD and back. */
	printf("sigset h1 prev=%s\n", name((void *)sigset(SIGHUP, h1)));
	query("sigset h1", SIGHUP);
	printf("sigset hold prev=%s\n", name((void *)sigset(SIGHUP, SIG_HOLD)));
	printf("sigset hold again prev=%s\n", name((void *)sigset(SIGHUP, SIG_HOLD)));
	printf("sigset h2 prev=%s\n", name((void *)sigset(SIGHUP, h2)));
	printf("sigset dfl prev=%s\n", name((void *)sigset(SIGHUP, SIG_DFL)));

	/* Errors. */
	ERRS("sigaction KILL=%d", sigaction(SIGKILL, &sa, NULL));
	ERRS("sigaction 0=%d", sigaction(0, NULL, &old));
	ERRS("sigaction 65=%d", sigaction(65, NULL, &old));
	ERRS("sigaction 32=%d", sigaction(32, NULL, &old));
	ERRS("signal STOP=%s", name((void *)signal(SIGSTOP, h1)));
	ERRS("signal 0=%s", name((void *)signal(0, h1)));
	ERRS("signal ERR=%s", name((void *)signal(SIGUSR1, SIG_ERR)));
	ERRS("siginterrupt 99=%d", siginterrupt(99, 1));
	ERRS("sigset 0=%s", name((void *)sigset(0, h1)));

	/* A handler that runs: errno is kept, the handler is called. */
	signal(SIGUSR1, h1);
	fired = 0;
	errno = 1234;
	raise(SIGUSR1);
	printf("fired=%d errno=%d\n", (int)fired, errno);
	return 0;
}
