/* Secure execution. Run setuid, a program cannot be given LD_PRELOAD, so
 * this one loads the shim itself: `trace_secure LIBRARY` dlopens LIBRARY
 * and calls its read(2) hook on a pipe whose writer is 100 ms late, under
 * a 1 ms SIGALRM storm (without LIBRARY: libc's read). Prints
 * at_secure=N (what the kernel told the program). */
#include "legacy.h"
#include <dlfcn.h>
#include <sys/auxv.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	ssize_t (*read_fn)(int, void *, size_t) = read;
	int p[2];
	char buf[8];
	ssize_t n;
	pid_t writer;

	printf("at_secure=%lu\n", getauxval(AT_SECURE));
	fflush(stdout);
	if (argc > 1) {
		void *shim = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);

		if (!shim) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 2;
		}
		*(void **)&read_fn = dlsym(shim, "read");
		CHECK(read_fn != NULL);
	}
	writer = late_pipe(p, 100, "x");
	storm_start(1000);
	n = read_fn(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	storm_stop();
	CHECK(n == 1);
	CHECK(waitpid(writer, NULL, 0) == writer);
	return 0;
}
