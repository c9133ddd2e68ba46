/* connect(2) on an AF_UNIX stream socket to a listener whose queue is full
 * (listen(fd, 0) plus one connected, unaccepted client), under a 1 ms
 * SIGALRM storm. A helper child accepts after 300 ms, which lets the
 * connect through. Prints connect_ms=, then checks the connection carries
 * data both ways. */
#include "net.h"

int main(void)
{
	struct sockaddr_un addr;
	socklen_t len;
	int listener = unix_listener(0, &addr, &len);
	int queued = socket(AF_UNIX, SOCK_STREAM, 0), fd;
	double start, elapsed;
	pid_t child;

	if (queued < 0 || connect(queued, (struct sockaddr *)&addr, len) != 0)
		fail("connect (the queued client)");
	child = fork_helper();
	if (child == 0) {
		int first, second;
		quiet_sleep_ms(300);
		first = accept(listener, NULL, NULL);
		second = accept(listener, NULL, NULL);
		if (first < 0 || second < 0)
			_exit(3);
		expect(second, "ping");
		_exit(send(second, "pong", 4, 0) == 4 ? 0 : 3);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	helper_start_and_storm();
	start = now_ms();
	if (connect(fd, (struct sockaddr *)&addr, len) != 0)
		fail("connect");
	elapsed = now_ms() - start;
	storm_stop();
	report_ms("connect", elapsed);
	CHECK(send(fd, "ping", 4, 0) == 4);
	expect(fd, "pong");
	reap(child);
	close(queued);
	CHECK(legacy_signals > 10);
	return 0;
}
