/* frame_cost.c: what one stack frame costs around a system call.
 *
 * Every interposer that looks at a call's result puts one frame (a call
 * and a return) around libc's function, so around the system call. This
 * measures that frame alone, in one process: a raw getppid system call in
 * a function of its own, the same called through one more function, and,
 * as the control, the same extra function around plain code. Prints
 *   syscall_ns=... frame_around_syscall_ns=... frame_around_code_ns=...
 * each the fastest of 30 batches.
 */
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

__attribute__((noinline)) static long raw_getppid(void)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(SYS_getppid)
			 : "rcx", "r11", "memory");
	return r;
}

__attribute__((noinline)) static long framed_getppid(void)
{
	long r = raw_getppid();
	__asm__ volatile("" ::: "memory"); /* not a tail call */
	return r;
}

static volatile long counter;

__attribute__((noinline)) static long plain_code(void)
{
	for (int i = 0; i < 300; i++)
		counter++;
	return 0;
}

__attribute__((noinline)) static long framed_plain_code(void)
{
	long r = plain_code();
	__asm__ volatile("" ::: "memory");
	return r;
}

static double fastest(long (*f)(void))
{
	double best = 0;
	for (int b = 0; b < 30; b++) {
		double t = now_ns();
		for (int i = 0; i < 20000; i++)
			f();
		t = (now_ns() - t) / 20000;
		if (b == 0 || t < best)
			best = t;
	}
	return best;
}

int main(void)
{
	double sys = fastest(raw_getppid), sys_framed = fastest(framed_getppid);
	double code = fastest(plain_code), code_framed = fastest(framed_plain_code);
	printf("syscall_ns=%.2f frame_around_syscall_ns=%.2f frame_around_code_ns=%.2f\n",
	       sys, sys_framed - sys, code_framed - code);
	return 0;
}
