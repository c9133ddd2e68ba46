/* The socket message calls under a 1 ms SIGALRM storm, on an AF_UNIX
 * stream pair whose peer is 300 ms late.
 * Usage: sock_msgs CALL or CALL_timeout, CALL one of recvmsg, recvmmsg,
 *        sendto, sendmsg, sendmmsg, readv, writev. With _timeout the socket
 *        has a 300 ms SO_RCVTIMEO / SO_SNDTIMEO that must run out: EAGAIN,
 *        waited_ms printed. */
#include "legacy.h"
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* Fills the socket's send buffer so that the next send blocks. */
static void fill(int fd)
{
	static char junk[4096];
	while (send(fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
		;
	CHECK(errno == EAGAIN);
}

int main(int argc, char **argv)
{
	const char *call = argc > 1 ? argv[1] : "recvmsg";
	char base[32];
	int timed = strstr(call, "_timeout") != NULL;
	int receiving = !strncmp(call, "recv", 4) || !strncmp(call, "readv", 5);
	int sv[2];
	char buf[16];
	struct iovec iov = { buf, sizeof buf };
	struct msghdr msg;
	struct mmsghdr mmsg;
	ssize_t n;
	pid_t child = -1;
	double start;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("socketpair");
	if (!receiving)
		fill(sv[0]);
	if (timed) {
		struct timeval tv = { 0, 300000 };
		CHECK(setsockopt(sv[0], SOL_SOCKET,
				 receiving ? SO_RCVTIMEO : SO_SNDTIMEO, &tv,
				 sizeof tv) == 0);
	} else {
		child = fork();
		if (child < 0)
			fail("fork");
		if (child == 0) {
			char sink[65536];
			quiet_sleep_ms(300);
			if (receiving)
				_exit(write(sv[1], "late data", 9) == 9 ? 0 : 3);
			close(sv[0]);
			shutdown(sv[1], SHUT_WR);
			while (read(sv[1], sink, sizeof sink) > 0)
				;
			_exit(0);
		}
	}
	/* The call's name without "_timeout". */
	snprintf(base, sizeof base, "%.*s", (int)strcspn(call, "_"), call);
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	memset(&mmsg, 0, sizeof mmsg);
	mmsg.msg_hdr = msg;
	if (!receiving)
		memcpy(buf, "late data", 9), iov.iov_len = 9;
	storm_start(1000);
	start = now_ms();
	if (!strcmp(base, "recvmsg"))
		n = recvmsg(sv[0], &msg, 0);
	else if (!strcmp(base, "recvmmsg"))
		n = recvmmsg(sv[0], &mmsg, 1, 0, NULL) == 1 ? (ssize_t)mmsg.msg_len : -1;
	else if (!strcmp(base, "sendto"))
		n = sendto(sv[0], buf, 9, 0, NULL, 0);
	else if (!strcmp(base, "sendmsg"))
		n = sendmsg(sv[0], &msg, 0);
	else if (!strcmp(base, "sendmmsg"))
		n = sendmmsg(sv[0], &mmsg, 1, 0) == 1 ? (ssize_t)mmsg.msg_len : -1;
	else if (!strcmp(base, "readv"))
		n = readv(sv[0], &iov, 1);
	else if (!strcmp(base, "writev"))
		n = writev(sv[0], &iov, 1);
	else
		CHECK(!"unknown call");
	if (timed) {
		double waited = now_ms() - start;
		if (n >= 0 || errno != EAGAIN)
			fail(call);
		report_ms("waited", waited);
	} else {
		if (n < 0)
			fail(call);
		CHECK(n == 9);
		if (receiving)
			CHECK(!memcmp(buf, "late data", 9));
	}
	storm_stop();
	CHECK(legacy_signals > 10);
	if (child > 0) {
		int status;
		close(sv[0]);
		CHECK(waitpid(child, &status, 0) == child);
	}
	return 0;
}
