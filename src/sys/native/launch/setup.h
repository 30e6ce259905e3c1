/* The set-up steps the child runs, in this order (child.c strings them together). Each returns 0,
 * or -1 with res->step/index/err describing the failure. Raw syscalls only. */
#ifndef KL_SETUP_H
#define KL_SETUP_H

#include "plan.h"
#include "steps.h"

/* Shared with the clone children: what they run and where they report. */
struct ctx {
  struct plan *p;
  struct result *res;
  char *inner_stack_top;  /* for the CLONE_PARENT child when joining a pid namespace */
  int join_pid;
  /* A new user namespace: the CLONE_NEW* flags the inner child is created with (the intermediate
   * writes its maps from outside, which the vfork parent could not), and the handshake. */
  long user_flags;
  volatile int maps_ready;
  int exec_pipe[2];
};

/* process.c: the process itself (signals, cgroups, namespaces, stdio and session) */
int reset_signals(struct result *res);
int join_cgroups(struct plan *p, struct result *res);
int join_namespaces(struct plan *p, struct result *res);
int setup_stdio(struct plan *p, struct result *res);

/* rootfs.c: mounts, devices and symlinks under the rootfs, pivot_root; then (after the sysctls,
 * as runc and Kata order them) masked and read-only paths */
int setup_rootfs(struct plan *p, struct result *res);
int mask_and_protect(struct plan *p, struct result *res);

/* identity.c: groups, ids, capabilities, no_new_privs, descriptors, the executable check */
int set_identity(struct plan *p, struct result *res);
int fd_hygiene(struct plan *p, struct result *res, long *gate_fd);
int check_exe(struct plan *p, struct result *res);
/* The seccomp filter of the plan (none: nothing to do). */
int load_seccomp(struct plan *p, struct result *res);

/* child.c: the clone entry points */
int outer_child(void *arg);

#endif
