/* spawn.c: what a preloaded library costs every process it is loaded into.
 * `spawn SPAWNS ROUNDS STOPPER VARIANT...`
 *
 * Each VARIANT is "-" (bare: no preload) or a library path to put in the
 * children's LD_PRELOAD, optionally followed by ",NAME=VALUE" items that
 * the children's environment gets too. The spawner itself runs without
 * any preload: only the children's environment names the library, so the
 * measurement is the children's start-up and nothing else.
 *
 * Start-up: in each of ROUNDS rounds, /bin/true is posix_spawned SPAWNS
 * times for each variant, each spawn waited for, the variants taking turns
 * spawn by spawn (in an order rotated at each spawn), so that a slow phase
 * of a shared machine hits all of them alike. The round's mean time per
 * spawn of each variant is printed, in microseconds, with a
 * child's mean CPU time (user and system, as the kernel accounts it to the
 * child: the part of the spawn that other processes' load inflates least)
 * and mean number of page faults:
 *   round=R variant=I spawn_us=... cpu_us=... faults=...
 * (the caller takes ratios within each round, then medians over rounds).
 *
 * Memory: STOPPER (bench/stopper.c) stops itself with SIGSTOP once main
 * runs, so the library is loaded and its constructor has run. Two are
 * started: the first keeps every file mapped, so that the second's
 * /proc/PID/smaps_rollup counts the library's file pages as shared (as
 * they are when many processes load it) and its private memory is what
 * one more process costs. Both are then killed. Printed per
 * variant, in kB:
 *   variant=I rss_kb=... private_kb=... anonymous_kb=...
 * where private is Private_Clean + Private_Dirty: the memory this process
 * has that no other process shares.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_VARIANTS 8
/* Which pages of a file each process has mapped varies from run to run
 * (the kernel maps cached pages around each fault), and so does the
 * private part of the second process: the caller takes the median. */
#define MEMORY_SAMPLES 7

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* The environment of a child: ours without LD_PRELOAD, plus the variant's
 * preload and assignments. */
static char **child_env(const char *variant)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char *spec = strdup(variant);
	char **env = calloc(n + strlen(variant) + 2, sizeof *env);
	if (!spec || !env)
		die("alloc");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	char *rest = spec;
	char *lib = strsep(&rest, ",");
	if (strcmp(lib, "-") != 0) {
		char *preload = malloc(strlen(lib) + sizeof "LD_PRELOAD=");
		if (!preload)
			die("malloc");
		strcpy(preload, "LD_PRELOAD=");
		strcat(preload, lib);
		env[k++] = preload;
	}
	for (char *item; (item = strsep(&rest, ",")) != NULL;)
		env[k++] = item;
	env[k] = NULL;
	return env;
}

static void spawn_wait(const char *path, char **argv, char **env)
{
	pid_t pid;
	int status;
	int err = posix_spawn(&pid, path, NULL, NULL, argv, env);
	if (err) {
		errno = err;
		die("posix_spawn");
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "spawn: %s did not exit 0\n", path);
		exit(2);
	}
}

/* Spawns a stopper and waits until it has stopped. */
static pid_t stopped_child(const char *stopper, char **env)
{
	char *argv[] = {(char *)stopper, NULL};
	pid_t pid;
	int status;
	int err = posix_spawn(&pid, stopper, NULL, NULL, argv, env);
	if (err) {
		errno = err;
		die("posix_spawn stopper");
	}
	while (waitpid(pid, &status, WUNTRACED) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFSTOPPED(status)) {
		fprintf(stderr, "spawn: the stopper did not stop\n");
		exit(2);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int status;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
}

/* Reads the smaps_rollup of the second of two stopped children: the first
 * keeps the files mapped, so that pages of the library's file count as
 * shared, as they are when many processes load it, and what is left
 * private is what each further process costs. */
static void memory(int variant, int sample, const char *stopper, char **env)
{
	pid_t first = stopped_child(stopper, env);
	pid_t pid = stopped_child(stopper, env);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	long rss = 0, clean = 0, dirty = 0, anon = 0, v;
	char line[256];
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "Rss: %ld", &v) == 1)
			rss = v;
		else if (sscanf(line, "Private_Clean: %ld", &v) == 1)
			clean = v;
		else if (sscanf(line, "Private_Dirty: %ld", &v) == 1)
			dirty = v;
		else if (sscanf(line, "Anonymous: %ld", &v) == 1)
			anon = v;
	}
	fclose(f);
	reap(pid);
	reap(first);
	printf("variant=%d sample=%d rss_kb=%ld private_kb=%ld anonymous_kb=%ld\n", variant, sample,
	       rss, clean + dirty, anon);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: spawn SPAWNS ROUNDS STOPPER LIB|- ...\n");
		return 2;
	}
	int spawns = atoi(argv[1]), rounds = atoi(argv[2]);
	const char *stopper = argv[3];
	int variants = argc - 4;
	if (spawns < 1 || rounds < 1 || variants > MAX_VARIANTS) {
		fprintf(stderr, "spawn: bad arguments\n");
		return 2;
	}
	char **env[MAX_VARIANTS];
	for (int v = 0; v < variants; v++)
		env[v] = child_env(argv[4 + v]);

	char *true_argv[] = {"/bin/true", NULL};
	/* Warm the page cache and the libraries once. */
	for (int v = 0; v < variants; v++)
		spawn_wait("/bin/true", true_argv, env[v]);

	for (int r = 0; r < rounds; r++) {
		double us[MAX_VARIANTS] = {0}, cpu[MAX_VARIANTS] = {0}, faults[MAX_VARIANTS] = {0};
		for (int s = 0; s < spawns; s++) {
			for (int i = 0; i < variants; i++) {
				int v = (i + s) % variants;
				struct rusage before, after;
				getrusage(RUSAGE_CHILDREN, &before);
				double start = now_us();
				spawn_wait("/bin/true", true_argv, env[v]);
				us[v] += now_us() - start;
				getrusage(RUSAGE_CHILDREN, &after);
				cpu[v] += (after.ru_utime.tv_sec - before.ru_utime.tv_sec +
					   after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e6 +
					  (after.ru_utime.tv_usec - before.ru_utime.tv_usec +
					   after.ru_stime.tv_usec - before.ru_stime.tv_usec);
				faults[v] += after.ru_minflt - before.ru_minflt;
			}
		}
		for (int v = 0; v < variants; v++)
			printf("round=%d variant=%d spawn_us=%.2f cpu_us=%.2f faults=%.2f\n", r, v,
			       us[v] / spawns, cpu[v] / spawns, faults[v] / spawns);
	}
	for (int sample = 0; sample < MEMORY_SAMPLES; sample++)
		for (int v = 0; v < variants; v++)
			memory(v, sample, stopper, env[v]);
	return 0;
}
