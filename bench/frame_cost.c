/* frame_cost.c: what one stack frame costs around a system call, and why.
 *
 * Every interposer that looks at a call's result puts one frame (a call
 * and a return) around libc's function, so around the system call: after
 * the kernel comes back, two returns run instead of one. This measures,
 * in one process, on a raw getppid system call (x86_64 only):
 *
 *   syscall_ns              the call in a function of its own (one return)
 *   frame_around_syscall_ns what one more frame around it adds (a return)
 *   frame_jmp_exit_ns       the same frame left by `pop; jmp *reg` instead
 *                           of `ret`: an indirect jump, predicted from the
 *                           branch target buffer rather than the return
 *                           stack buffer
 *   first_return_ns         what the single return after the system call
 *                           costs, against leaving that function by a jump
 *   frame_around_code_ns    the control: one more frame around plain code
 *
 * If frame_jmp_exit_ns is near zero while frame_around_syscall_ns is not,
 * the frame's cost is a mispredicted return: the system call left the
 * return stack buffer holding the kernel's entries. The jump exits are
 * measurement devices only: they leave the return stack unbalanced and
 * would break shadow stacks, so neither eintrfix nor any hook uses them.
 * Each figure is the fastest of 200 batches of 5000 calls, the variants interleaved.
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

/* The raw system call, left by `ret` or by `pop; jmp`, and a frame around
 * the `ret` form left the same two ways. Written in assembly so that the
 * compiler cannot turn a frame into a tail call. */
long syscall_ret(void);
long syscall_jmp(void);
long frame_ret(void);
long frame_jmp(void);
__asm__(".text\n"
	".p2align 4\n"
	"syscall_ret:\n"
	"	mov $110, %eax\n" /* SYS_getppid */
	"	syscall\n"
	"	ret\n"
	".p2align 4\n"
	"syscall_jmp:\n"
	"	mov $110, %eax\n"
	"	syscall\n"
	"	pop %rcx\n"
	"	jmp *%rcx\n"
	".p2align 4\n"
	"frame_ret:\n"
	"	sub $8, %rsp\n"
	"	call syscall_ret\n"
	"	add $8, %rsp\n"
	"	ret\n"
	".p2align 4\n"
	"frame_jmp:\n"
	"	sub $8, %rsp\n"
	"	call syscall_ret\n"
	"	add $8, %rsp\n"
	"	pop %rcx\n"
	"	jmp *%rcx\n");
_Static_assert(SYS_getppid == 110, "the assembly above hard-codes getppid");

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
	__asm__ volatile("" ::: "memory"); /* not a tail call */
	return r;
}

enum { SYSCALL_RET, SYSCALL_JMP, FRAME_RET, FRAME_JMP, CODE, CODE_FRAMED, VARIANTS };

/* The fastest batch of each variant, batches interleaved so that a slow
 * phase of the machine hits every variant alike. */
static void fastest(long (*const f[VARIANTS])(void), double best[VARIANTS])
{
	for (int b = 0; b < 200; b++) {
		for (int v = 0; v < VARIANTS; v++) {
			double t = now_ns();
			for (int i = 0; i < 5000; i++)
				f[v]();
			t = (now_ns() - t) / 5000;
			if (b == 0 || t < best[v])
				best[v] = t;
		}
	}
}

int main(void)
{
	long (*const f[VARIANTS])(void) = {
		[SYSCALL_RET] = syscall_ret, [SYSCALL_JMP] = syscall_jmp,
		[FRAME_RET] = frame_ret,     [FRAME_JMP] = frame_jmp,
		[CODE] = plain_code,         [CODE_FRAMED] = framed_plain_code,
	};
	double t[VARIANTS];
	fastest(f, t);
	printf("syscall_ns=%.2f frame_around_syscall_ns=%.2f frame_jmp_exit_ns=%.2f "
	       "first_return_ns=%.2f frame_around_code_ns=%.2f\n",
	       t[SYSCALL_RET], t[FRAME_RET] - t[SYSCALL_RET], t[FRAME_JMP] - t[SYSCALL_RET],
	       t[SYSCALL_RET] - t[SYSCALL_JMP], t[CODE_FRAMED] - t[CODE]);
	return 0;
}
