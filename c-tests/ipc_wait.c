/* Semaphores, message queues, System V IPC, locks and FIFO opens under a
 * 1 ms SIGALRM storm, with a helper child that unblocks the call 300 ms
 * late, or a 300 ms timeout that must run out (waited_ms printed).
 * Usage: ipc_wait CALL, CALL one of
 *   sem_wait sem_timedwait_timeout sem_clockwait_timeout
 *   mq_receive mq_send mq_timedreceive_timeout mq_timedsend_timeout
 *   msgrcv msgsnd semop semtimedop_timeout
 *   flock fcntl_setlkw fcntl_ofd_setlkw open_fifo */
#include "legacy.h"
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *call;
static double started;

/* A call that must time out failed as `expected`: report how long it took. */
static void timed_out(long result, int expected)
{
	double waited = now_ms() - started;
	if (result != -1 || errno != expected)
		fail(call);
	report_ms("waited", waited);
}

static void done(long result)
{
	if (result < 0)
		fail(call);
}

static struct timespec in_300ms(clockid_t clock)
{
	struct timespec at;
	clock_gettime(clock, &at);
	at.tv_nsec += 300000000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	return at;
}

/* Forks the helper: it runs `late` after 300 ms, then exits. */
static pid_t helper(void (*late)(void))
{
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		quiet_sleep_ms(300);
		late();
		_exit(0);
	}
	return child;
}

static sem_t *sem;
static mqd_t mq;
static int msq, semid, ready_pipe[2];
static char path[64];
struct message {
	long kind;
	char text[8];
};

static void post_sem(void) { CHECK(sem_post(sem) == 0); }
static void send_mq(void) { CHECK(mq_send(mq, "late", 4, 0) == 0); }
static void receive_mq(void)
{
	char buf[16];
	CHECK(mq_receive(mq, buf, sizeof buf, NULL) == 4);
}
static void send_msg(void)
{
	struct message m = { 1, "late" };
	CHECK(msgsnd(msq, &m, sizeof m.text, 0) == 0);
}
static void drain_msg(void)
{
	struct message m;
	while (msgrcv(msq, &m, sizeof m.text, 0, IPC_NOWAIT) >= 0)
		;
}
static void raise_sem(void)
{
	struct sembuf up = { 0, 1, 0 };
	CHECK(semop(semid, &up, 1) == 0);
}
static void open_fifo_writer(void) { CHECK(open(path, O_WRONLY) >= 0); }

/* Takes the lock in a child, tells the parent, holds it 300 ms. */
static pid_t lock_holder(int kind)
{
	pid_t child;
	char byte;

	CHECK(pipe(ready_pipe) == 0);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		CHECK(fd >= 0);
		if (kind == 0)
			CHECK(flock(fd, LOCK_EX) == 0);
		else
			CHECK(fcntl(fd, kind == 1 ? F_SETLK : F_OFD_SETLK, &fl) == 0);
		CHECK(write(ready_pipe[1], "L", 1) == 1);
		quiet_sleep_ms(300);
		_exit(0);
	}
	CHECK(read(ready_pipe[0], &byte, 1) == 1);
	return child;
}

/* Removes what the program created, however it ends (fail() exits). */
static void cleanup(void)
{
	if (msq > 0)
		msgctl(msq, IPC_RMID, NULL);
	if (semid > 0)
		semctl(semid, 0, IPC_RMID);
	unlink(path);
}

int main(int argc, char **argv)
{
	pid_t child = -1;
	char buf[16];
	struct message m = { 1, "now" };
	struct sembuf down = { 0, -1, 0 };
	struct timespec at, rel = { 0, 300000000L };
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	call = argc > 1 ? argv[1] : "sem_wait";
	snprintf(path, sizeof path, "/tmp/eintrfix-ipc-%d", (int)getpid());
	atexit(cleanup);
	sem = mmap(NULL, sizeof *sem, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sem != MAP_FAILED && sem_init(sem, 1, 0) == 0);
	if (!strncmp(call, "mq_", 3)) {
		mq = mq_open(path + 4, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (mq == (mqd_t)-1)
			fail("mq_open");
		mq_unlink(path + 4);
	}
	if (!strncmp(call, "msg", 3)) {
		struct msqid_ds ds;
		msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (msq < 0)
			fail("msgget");
		/* A queue of one message, so the next msgsnd blocks. */
		CHECK(msgctl(msq, IPC_STAT, &ds) == 0);
		ds.msg_qbytes = sizeof m.text;
		CHECK(msgctl(msq, IPC_SET, &ds) == 0);
	}
	if (!strncmp(call, "sem", 3) && strncmp(call, "sem_", 4)) {
		semid = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
		if (semid < 0)
			fail("semget");
	}
	if (!strcmp(call, "flock") || !strncmp(call, "fcntl", 5)) {
		fd = open(path, O_RDWR | O_CREAT, 0600);
		CHECK(fd >= 0);
		close(fd);
	}
	if (!strcmp(call, "open_fifo"))
		CHECK(mkfifo(path, 0600) == 0);

	if (!strcmp(call, "sem_wait"))
		child = helper(post_sem);
	else if (!strcmp(call, "mq_receive"))
		child = helper(send_mq);
	else if (!strcmp(call, "mq_send")) {
		CHECK(mq_send(mq, "full", 4, 0) == 0);
		child = helper(receive_mq);
	} else if (!strcmp(call, "mq_timedsend_timeout"))
		CHECK(mq_send(mq, "full", 4, 0) == 0); else if (!strcmp(call, "msgrcv"))
		child = helper(send_msg);
	else if (!strcmp(call, "msgsnd")) {
		CHECK(msgsnd(msq, &m, sizeof m.text, 0) == 0);
		child = helper(drain_msg);
	} else if (!strcmp(call, "semop"))
		child = helper(raise_sem);
	else if (!strcmp(call, "flock"))
		child = lock_holder(0);
	else if (!strcmp(call, "fcntl_setlkw"))
		child = lock_holder(1);
	else if (!strcmp(call, "fcntl_ofd_setlkw"))
		child = lock_holder(2);
	else if (!strcmp(call, "open_fifo"))
		child = helper(open_fifo_writer);

	storm_start(1000);
	started = now_ms();
	if (!strcmp(call, "sem_wait"))
		done(sem_wait(sem));
	else if (!strcmp(call, "sem_timedwait_timeout")) {
		at = in_300ms(CLOCK_REALTIME);
		timed_out(sem_timedwait(sem, &at), ETIMEDOUT);
	} else if (!strcmp(call, "sem_clockwait_timeout")) {
		at = in_300ms(CLOCK_MONOTONIC);
		timed_out(sem_clockwait(sem, CLOCK_MONOTONIC, &at), ETIMEDOUT);
	} else if (!strcmp(call, "mq_receive")) {
		done(mq_receive(mq, buf, sizeof buf, NULL));
		CHECK(!memcmp(buf, "late", 4));
	} else if (!strcmp(call, "mq_send"))
		done(mq_send(mq, "next", 4, 0));
	else if (!strcmp(call, "mq_timedreceive_timeout")) {
		at = in_300ms(CLOCK_REALTIME);
		timed_out(mq_timedreceive(mq, buf, sizeof buf, NULL, &at), ETIMEDOUT);
	} else if (!strcmp(call, "mq_timedsend_timeout")) {
		at = in_300ms(CLOCK_REALTIME);
		timed_out(mq_timedsend(mq, "more", 4, 0, &at), ETIMEDOUT);
	} else if (!strcmp(call, "msgrcv")) {
		done(msgrcv(msq, &m, sizeof m.text, 0, 0));
		CHECK(!strcmp(m.text, "late"));
	} else if (!strcmp(call, "msgsnd"))
		done(msgsnd(msq, &m, sizeof m.text, 0));
	else if (!strcmp(call, "semop"))
		done(semop(semid, &down, 1));
	else if (!strcmp(call, "semtimedop_timeout"))
		timed_out(semtimedop(semid, &down, 1, &rel), EAGAIN);
	else if (!strcmp(call, "flock")) {
		fd = open(path, O_RDWR);
		done(flock(fd, LOCK_EX));
	} else if (!strncmp(call, "fcntl", 5)) {
		fd = open(path, O_RDWR);
		done(fcntl(fd, strstr(call, "ofd") ? F_OFD_SETLKW : F_SETLKW, &fl));
	} else if (!strcmp(call, "open_fifo"))
		done(open(path, O_RDONLY));
	else
		CHECK(!"unknown call");
	storm_stop();
	CHECK(legacy_signals > 10);
	if (child > 0) {
		int status;
		CHECK(waitpid(child, &status, 0) == child);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	return 0;
}
