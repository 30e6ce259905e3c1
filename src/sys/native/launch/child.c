/* The clone children: the outer one joins cgroups and namespaces; the final one (the same process,
 * or a CLONE_PARENT grandchild when joining a pid namespace) runs every other step and execs. */
#include "paths.h"
#include "setup.h"

static int apply_sysctls(struct plan *p, struct result *res) {
  char path[PATH_BUF];
  u32 i;
  for (i = 0; i < p->nsysctls; i++) {
    u64 at = 0;
    STEP(ST_SYSCTL, (int)i);
    CHECK(append(path, &at, "/proc/sys/"));
    CHECK(append(path, &at, p->sysctls[i].a));
    CHECK(write_file(path, p->sysctls[i].b, slen(p->sysctls[i].b)));
  }
  return 0;
}

/* Everything after the namespaces, in the process that becomes the container's process. */
static int final_child(void *arg) {
  struct ctx *c = (struct ctx *)arg;
  struct plan *p = c->p;
  struct result *res = c->res;
  long oom_fd = -1, gate_fd = -1, r;
  u32 i;
  S1(NR_umask, 0); /* device and directory modes exactly as planned; the plan's umask comes later */
  if (setup_stdio(p, res) < 0) goto fail;
  if (p->bits & B_OOM) {
    /* Opened now, while /proc is still one in which this process is visible. */
    STEP(ST_OOM_SCORE_ADJ, 0);
    oom_fd = S3(NR_open, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC, 0);
    if (oom_fd < 0) { res->err = (int)-oom_fd; goto fail; }
  }
  if (p->rootfs) {
    if (setup_rootfs(p, res) < 0) goto fail;
  }
  /* Sysctls before the masked and read-only paths: /proc/sys is normally one of the latter. */
  if (apply_sysctls(p, res) < 0) goto fail;
  if (p->rootfs && mask_and_protect(p, res) < 0) goto fail;
  if (p->rootfs && (p->bits & B_ROOT_RO)) {
    STEP(ST_ROOT_READONLY, 0);
    r = S5(NR_mount, 0, "/", 0, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), 0);
    if (r < 0) { res->err = (int)-r; goto fail; }
  }
  if (p->hostname) {
    STEP(ST_HOSTNAME, 0);
    r = S2(NR_sethostname, p->hostname, slen(p->hostname));
    if (r < 0) { res->err = (int)-r; goto fail; }
  }
  for (i = 0; i < p->nrlimits; i++) {
    u64 lim[2];
    lim[0] = p->rlimits[i].soft; lim[1] = p->rlimits[i].hard;
    STEP(ST_RLIMIT, (int)i);
    r = S4(NR_prlimit64, 0, p->rlimits[i].resource, lim, 0);
    if (r < 0) { res->err = (int)-r; goto fail; }
  }
  if (oom_fd >= 0) {
    char num[16], t[12];
    int n = 0, k = 0;
    long v = p->oom;
    STEP(ST_OOM_SCORE_ADJ, 0);
    if (v < 0) { num[n++] = '-'; v = -v; }
    do { t[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < 11);
    while (k) num[n++] = t[--k];
    r = S3(NR_write, oom_fd, num, n);
    S1(NR_close, oom_fd);
    if (r < 0) { res->err = (int)-r; goto fail; }
  }
  S1(NR_umask, p->umask);
  STEP(ST_CWD, 0);
  r = S1(NR_chdir, p->cwd);
  if (r < 0) { res->err = (int)-r; goto fail; }
  if (set_identity(p, res) < 0) goto fail;
  if (fd_hygiene(p, res, &gate_fd) < 0) goto fail;
  if (p->mode == 0 && check_exe(p, res) < 0) goto fail;
  /* With no_new_privs the filter comes last (identity.c loads it earlier otherwise). In create
   * mode the gate's few calls (prctl, write, read, close, fcntl, execve) then run under it too. */
  if ((p->bits & B_NNP) && load_seccomp(p, res) < 0) goto fail;
  if (p->mode == 0) {
    STEP(ST_GATE_EXEC, 0);
    r = S5(NR_execveat, gate_fd, "", p->gate_argv, p->env, AT_EMPTY_PATH);
  } else {
    STEP(ST_EXEC, 0);
    r = S3(NR_execve, p->exe, p->argv, p->env);
  }
  res->err = (int)-r;
fail:
  sys_exit(127);
  return 0;
}

/* The vfork child: cgroups and namespaces, then either the rest itself or, when joining a pid
 * namespace (which only applies to children), one more vfork with CLONE_PARENT so that the
 * container process lands in it and is still the agent's child. Its exit signal must be SIGCHLD
 * (CLONE_PARENT would otherwise copy ours). */
int outer_child(void *arg) {
  struct ctx *c = (struct ctx *)arg;
  struct result *res = c->res;
  long pid;
  if (reset_signals(res) < 0 || join_cgroups(c->p, res) < 0 || join_namespaces(c->p, res) < 0) sys_exit(127);
  if (!c->join_pid) return final_child(arg);
  STEP(ST_PIDNS_CLONE, 0);
  pid = clone(final_child, c->inner_stack_top, CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD, arg);
  if (pid < 0) { res->err = *__errno_location(); sys_exit(127); }
  res->pid = (int)pid;
  sys_exit(0);
  return 0;
}
