/* first_call_locked LIBRARY: loads LIBRARY with dlopen. Its constructor
 * (c-tests/lib/first_calls.c) runs while dlopen holds the loader's lock,
 * and waits for a thread of its own making its first calls of hooked
 * functions. A first call that asked dlsym would wait for that lock, held
 * until the constructor returns: the constructor gives up after 5 s and
 * the program exits 1. Exits 0 when the calls came through, 2 on a setup
 * error. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: first_call_locked LIBRARY\n");
		return 2;
	}
	if (dlopen(argv[1], RTLD_NOW) == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	return 0;
}
