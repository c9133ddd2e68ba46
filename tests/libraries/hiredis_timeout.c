/* hiredis with a 1 s socket timeout (SO_RCVTIMEO) against a server that
 * never answers, under a 1 ms SIGALRM storm that stops after 3 s. hiredis
 * retries a read that failed with EINTR with the whole timeout: bare, the
 * command fails only once the storm is over (about 4 s); under the shim
 * it must fail on time. Prints timeout_ms; exit 0 when the command failed
 * with a timeout. */
#include "legacy.h"
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>

int main(void)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof addr;
	struct timeval timeout = { 1, 0 };
	redisContext *c;
	redisReply *reply;
	double start;
	int listener = socket(AF_INET, SOCK_STREAM, 0);

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4) ||
	    getsockname(listener, (struct sockaddr *)&addr, &len)) {
		perror("listener");
		return 2;
	}
	/* The kernel completes the connection; nobody ever answers. */
	c = redisConnectWithTimeout("127.0.0.1", ntohs(addr.sin_port), timeout);
	if (!c || c->err || redisSetTimeout(c, timeout) != REDIS_OK) {
		fprintf(stderr, "connect: %s\n", c ? c->errstr : "no context");
		return 2;
	}
	start = now_ms();
	storm_start_for(1000, 3000);
	reply = redisCommand(c, "PING");
	report_ms("timeout", now_ms() - start);
	if (reply) {
		fprintf(stderr, "a reply from a server that never answers\n");
		return 2;
	}
	fprintf(stderr, "PING: %s (%d signals)\n", c->errstr, (int)legacy_signals);
	return c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == ETIMEDOUT) ? 0 : 2;
}
