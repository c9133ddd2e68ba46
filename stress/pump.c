/* pump: thread pairs pump checksummed streams through pipes and sockets
 * under a signal storm; nothing may be lost, duplicated or fail.
 *
 *   pump [-t PAIRS] [-m MIB_PER_PAIR] [-p ALRM_PERIOD_US] [-u USR1_PERIOD_US]
 *        [-k USR2_PERIOD_US]
 *
 * Signals, all with handlers installed without SA_RESTART:
 *   SIGALRM from setitimer every ALRM_PERIOD_US (process-directed);
 *   SIGUSR1 from a second process every USR1_PERIOD_US (process-directed);
 *   SIGUSR2 from a kicker thread to each worker in turn every USR2_PERIOD_US,
 *   so that every thread is hit whatever the kernel's choice.
 * The main thread blocks them all, so process-directed signals land on the
 * workers. Every worker must have run a handler at least once.
 *
 * The channel of pair i is, by i mod 5: a pipe (write/read); a stream
 * socketpair (send/recv); a socketpair (write/recvfrom); a socketpair with
 * SO_RCVTIMEO and SO_SNDTIMEO (send/read: the shim's deadline path); a
 * socketpair read with recv(MSG_WAITALL). Built as pump_fortified, the reads
 * are __read_chk, __recv_chk and __recvfrom_chk.
 */
#include "stress.h"
#include <sys/socket.h>

#define MAX_PAIRS 64
#define CHUNK 65536

struct pair {
	int kind;
	int rfd, wfd;
	uint64_t seed;
	uint64_t total;
	uint64_t received;
	unsigned long reader_signals, writer_signals;
	pthread_t reader, writer;
	pid_t reader_tid, writer_tid;
};

static struct pair pairs[MAX_PAIRS];
static int npairs = 4;
static volatile int workers_done;
static volatile size_t read_chunk = CHUNK;

static const char *kind_name[] = { "pipe", "send/recv", "write/recvfrom", "timeout socket",
				   "recv MSG_WAITALL" };

static void unblock_storm(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static void *writer(void *arg)
{
	struct pair *p = arg;
	unsigned char buf[CHUNK];
	uint64_t pos = 0, state = p->seed * 7 + 1;
	__atomic_store_n(&p->writer_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
	unblock_storm();
	while (pos < p->total) {
		size_t n = 1 + rnd(&state) % CHUNK;
		if (n > p->total - pos)
			n = (size_t)(p->total - pos);
		stream_fill(p->seed, pos, buf, n);
		size_t off = 0;
		while (off < n) { /* a partial write is a success: go on from there */
			ssize_t w;
			if (p->kind == 1 || p->kind == 3)
				w = send(p->wfd, buf + off, n - off, 0);
			else
				w = write(p->wfd, buf + off, n - off);
			if (w <= 0)
				fail(p->kind == 1 || p->kind == 3 ? "send" : "write");
			off += (size_t)w;
		}
		pos += n;
		progress("pumping");
	}
	if (close(p->wfd) != 0)
		fail("close writer");
	p->writer_signals = thread_signals;
	__atomic_store_n(&p->writer_tid, 0, __ATOMIC_RELAXED);
	return NULL;
}

static void *reader(void *arg)
{
	struct pair *p = arg;
	unsigned char buf[CHUNK];
	uint64_t state = p->seed * 13 + 5;
	__atomic_store_n(&p->reader_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
	unblock_storm();
	for (;;) {
		/* not provably within buf: fortified builds check it at run time */
		size_t want = 1 + rnd(&state) % read_chunk;
		ssize_t n;
		const char *call;
		switch (p->kind) {
		case 1:
			n = recv(p->rfd, buf, want, 0);
			call = "recv";
			break;
		case 2:
			n = recvfrom(p->rfd, buf, want, 0, NULL, NULL);
			call = "recvfrom";
			break;
		case 4:
			n = recv(p->rfd, buf, want, MSG_WAITALL);
			call = "recv(MSG_WAITALL)";
			break;
		default:
			n = read(p->rfd, buf, want);
			call = "read";
			break;
		}
		if (n < 0)
			fail(call);
		if (n == 0)
			break;
		size_t bad = stream_check(p->seed, p->received, buf, (size_t)n);
		if (bad != (size_t)n) {
			fprintf(stderr, "pair %d (%s): byte %llu is wrong: data lost or duplicated\n",
				(int)(p - pairs), kind_name[p->kind],
				(unsigned long long)(p->received + bad));
			exit(2);
		}
		p->received += (uint64_t)n;
		if (p->received > p->total) {
			fprintf(stderr, "pair %d: more bytes than were sent\n", (int)(p - pairs));
			exit(2);
		}
	}
	p->reader_signals = thread_signals;
	__atomic_store_n(&p->reader_tid, 0, __ATOMIC_RELAXED);
	close(p->rfd);
	return NULL;
}

static long usr2_period_us;

static void *kicker(void *arg)
{
	(void)arg;
	struct timespec ts = { usr2_period_us / 1000000, (usr2_period_us % 1000000) * 1000 };
	int i = 0;
	while (!workers_done) {
		struct pair *p = &pairs[(i / 2) % npairs];
		/* tgkill, not pthread_kill: a finished worker has no pthread_t left */
		pid_t tid = __atomic_load_n(i % 2 ? &p->reader_tid : &p->writer_tid, __ATOMIC_RELAXED);
		if (tid > 0)
			syscall(SYS_tgkill, getpid(), tid, SIGUSR2);
		i++;
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
	}
	return NULL;
}

static void make_channel(struct pair *p)
{
	int fds[2];
	if (p->kind == 0) {
		if (pipe(fds) != 0)
			fail("pipe");
		p->rfd = fds[0];
		p->wfd = fds[1];
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		fail("socketpair");
	p->rfd = fds[0];
	p->wfd = fds[1];
	if (p->kind == 3) {
		struct timeval tv = { 20, 0 };
		if (setsockopt(p->rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
		    setsockopt(p->wfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
			fail("setsockopt");
	}
}

int main(int argc, char **argv)
{
	long mib = 16, alrm_us = 100, usr1_us = 1000;
	int opt;
	usr2_period_us = 500;
	while ((opt = getopt(argc, argv, "t:m:p:u:k:")) != -1) {
		switch (opt) {
		case 't': npairs = atoi(optarg); break;
		case 'm': mib = atol(optarg); break;
		case 'p': alrm_us = atol(optarg); break;
		case 'u': usr1_us = atol(optarg); break;
		case 'k': usr2_period_us = atol(optarg); break;
		default:
			fprintf(stderr, "usage: pump [-t PAIRS] [-m MIB] [-p US] [-u US] [-k US]\n");
			return 2;
		}
	}
	CHECK(npairs >= 1 && npairs <= MAX_PAIRS && mib >= 1 && alrm_us >= 1 && usr1_us >= 1 &&
	      usr2_period_us >= 1);

	sigset_t storm;
	sigemptyset(&storm);
	sigaddset(&storm, SIGALRM);
	sigaddset(&storm, SIGUSR1);
	sigaddset(&storm, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &storm, NULL);
	legacy_handle(SIGALRM, count_signal);
	legacy_handle(SIGUSR1, count_signal);
	legacy_handle(SIGUSR2, count_signal);
	watchdog_start(20);

	/* the second process is forked before any channel, or it would hold
	 * the write ends open */
	pid_t usr1 = signaller_start(SIGUSR1, usr1_us);
	for (int i = 0; i < npairs; i++) {
		struct pair *p = &pairs[i];
		p->kind = i % 5;
		p->seed = 0x5eed0000ULL + (uint64_t)i;
		p->total = (uint64_t)mib << 20;
		make_channel(p);
	}
	double start = now_ms();
	storm_start(alrm_us);
	/* storm_start installed its own SIGALRM handler: count per thread instead */
	legacy_handle(SIGALRM, count_signal);
	for (int i = 0; i < npairs; i++) {
		if (pthread_create(&pairs[i].reader, NULL, reader, &pairs[i]) != 0 ||
		    pthread_create(&pairs[i].writer, NULL, writer, &pairs[i]) != 0)
			fail("pthread_create");
	}
	pthread_t kick;
	if (pthread_create(&kick, NULL, kicker, NULL) != 0)
		fail("pthread_create kicker");
	for (int i = 0; i < npairs; i++) {
		pthread_join(pairs[i].writer, NULL);
		pthread_join(pairs[i].reader, NULL);
	}
	workers_done = 1;
	pthread_join(kick, NULL);
	storm_stop();
	signaller_stop(usr1);
	double ms = now_ms() - start;

	unsigned long min_signals = (unsigned long)-1;
	uint64_t bytes = 0;
	for (int i = 0; i < npairs; i++) {
		struct pair *p = &pairs[i];
		if (p->received != p->total) {
			fprintf(stderr, "pair %d (%s): %llu bytes of %llu arrived\n", i, kind_name[p->kind],
				(unsigned long long)p->received, (unsigned long long)p->total);
			return 2;
		}
		bytes += p->received;
		if (p->reader_signals < min_signals)
			min_signals = p->reader_signals;
		if (p->writer_signals < min_signals)
			min_signals = p->writer_signals;
	}
	printf("pairs=%d bytes=%llu signals=%lu min_thread_signals=%lu\n", npairs,
	       (unsigned long long)bytes, (unsigned long)all_signals, min_signals);
	report_ms("pump", ms);
	CHECK(min_signals > 0);
	return 0;
}
