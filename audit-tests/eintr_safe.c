/* A program written to survive EINTR at every call: each blocking call is
 * made again when it fails with EINTR (a sleep with the time it has left),
 * partial transfers go on from where they stopped, and nothing goes
 * through stdio. It runs under a 1 ms SIGALRM storm of its own, with a
 * handler installed without SA_RESTART. `eintrfix audit` finds no
 * failing site in it. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void tick(int sig)
{
	(void)sig;
	ticks++;
}

static void die(const char *what)
{
	const char *text = strerror(errno);
	/* Best effort: the program is failing anyway. */
	if (write(2, what, strlen(what)) < 0 || write(2, ": ", 2) < 0 ||
	    write(2, text, strlen(text)) < 0 || write(2, "\n", 1) < 0)
		_exit(1);
	_exit(1);
}

static void sleep_ms(long ms)
{
	struct timespec left = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&left, &left) != 0)
		if (errno != EINTR)
			die("nanosleep");
}

static void write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		data += n;
		len -= (size_t)n;
	}
}

/* Reads until end of file into buf (at most room bytes). */
static size_t read_all(int fd, char *buf, size_t room)
{
	size_t got = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		if (poll(&p, 1, 5000) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		n = read(fd, buf + got, room - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0 || (got += (size_t)n) == room)
			return got;
	}
}

static void close_once(int fd)
{
	/* On Linux the descriptor is released even when close fails with
	 * EINTR: closing it again could close another thread's. */
	if (close(fd) != 0 && errno != EINTR)
		die("close");
}

int main(void)
{
	static const char message[] = "late data, written in two parts\n";
	struct sigaction sa;
	struct itimerval storm = { { 0, 1000 }, { 0, 1000 } };
	char buf[128];
	int p[2], status;
	size_t got;
	pid_t child;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tick;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		die("sigaction");
	if (pipe(p) != 0)
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close_once(p[0]);
		sleep_ms(100);
		write_all(p[1], message, 10);
		sleep_ms(50);
		write_all(p[1], message + 10, sizeof message - 11);
		_exit(0);
	}
	close_once(p[1]);
	if (setitimer(ITIMER_REAL, &storm, NULL) != 0)
		die("setitimer");
	got = read_all(p[0], buf, sizeof buf);
	close_once(p[0]);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	storm.it_value.tv_usec = 0;
	storm.it_interval.tv_usec = 0;
	if (setitimer(ITIMER_REAL, &storm, NULL) != 0)
		die("setitimer");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("child");
	write_all(1, buf, got);
	return 0;
}
