/* The child's progress report: the step it is in and, on failure, the errno. */
#ifndef KL_STEPS_H
#define KL_STEPS_H

/* Steps, in the order the child runs them. Keep in sync with STEPS in src/sys/launch-error.ts
 * and STEP_EXEC in gate.c (test/unit/launcher-plan.test.ts checks the former). */
enum step {
  ST_NONE = 0, ST_PLAN = 1, ST_CLONE = 2, ST_SIGNALS = 3, ST_CGROUP = 4, ST_SETNS = 5, ST_UNSHARE = 6,
  ST_PIDNS_CLONE = 7, ST_STDIO = 8, ST_SETSID = 9, ST_CTTY = 10, ST_ROOT_PROPAGATION = 11,
  ST_ROOTFS_BIND = 12, ST_MOUNT_TARGET = 13, ST_MOUNT = 14, ST_MOUNT_PROPAGATION = 15,
  ST_MOUNT_REMOUNT = 16, ST_DEVICE = 17, ST_SYMLINK = 18, ST_PIVOT_ROOT = 19, ST_OLD_ROOT = 20,
  ST_MASK = 21, ST_READONLY = 22, ST_SYSCTL = 23, ST_ROOT_READONLY = 24, ST_HOSTNAME = 25,
  ST_RLIMIT = 26, ST_OOM_SCORE_ADJ = 27, ST_CWD = 28, ST_GROUPS = 29, ST_GID = 30, ST_UID = 31,
  ST_CAP_BOUNDING = 32, ST_CAPSET = 33, ST_CAP_AMBIENT = 34, ST_NO_NEW_PRIVS = 35, ST_FDS = 36,
  ST_EXEC = 37, ST_GATE_EXEC = 38, ST_SECCOMP = 39,
  ST_USERNS = 40
};

/* Shared between parent and child (CLONE_VM). */
struct result { volatile int pid, step, index, err; };

/* In a step function with `struct result *res` in scope: record the step, or fail it with -errno. */
#define STEP(s, i) (res->step = (s), res->index = (i))
#define CHECK(expr) do { long r_ = (long)(expr); if (r_ < 0) { res->err = (int)-r_; return -1; } } while (0)

#endif
