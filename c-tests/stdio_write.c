/* stdio_write: writes 20000 numbered lines through stdio to a slow reader,
 * under a 1 ms SIGALRM storm; the reader checks every byte.
 *
 *   stdio_write FAMILY TRANSPORT
 *   FAMILY: fprintf printf vfprintf fwrite fputs puts fputc putc
 *           fwrite_unlocked fputc_unlocked fflush fclose
 *   TRANSPORT: pipe | socket (an AF_UNIX socketpair, through fdopen)
 *
 * The reader (a child) drains the pipe slowly, so the writer blocks inside
 * libc's internal write with a full buffer. Legacy code checks what stdio
 * returns and dies if it fails (exit 1 on EINTR). Bare, glibc drops the
 * buffered bytes when its write fails: a program that does not check sees
 * its output cut (the reader exits 2, and so does this program). Under the
 * shim every line arrives. `fflush` buffers 64 KiB and flushes by hand;
 * `fclose` writes everything with one final fclose. */
#include "legacy.h"
#include <stdarg.h>
#include <sys/wait.h>

#define LINES 20000

static void make_line(char *buf, size_t size, int i)
{
	snprintf(buf, size, "%05d: the quick brown fox\n", i);
}

/* The child: reads everything slowly and checks it line by line. */
static void reader(int fd)
{
	FILE *in = fdopen(fd, "r");
	char got[64], want[64];
	int i = 0;
	if (!in)
		_exit(3);
	while (fgets(got, sizeof got, in)) {
		make_line(want, sizeof want, i);
		if (strcmp(got, want)) {
			fprintf(stderr, "reader: line %d is '%s'\n", i, got);
			_exit(2);
		}
		if (++i % 500 == 0)
			quiet_sleep_ms(3);
	}
	if (i != LINES) {
		fprintf(stderr, "reader: %d lines of %d arrived\n", i, LINES);
		_exit(2);
	}
	_exit(0);
}

static int my_vfprintf(FILE *out, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	int n = vfprintf(out, format, args);
	va_end(args);
	return n;
}

/* Writes line i with `family`; returns whether stdio reported success. */
static int write_line(const char *family, FILE *out, int i)
{
	char line[64];
	make_line(line, sizeof line, i);
	size_t len = strlen(line);
	if (!strcmp(family, "fprintf") || !strcmp(family, "fflush") || !strcmp(family, "fclose"))
		return fprintf(out, "%05d: the quick brown fox\n", i) == (int)len;
	if (!strcmp(family, "printf"))
		return printf("%05d: the quick brown fox\n", i) == (int)len;
	if (!strcmp(family, "vfprintf"))
		return my_vfprintf(out, "%05d: the quick brown fox\n", i) == (int)len;
	if (!strcmp(family, "fwrite"))
		return fwrite(line, len, 1, out) == 1;
	if (!strcmp(family, "fwrite_unlocked"))
		return fwrite_unlocked(line, 1, len, out) == len;
	if (!strcmp(family, "fputs"))
		return fputs(line, out) >= 0;
	if (!strcmp(family, "puts")) {
		line[len - 1] = 0;
		return puts(line) >= 0;
	}
	for (size_t k = 0; k < len; k++) {
		int c;
		if (!strcmp(family, "fputc"))
			c = fputc(line[k], out);
		else if (!strcmp(family, "putc"))
			c = putc(line[k], out);
		else
			c = fputc_unlocked(line[k], out);
		if (c == EOF)
			return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stdio_write FAMILY pipe|socket\n");
		return 2;
	}
	const char *family = argv[1];
	int fds[2];
	open_channel(argv[2], fds);
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(fds[1]);
		reader(fds[0]);
	}
	close(fds[0]);
	FILE *out;
	if (!strcmp(family, "printf") || !strcmp(family, "puts")) {
		/* stdout becomes the pipe, fully buffered as it is then. */
		if (dup2(fds[1], 1) < 0)
			fail("dup2");
		close(fds[1]);
		out = stdout;
	} else {
		out = fdopen(fds[1], "w");
		if (!out)
			fail("fdopen");
	}
	static char big[64 * 1024];
	if (!strcmp(family, "fflush") && setvbuf(out, big, _IOFBF, sizeof big) != 0)
		fail("setvbuf");
	if (!strcmp(family, "fclose") && setvbuf(out, NULL, _IOFBF, 4 * 1024 * 1024) != 0)
		fail("setvbuf");

	storm_start(1000);
	for (int i = 0; i < LINES; i++) {
		if (!write_line(family, out, i))
			fail(family);
		if (!strcmp(family, "fflush") && i % 2000 == 1999 && fflush(out) != 0)
			fail("fflush");
	}
	if (fclose(out) != 0)
		fail("fclose");
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid");
	storm_stop();
	CHECK(legacy_signals > 0);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status) == 0 ? 0 : 2;
}
