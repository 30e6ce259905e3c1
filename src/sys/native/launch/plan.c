/* The plan parser (parent side, before clone): reads the flat buffer that
 * src/sys/launch-encode.ts writes, bounds-checking every read, into a struct plan in the arena.
 *
 * Buffer format (little-endian; str = u32 length (0xffffffff = absent) + bytes + NUL):
 *   u32 magic 0x4b4c5031 ("KLP1"), u32 mode (0 create, 1 spawn), u32 bits (1 rootReadonly,
 *   2 terminal, 4 noNewPrivs, 8 caps present, 16 oomScoreAdj present), u32 umask, u64 rootPropagation,
 *   i32 oomScoreAdj, u32 uid, u32 gid, u64 caps[5] (bounding effective permitted inheritable ambient),
 *   i32 stdio[3], i32 gateFd, i32 startFd, i32 statusFd,
 *   str rootfs, str hostname, str cwd, str exe, str rootfsParent (shared mount to make private),
 *   u32 n + n x {u32 cloneFlag, str path}                  namespaces
 *   u32 n + n x i32                                        cgroup.procs fds
 *   u32 n + n x u32                                        additional gids
 *   u32 n + n x {u32 resource, u64 soft, u64 hard}         rlimits
 *   u32 n + n x {str source, str target, str fstype, str data, u64 flags, u64 propagation,
 *                u64 remountFlags, u32 targetIsFile}       mounts
 *   u32 n + n x {str path, u32 mode (with S_IF* type), u32 major, u32 minor, u32 uid, u32 gid}
 *   u32 n + n x {str target, str linkPath}                 symlinks
 *   u32 n + n x str                                        masked paths
 *   u32 n + n x str                                        readonly paths
 *   u32 n + n x {str pathUnderProcSys, str value}          sysctls
 *   u32 n + n x str                                        argv
 *   u32 n + n x str                                        env
 *   u32 seccompFlags, u32 n + n x 8 bytes                  seccomp filter (n = 0: none)
 *   str uidMap, str gidMap                                 a new user namespace's maps
 */

#include "plan.h"

#define MAGIC 0x4b4c5031u

struct rd { const u8 *p, *end; int bad; };

void *alloc(struct arena *a, u64 n) {
  char *r = a->p;
  n = (n + 15) & ~15ul;
  if ((u64)(a->end - a->p) < n) return 0;
  a->p += n;
  return r;
}
static u32 rd_u32(struct rd *r) {
  u32 v;
  if (r->bad || r->end - r->p < 4) { r->bad = 1; return 0; }
  v = (u32)r->p[0] | (u32)r->p[1] << 8 | (u32)r->p[2] << 16 | (u32)r->p[3] << 24;
  r->p += 4;
  return v;
}
static u64 rd_u64(struct rd *r) { u64 lo = rd_u32(r); return lo | (u64)rd_u32(r) << 32; }
static const char *rd_str(struct rd *r) {
  u32 n = rd_u32(r);
  const char *s;
  if (r->bad || n == 0xffffffffu) return 0;
  if ((u64)(r->end - r->p) < (u64)n + 1 || r->p[n] != 0) { r->bad = 1; return 0; }
  s = (const char *)r->p;
  r->p += (u64)n + 1;
  return s;
}
/* A count, bounded by the bytes left (every element takes at least 4), so a corrupt buffer cannot
 * make us allocate much. */
static u32 rd_count(struct rd *r) {
  u32 n = rd_u32(r);
  if ((u64)n * 4 > (u64)(r->end - r->p)) { r->bad = 1; return 0; }
  return n;
}
static const char **rd_strs(struct rd *r, struct arena *a, u32 *n, u32 front) {
  u32 i, c = rd_count(r);
  const char **v = (const char **)alloc(a, ((u64)c + 1 + front) * sizeof(char *));
  if (!v) { r->bad = 1; return 0; }
  for (i = 0; i < c; i++) v[front + i] = rd_str(r);
  v[front + c] = 0;
  *n = c;
  return v;
}
#define ALLOC_N(r, a, type, n) ((type *)alloc(a, ((u64)(n) + 1) * sizeof(type)))

int parse(struct plan *p, const u8 *buf, u64 len, struct arena *a) {
  struct rd r;
  u32 i;
  r.p = buf; r.end = buf + len; r.bad = 0;
  if (rd_u32(&r) != MAGIC) return -1;
  p->mode = rd_u32(&r); p->bits = rd_u32(&r); p->umask = rd_u32(&r); p->root_propagation = rd_u64(&r);
  p->oom = (int)rd_u32(&r); p->uid = rd_u32(&r); p->gid = rd_u32(&r);
  for (i = 0; i < 5; i++) p->caps[i] = rd_u64(&r);
  for (i = 0; i < 3; i++) p->stdio[i] = (int)rd_u32(&r);
  p->gate_fd = (int)rd_u32(&r); p->start_fd = (int)rd_u32(&r); p->status_fd = (int)rd_u32(&r);
  p->rootfs = rd_str(&r); p->hostname = rd_str(&r); p->cwd = rd_str(&r); p->exe = rd_str(&r);
  p->rootfs_parent = rd_str(&r);

  p->nns = rd_count(&r); p->ns = ALLOC_N(&r, a, struct ns, p->nns);
  for (i = 0; p->ns && i < p->nns; i++) { p->ns[i].flag = rd_u32(&r); p->ns[i].path = rd_str(&r); p->ns[i].fd = -1; }
  p->ncg = rd_count(&r); p->cg = ALLOC_N(&r, a, int, p->ncg);
  for (i = 0; p->cg && i < p->ncg; i++) p->cg[i] = (int)rd_u32(&r);
  p->ngroups = rd_count(&r); p->groups = ALLOC_N(&r, a, u32, p->ngroups);
  for (i = 0; p->groups && i < p->ngroups; i++) p->groups[i] = rd_u32(&r);
  p->nrlimits = rd_count(&r); p->rlimits = ALLOC_N(&r, a, struct rlim, p->nrlimits);
  for (i = 0; p->rlimits && i < p->nrlimits; i++) {
    p->rlimits[i].resource = rd_u32(&r); p->rlimits[i].soft = rd_u64(&r); p->rlimits[i].hard = rd_u64(&r);
  }
  p->nmounts = rd_count(&r); p->mounts = ALLOC_N(&r, a, struct mnt, p->nmounts);
  for (i = 0; p->mounts && i < p->nmounts; i++) {
    struct mnt *m = &p->mounts[i];
    m->source = rd_str(&r); m->target = rd_str(&r); m->fstype = rd_str(&r); m->data = rd_str(&r);
    m->flags = rd_u64(&r); m->propagation = rd_u64(&r); m->remount = rd_u64(&r); m->is_file = rd_u32(&r);
    if (!m->target) r.bad = 1;
  }
  p->ndevs = rd_count(&r); p->devs = ALLOC_N(&r, a, struct dev, p->ndevs);
  for (i = 0; p->devs && i < p->ndevs; i++) {
    struct dev *d = &p->devs[i];
    d->path = rd_str(&r); d->mode = rd_u32(&r); d->major = rd_u32(&r); d->minor = rd_u32(&r);
    d->uid = rd_u32(&r); d->gid = rd_u32(&r);
    if (!d->path) r.bad = 1;
  }
  p->nsymlinks = rd_count(&r); p->symlinks = ALLOC_N(&r, a, struct pair, p->nsymlinks);
  for (i = 0; p->symlinks && i < p->nsymlinks; i++) {
    p->symlinks[i].a = rd_str(&r); p->symlinks[i].b = rd_str(&r);
    if (!p->symlinks[i].a || !p->symlinks[i].b) r.bad = 1;
  }
  p->masked = rd_strs(&r, a, &p->nmasked, 0);
  p->readonly = rd_strs(&r, a, &p->nreadonly, 0);
  p->nsysctls = rd_count(&r); p->sysctls = ALLOC_N(&r, a, struct pair, p->nsysctls);
  for (i = 0; p->sysctls && i < p->nsysctls; i++) {
    p->sysctls[i].a = rd_str(&r); p->sysctls[i].b = rd_str(&r);
    if (!p->sysctls[i].a || !p->sysctls[i].b) r.bad = 1;
  }
  /* argv goes into the gate's vector after "kata-gate" and the exe, so reserve two slots in front. */
  p->gate_argv = rd_strs(&r, a, &p->nargv, 2);
  p->argv = p->gate_argv ? p->gate_argv + 2 : 0;
  p->env = rd_strs(&r, a, &p->nenv, 0);
  p->seccomp_flags = rd_u32(&r);
  p->nfilter = rd_u32(&r);
  /* BPF_MAXINSNS: the kernel refuses longer programs anyway. */
  if (r.bad || p->nfilter > 4096 || (u64)p->nfilter * 8 > (u64)(r.end - r.p)) r.bad = 1;
  else { p->filter = p->nfilter ? r.p : 0; r.p += (u64)p->nfilter * 8; }
  p->uid_map = rd_str(&r); p->gid_map = rd_str(&r);
  if (r.bad || r.p != r.end || !p->ns || !p->cg || !p->groups || !p->rlimits || !p->mounts || !p->devs ||
      !p->symlinks || !p->masked || !p->readonly || !p->sysctls || !p->gate_argv || !p->env) return -1;
  for (i = 0; i < p->nargv; i++) if (!p->argv[i]) return -1;
  for (i = 0; i < p->nenv; i++) if (!p->env[i]) return -1;
  for (i = 0; i < p->nmasked; i++) if (!p->masked[i]) return -1;
  for (i = 0; i < p->nreadonly; i++) if (!p->readonly[i]) return -1;
  if (!p->exe || !p->cwd || p->mode > 1) return -1;
  if (p->mode == 0 && (p->gate_fd < 0 || p->start_fd < 0 || p->status_fd < 0)) return -1;
  p->gate_argv[0] = "kata-gate";
  p->gate_argv[1] = p->exe;
  return 0;
}
