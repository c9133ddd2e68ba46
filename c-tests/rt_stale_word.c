/* rt_stale_word LIBRARY program|runtime: a read(2) of a late pipe meets a
 * 1 ms SIGALRM storm right after the other side's code left return
 * addresses of its own calls of write(2) in the stack below (see
 * stale_words.h): the slots that the hooks' frames reserve but never
 * write still hold them when the read is interrupted. LIBRARY is named as
 * a runtime in EINTRFIX_RUNTIMES.
 *
 *   program  the library's words, the program's read: the read must be
 *            retried (exit 0), as any program's;
 *   runtime  the program's words, the library's read: the read must keep
 *            its EINTR (exit 1), as a runtime's. */
#include "legacy.h"
#include "stale_words.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int p[2], null, program;
	char buf[64];
	ssize_t n;
	pid_t child;
	struct itimerval it;
	void *library;
	void (*runtime_stale_words)(int);
	ssize_t (*runtime_read)(int, void *, size_t);

	if (argc < 3 || (strcmp(argv[2], "program") != 0 && strcmp(argv[2], "runtime") != 0)) {
		fprintf(stderr, "usage: rt_stale_word LIBRARY program|runtime\n");
		return 2;
	}
	program = strcmp(argv[2], "program") == 0;
	legacy_handle(SIGALRM, legacy_count_signal);
	library = dlopen(argv[1], RTLD_NOW);
	if (library == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&runtime_stale_words = dlsym(library, "runtime_stale_words");
	*(void **)&runtime_read = dlsym(library, "runtime_read");
	CHECK(runtime_stale_words != NULL && runtime_read != NULL);
	null = open("/dev/null", O_RDWR);
	CHECK(null >= 0);
	/* A first read binds the program's PLT slot: the loader's lazy
	 * resolver would otherwise write over the stack below. */
	CHECK(read(null, buf, sizeof buf) == 0);
	child = late_pipe(p, 300, "late data");
	/* The storm starts 50 ms from now, once the read waits: a signal
	 * before would put its frame over the stale words. */
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = 1000;
	it.it_value.tv_sec = 0;
	it.it_value.tv_usec = 50000;
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		fail("setitimer");
	if (program) {
		runtime_stale_words(null);
		n = read(p[0], buf, sizeof buf);
	} else {
		stale_words(null);
		n = runtime_read(p[0], buf, sizeof buf);
	}
	if (n < 0)
		fail("read");
	storm_stop();
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	CHECK(legacy_signals > 10);
	CHECK(waitpid(child, NULL, 0) == child);
	return 0;
}
