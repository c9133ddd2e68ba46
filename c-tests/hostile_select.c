/* select and pselect given an fd_set pointer that cannot be read: Linux
 * fails with EFAULT and the program goes on. Also with a storm running, so
 * that the retry path is live. Exit 0 when every call failed with EFAULT. */
#include "legacy.h"
#include <sys/select.h>

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	fd_set *bad = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timeval tv;
	struct timespec ts = { 0, 10000000 };
	int i;

	CHECK(bad != MAP_FAILED);
	storm_start(1000);
	for (i = 0; i < 20; i++) {
		tv.tv_sec = 0;
		tv.tv_usec = 10000;
		errno = 0;
		CHECK(select(8, bad, NULL, NULL, &tv) == -1 && errno == EFAULT);
		errno = 0;
		CHECK(select(8, NULL, bad, NULL, &tv) == -1 && errno == EFAULT);
		errno = 0;
		CHECK(pselect(8, NULL, NULL, bad, &ts, NULL) == -1 && errno == EFAULT);
		errno = 0;
		CHECK(select(8, (fd_set *)1, NULL, NULL, &tv) == -1 && errno == EFAULT);
	}
	storm_stop();
	puts("hostile_select: EFAULT every time");
	return 0;
}
