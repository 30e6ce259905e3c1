/* liblaunch: creates container processes for the Bun agent (which cannot fork: a child created
 * from JavaScript returns into the JIT's memory, which is not mapped in it). No system #include and
 * no libc in the child: only raw syscalls (arch/<arch>.h). The only libc symbols used are clone()
 * and __errno_location(), both on the parent side or right around clone().
 *
 * kl_launch(buf, len, out) takes ONE flat buffer, the serialised LaunchPlan (format in plan.c,
 * written by src/sys/launch-encode.ts), parses it into a private region (stack(s) + arena) and then
 *   clone(CLONE_VM|CLONE_VFORK|CLONE_NEW*) on the private stack, all signals blocked;
 * the child carries the plan out step by step and execs either the gate (create mode: the gate
 * blocks until StartContainer) or the workload (spawn mode). The agent is suspended until then:
 * CLONE_VFORK guarantees the child never outlives the shared address space.
 *
 * Progress and failure travel through shared memory (struct result): before each step the child
 * records {step, index}; a failing syscall adds errno. After the vfork returns, "step == final exec
 * and errno == 0" means the exec happened; anything else is a failure (errno 0 = the child died
 * inside that step). The parent reaps failed children itself, so the agent's reaper never sees them.
 *
 * The files: arch/<arch>.h (syscall instruction and numbers), sys.h (shared types and flags),
 * plan.c (the buffer format and its parser), paths.c (path-safe helpers), process.c, rootfs.c and
 * identity.c (the set-up steps), child.c (the clone children) and this entry. */

#include "setup.h"

#define KL_VERSION 1

KL_EXPORT int kl_version(void) { return KL_VERSION; }

/* Our own pid namespace, opened once (the agent never leaves it). */
static long own_pidns = -1;

/* Opens the plan's pid namespace and makes it this thread's namespace for children; returns the
 * open fd (close it after the clone) or -1, with nothing changed, when any step fails. */
static long parent_join_pid(struct plan *p, u32 *index) {
  long fd;
  u32 i;
  if (own_pidns < 0) own_pidns = S3(NR_open, "/proc/thread-self/ns/pid", O_CLOEXEC, 0);
  if (own_pidns < 0) return -1;
  for (i = 0; i < p->nns; i++)
    if (p->ns[i].path && p->ns[i].flag == CLONE_NEWPID) break;
  if (i == p->nns) return -1;
  fd = S3(NR_open, p->ns[i].path, O_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (S2(NR_setns, fd, CLONE_NEWPID) < 0) { S1(NR_close, fd); return -1; }
  *index = i;
  return fd;
}

/* out: int[4] = {pid, step, index, errno}. Returns the pid, or -1 with out[1..3] describing the
 * failure (errno 0 = the child died inside that step). */
KL_EXPORT int kl_launch(const u8 *buf, u64 len, int *out) {
  u64 arena_len = ((3 * len + 65536) + PAGE - 1) & ~(PAGE - 1);
  u64 total = 2 * (PAGE + STACK_SIZE) + arena_len;
  char *base;
  struct arena a;
  struct plan *p;
  struct ctx *c;
  struct result *res;
  u8 *copy;
  u64 all = ~0ul, old = 0, k;
  long pid, dumpable, st = 0, flags = CLONE_VM | CLONE_VFORK | SIGCHLD, pidns = -1;
  u32 pidns_index = 0;
  int ok, e = 0, final_step;
  u32 i;
  out[0] = out[1] = out[2] = out[3] = 0;
  base = (char *)sc6(NR_mmap, 0, (long)total, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
  if ((u64)base > -4096ul) { out[1] = ST_CLONE; out[3] = (int)-(long)base; return -1; }
  /* [guard][inner stack][guard][outer stack][arena] */
  S3(NR_mprotect, base, PAGE, 0);
  S3(NR_mprotect, base + PAGE + STACK_SIZE, PAGE, 0);
  a.p = base + 2 * (PAGE + STACK_SIZE);
  a.end = base + total;
  p = (struct plan *)alloc(&a, sizeof *p);
  c = (struct ctx *)alloc(&a, sizeof *c);
  res = (struct result *)alloc(&a, sizeof *res);
  /* The child reads strings in place: give it a private copy, so nothing it uses lives in memory
   * that the JS engine owns (its GC threads keep running while we are suspended in the vfork). */
  copy = (u8 *)alloc(&a, len + 1);
  if (copy) for (k = 0; k < len; k++) copy[k] = buf[k];
  if (!p || !c || !res || !copy || parse(p, copy, len, &a) < 0) {
    S2(NR_munmap, base, total);
    out[1] = ST_PLAN; out[3] = E_INVAL;
    return -1;
  }
  res->pid = res->step = res->index = res->err = 0;
  c->p = p; c->res = res; c->join_pid = 0;
  c->inner_stack_top = base + PAGE + STACK_SIZE - 64;
  c->user_flags = 0;
  for (i = 0; i < p->nns; i++) {
    if (p->ns[i].path) { if (p->ns[i].flag == CLONE_NEWPID) c->join_pid = 1; }
    else if (p->ns[i].flag != CLONE_NEWCGROUP) flags |= p->ns[i].flag;
  }
  /* A new user namespace: every new namespace is made with it, by the intermediate's child
   * (child.c userns_parent), so that the user namespace owns them. */
  if (flags & CLONE_NEWUSER) {
    if (!p->uid_map || !p->gid_map) { S2(NR_munmap, base, total); out[1] = ST_PLAN; out[3] = E_INVAL; return -1; }
    c->user_flags = flags & ~(long)(CLONE_VM | CLONE_VFORK | SIGCHLD);
    flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  }
  /* Joining a pid namespace (an exec): switch OUR pid_ns_for_children to it around the clone, so
   * the child is born in it and execs itself, instead of an intermediate that setns()es and vforks
   * once more (one process creation, exit and wait less per exec). Only setns(CLONE_NEWPID) of
   * this thread changes, and only for the clone below; it is set back to our own (active) pid
   * namespace, which the kernel always allows. On any failure here the intermediate path runs and
   * reports the error as before. */
  if (c->join_pid && !c->user_flags) pidns = parent_join_pid(p, &pidns_index);
  final_step = p->mode == 0 ? ST_GATE_EXEC : ST_EXEC;
  dumpable = S5(NR_prctl, 3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0);

  /* Like posix_spawn: with every signal blocked, none of Bun's handlers can run in a child that
   * shares our memory before it has reset them. */
  S4(NR_rt_sigprocmask, 0 /* SIG_BLOCK */, &all, &old, 8);
  if (pidns >= 0) {
    c->join_pid = 0;
    p->ns[pidns_index].path = 0; /* joined: the child skips it */
  }
  pid = clone(outer_child, base + 2 * (PAGE + STACK_SIZE) - 64, (int)flags, c);
  if (pid < 0) e = *__errno_location();
  if (pidns >= 0) {
    /* Back to our own pid namespace for every later child (helpers, other containers). This
     * cannot fail for the caller's active namespace; if it ever did, carrying on would start
     * processes in a container's pid namespace, so stop here. */
    if (S2(NR_setns, own_pidns, CLONE_NEWPID) < 0) __builtin_trap();
    S1(NR_close, pidns);
  }
  S4(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &old, 0, 8);
  /* A uid change in the child went through our shared mm and cleared its dumpable flag; the child
   * has its own mm now (exec'd or gone), so restoring ours cannot leak into it. */
  if (dumpable >= 0 && S5(NR_prctl, 3, 0, 0, 0, 0) != dumpable) S5(NR_prctl, 4 /* PR_SET_DUMPABLE */, dumpable, 0, 0, 0);
  if (pid < 0) {
    S2(NR_munmap, base, total);
    out[1] = pidns >= 0 ? ST_PIDNS_CLONE : ST_CLONE; out[3] = e;
    return -1;
  }
  ok = res->step == final_step && res->err == 0;
  if (c->join_pid || c->user_flags) {
    S4(NR_wait4, pid, &st, 0x40000000 /* __WALL */, 0); /* the intermediate always exits */
    pid = res->pid;
    if (!ok && pid > 0) S4(NR_wait4, pid, &st, 0x40000000, 0);
  } else if (!ok) {
    S4(NR_wait4, pid, &st, 0x40000000, 0);
  }
  out[1] = res->step; out[2] = res->index; out[3] = res->err;
  S2(NR_munmap, base, total);
  if (!ok || pid <= 0) return -1;
  out[0] = (int)pid;
  return (int)pid;
}
