/* libcurl fetching 4 MiB from a local HTTP server (a child process) and
 * writing the body with its default callback (fwrite) into a pipe that
 * another child drains slowly, under a 1 ms SIGALRM storm. Bare, fwrite's
 * write fails with EINTR, stdio drops its buffer and libcurl stops with a
 * write error; under the shim every byte arrives. Exit 0: the reader got
 * all 4 MiB; 1: libcurl reported a write error; 2: anything else. */
#include "legacy.h"
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/wait.h>

#define BODY (4 << 20)

/* Serves one request: a fixed 4 MiB body. */
static void serve(int listener)
{
	static char chunk[65536];
	char request[4096];
	int fd = accept(listener, NULL, NULL);
	size_t sent = 0;
	if (fd < 0 || read(fd, request, sizeof request) <= 0)
		_exit(3);
	dprintf(fd, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n", BODY);
	memset(chunk, 'x', sizeof chunk);
	while (sent < BODY) {
		ssize_t n = write(fd, chunk, sizeof chunk);
		if (n <= 0)
			_exit(3);
		sent += (size_t)n;
	}
	close(fd);
	_exit(0);
}

/* Drains the pipe slowly, 64 KiB every 5 ms; exits 0 with all the body. */
static void drain(int fd)
{
	static char buf[65536];
	struct timespec pause = { 0, 5000000L };
	size_t total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		total += (size_t)n;
		nanosleep(&pause, NULL);
	}
	_exit(total == BODY ? 0 : 4);
}

int main(void)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof addr;
	char url[64];
	int p[2], status;
	pid_t server, reader;
	CURL *curl;
	CURLcode rc;
	FILE *out;
	int listener = socket(AF_INET, SOCK_STREAM, 0);

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4) ||
	    getsockname(listener, (struct sockaddr *)&addr, &len) || pipe(p)) {
		perror("setup");
		return 2;
	}
	server = fork();
	if (server == 0)
		serve(listener);
	close(listener);
	reader = fork();
	if (reader == 0) {
		close(p[1]);
		drain(p[0]);
	}
	close(p[0]);
	out = fdopen(p[1], "w");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/body", ntohs(addr.sin_port));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	storm_start(1000);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK && fflush(out) != 0)
		rc = CURLE_WRITE_ERROR;
	storm_stop();
	fclose(out);
	curl_easy_cleanup(curl);
	waitpid(server, NULL, 0);
	while (waitpid(reader, &status, 0) < 0 && errno == EINTR)
		;
	if (rc != CURLE_OK) {
		fprintf(stderr, "curl: %s (%d signals)\n", curl_easy_strerror(rc), (int)legacy_signals);
		return rc == CURLE_WRITE_ERROR ? 1 : 2;
	}
	printf("4 MiB through a slow pipe after %d signals\n", (int)legacy_signals);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && legacy_signals > 10 ? 0 : 2;
}
