/* The multiplexers under a 1 ms SIGALRM storm.
 * Usage: mux_wait CALL ready|timeout
 *   CALL: poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2
 *   ready:   watch two pipes with a 5 s timeout; only the second becomes
 *            readable, 300 ms late: exactly it must be reported (a retried
 *            select must still watch the original sets), and select's
 *            timeval must hold what was left of the 5 s.
 *   timeout: watch a pipe that stays empty with a 300 ms timeout: 0 ready
 *            (the sets cleared), waited_ms printed.
 *   masked:  (ppoll, pselect, epoll_pwait, epoll_pwait2) SIGALRM blocked,
 *            and unblocked only by the call's mask, the race-free way to
 *            wait for a signal: the call must end with EINTR, as asked,
 *            well before its 5 s timeout (exit 0), in every mode. */
#include "legacy.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>

static int quiet[2], late[2];
static sigset_t *mask; /* the calls' signal mask: NULL unless masked */

static int wait_poll(const char *call, int ms, int *which)
{
	struct pollfd fds[2] = { { quiet[0], POLLIN, 0 }, { late[0], POLLIN, 0 } };
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int n = !strcmp(call, "poll") ? poll(fds, 2, ms) : ppoll(fds, 2, &ts, mask);
	if (n > 0)
		*which = (fds[0].revents ? 1 : 0) | (fds[1].revents ? 2 : 0);
	return n;
}

static int wait_select(const char *call, int ms, int *which)
{
	fd_set r;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000L };
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int n, nfds = (quiet[0] > late[0] ? quiet[0] : late[0]) + 1;

	FD_ZERO(&r);
	FD_SET(quiet[0], &r);
	FD_SET(late[0], &r);
	if (!strcmp(call, "select"))
		n = select(nfds, &r, NULL, NULL, &tv);
	else
		n = pselect(nfds, &r, NULL, NULL, &ts, mask);
	if (n >= 0)
		*which = (FD_ISSET(quiet[0], &r) ? 1 : 0) | (FD_ISSET(late[0], &r) ? 2 : 0);
	if (n == 0 && !strcmp(call, "select"))
		CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);
	if (n == 1 && !strcmp(call, "select")) {
		/* Linux leaves the time that was left: about 4.7 s of 5 s. */
		double left = tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
		if (left < 4500 || left > 4710) {
			fprintf(stderr, "select left %.3f ms in the timeval\n", left);
			exit(2);
		}
	}
	return n;
}

static int wait_epoll(const char *call, int ms, int *which)
{
	struct epoll_event ev, got[2];
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int i, n, ep = epoll_create1(0);

	if (ep < 0)
		fail("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.u32 = 1;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, quiet[0], &ev) == 0);
	ev.data.u32 = 2;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, late[0], &ev) == 0);
	if (!strcmp(call, "epoll_wait"))
		n = epoll_wait(ep, got, 2, ms);
	else if (!strcmp(call, "epoll_pwait"))
		n = epoll_pwait(ep, got, 2, ms, mask);
	else
		n = epoll_pwait2(ep, got, 2, &ts, mask);
	for (i = 0; i < n; i++)
		*which |= (int)got[i].data.u32;
	return n;
}

int main(int argc, char **argv)
{
	const char *call = argc > 1 ? argv[1] : "poll";
	int ready = argc > 2 && !strcmp(argv[2], "ready");
	int masked = argc > 2 && !strcmp(argv[2], "masked");
	int ms = ready || masked ? 5000 : 300, which = 0, n;
	sigset_t alarm_blocked, none;
	pid_t child = -1;
	double start, waited;

	if (pipe(quiet) != 0 || pipe(late) != 0)
		fail("pipe");
	if (ready) {
		child = fork();
		if (child < 0)
			fail("fork");
		if (child == 0) {
			quiet_sleep_ms(300);
			_exit(write(late[1], "x", 1) == 1 ? 0 : 3);
		}
	}
	storm_start(1000);
	if (masked) {
		sigemptyset(&none);
		sigemptyset(&alarm_blocked);
		sigaddset(&alarm_blocked, SIGALRM);
		CHECK(sigprocmask(SIG_BLOCK, &alarm_blocked, NULL) == 0);
		mask = &none;
	}
	start = now_ms();
	if (strstr(call, "poll") && strncmp(call, "epoll", 5))
		n = wait_poll(call, ms, &which);
	else if (strstr(call, "select"))
		n = wait_select(call, ms, &which);
	else
		n = wait_epoll(call, ms, &which);
	waited = now_ms() - start;
	if (masked) {
		CHECK(n == -1 && errno == EINTR && waited < 1000);
		return 0;
	}
	if (n < 0)
		fail(call);
	storm_stop();
	if (ready) {
		CHECK(n == 1 && which == 2);
	} else {
		CHECK(n == 0 && which == 0);
		report_ms("waited", waited);
	}
	CHECK(legacy_signals > 10);
	if (child > 0)
		CHECK(waitpid(child, NULL, 0) == child);
	return 0;
}
