/* Handlers on a small alternate signal stack (sigaltstack, SA_ONSTACK)
 * under a 1 ms SIGALRM storm, while the thread waits in read(2) or in
 * stdio. Interrupted calls are simply made again here: this program is
 * about the stack, not about EINTR, and passes bare.
 * Usage: hostile_altstack MODE [SIZE]
 *   measure:      a 64 KiB stack filled with a pattern; prints used=N, the
 *                 bytes the deepest delivery touched.
 *   read SIZE:    a SIZE-byte stack with a guard page just below it.
 *   stdio SIZE:   the same, reading lines with fgets from a slow pipe.
 *   noguard SIZE: a SIZE-byte stack in a buffer with 64 KiB below it;
 *                 the bytes below must be left as they were.
 *   readonly:     another thread makes the stack read-only while the
 *                 (empty) handler runs, and writable again after; the
 *                 interrupted read goes on.
 * Exit 0 when the data arrived whole and nothing below was touched. */
#include "legacy.h"
#include <pthread.h>
#include <stdint.h>

#define BELOW (64 * 1024)
#define PATTERN 0xa5

static char *stack_base;
static size_t stack_size;
static volatile sig_atomic_t in_handler, may_return;

static void on_alarm(int sig)
{
	(void)sig;
	legacy_signals++;
}

static void install(void (*handler)(int))
{
	struct sigaction sa;
	stack_t ss = { .ss_sp = stack_base, .ss_flags = 0, .ss_size = stack_size };
	if (sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		exit(2);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
}

/* A child writes `lines` lines of 64 bytes into a pipe, 2 ms apart. */
static int slow_pipe(int lines)
{
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char line[64];
		memset(line, 'x', sizeof line);
		line[63] = '\n';
		storm_stop();
		close(fds[0]);
		for (int i = 0; i < lines; i++) {
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
			if (write(fds[1], line, sizeof line) != (ssize_t)sizeof line)
				_exit(3);
		}
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

static void read_all(int fd, int lines)
{
	char buf[64];
	size_t got = 0;
	while (got < (size_t)lines * 64) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n > 0);
		got += (size_t)n;
	}
}

static void stdio_all(int fd, int lines)
{
	FILE *in = fdopen(fd, "r");
	char line[128];
	int got = 0;
	CHECK(in != NULL);
	while (got < lines) {
		if (fgets(line, sizeof line, in) == NULL) {
			CHECK(ferror(in) && errno == EINTR);
			clearerr(in);
			continue;
		}
		CHECK(strlen(line) == 64);
		got++;
	}
	fclose(in);
}

static void storm_read(int use_stdio, int lines)
{
	int fd = slow_pipe(lines);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	if (use_stdio)
		stdio_all(fd, lines);
	else
		read_all(fd, lines);
	storm_stop();
	if (!use_stdio)
		close(fd);
}

static void *make_read_only(void *arg)
{
	(void)arg;
	for (;;) {
		while (!in_handler)
			;
		CHECK(mprotect(stack_base, stack_size, PROT_READ) == 0);
		in_handler = 0;
		may_return = 1;
	}
	return NULL;
}

static void wait_for_read_only(int sig)
{
	(void)sig;
	in_handler = 1;
	while (!may_return)
		;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long page = sysconf(_SC_PAGESIZE);
	size_t size = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 0;

	if (!strcmp(mode, "measure")) {
		stack_size = 64 * 1024;
		stack_base = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(stack_base != MAP_FAILED);
		memset(stack_base, PATTERN, stack_size);
		install(on_alarm);
		storm_read(0, 100);
		storm_read(1, 100);
		size_t low = 0;
		while (low < stack_size && (unsigned char)stack_base[low] == PATTERN)
			low++;
		printf("used=%zu signals=%d\n", stack_size - low, (int)legacy_signals);
		return 0;
	}
	if (!strcmp(mode, "read") || !strcmp(mode, "stdio")) {
		/* The stack ends at the end of its mapping; below it, a guard. */
		size_t pages = (size + (size_t)page - 1) / (size_t)page + 1;
		char *map = mmap(NULL, pages * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(map != MAP_FAILED);
		stack_base = map + pages * (size_t)page - size;
		stack_size = size;
		CHECK(mprotect(map, (size_t)(stack_base - map) / (size_t)page * (size_t)page, PROT_NONE) == 0);
		install(on_alarm);
		storm_read(!strcmp(mode, "stdio"), 200);
		printf("%s: %zu-byte stack, %d signals\n", mode, size, (int)legacy_signals);
		return 0;
	}
	if (!strcmp(mode, "noguard")) {
		unsigned char *buf = malloc(BELOW + size);
		CHECK(buf != NULL);
		memset(buf, PATTERN, BELOW + size);
		stack_base = (char *)buf + BELOW;
		stack_size = size;
		install(on_alarm);
		storm_read(0, 100);
		storm_read(1, 100);
		for (size_t i = 0; i < BELOW; i++)
			CHECK(buf[i] == PATTERN);
		printf("noguard: %zu-byte stack, nothing below touched, %d signals\n", size, (int)legacy_signals);
		return 0;
	}
	if (!strcmp(mode, "readonly")) {
		pthread_t thread;
		int fds[2];
		stack_size = 64 * 1024;
		stack_base = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(stack_base != MAP_FAILED);
		install(wait_for_read_only);
		CHECK(pipe(fds) == 0);
		/* The helper never takes the SIGALRM meant for this thread. */
		sigset_t alrm;
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		CHECK(pthread_sigmask(SIG_BLOCK, &alrm, NULL) == 0);
		CHECK(pthread_create(&thread, NULL, make_read_only, NULL) == 0);
		CHECK(pthread_sigmask(SIG_UNBLOCK, &alrm, NULL) == 0);
		for (int i = 0; i < 50; i++) {
			char c;
			struct itimerval it = { { 0, 0 }, { 0, 2000 } };
			may_return = 0;
			CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
			/* The read is interrupted once, then gets its byte. */
			pid_t pid = fork();
			CHECK(pid >= 0);
			if (pid == 0) {
				struct timespec ts = { 0, 20000000 };
				nanosleep(&ts, NULL);
				_exit(write(fds[1], "x", 1) == 1 ? 0 : 3);
			}
			ssize_t n;
			do
				n = read(fds[0], &c, 1);
			while (n < 0 && errno == EINTR);
			CHECK(n == 1 && may_return);
			CHECK(mprotect(stack_base, stack_size, PROT_READ | PROT_WRITE) == 0);
		}
		puts("readonly: 50 deliveries on a stack made read-only during the handler");
		return 0;
	}
	fprintf(stderr, "usage: hostile_altstack measure|read SIZE|stdio SIZE|noguard SIZE|readonly\n");
	return 2;
}
