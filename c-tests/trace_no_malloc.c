/* Nothing on the event path allocates. This program interposes malloc and
 * its relatives (every library's calls, the shim's included, come here)
 * and counts the calls made while its own read(2) is blocked under a 1 ms
 * SIGALRM storm; it then does the same in a forked child (whose first
 * event opens its own EINTRFIX_LOG_FILE). Exits 3 if anything allocated
 * in those windows. Prints allocations=N. */
#include "legacy.h"
#include <sys/wait.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int window;
static volatile long allocations;

void *malloc(size_t n)
{
	if (window)
		allocations++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (window)
		allocations++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (window)
		allocations++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (window && p)
		allocations++;
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	if (window)
		allocations++;
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int posix_memalign(void **p, size_t align, size_t n)
{
	*p = memalign(align, n);
	return *p ? 0 : ENOMEM;
}

/* A read(2) on a pipe whose writer is 150 ms late, counted as a window. */
static void late_read(void)
{
	int p[2];
	char buf[8];
	ssize_t n;
	pid_t writer;

	writer = late_pipe(p, 150, "x");
	storm_start(1000);
	window = 1;
	n = read(p[0], buf, sizeof buf);
	window = 0;
	storm_stop();
	if (n < 0)
		fail("read");
	CHECK(n == 1);
	close(p[0]);
	CHECK(waitpid(writer, NULL, 0) == writer);
}

int main(void)
{
	pid_t child;
	int status;

	late_read();
	fflush(stdout);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		late_read();
		printf("child_allocations=%ld\n", allocations);
		exit(allocations ? 3 : 0);
	}
	CHECK(waitpid(child, &status, 0) == child);
	printf("allocations=%ld\n", allocations);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return 1;
	CHECK(WIFEXITED(status));
	return allocations || WEXITSTATUS(status) ? 3 : 0;
}
