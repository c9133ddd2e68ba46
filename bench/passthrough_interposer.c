/* passthrough_interposer.c: the floor of any interposer, for the wall-time
 * table only. It forwards read, write and recv to libc with a tail call
 * (a jump, no frame of its own) and so cannot look at the result: it could
 * never retry anything. Comparing it with retry_interposer.c isolates what
 * a frame around the system call costs: on this machine, the return after
 * the system call is mispredicted (see docs/performance.md).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
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
	return f(fd, buf, count);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	write_fn f = RESOLVE(real_write, write_fn, "write");
	return f(fd, buf, count);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	recv_fn f = RESOLVE(real_recv, recv_fn, "recv");
	return f(fd, buf, len, flags);
}
