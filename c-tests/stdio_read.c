/* stdio_read: reads 300 numbered lines through stdio from a slow writer,
 * under a 1 ms SIGALRM storm, and checks every byte.
 *
 *   stdio_read FAMILY TRANSPORT
 *   FAMILY: fgets getline getdelim fread fgetc getc getchar fscanf scanf
 *           fgets_unlocked fread_unlocked getc_unlocked
 *   TRANSPORT: pipe | socket (an AF_UNIX socketpair, through fdopen)
 *
 * The writer (a child) sends the lines in bursts with pauses, so that the
 * reader blocks inside libc's internal read, often with a line half read.
 * Legacy code: "if the stream fails, die". Bare, a read interrupted inside
 * libc makes the stream fail (exit 1, "Interrupted system call") or loses
 * the bytes of a half-read line (exit 2); under the shim every line
 * arrives, in order. */
#include "legacy.h"
#include <sys/wait.h>

#define LINES 300
#define LINE_MAX_LEN 64

/* Line i, as the writer sends it. */
static void make_line(char *buf, size_t size, int i)
{
	snprintf(buf, size, "line %04d of the slow writer\n", i);
}

/* The child: writes every line, a few bytes at a time, pausing often so
 * that reads block with half a line in the stream's buffer. */
static void writer(int fd)
{
	char line[LINE_MAX_LEN];
	for (int i = 0; i < LINES; i++) {
		make_line(line, sizeof line, i);
		size_t len = strlen(line), half = len / 2;
		if (write(fd, line, half) != (ssize_t)half)
			_exit(3);
		if (i % 10 == 0)
			quiet_sleep_ms(2);
		if (write(fd, line + half, len - half) != (ssize_t)(len - half))
			_exit(3);
		if (i % 7 == 0)
			quiet_sleep_ms(1);
	}
	_exit(0);
}

/* A stream failed (NULL, EOF or a short count): say why and exit as
 * legacy.h's fail() does, telling an error from an early end of file. */
static void stream_failed(FILE *in, const char *call, int line)
{
	if (ferror(in))
		fail(call);
	fprintf(stderr, "%s: end of file after %d lines\n", call, line);
	exit(2);
}

/* Reads one line of at most `size` bytes into `buf` with `family`;
 * returns its length, or -1 when the stream failed. */
static long read_line(const char *family, FILE *in, char *buf, size_t size)
{
	if (!strcmp(family, "fgets") || !strcmp(family, "fgets_unlocked")) {
		char *got = family[5] ? fgets_unlocked(buf, (int)size, in)
				      : fgets(buf, (int)size, in);
		return got ? (long)strlen(buf) : -1;
	}
	if (!strcmp(family, "getline") || !strcmp(family, "getdelim")) {
		static char *line;
		static size_t cap;
		ssize_t n = family[3] == 'l' ? getline(&line, &cap, in)
					     : getdelim(&line, &cap, '\n', in);
		if (n < 0 || (size_t)n >= size)
			return -1;
		memcpy(buf, line, (size_t)n + 1);
		return n;
	}
	if (!strcmp(family, "fscanf") || !strcmp(family, "scanf")) {
		int number, n = 0;
		char word[16];
		int got = family[0] == 'f'
				  ? fscanf(in, "line %d of the slow %15s\n%n", &number, word, &n)
				  : scanf("line %d of the slow %15s\n%n", &number, word, &n);
		if (got != 2)
			return -1;
		snprintf(buf, size, "line %04d of the slow %s\n", number, word);
		return (long)strlen(buf);
	}
	/* Byte at a time, or fread of the line's exact length. */
	size_t len = strlen("line 0000 of the slow writer\n");
	if (!strcmp(family, "fread") || !strcmp(family, "fread_unlocked")) {
		/* One record of the line's length, as record readers do: glibc
		 * drops a partial item when a read fails. */
		size_t items = family[5] ? fread_unlocked(buf, len, 1, in)
					 : fread(buf, len, 1, in);
		if (items != 1)
			return -1;
		buf[len] = 0;
		return (long)len;
	}
	for (size_t i = 0; i < len; i++) {
		int c;
		if (!strcmp(family, "fgetc"))
			c = fgetc(in);
		else if (!strcmp(family, "getc"))
			c = getc(in);
		else if (!strcmp(family, "getc_unlocked"))
			c = getc_unlocked(in);
		else
			c = getchar();
		if (c == EOF)
			return -1;
		buf[i] = (char)c;
	}
	buf[len] = 0;
	return (long)len;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stdio_read FAMILY pipe|socket\n");
		return 2;
	}
	const char *family = argv[1];
	int fds[2];
	open_channel(argv[2], fds);
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(fds[0]);
		writer(fds[1]);
	}
	close(fds[1]);
	/* scanf and getchar read stdin: the read end becomes fd 0. */
	if (dup2(fds[0], 0) < 0)
		fail("dup2");
	FILE *in = stdin;
	if (strcmp(family, "scanf") && strcmp(family, "getchar")) {
		in = fdopen(fds[0], "r");
		if (!in)
			fail("fdopen");
	}

	storm_start(1000);
	char got[LINE_MAX_LEN + 8], want[LINE_MAX_LEN];
	for (int i = 0; i < LINES; i++) {
		if (read_line(family, in, got, sizeof got) < 0)
			stream_failed(in, family, i);
		make_line(want, sizeof want, i);
		if (strcmp(got, want)) {
			fprintf(stderr, "%s: line %d is '%s', not '%s'\n", family, i, got, want);
			return 2;
		}
	}
	storm_stop();
	CHECK(legacy_signals > 0);
	int status;
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}
