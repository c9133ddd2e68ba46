/* stale_words.h: leaves return addresses of write(2) calls in the stack
 * below the caller's frame, as earlier calls leave them in the slots that
 * later frames reserve but never write.
 *
 * stale_words(fd) calls write(fd, "", 0) from frames of every depth down
 * to 2 KiB below its caller's, shallowest first: each call's return
 * address (just past a call of write through the PLT, a call that
 * provably reaches a preloaded write) stays in its slot, since every
 * later call's frames lie below it. */
#ifndef EINTRFIX_STALE_WORDS_H
#define EINTRFIX_STALE_WORDS_H

#include <stddef.h>
#include <unistd.h>

static __attribute__((noinline)) void write_at_depth(int fd, size_t depth)
{
	char below[depth];

	/* The frame is as deep as asked, and the call below is not a tail
	 * call: it leaves its return address. */
	__asm__ volatile("" : : "r"(below) : "memory");
	if (write(fd, "", 0) < 0)
		return;
	__asm__ volatile("" : : "r"(below) : "memory");
}

static __attribute__((noinline, unused)) void stale_words(int fd)
{
	size_t depth;

	for (depth = 16; depth <= 2048; depth += 16)
		write_at_depth(fd, depth);
}

#endif
