/* rt_late_load LIBRARY [again]: read(2), made by a library loaded with
 * dlopen after the program's first handler install, meets a 1 ms SIGALRM
 * storm. With `again` the handler is installed once more after the load.
 * Named in EINTRFIX_RUNTIMES, the library is a runtime: its call keeps its
 * EINTR (exit 1) where the shim knows the library, and is retried (exit 0)
 * where it does not. */
#include "legacy.h"
#include <sys/wait.h>
#include <dlfcn.h>

int main(int argc, char **argv)
{
	int p[2];
	char buf[64];
	ssize_t n;
	pid_t child;
	struct itimerval it;
	void *library;
	ssize_t (*late_read)(int, void *, size_t);

	if (argc < 2) {
		fprintf(stderr, "usage: rt_late_load LIBRARY [again]\n");
		return 2;
	}
	legacy_handle(SIGALRM, legacy_count_signal);
	library = dlopen(argv[1], RTLD_NOW);
	if (library == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&late_read = dlsym(library, "late_read");
	CHECK(late_read != NULL);
	if (argc > 2 && strcmp(argv[2], "again") == 0)
		legacy_handle(SIGALRM, legacy_count_signal);
	child = late_pipe(p, 300, "late data");
	/* The storm's timer, without installing the handler again. */
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = 1000;
	it.it_value = it.it_interval;
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		fail("setitimer");
	n = late_read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	storm_stop();
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	CHECK(waitpid(child, NULL, 0) == child);
	return 0;
}
