/* Shared by the agent's native helper threads (uevent.c, readiness.c): each .so is built from
 * one .c file, so these are static inline. */
#ifndef KATA_AGENT_THREAD_H
#define KATA_AGENT_THREAD_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <unistd.h>

/* write(2) until every byte is out; EINTR is retried. 0, or -1 with errno set. */
static inline int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Starts fn(arg) in a detached thread with a 64 KiB stack and every signal blocked (the agent's
 * handlers, SIGCHLD among them, must run on Bun's threads). 0, or the pthread_create error. */
static inline int start_helper_thread(void *(*fn)(void *), void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old); /* the thread inherits the full mask */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t t;
  int rc = pthread_create(&t, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

#endif
