/* An interposer preloaded after the shim: its write(2) (and read(2), when
 * built with -DWITH_READ) counts the calls that reach it and forwards them
 * with dlsym(RTLD_NEXT). At exit it says how many writes it saw. The
 * shim's real write must be this one, what dlsym(RTLD_NEXT) gives the
 * shim, not libc's: tests/real_functions.rs checks that the program's
 * writes arrive here. The tests build it with `cc -shared`. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);

static write_fn next_write;
static unsigned long writes;

static write_fn resolved_write(void)
{
	if (!next_write)
		next_write = (write_fn)dlsym(RTLD_NEXT, "write");
	return next_write;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	__atomic_fetch_add(&writes, 1, __ATOMIC_RELAXED);
	return resolved_write()(fd, buf, count);
}

#ifdef WITH_READ
static ssize_t (*next_read)(int, void *, size_t);

ssize_t read(int fd, void *buf, size_t count)
{
	if (!next_read)
		next_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	return next_read(fd, buf, count);
}
#endif

__attribute__((destructor)) static void report(void)
{
	char line[64];
	int len = snprintf(line, sizeof line, "next_write: %lu writes\n", writes);
	if (len > 0)
		resolved_write()(2, line, (size_t)len);
}
