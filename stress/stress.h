/* stress.h: what the stress programs share, on top of c-tests/legacy.h.
 *
 * Exit codes, as in legacy.h: 0 all checks passed; 1 a call failed with
 * EINTR; 2 any other wrong result; 3 the watchdog saw no progress (a hang).
 *
 * The data check: every channel carries a deterministic byte stream (byte k
 * of stream `seed` is a function of seed and k alone), and the reader checks
 * every byte against it and the total at end of file. A lost, duplicated or
 * reordered byte is caught at the first byte it shifts.
 */
#ifndef EINTRFIX_STRESS_H
#define EINTRFIX_STRESS_H

#include "legacy.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* ---- the byte stream ---- */

static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Fills buf with bytes [pos, pos + n) of stream `seed`. */
static inline void stream_fill(uint64_t seed, uint64_t pos, unsigned char *buf, size_t n)
{
	uint64_t word_at = (uint64_t)-1, word = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = pos + i;
		if (k >> 3 != word_at) {
			word_at = k >> 3;
			word = splitmix64(seed ^ word_at * 0x100000001b3ULL);
		}
		buf[i] = (unsigned char)(word >> ((k & 7) * 8));
	}
}

/* The index of the first byte of buf that is not stream `seed` at pos, or n. */
static inline size_t stream_check(uint64_t seed, uint64_t pos, const unsigned char *buf, size_t n)
{
	unsigned char want[4096];
	size_t done = 0;
	while (done < n) {
		size_t m = n - done < sizeof want ? n - done : sizeof want;
		stream_fill(seed, pos + done, want, m);
		for (size_t i = 0; i < m; i++)
			if (buf[done + i] != want[i])
				return done + i;
		done += m;
	}
	return n;
}

/* A small PRNG for sizes and choices. */
static inline uint32_t rnd(uint64_t *state)
{
	*state = splitmix64(*state);
	return (uint32_t)(*state >> 32);
}

/* ---- the watchdog: exit 3 when no progress is made for a while ---- */

static volatile unsigned long stress_progress;
static volatile const char *stress_doing = "starting";
static long stress_watchdog_limit_s;

/* Marks progress; `doing` names the step for the hang report. */
static inline void progress(const char *doing)
{
	stress_doing = doing;
	__atomic_fetch_add(&stress_progress, 1, __ATOMIC_RELAXED);
}

static void *stress_watchdog(void *arg)
{
	unsigned long seen = (unsigned long)-1;
	long still = 0;
	(void)arg;
	for (;;) {
		struct timespec ts = { 1, 0 };
		/* the raw syscall: the watchdog must not depend on the shim */
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
		unsigned long now = __atomic_load_n(&stress_progress, __ATOMIC_RELAXED);
		if (now != seen) {
			seen = now;
			still = 0;
		} else if (++still >= stress_watchdog_limit_s) {
			char msg[256];
			int n = snprintf(msg, sizeof msg, "watchdog: no progress for %ld s while %s\n",
					 still, (const char *)stress_doing);
			if (n > 0)
				syscall(SYS_write, 2, msg, (size_t)n);
			_exit(3);
		}
	}
	return NULL;
}

/* Exits 3 when progress() is not called for `limit_s` seconds. */
static inline void watchdog_start(long limit_s)
{
	pthread_t t;
	sigset_t all, old;
	stress_watchdog_limit_s = limit_s;
	/* The thread starts with every signal blocked: if it unblocked them
	 * only once running, a signal sent to the process before then (a
	 * signaller's first SIGUSR1, its handler not installed yet) could be
	 * delivered to it and kill the process with the default action. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int created = pthread_create(&t, NULL, stress_watchdog, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (created != 0)
		fail("pthread_create watchdog");
	pthread_detach(t);
}

/* ---- signals ---- */

static __thread unsigned long thread_signals;
static volatile unsigned long all_signals;

static inline void count_signal(int sig)
{
	(void)sig;
	thread_signals++;
	__atomic_fetch_add(&all_signals, 1, __ATOMIC_RELAXED);
}

/* In a helper child: die with the parent, so that a parent that exits
 * early (a failed check) leaves no helper holding its output pipes. */
static inline void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
}

/* Starts a process that sends `sig` to this one every `period_us` until
 * this one exits; returns its pid. */
static inline pid_t signaller_start(int sig, long period_us)
{
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0)
		fail("fork signaller");
	if (child == 0) {
		struct timespec ts = { period_us / 1000000, (period_us % 1000000) * 1000 };
		die_with_parent(parent);
		while (getppid() == parent && kill(parent, sig) == 0)
			syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
		_exit(0);
	}
	return child;
}

static inline void signaller_stop(pid_t pid)
{
	int status;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Whether the preloaded eintrfix tracks signal handlers: its
 * sigaction is the one the program calls. */
static inline int shim_tracks_signals(void)
{
	Dl_info info;
	void *f = dlsym(RTLD_DEFAULT, "sigaction");
	return f && dladdr(f, &info) && info.dli_fname && strstr(info.dli_fname, "eintrfix");
}

/* Whether eintrfix is loaded at all. */
static inline int shim_loaded(void)
{
	Dl_info info;
	void *f = dlsym(RTLD_DEFAULT, "read");
	return f && dladdr(f, &info) && info.dli_fname && strstr(info.dli_fname, "eintrfix");
}

/* Open fds of this process. */
static inline int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 4096; fd++) {
		int saved = errno;
		if (fcntl(fd, F_GETFD) != -1)
			n++;
		errno = saved;
	}
	return n;
}

#endif
