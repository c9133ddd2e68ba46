/* stopper.c: stops itself once main runs, so that bench/spawn.c can read
 * the memory of a process whose preloaded libraries are loaded and whose
 * constructors have run; it is then killed. */
#include <signal.h>

int main(void)
{
	raise(SIGSTOP);
	return 0;
}
