/* late_read.c: a library a program loads with dlopen, whose read(2) is a
 * runtime's own call when the library is named in EINTRFIX_RUNTIMES. */
#include <unistd.h>

ssize_t late_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);
	/* Not a tail call: the call leaves this library's return address. */
	__asm__ volatile("" ::: "memory");
	return n;
}
