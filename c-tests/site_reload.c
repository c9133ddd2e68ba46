/* A daemon that handles EINTR around read(2): a SIGHUP (sent by a child
 * after 300 ms) makes it "reload" at once, while its input stays idle
 * until 1.5 s. Bare, read fails with EINTR, the loop sees it and reloads;
 * the shim must let that EINTR through. Prints reload_ms (since the
 * signal) and exits 0 if the reload came before the data. */
#include "legacy.h"

static volatile sig_atomic_t hangup;

static void on_hup(int sig)
{
	(void)sig;
	hangup = 1;
}

int main(void)
{
	int p[2];
	char buf[64];
	ssize_t n;
	volatile double *sent_at;
	double reloaded = 0;

	legacy_handle(SIGHUP, on_hup);
	late_signal(p, SIGHUP, 300, 1200, "data", &sent_at);
	for (;;) {
		n = read(p[0], buf, sizeof buf);
		if (n >= 0)
			break;
		if (errno != EINTR)
			fail("read");
		if (hangup) {
			hangup = 0;
			reloaded = now_ms();
		}
	}
	CHECK(n == 4 && memcmp(buf, "data", 4) == 0);
	CHECK(reloaded > 0);
	report_ms("reload", reloaded - *sent_at);
	return 0;
}
