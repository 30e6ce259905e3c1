/* libreadiness: one thread that tells the Bun agent which fds became readable.
 *
 * Why: a container's stdout and stderr were each read by a Bun stream (Bun.file(fd).stream()),
 * which keeps a pending read with its own buffers for as long as the container runs: ~9 KiB of
 * the agent's memory per stream, two per container and per exec'd process, idle or not. Here one
 * epoll set holds every output fd (EPOLLIN | EPOLLONESHOT) and one thread waits on it; for each
 * ready fd it writes the fd's 31-bit token (u32 little-endian, the top bit set when the fd hung up
 * or failed: EPOLLHUP/EPOLLERR) into a pipe that one Bun stream reads.
 * The agent then read(2)s the fd itself and re-arms it when it wants more. One-shot means each
 * armed fd produces at most one token, so the pipe holds at most 4 bytes per watched fd.
 *
 * rd_start(out_fd, stop_fd) makes the epoll set and starts the thread; it returns the epoll fd
 * (for rd_ctl) or -errno. The thread owns out_fd (the pipe's write end) and stop_fd (the read end
 * of a pipe whose write end the agent closes to stop it); it closes both and the epoll fd when it
 * ends. rd_ctl(epfd, op, fd, token) adds (1), deletes (2) or re-arms (3) a watch; 0 or -errno.
 * All signals are blocked in the thread: the agent's handlers (SIGCHLD) run on Bun's threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent-thread.h"

#define RD_VERSION 1
#define MAX_EVENTS 64
/* The stop pipe's token: never handed out by the agent (tokens start at 1). */
#define STOP_TOKEN 0
#define HANGUP_BIT 0x80000000u

#define RD_EXPORT __attribute__((visibility("default")))

RD_EXPORT int rd_version(void) { return RD_VERSION; }

struct poller {
  int ep, out, stop;
};

static void *run(void *arg) {
  struct poller *p = arg;
  pthread_setname_np(pthread_self(), "kata-readiness"); /* visible in /proc/PID/task/TID/comm */
  struct epoll_event ev[MAX_EVENTS];
  unsigned char tokens[MAX_EVENTS * 4];
  for (;;) {
    int n = epoll_wait(p->ep, ev, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    size_t len = 0;
    int stop = 0;
    for (int i = 0; i < n; i++) {
      uint32_t t = (uint32_t)ev[i].data.u64;
      if (t == STOP_TOKEN) {
        stop = 1;
        continue;
      }
      if (ev[i].events & (EPOLLHUP | EPOLLERR)) t |= HANGUP_BIT;
      tokens[len++] = (unsigned char)t;
      tokens[len++] = (unsigned char)(t >> 8);
      tokens[len++] = (unsigned char)(t >> 16);
      tokens[len++] = (unsigned char)(t >> 24);
    }
    /* One write for the batch; it blocks while the agent is busy (the pipe is bounded by the
     * number of watched fds). EPIPE: the agent closed its end, so nobody listens any more. */
    if (len > 0 && write_all(p->out, tokens, len) < 0) break;
    if (stop) break;
  }
  close(p->out);
  close(p->stop);
  close(p->ep);
  free(p);
  return NULL;
}

RD_EXPORT int rd_start(int out_fd, int stop_fd) {
  struct poller *p = malloc(sizeof *p);
  if (!p) return -ENOMEM;
  p->out = out_fd;
  p->stop = stop_fd;
  p->ep = epoll_create1(EPOLL_CLOEXEC);
  if (p->ep < 0) {
    int e = errno;
    free(p);
    return -e;
  }
  struct epoll_event ev = { .events = EPOLLIN, .data = { .u64 = STOP_TOKEN } };
  if (epoll_ctl(p->ep, EPOLL_CTL_ADD, stop_fd, &ev) < 0) {
    int e = errno;
    close(p->ep);
    free(p);
    return -e;
  }
  int ep = p->ep;
  int rc = start_helper_thread(run, p);
  if (rc != 0) {
    close(p->ep);
    free(p);
    return -rc;
  }
  return ep;
}

RD_EXPORT int rd_ctl(int ep, int op, int fd, uint32_t token) {
  struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data = { .u64 = token } };
  if (epoll_ctl(ep, op, fd, &ev) < 0) return -errno;
  return 0;
}
