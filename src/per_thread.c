/* per_thread.c: the shim's per-thread storage.
 *
 * Stable Rust has thread-locals only through std, and the library is
 * built without std (it would add its panic and backtrace machinery to
 * every process's start-up: see docs/performance.md). C has them in the
 * language: this is one zero-initialised block of words per thread, with
 * no constructor and no destructor, so reading it is safe in a signal
 * handler, in a forked child, in atexit handlers and in thread-key
 * destructors. src/per_thread.rs hands out its words.
 */
#include <stdint.h>

#define EINTRFIX_THREAD_WORDS 16

static _Thread_local uint64_t words[EINTRFIX_THREAD_WORDS];

/* This thread's block of EINTRFIX_THREAD_WORDS words. */
uint64_t *eintrfix_thread_words(void)
{
	return words;
}
