/*
 * A minimal static ttRPC client for the guest: polls vsock://CID:PORT until the agent accepts,
 * sends one grpc.Health/Check request and reads the answer. It starts in about a millisecond, so
 * "QEMU start -> this answer" measures the agent, not a client's start-up (kata-agent-ctl is a
 * Bun program: under TCG it takes seconds to start).
 *
 *   check-client [TIMEOUT_MS [CID [PORT]]]     defaults 60000, 1 (vsock loopback), 1024
 *   check-client TIMEOUT_MS unix:PATH           the same over a unix socket (host tests)
 *
 * Prints one line, "SERVING attempts=N uptime=S" (exit 0) or "ERROR <why>" (exit 1).
 * Build: cc -Os -static -o check-client check-client.c
 *
 * The frame, from the ttRPC wire format: a 10-byte header (payload length u32 BE, stream id
 * u32 BE, type u8: 1 request / 2 response, flags u8), then a protobuf ttrpc.Request
 * {1: service, 2: method, 3: payload}; Check's request (grpc.CheckRequest) is empty. The answer
 * is a ttrpc.Response {1: status (google.rpc.Status), 2: payload (grpc.HealthCheckResponse
 * {1: status, SERVING = 1})}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static const unsigned char REQUEST[] = {
	0x0a, 11, 'g', 'r', 'p', 'c', '.', 'H', 'e', 'a', 'l', 't', 'h', /* 1: service */
	0x12, 5, 'C', 'h', 'e', 'c', 'k',                                /* 2: method */
	0x1a, 0,                                                          /* 3: payload (empty CheckRequest) */
};

static double now_ms(clockid_t clock) {
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int read_full(int fd, unsigned char *buf, size_t len) {
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Reads a protobuf varint at *p (bounded by end); returns -1 on a malformed one. */
static long long varint(const unsigned char **p, const unsigned char *end) {
	unsigned long long v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char b = *(*p)++;
		v |= (unsigned long long)(b & 0x7f) << shift;
		if (!(b & 0x80)) return (long long)v;
	}
	return -1;
}

/* The value of varint field `field` in message [p, end), or -1 when absent (0 is proto3's default). */
static long long find_varint(const unsigned char *p, const unsigned char *end, int field, const unsigned char **sub, size_t *sublen, int subfield) {
	long long found = -1;
	while (p < end) {
		long long key = varint(&p, end);
		if (key < 0) return -2;
		int f = (int)(key >> 3), type = (int)(key & 7);
		if (type == 0) {
			long long v = varint(&p, end);
			if (v < 0) return -2;
			if (f == field) found = v;
		} else if (type == 2) {
			long long len = varint(&p, end);
			if (len < 0 || len > end - p) return -2;
			if (sub && f == subfield) { *sub = p; *sublen = (size_t)len; }
			p += len;
		} else {
			return -2; /* no fixed-width fields in these messages */
		}
	}
	return found;
}

int main(int argc, char **argv) {
	long timeout_ms = argc > 1 ? atol(argv[1]) : 60000;
	const char *unix_path = argc > 2 && strncmp(argv[2], "unix:", 5) == 0 ? argv[2] + 5 : NULL;
	unsigned cid = argc > 2 && !unix_path ? (unsigned)atol(argv[2]) : 1;
	unsigned port = argc > 3 ? (unsigned)atol(argv[3]) : 1024;
	double start = now_ms(CLOCK_MONOTONIC);
	int attempts = 0, fd = -1;
	for (;;) {
		attempts++;
		fd = socket(unix_path ? AF_UNIX : AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) { printf("ERROR socket: %s\n", strerror(errno)); return 1; }
		struct sockaddr_vm vm = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
		struct sockaddr_un un = { .sun_family = AF_UNIX };
		if (unix_path) strncpy(un.sun_path, unix_path, sizeof un.sun_path - 1);
		int rc = unix_path ? connect(fd, (struct sockaddr *)&un, sizeof un) : connect(fd, (struct sockaddr *)&vm, sizeof vm);
		if (rc == 0) break;
		int err = errno;
		close(fd);
		if (now_ms(CLOCK_MONOTONIC) - start > timeout_ms) {
			if (unix_path) { printf("ERROR no answer on unix:%s within %ld ms: %s\n", unix_path, timeout_ms, strerror(err)); return 1; }
			printf("ERROR no answer on vsock://%u:%u within %ld ms (%d attempts, last: %s)\n", cid, port, timeout_ms, attempts, strerror(err));
			return 1;
		}
		struct timespec pause = { 0, 5 * 1000 * 1000 }; /* 5 ms between attempts */
		nanosleep(&pause, NULL);
	}
	unsigned char frame[10 + sizeof REQUEST] = { 0, 0, 0, sizeof REQUEST, 0, 0, 0, 1 /* stream 1 */, 1 /* request */, 0 };
	memcpy(frame + 10, REQUEST, sizeof REQUEST);
	if (write(fd, frame, sizeof frame) != (ssize_t)sizeof frame) { printf("ERROR write: %s\n", strerror(errno)); return 1; }
	unsigned char head[10];
	if (read_full(fd, head, sizeof head) < 0) { printf("ERROR connection closed before the answer's header\n"); return 1; }
	unsigned len = (unsigned)head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3];
	unsigned stream = (unsigned)head[4] << 24 | head[5] << 16 | head[6] << 8 | head[7];
	if (head[8] != 2 || stream != 1 || len > 65536) { printf("ERROR unexpected frame: type %u stream %u length %u\n", head[8], stream, len); return 1; }
	unsigned char *body = malloc(len ? len : 1);
	if (!body || read_full(fd, body, len) < 0) { printf("ERROR short answer (%u bytes announced)\n", len); return 1; }
	const unsigned char *status = NULL, *payload = NULL;
	size_t status_len = 0, payload_len = 0;
	if (find_varint(body, body + len, 0, &status, &status_len, 1) == -2 ||
	    find_varint(body, body + len, 0, &payload, &payload_len, 2) == -2) {
		printf("ERROR malformed ttrpc.Response\n");
		return 1;
	}
	long long code = status ? find_varint(status, status + status_len, 1, NULL, NULL, 0) : -1;
	if (code > 0) { printf("ERROR status code %lld\n", code); return 1; }
	long long serving = payload ? find_varint(payload, payload + payload_len, 1, NULL, NULL, 0) : -1;
	if (serving != 1) { printf("ERROR health status %lld, not SERVING (1)\n", serving); return 1; }
	printf("SERVING attempts=%d uptime=%.3f\n", attempts, now_ms(CLOCK_BOOTTIME) / 1e3);
	return 0;
}
