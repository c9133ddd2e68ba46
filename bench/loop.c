/* loop.c: the fast-path loop. `loop CALL CALLS BATCHES`
 *
 * Makes CALLS calls of CALL, none of which sees EINTR:
 *   write  write(2) of 1 byte to /dev/null            (succeeds)
 *   read   read(2) of 1 byte from /dev/zero           (succeeds)
 *   recv   recv(2) on an empty non-blocking socket    (fails with EAGAIN)
 * split into BATCHES equal batches, and prints the total and the fastest
 * batch in nanoseconds per call:
 *   total_ns_per_call=... min_batch_ns_per_call=...
 * The fastest batch is the one least disturbed by other processes; under
 * callgrind, use one batch and read the instruction count instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: loop write|read|recv CALLS BATCHES\n");
		return 2;
	}
	const char *call = argv[1];
	long calls = atol(argv[2]), batches = atol(argv[3]);
	if (calls <= 0 || batches <= 0 || calls % batches != 0) {
		fprintf(stderr, "loop: CALLS must be a positive multiple of BATCHES\n");
		return 2;
	}
	long per_batch = calls / batches;
	char buf[1] = { 'x' };
	int fd, which;
	if (strcmp(call, "write") == 0) {
		which = 0;
		if ((fd = open("/dev/null", O_WRONLY)) < 0)
			die("open /dev/null");
	} else if (strcmp(call, "read") == 0) {
		which = 1;
		if ((fd = open("/dev/zero", O_RDONLY)) < 0)
			die("open /dev/zero");
	} else if (strcmp(call, "recv") == 0) {
		int sv[2];
		which = 2;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
			die("socketpair");
		fd = sv[0];
	} else {
		fprintf(stderr, "loop: unknown call %s\n", call);
		return 2;
	}

	double total = 0, fastest = 0;
	for (long b = 0; b < batches; b++) {
		double start = now_ns();
		switch (which) {
		case 0:
			for (long i = 0; i < per_batch; i++)
				if (write(fd, buf, 1) != 1)
					die("write");
			break;
		case 1:
			for (long i = 0; i < per_batch; i++)
				if (read(fd, buf, 1) != 1)
					die("read");
			break;
		default:
			for (long i = 0; i < per_batch; i++)
				if (recv(fd, buf, 1, 0) != -1 || errno != EAGAIN)
					die("recv (expected EAGAIN)");
			break;
		}
		double took = now_ns() - start;
		total += took;
		if (b == 0 || took < fastest)
			fastest = took;
	}
	printf("total_ns_per_call=%.3f min_batch_ns_per_call=%.3f\n",
	       total / calls, fastest / per_batch);
	return 0;
}
