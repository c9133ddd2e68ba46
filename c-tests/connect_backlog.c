/* connect(2) on a blocking TCP socket to a listener whose queue is full
 * (listen(fd, 0) plus one connected, unaccepted client), under a 1 ms
 * SIGALRM storm. The kernel drops the SYN; a helper child accepts after
 * 300 ms and the retransmitted SYN (about 1 s) completes the connection.
 * Prints connect_ms=, then checks the connection carries data both ways. */
#include "net.h"

int main(void)
{
	struct sockaddr_in addr;
	int listener = tcp_listener(0, &addr);
	int queued = tcp_client(&addr), fd;
	double start, elapsed;
	pid_t child = fork_helper();

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
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	helper_start_and_storm();
	start = now_ms();
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
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
