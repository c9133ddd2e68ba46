/* stdio_pump: thread pairs stream checksummed data through stdio under a
 * signal storm; nothing may be lost, duplicated or fail.
 *
 *   stdio_pump [-t PAIRS] [-m MIB_PER_PAIR] [-p ALRM_PERIOD_US] [-u USR1_PERIOD_US]
 *
 * Pair i, by i mod 4: fwrite to fread over a pipe; fprintf to fgets over a
 * pipe; the same two over an AF_UNIX socketpair (fdopen). Binary pairs
 * write and read chunks of random sizes (fread of records of 1 to 64
 * bytes: glibc drops a partial record when its read fails); text pairs
 * write lines holding a sequence number and 64 hex digits of the stream.
 * Every read and write happens inside libc, where no hook sees it.
 *
 * Signals, all with handlers installed without SA_RESTART: SIGALRM from
 * setitimer every ALRM_PERIOD_US, SIGUSR1 from a second process every
 * USR1_PERIOD_US; the main thread blocks both, so they land on the
 * workers. Every worker must have run a handler. Exits 1 when a stdio call
 * fails with EINTR, 2 on wrong or missing data (bare, either comes first:
 * glibc drops the buffer whose write failed, so a reader can see the hole
 * before its writer reports the EINTR), 3 when the watchdog sees no
 * progress for 20 s. */
#include "stress.h"
#include <sys/socket.h>

#define MAX_PAIRS 32
#define CHUNK 16384
#define HEX_BYTES 32

struct pair {
	int kind;
	FILE *in, *out;
	uint64_t seed;
	uint64_t total;
	uint64_t received;
	unsigned long reader_signals, writer_signals;
	pthread_t reader, writer;
};

static struct pair pairs[MAX_PAIRS];
static int npairs = 4;

static const char *kind_name[] = { "fwrite/fread pipe", "fprintf/fgets pipe",
				   "fwrite/fread socket", "fprintf/fgets socket" };

static int is_text(const struct pair *p)
{
	return p->kind % 2 == 1;
}

static void unblock_storm(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

/* The text line for sequence number `seq`: 16 hex digits, a space, the
 * stream's bytes [seq * 32, seq * 32 + 32) in hex, a newline (82 bytes). */
static void text_line(uint64_t seed, uint64_t seq, char *line)
{
	unsigned char bytes[HEX_BYTES];
	stream_fill(seed, seq * HEX_BYTES, bytes, sizeof bytes);
	int n = sprintf(line, "%016llx ", (unsigned long long)seq);
	for (int i = 0; i < HEX_BYTES; i++)
		n += sprintf(line + n, "%02x", bytes[i]);
	line[n++] = '\n';
	line[n] = 0;
}

#define TEXT_LINE_LEN (17 + 2 * HEX_BYTES + 1)

static void *writer(void *arg)
{
	struct pair *p = arg;
	unsigned char buf[CHUNK];
	uint64_t pos = 0, state = p->seed * 7 + 1;
	unblock_storm();
	if (is_text(p)) {
		char line[TEXT_LINE_LEN + 1];
		for (uint64_t seq = 0; pos < p->total; seq++, pos += TEXT_LINE_LEN) {
			text_line(p->seed, seq, line);
			/* the line printed through the format, as printf users do */
			if (fprintf(p->out, "%.17s%s", line, line + 17) != TEXT_LINE_LEN)
				fail("fprintf");
			if (seq % 64 == 0)
				progress("fprintf");
		}
	} else {
		while (pos < p->total) {
			size_t n = 1 + rnd(&state) % CHUNK;
			if (n > p->total - pos)
				n = (size_t)(p->total - pos);
			stream_fill(p->seed, pos, buf, n);
			if (fwrite(buf, 1, n, p->out) != n)
				fail("fwrite");
			pos += n;
			progress("fwrite");
		}
	}
	if (fclose(p->out) != 0)
		fail("fclose");
	p->total = pos;
	p->writer_signals = thread_signals;
	return NULL;
}

static void wrong(struct pair *p, uint64_t at)
{
	fprintf(stderr, "pair %d (%s): byte %llu is wrong: data lost or duplicated\n",
		(int)(p - pairs), kind_name[p->kind], (unsigned long long)at);
	exit(2);
}

static void *reader(void *arg)
{
	struct pair *p = arg;
	unsigned char buf[CHUNK];
	uint64_t state = p->seed * 13 + 5;
	unblock_storm();
	if (is_text(p)) {
		char line[TEXT_LINE_LEN + 8], want[TEXT_LINE_LEN + 1];
		for (uint64_t seq = 0;; seq++) {
			if (!fgets(line, sizeof line, p->in)) {
				if (ferror(p->in))
					fail("fgets");
				break;
			}
			text_line(p->seed, seq, want);
			if (strcmp(line, want))
				wrong(p, p->received);
			p->received += TEXT_LINE_LEN;
		}
	} else {
		for (;;) {
			/* Never a record past the end: glibc's fread drops a partial
			 * record at end of file as it does when a read fails. */
			uint64_t left = p->total - p->received;
			size_t record = 1 + rnd(&state) % 64;
			if (record > left)
				record = left ? (size_t)left : 1;
			size_t records = 1 + rnd(&state) % (CHUNK / record);
			if (left && records > left / record)
				records = (size_t)(left / record);
			size_t n = fread(buf, record, records, p->in);
			if (n < records && ferror(p->in))
				fail("fread");
			size_t bytes = n * record;
			size_t good = stream_check(p->seed, p->received, buf, bytes);
			if (good != bytes)
				wrong(p, p->received + good);
			p->received += bytes;
			if (!left) {
				CHECK(n == 0 && feof(p->in));
				break;
			}
			if (n < records) {
				fprintf(stderr, "pair %d (%s): end of file after %llu bytes\n",
					(int)(p - pairs), kind_name[p->kind],
					(unsigned long long)p->received);
				exit(2);
			}
		}
	}
	p->reader_signals = thread_signals;
	fclose(p->in);
	return NULL;
}

static void make_channel(struct pair *p)
{
	int fds[2];
	if (p->kind < 2) {
		if (pipe(fds) != 0)
			fail("pipe");
	} else if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
		fail("socketpair");
	}
	p->in = fdopen(fds[0], "r");
	p->out = fdopen(fds[1], "w");
	if (!p->in || !p->out)
		fail("fdopen");
}

int main(int argc, char **argv)
{
	long mib = 16, alrm_us = 100, usr1_us = 1000;
	int opt;
	while ((opt = getopt(argc, argv, "t:m:p:u:")) != -1) {
		switch (opt) {
		case 't': npairs = atoi(optarg); break;
		case 'm': mib = atol(optarg); break;
		case 'p': alrm_us = atol(optarg); break;
		case 'u': usr1_us = atol(optarg); break;
		default:
			fprintf(stderr, "usage: stdio_pump [-t PAIRS] [-m MIB] [-p US] [-u US]\n");
			return 2;
		}
	}
	CHECK(npairs >= 1 && npairs <= MAX_PAIRS && mib >= 1 && alrm_us >= 1 && usr1_us >= 1);

	sigset_t storm;
	sigemptyset(&storm);
	sigaddset(&storm, SIGALRM);
	sigaddset(&storm, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &storm, NULL);
	legacy_handle(SIGUSR1, count_signal);
	watchdog_start(20);

	/* the second process is forked before any channel, or it would hold
	 * the write ends open */
	pid_t usr1 = signaller_start(SIGUSR1, usr1_us);
	for (int i = 0; i < npairs; i++) {
		struct pair *p = &pairs[i];
		p->kind = i % 4;
		p->seed = 0x57d10000ULL + (uint64_t)i;
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
	for (int i = 0; i < npairs; i++) {
		pthread_join(pairs[i].writer, NULL);
		pthread_join(pairs[i].reader, NULL);
	}
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
	report_ms("stdio_pump", ms);
	CHECK(min_signals > 0);
	return 0;
}
