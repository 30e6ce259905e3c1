/* Set-up steps about the process itself: signal dispositions, cgroups, namespaces, stdio. */
#include "setup.h"

int reset_signals(struct result *res) {
  u64 ksa[4] = {0, 0, 0, 0}; /* kernel sigaction: SIG_DFL, no flags, no restorer, empty mask */
  u64 empty = 0;
  int i;
  STEP(ST_SIGNALS, 0);
  /* Bun's handlers and ignored signals (SIGPIPE, SIGXFSZ) must not reach the workload. The parent
   * blocked everything around clone, so no handler ran in this child before this point. */
  for (i = 1; i < 65; i++) if (i != 9 && i != 19) S4(NR_rt_sigaction, i, ksa, 0, 8);
  CHECK(S4(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &empty, 0, 8));
  return 0;
}

int join_cgroups(struct plan *p, struct result *res) {
  u32 i;
  for (i = 0; i < p->ncg; i++) {
    long r;
    STEP(ST_CGROUP, (int)i);
    r = S3(NR_write, p->cg[i], "0", 1);
    CHECK(r == 0 ? -5 /* EIO */ : r);
  }
  return 0;
}

/* Opens every namespace path first (they name host /proc entries, which joining the mount
 * namespace would hide), joins them in plan order with the mount namespace last, then creates the
 * cgroup namespace now that the cgroups are joined (so its root is the container's cgroup). */
int join_namespaces(struct plan *p, struct result *res) {
  u32 i, pass;
  for (i = 0; i < p->nns; i++) {
    if (!p->ns[i].path) continue;
    STEP(ST_SETNS, (int)i);
    p->ns[i].fd = S3(NR_open, p->ns[i].path, O_CLOEXEC, 0);
    CHECK(p->ns[i].fd);
  }
  /* Mount last but one (the others are reached through /proc), the user namespace last: joining
   * it gives up our capabilities over namespaces it does not own (an exec into a container with
   * its own user namespace). */
  for (pass = 0; pass < 3; pass++)
    for (i = 0; i < p->nns; i++) {
      u32 want = p->ns[i].flag == CLONE_NEWNS ? 1 : p->ns[i].flag == CLONE_NEWUSER ? 2 : 0;
      if (p->ns[i].fd < 0 || want != pass) continue;
      STEP(ST_SETNS, (int)i);
      CHECK(S2(NR_setns, p->ns[i].fd, p->ns[i].flag));
      S1(NR_close, p->ns[i].fd);
      p->ns[i].fd = -1;
    }
  for (i = 0; i < p->nns; i++)
    if (!p->ns[i].path && p->ns[i].flag == CLONE_NEWCGROUP) {
      STEP(ST_UNSHARE, (int)i);
      CHECK(S1(NR_unshare, CLONE_NEWCGROUP));
    }
  return 0;
}

int setup_stdio(struct plan *p, struct result *res) {
  long tmp[3];
  int i;
  for (i = 0; i < 3; i++) {
    STEP(ST_STDIO, i);
    tmp[i] = p->stdio[i];
    /* A source among 0-2 could be overwritten by an earlier dup2: move it out of the way first. */
    if (tmp[i] >= 0 && tmp[i] < 3 && tmp[i] != i) { tmp[i] = S3(NR_fcntl, tmp[i], F_DUPFD_CLOEXEC, 3); CHECK(tmp[i]); }
  }
  for (i = 0; i < 3; i++) {
    if (tmp[i] < 0) continue;
    STEP(ST_STDIO, i);
    if (tmp[i] == i) CHECK(S3(NR_fcntl, i, F_SETFD, 0));
    else CHECK(S2(NR_dup2, tmp[i], i));
  }
  STEP(ST_SETSID, 0);
  CHECK(S0(NR_setsid));
  if (p->bits & B_TERMINAL) { STEP(ST_CTTY, 0); CHECK(S3(NR_ioctl, 0, 0x540E /* TIOCSCTTY */, 0)); }
  return 0;
}
