/* A legacy reader (read or die) with a SIGHUP handler: a child sends
 * SIGHUP after 300 ms and writes after 600 ms. Bare, read fails with
 * EINTR and the program dies; under the shim the read is retried, since
 * nothing after the call looks at EINTR. */
#include "legacy.h"

int main(void)
{
	int p[2];
	char buf[64];
	ssize_t n;
	volatile double *sent_at;

	legacy_handle(SIGHUP, legacy_count_signal);
	late_signal(p, SIGHUP, 300, 300, "data", &sent_at);
	n = read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	CHECK(n == 4 && memcmp(buf, "data", 4) == 0);
	CHECK(legacy_signals == 1);
	return 0;
}
