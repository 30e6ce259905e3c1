/* libuevent: the kernel's uevents for the Bun agent, without losing any.
 *
 * Why a thread: a Bun stream on a datagram netlink socket merges or drops datagrams under bursts
 * (docs/DESIGN.md, "uevents"), while a pipe read with Bun.file(fd).stream() is reliable. So one
 * thread blocks in poll() on the NETLINK_KOBJECT_UEVENT socket (multicast group 1) and copies each
 * datagram that comes from the kernel into a pipe as a frame: u32 length (little-endian) + bytes.
 * A frame of length 0 means the socket overflowed (ENOBUFS): events were lost before we read them.
 * At idle the thread sleeps in poll(): no timer, no CPU.
 *
 * ku_start(out_fd, stop_fd, rcvbuf) opens and binds the socket and starts the thread, which then
 * owns out_fd (the pipe's write end) and stop_fd (the read end of a pipe whose write end the agent
 * closes to stop it); it closes both and the socket when it ends. Returns 0 or -errno.
 * All signals are blocked in the thread: the agent's handlers (SIGCHLD) run on Bun's threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent-thread.h"

#define KU_VERSION 1
#define GROUP_KERNEL 1
/* The kernel's uevent buffer is 2 KiB of environment plus "action@devpath"; leave room. */
#define MAX_EVENT 16384

#define KU_EXPORT __attribute__((visibility("default")))

KU_EXPORT int ku_version(void) { return KU_VERSION; }

struct reader {
  int sock, out, stop;
  unsigned char frame[4 + MAX_EVENT];
};

/* One frame: length header and payload in one write when they fit in the pipe. */
static int put_frame(int fd, unsigned char *frame, size_t len) {
  frame[0] = (unsigned char)len;
  frame[1] = (unsigned char)(len >> 8);
  frame[2] = (unsigned char)(len >> 16);
  frame[3] = (unsigned char)(len >> 24);
  return write_all(fd, frame, len + 4);
}

/* Reads every datagram that is queued; returns -1 when the agent is gone (EPIPE) or the socket broke. */
static int drain(struct reader *r, unsigned char *frame) {
  for (;;) {
    struct sockaddr_nl from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(r->sock, frame + 4, MAX_EVENT, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == ENOBUFS) {
        if (put_frame(r->out, frame, 0) < 0) return -1;
        continue;
      }
      return -1;
    }
    if (n > MAX_EVENT) continue; /* truncated: not a uevent we could parse */
    if (from.nl_pid != 0) continue; /* not from the kernel (udevd re-broadcasts use group 2 anyway) */
    if (put_frame(r->out, frame, (size_t)n) < 0) return -1;
  }
}

static void *run(void *arg) {
  struct reader *r = arg;
  unsigned char *frame = r->frame;
  pthread_setname_np(pthread_self(), "kata-uevent"); /* visible in /proc/PID/task/TID/comm */
  for (;;) {
    struct pollfd p[2] = {{.fd = r->sock, .events = POLLIN}, {.fd = r->stop, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break; /* the agent closed the stop pipe */
    if (p[0].revents & (POLLERR | POLLNVAL)) {
      /* POLLERR on a netlink socket is the overflow: recvfrom reports ENOBUFS. */
      if (drain(r, frame) < 0) break;
      continue;
    }
    if ((p[0].revents & POLLIN) && drain(r, frame) < 0) break;
  }
  close(r->sock);
  close(r->out);
  close(r->stop);
  free(r);
  return 0;
}

KU_EXPORT int ku_start(int out_fd, int stop_fd, int rcvbuf) {
  int sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (sock < 0) return -errno;
  /* A big receive buffer absorbs bursts (a disk with many partitions, a CPU/memory hot-add)
   * while the pipe is full; FORCE needs CAP_NET_ADMIN, plain SO_RCVBUF is capped by rmem_max. */
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    (void)setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = GROUP_KERNEL;
  if (bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int e = errno;
    close(sock);
    return -e;
  }
  struct reader *r = malloc(sizeof *r);
  if (!r) {
    close(sock);
    return -ENOMEM;
  }
  r->sock = sock;
  r->out = out_fd;
  r->stop = stop_fd;
  int rc = start_helper_thread(run, r);
  if (rc != 0) {
    free(r);
    close(sock);
    return -rc;
  }
  return 0;
}
