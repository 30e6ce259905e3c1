/* The parsed plan: pointers into the private copy of the buffer (format in plan.c). */
#ifndef KL_PLAN_H
#define KL_PLAN_H

#include "sys.h"

struct ns { u32 flag; const char *path; long fd; };
struct rlim { u32 resource; u64 soft, hard; };
struct mnt { const char *source, *target, *fstype, *data; u64 flags, propagation, remount; u32 is_file; };
struct dev { const char *path; u32 mode, major, minor, uid, gid; };
struct pair { const char *a, *b; };

struct plan {
  u32 mode, bits, umask; u64 root_propagation; int oom; u32 uid, gid; u64 caps[5];
  int stdio[3], gate_fd, start_fd, status_fd;
  const char *rootfs, *hostname, *cwd, *exe, *rootfs_parent;
  u32 nns, ncg, ngroups, nrlimits, nmounts, ndevs, nsymlinks, nmasked, nreadonly, nsysctls, nargv, nenv;
  struct ns *ns; int *cg; u32 *groups; struct rlim *rlimits; struct mnt *mounts; struct dev *devs;
  struct pair *symlinks; const char **masked, **readonly; struct pair *sysctls;
  const char **argv, **env, **gate_argv;
  /* seccomp: classic BPF instructions (8 bytes each) compiled by src/seccomp/, and the flags
   * for seccomp(SECCOMP_SET_MODE_FILTER); nfilter 0 = no filter. */
  u32 seccomp_flags, nfilter; const u8 *filter;
  /* uid_map / gid_map text for a new user namespace (absent: none). */
  const char *uid_map, *gid_map;
};
#define B_ROOT_RO 1u
#define B_TERMINAL 2u
#define B_NNP 4u
#define B_CAPS 8u
#define B_OOM 16u


/* Bump allocator over the private region (parent side, before clone). */
struct arena { char *p, *end; };
void *alloc(struct arena *a, u64 n);

/* Fills p from buf (which must outlive p); 0 or -1 for any malformed or inconsistent buffer. */
int parse(struct plan *p, const u8 *buf, u64 len, struct arena *a);

#endif
