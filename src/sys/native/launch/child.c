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

/* Writes text to /proc/<pid>/<file> (uid_map, gid_map). */
static long write_proc(long pid, const char *file, const char *text) {
  char path[64], num[24];
  u64 at = 0;
  int k = 0;
  long fd, r;
  do { num[k++] = (char)('0' + pid % 10); pid /= 10; } while (pid && k < 23);
  append(path, &at, "/proc/");
  while (k) { char d[2] = { num[--k], 0 }; append(path, &at, d); }
  append(path, &at, "/");
  append(path, &at, file);
  fd = S3(NR_open, path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  r = S3(NR_write, fd, text, slen(text));
  S1(NR_close, fd);
  return r < 0 ? r : 0;
}

/* The inner child of a new user namespace: waits until the intermediate has written its maps
 * (until then it is nobody in its namespace), then does the rest as usual. */
static int userns_child(void *arg) {
  struct ctx *c = (struct ctx *)arg;
  while (!c->maps_ready) S0(NR_sched_yield);
  S1(NR_close, c->exec_pipe[0]);
  if (c->maps_ready < 0) sys_exit(127);
  /* Become the namespace's root: until now our ids (the agent's) are unmapped in it, and the
   * kernel refuses to create files owned by an unmapped id (EOVERFLOW). */
  {
    struct result *res = c->res;
    STEP(ST_USERNS, 3);
    if (S3(NR_setresgid, 0, 0, 0) < 0 || S3(NR_setresuid, 0, 0, 0) < 0) { res->err = E_INVAL; sys_exit(127); }
  }
  return final_child(arg);
}

/* The intermediate for a new user namespace (the vfork parent is suspended and cannot write the
 * maps, and the new namespace's own processes may not map other ids): clone the container
 * process into its namespaces, owned by the new user namespace, write uid_map and gid_map from
 * out here, release it, and stay until it has exec'd (EOF on a close-on-exec pipe) so that the
 * memory it shares with the agent stays valid. The child's exit signal is SIGCHLD to the agent
 * (CLONE_PARENT). */
static int userns_parent(struct ctx *c) {
  struct result *res = c->res;
  long pid, r;
  char b;
  STEP(ST_USERNS, 0);
  r = S2(NR_pipe2, c->exec_pipe, O_CLOEXEC);
  if (r < 0) { res->err = (int)-r; sys_exit(127); }
  c->maps_ready = 0;
  pid = clone(userns_child, c->inner_stack_top, (int)(CLONE_VM | CLONE_PARENT | SIGCHLD | c->user_flags), c);
  if (pid < 0) { res->err = *__errno_location(); sys_exit(127); }
  res->pid = (int)pid;
  S1(NR_close, c->exec_pipe[1]);
  STEP(ST_USERNS, 1);
  r = write_proc(pid, "uid_map", c->p->uid_map);
  if (r >= 0) { STEP(ST_USERNS, 2); r = write_proc(pid, "gid_map", c->p->gid_map); }
  if (r >= 0 && (c->p->bits & B_OOM)) {
    /* Lowering oom_score_adj is checked against the writer's capabilities in the initial user
     * namespace, which the child no longer has: write it from here (as runc's parent does). */
    char num[16], t[12];
    int n = 0, k = 0;
    long v = c->p->oom;
    STEP(ST_OOM_SCORE_ADJ, 0);
    if (v < 0) { num[n++] = '-'; v = -v; }
    do { t[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < 11);
    while (k) num[n++] = t[--k];
    num[n] = 0;
    r = write_proc(pid, "oom_score_adj", num);
    c->p->bits &= ~B_OOM;
  }
  if (r < 0) {
    res->err = (int)-r;
    c->maps_ready = -1;
  } else {
    c->maps_ready = 1;
  }
  do r = S3(NR_read, c->exec_pipe[0], &b, 1); while (r == -4 /* EINTR */ || r > 0);
  sys_exit(0);
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
  if (c->user_flags) return userns_parent(c);
  if (!c->join_pid) return final_child(arg);
  STEP(ST_PIDNS_CLONE, 0);
  pid = clone(final_child, c->inner_stack_top, CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD, arg);
  if (pid < 0) { res->err = *__errno_location(); sys_exit(127); }
  res->pid = (int)pid;
  sys_exit(0);
  return 0;
}
