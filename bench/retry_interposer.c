/* retry_interposer.c: the reference for the fast path. A minimal
 * hand-written LD_PRELOAD interposer that does nothing but retry read,
 * write and recv while they fail with EINTR: no policy, no deadline, no
 * tracing. What eintrfix adds per call is compared against what this adds.
 *
 * Like eintrfix, it resolves the real functions in a constructor and
 * falls back to resolving lazily if a hook runs first.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);

static read_fn real_read;
static write_fn real_write;
static recv_fn real_recv;

#define RESOLVE(var, type, name) \
	((var) ? (var) : ((var) = (type)dlsym(RTLD_NEXT, name)))

__attribute__((constructor)) static void resolve_all(void)
{
	RESOLVE(real_read, read_fn, "read");
	RESOLVE(real_write, write_fn, "write");
	RESOLVE(real_recv, recv_fn, "recv");
}

ssize_t read(int fd, void *buf, size_t count)
{
	read_fn f = RESOLVE(real_read, read_fn, "read");
	ssize_t r;
	do
		r = f(fd, buf, count);
	while (r == -1 && errno == EINTR);
	return r;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	write_fn f = RESOLVE(real_write, write_fn, "write");
	ssize_t r;
	do
		r = f(fd, buf, count);
	while (r == -1 && errno == EINTR);
	return r;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	recv_fn f = RESOLVE(real_recv, recv_fn, "recv");
	ssize_t r;
	do
		r = f(fd, buf, len, flags);
	while (r == -1 && errno == EINTR);
	return r;
}
