/* stale_words.c: a library that rt_stale_word loads with dlopen and names
 * as a runtime in EINTRFIX_RUNTIMES: its stale words, and its own read. */
#include "../stale_words.h"

void runtime_stale_words(int fd)
{
	stale_words(fd);
}

ssize_t runtime_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);
	/* Not a tail call: the call leaves this library's return address. */
	__asm__ volatile("" ::: "memory");
	return n;
}
