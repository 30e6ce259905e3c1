/* liblaunch: creates container processes for the Bun agent (which cannot fork: a child created
 * from JavaScript returns into the JIT's memory, which is not mapped in it). No #include and no libc in the child: only raw
 * syscalls (x86_64 numbers). The only libc symbols used are clone() and __errno_location(), both on
 * the parent side or right around clone().
 *
 * kl_launch(buf, len, out) takes ONE flat buffer, the serialised LaunchPlan (format below, written
 * by src/sys/launcher.ts), parses it into a private region (stack(s) + arena) and then
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
 * Buffer format (little-endian; str = u32 length (0xffffffff = absent) + bytes + NUL):
 *   u32 magic 0x4b4c5031 ("KLP1"), u32 mode (0 create, 1 spawn), u32 bits (1 rootReadonly,
 *   2 terminal, 4 noNewPrivs, 8 caps present, 16 oomScoreAdj present), u32 umask, u64 rootPropagation,
 *   i32 oomScoreAdj, u32 uid, u32 gid, u64 caps[5] (bounding effective permitted inheritable ambient),
 *   i32 stdio[3], i32 gateFd, i32 startFd, i32 statusFd,
 *   str rootfs, str hostname, str cwd, str exe,
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
 */

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
int *__errno_location(void);

#define KL_VERSION 1
#define MAGIC 0x4b4c5031u

/* ------------------------------------------------------------------ raw syscalls (-errno on failure) */
static inline long sc6(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}
#define S0(n) sc6(n, 0, 0, 0, 0, 0, 0)
#define S1(n, a) sc6(n, (long)(a), 0, 0, 0, 0, 0)
#define S2(n, a, b) sc6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(n, a, b, c, d) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define S5(n, a, b, c, d, e) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

enum {
  NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_mmap = 9, NR_mprotect = 10, NR_munmap = 11,
  NR_rt_sigaction = 13, NR_rt_sigprocmask = 14, NR_ioctl = 16, NR_access = 21, NR_dup2 = 33, NR_execve = 59,
  NR_exit = 60, NR_wait4 = 61, NR_fcntl = 72, NR_chdir = 80, NR_fchdir = 81, NR_umask = 95, NR_setsid = 112,
  NR_setgroups = 116, NR_setresuid = 117, NR_setresgid = 119, NR_capset = 126, NR_statfs = 137,
  NR_pivot_root = 155, NR_chroot = 161, NR_prctl = 157, NR_mount = 165, NR_umount2 = 166, NR_sethostname = 170,
  NR_openat = 257, NR_mkdirat = 258, NR_mknodat = 259, NR_fchownat = 260, NR_newfstatat = 262,
  NR_unlinkat = 263, NR_symlinkat = 266, NR_unshare = 272, NR_prlimit64 = 302, NR_setns = 308,
  NR_execveat = 322, NR_close_range = 436, NR_openat2 = 437, NR_faccessat2 = 439
};

enum {
  E_PERM = 1, E_NOENT = 2, E_INTR = 4, E_NOMEM = 12, E_ACCES = 13, E_EXIST = 17, E_INVAL = 22,
  E_NAMETOOLONG = 36, E_NOSYS = 38
};

#define AT_FDCWD (-100)
#define AT_EMPTY_PATH 0x1000
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_EACCESS 0x200
#define O_WRONLY 01
#define O_TRUNC 01000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define F_SETFD 2
#define F_DUPFD_CLOEXEC 1030
#define MS_RDONLY 1ul
#define MS_NOSUID 2ul
#define MS_NODEV 4ul
#define MS_NOEXEC 8ul
#define MS_REMOUNT 32ul
#define MS_BIND 4096ul
#define MS_MOVE 8192ul
#define MS_REC 16384ul
#define MS_PRIVATE (1ul << 18)
#define CLONE_VM 0x100
#define CLONE_VFORK 0x4000
#define CLONE_PARENT 0x8000
#define CLONE_NEWNS 0x20000
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define SIGCHLD 17
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define PAGE 4096ul
#define STACK_SIZE (256ul * 1024)
#define PATH_BUF 4096

/* Steps, in the order the child runs them. Keep in sync with STEPS in src/sys/launcher.ts and
 * STEP_EXEC in gate.c. */
enum step {
  ST_NONE = 0, ST_PLAN = 1, ST_CLONE = 2, ST_SIGNALS = 3, ST_CGROUP = 4, ST_SETNS = 5, ST_UNSHARE = 6,
  ST_PIDNS_CLONE = 7, ST_STDIO = 8, ST_SETSID = 9, ST_CTTY = 10, ST_ROOT_PROPAGATION = 11,
  ST_ROOTFS_BIND = 12, ST_MOUNT_TARGET = 13, ST_MOUNT = 14, ST_MOUNT_PROPAGATION = 15,
  ST_MOUNT_REMOUNT = 16, ST_DEVICE = 17, ST_SYMLINK = 18, ST_PIVOT_ROOT = 19, ST_OLD_ROOT = 20,
  ST_MASK = 21, ST_READONLY = 22, ST_SYSCTL = 23, ST_ROOT_READONLY = 24, ST_HOSTNAME = 25,
  ST_RLIMIT = 26, ST_OOM_SCORE_ADJ = 27, ST_CWD = 28, ST_GROUPS = 29, ST_GID = 30, ST_UID = 31,
  ST_CAP_BOUNDING = 32, ST_CAPSET = 33, ST_CAP_AMBIENT = 34, ST_NO_NEW_PRIVS = 35, ST_FDS = 36,
  ST_EXEC = 37, ST_GATE_EXEC = 38
};

/* ------------------------------------------------------------------ the parsed plan */
struct ns { u32 flag; const char *path; long fd; };
struct rlim { u32 resource; u64 soft, hard; };
struct mnt { const char *source, *target, *fstype, *data; u64 flags, propagation, remount; u32 is_file; };
struct dev { const char *path; u32 mode, major, minor, uid, gid; };
struct pair { const char *a, *b; };

struct plan {
  u32 mode, bits, umask; u64 root_propagation; int oom; u32 uid, gid; u64 caps[5];
  int stdio[3], gate_fd, start_fd, status_fd;
  const char *rootfs, *hostname, *cwd, *exe;
  u32 nns, ncg, ngroups, nrlimits, nmounts, ndevs, nsymlinks, nmasked, nreadonly, nsysctls, nargv, nenv;
  struct ns *ns; int *cg; u32 *groups; struct rlim *rlimits; struct mnt *mounts; struct dev *devs;
  struct pair *symlinks; const char **masked, **readonly; struct pair *sysctls;
  const char **argv, **env, **gate_argv;
};
#define B_ROOT_RO 1u
#define B_TERMINAL 2u
#define B_NNP 4u
#define B_CAPS 8u
#define B_OOM 16u

/* Shared between parent and child (CLONE_VM). */
struct result { volatile int pid, step, index, err; };

struct ctx {
  struct plan *p;
  struct result *res;
  char *inner_stack_top;  /* for the CLONE_PARENT child when joining a pid namespace */
  int join_pid;
};

/* ------------------------------------------------------------------ parsing (parent side) */
struct rd { const u8 *p, *end; int bad; };
struct arena { char *p, *end; };

static void *alloc(struct arena *a, u64 n) {
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

static int parse(struct plan *p, const u8 *buf, u64 len, struct arena *a) {
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

/* ------------------------------------------------------------------ child helpers (raw syscalls only) */
static __attribute__((noreturn)) void sys_exit(int code) { for (;;) S1(NR_exit, code); }
static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
/* Appends src to dst[*at], bounded by PATH_BUF; returns -ENAMETOOLONG when it does not fit. */
static long append(char *dst, u64 *at, const char *src) {
  u64 i = 0;
  while (src[i]) { if (*at + 1 >= PATH_BUF) return -E_NAMETOOLONG; dst[(*at)++] = src[i++]; }
  dst[*at] = 0;
  return 0;
}
static void fd_path(char *buf, long fd) {
  char t[24];
  int n = 0;
  u64 at = 0;
  append(buf, &at, "/proc/self/fd/");
  do { t[n++] = (char)('0' + fd % 10); fd /= 10; } while (fd);
  while (n) buf[at++] = t[--n];
  buf[at] = 0;
}
static u32 stat_mode(const char *path, long *err) {
  u64 st[18]; /* struct stat is 144 bytes on x86_64; st_mode is the u32 at offset 24 */
  long r = S4(NR_newfstatat, AT_FDCWD, path, st, 0);
  *err = r < 0 ? r : 0;
  return r < 0 ? 0 : (u32)st[3];
}
/* Mount flags that a bind remount must keep (the kernel refuses to clear them when locked). */
static u64 locked_flags(const char *path) {
  u64 sf[15]; /* struct statfs: f_flags is the u64 at offset 80 */
  if (S2(NR_statfs, path, sf) < 0) return 0;
  return sf[10] & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

#define STEP(s, i) (res->step = (s), res->index = (i))
#define CHECK(expr) do { long r_ = (long)(expr); if (r_ < 0) { res->err = (int)-r_; return -1; } } while (0)

/* Opens path (absolute inside the container) as an O_PATH fd, resolving every symlink as if
 * rootfd were "/": openat2(RESOLVE_IN_ROOT). Kernels without openat2 (< 5.6) get a walk that
 * refuses symlinks and "..", so nothing can lead out of the rootfs either way. */
static int no_openat2;
static long open_in_root(long rootfd, const char *path) {
  u64 how[3];
  long r, cur, next;
  char comp[256];
  u64 i = 0, n;
  how[0] = O_PATH | O_CLOEXEC; how[1] = 0; how[2] = 0x10 /* RESOLVE_IN_ROOT */ | 0x02 /* RESOLVE_NO_MAGICLINKS */;
  if (!no_openat2) {
    r = S4(NR_openat2, rootfd, path, how, sizeof how);
    if (r != -E_NOSYS) return r;
    no_openat2 = 1;
  }
  cur = S3(NR_fcntl, rootfd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return cur;
  while (path[i]) {
    while (path[i] == '/') i++;
    if (!path[i]) break;
    for (n = 0; path[i] && path[i] != '/'; i++) { if (n + 1 >= sizeof comp) { S1(NR_close, cur); return -E_NAMETOOLONG; } comp[n++] = path[i]; }
    comp[n] = 0;
    if (comp[0] == '.' && comp[1] == 0) continue;
    if (comp[0] == '.' && comp[1] == '.' && comp[2] == 0) { S1(NR_close, cur); return -E_PERM; }
    next = S4(NR_openat, cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
    S1(NR_close, cur);
    if (next < 0) return next;
    cur = next;
  }
  return cur;
}

/* mkdir -p inside the rootfs (the last component as an empty file when as_file), then returns an
 * O_PATH fd of the result. Each missing component is created with mkdirat/mknodat in its resolved
 * parent, so a symlink can only redirect within the rootfs. */
static long make_path(long rootfd, const char *path, int as_file) {
  char buf[PATH_BUF];
  u64 at = 0, start, end;
  long fd, parent = -1, r;
  char saved;
  if (append(buf, &at, path) < 0) return -E_NAMETOOLONG;
  fd = open_in_root(rootfd, buf);
  if (fd != -E_NOENT) return fd;
  at = 0;
  for (;;) {
    while (buf[at] == '/') at++;
    if (!buf[at]) break;
    start = at;
    while (buf[at] && buf[at] != '/') at++;
    end = at;
    saved = buf[end];
    buf[end] = 0;
    fd = open_in_root(rootfd, buf);
    if (fd == -E_NOENT) {
      u64 k = end;
      int last;
      buf[end] = saved;
      while (buf[k] == '/') k++;
      last = buf[k] == 0;
      buf[end] = 0;
      if (last && as_file) r = S4(NR_mknodat, parent >= 0 ? parent : rootfd, buf + start, S_IFREG | 0644, 0);
      else r = S3(NR_mkdirat, parent >= 0 ? parent : rootfd, buf + start, 0755);
      if (r < 0 && r != -E_EXIST) { if (parent >= 0) S1(NR_close, parent); return r; }
      fd = open_in_root(rootfd, buf);
    }
    buf[end] = saved;
    if (parent >= 0) S1(NR_close, parent);
    if (fd < 0) return fd;
    parent = fd;
  }
  return parent >= 0 ? parent : S3(NR_fcntl, rootfd, F_DUPFD_CLOEXEC, 0);
}

/* Splits "/a/b/c" into a parent fd (created if missing) and the last component "c". */
static long open_parent(long rootfd, const char *path, char *dir, const char **base) {
  u64 at = 0, cut = 0, i;
  if (append(dir, &at, path) < 0) return -E_NAMETOOLONG;
  for (i = 0; dir[i]; i++) if (dir[i] == '/') cut = i;
  if (!dir[cut + 1] || (dir[cut] != '/')) return -E_INVAL;
  *base = path + cut + 1;
  dir[cut] = 0;
  return make_path(rootfd, cut ? dir : "/", 0);
}

/* ------------------------------------------------------------------ the steps */
static int reset_signals(struct result *res) {
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

static int join_cgroups(struct plan *p, struct result *res) {
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
static int join_namespaces(struct plan *p, struct result *res) {
  u32 i, pass;
  for (i = 0; i < p->nns; i++) {
    if (!p->ns[i].path) continue;
    STEP(ST_SETNS, (int)i);
    p->ns[i].fd = S3(NR_open, p->ns[i].path, O_CLOEXEC, 0);
    CHECK(p->ns[i].fd);
  }
  for (pass = 0; pass < 2; pass++)
    for (i = 0; i < p->nns; i++) {
      if (p->ns[i].fd < 0 || (p->ns[i].flag == CLONE_NEWNS) != (pass == 1)) continue;
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

static int setup_stdio(struct plan *p, struct result *res) {
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

static int do_mount(struct plan *p, struct result *res, long rootfd, u32 i) {
  struct mnt *m = &p->mounts[i];
  char fdp[40];
  long fd, r;
  const char *data = m->data && m->data[0] ? m->data : 0;
  const char *fstype = m->fstype && m->fstype[0] ? m->fstype : 0;
  STEP(ST_MOUNT_TARGET, (int)i);
  fd = make_path(rootfd, m->target, m->is_file != 0);
  CHECK(fd);
  STEP(ST_MOUNT, (int)i);
  fd_path(fdp, fd);
  r = S5(NR_mount, m->source, fdp, fstype, m->flags, data);
  S1(NR_close, fd);
  CHECK(r);
  if (!m->propagation && !m->remount) return 0;
  /* Reopen: the old fd is the directory under the new mount; these calls must reach the mount. */
  fd = open_in_root(rootfd, m->target);
  CHECK(fd);
  fd_path(fdp, fd);
  if (m->propagation) { STEP(ST_MOUNT_PROPAGATION, (int)i); r = S5(NR_mount, 0, fdp, 0, m->propagation, 0); }
  if (r >= 0 && m->remount) { STEP(ST_MOUNT_REMOUNT, (int)i); r = S5(NR_mount, 0, fdp, 0, MS_REMOUNT | MS_BIND | m->remount, 0); }
  S1(NR_close, fd);
  CHECK(r);
  return 0;
}

static int make_device(struct plan *p, struct result *res, long rootfd, u32 i) {
  struct dev *d = &p->devs[i];
  char dir[PATH_BUF], fdp[40];
  const char *base = 0;
  u64 devno = ((u64)(d->major & 0xfff) << 8) | (d->minor & 0xff) | ((u64)(d->minor & ~0xffu) << 12) | ((u64)(d->major & ~0xfffu) << 32);
  long parent, r, fd;
  STEP(ST_DEVICE, (int)i);
  parent = open_parent(rootfd, d->path, dir, &base);
  CHECK(parent);
  r = S4(NR_mknodat, parent, base, d->mode, devno);
  if (r == -E_EXIST) { S3(NR_unlinkat, parent, base, 0); r = S4(NR_mknodat, parent, base, d->mode, devno); }
  if (r == -E_PERM) {
    /* No CAP_MKNOD (or a nodev-restricted setup): bind the host's node instead, like runc does. */
    r = S4(NR_mknodat, parent, base, S_IFREG | 0644, 0);
    if (r >= 0 || r == -E_EXIST) {
      fd = S4(NR_openat, parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
      if (fd < 0) r = fd;
      else { fd_path(fdp, fd); r = S5(NR_mount, d->path, fdp, 0, MS_BIND, 0); S1(NR_close, fd); }
    }
  } else if (r >= 0) {
    r = S5(NR_fchownat, parent, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW);
  }
  S1(NR_close, parent);
  CHECK(r);
  return 0;
}

static int make_symlink(struct plan *p, struct result *res, long rootfd, u32 i) {
  char dir[PATH_BUF];
  const char *base = 0;
  long parent, r;
  STEP(ST_SYMLINK, (int)i);
  parent = open_parent(rootfd, p->symlinks[i].b, dir, &base);
  CHECK(parent);
  r = S3(NR_symlinkat, p->symlinks[i].a, parent, base);
  S1(NR_close, parent);
  if (r == -E_EXIST) r = 0; /* the image already has it */
  CHECK(r);
  return 0;
}

/* After pivot_root: paths are container paths now. Missing paths are skipped (OCI). */
static int mask_and_protect(struct plan *p, struct result *res) {
  u32 i, mode;
  long err;
  for (i = 0; i < p->nmasked; i++) {
    STEP(ST_MASK, (int)i);
    mode = stat_mode(p->masked[i], &err);
    if (err == -E_NOENT) continue;
    CHECK(err);
    if ((mode & S_IFMT) == S_IFDIR) CHECK(S5(NR_mount, "tmpfs", p->masked[i], "tmpfs", MS_RDONLY, 0));
    else CHECK(S5(NR_mount, "/dev/null", p->masked[i], 0, MS_BIND, 0));
  }
  for (i = 0; i < p->nreadonly; i++) {
    const char *path = p->readonly[i];
    STEP(ST_READONLY, (int)i);
    stat_mode(path, &err);
    if (err == -E_NOENT) continue;
    CHECK(err);
    CHECK(S5(NR_mount, path, path, 0, MS_BIND | MS_REC, 0));
    CHECK(S5(NR_mount, 0, path, 0, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path), 0));
  }
  return 0;
}

static int write_file(const char *path, const char *value, u64 n) {
  long fd = S3(NR_open, path, O_WRONLY | O_TRUNC | O_CLOEXEC, 0), r;
  if (fd < 0) return (int)fd;
  r = S3(NR_write, fd, value, n);
  S1(NR_close, fd);
  return r < 0 ? (int)r : 0;
}

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

static int setup_rootfs(struct plan *p, struct result *res) {
  long rootfd;
  u32 i;
  STEP(ST_ROOT_PROPAGATION, 0);
  CHECK(S5(NR_mount, 0, "/", 0, p->root_propagation ? p->root_propagation : MS_REC | MS_PRIVATE, 0));
  STEP(ST_ROOTFS_BIND, 0);
  CHECK(S5(NR_mount, p->rootfs, p->rootfs, 0, MS_BIND | MS_REC, 0));
  rootfd = S3(NR_open, p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  CHECK(rootfd);
  for (i = 0; i < p->nmounts; i++) if (do_mount(p, res, rootfd, i) < 0) return -1;
  for (i = 0; i < p->ndevs; i++) if (make_device(p, res, rootfd, i) < 0) return -1;
  for (i = 0; i < p->nsymlinks; i++) if (make_symlink(p, res, rootfd, i) < 0) return -1;
  STEP(ST_PIVOT_ROOT, 0);
  CHECK(S1(NR_fchdir, rootfd));
  S1(NR_close, rootfd);
  {
    long r = S2(NR_pivot_root, ".", ".");
    if (r == -22 /* EINVAL */) {
      /* The agent's own root is the initramfs (rootfs), which pivot_root refuses. Do what
       * runc --no-pivot and switch_root do: move the container root over / and chroot into it.
       * The old root stays mounted underneath but is unreachable from the new root. */
      CHECK(S5(NR_mount, ".", "/", 0, MS_MOVE, 0));
      CHECK(S1(NR_chroot, "."));
      CHECK(S1(NR_chdir, "/"));
      return mask_and_protect(p, res);
    }
    CHECK(r);
  }
  STEP(ST_OLD_ROOT, 0);
  CHECK(S2(NR_umount2, ".", 2 /* MNT_DETACH */));
  CHECK(S1(NR_chdir, "/"));
  return mask_and_protect(p, res);
}

static int set_identity(struct plan *p, struct result *res) {
  int has_caps = (p->bits & B_CAPS) != 0;
  u32 i;
  STEP(ST_GROUPS, 0);
  CHECK(S2(NR_setgroups, p->ngroups, p->groups));
  STEP(ST_GID, 0);
  CHECK(S3(NR_setresgid, p->gid, p->gid, p->gid));
  if (has_caps) {
    for (i = 0; i < 64; i++) {
      long r;
      if ((p->caps[0] >> i) & 1) continue;
      STEP(ST_CAP_BOUNDING, (int)i);
      r = S5(NR_prctl, 24 /* PR_CAPBSET_DROP */, i, 0, 0, 0);
      if (r == -E_INVAL) break; /* past the kernel's last capability */
      CHECK(r);
    }
  }
  STEP(ST_UID, 0);
  if (has_caps) CHECK(S5(NR_prctl, 8 /* PR_SET_KEEPCAPS */, 1, 0, 0, 0));
  CHECK(S3(NR_setresuid, p->uid, p->uid, p->uid));
  if (has_caps) {
    u32 hdr[2], data[6];
    hdr[0] = 0x20080522; /* _LINUX_CAPABILITY_VERSION_3 */
    hdr[1] = 0;
    for (i = 0; i < 2; i++) {
      data[i * 3 + 0] = (u32)(p->caps[1] >> (32 * i));
      data[i * 3 + 1] = (u32)(p->caps[2] >> (32 * i));
      data[i * 3 + 2] = (u32)(p->caps[3] >> (32 * i));
    }
    STEP(ST_CAPSET, 0);
    CHECK(S2(NR_capset, hdr, data));
    STEP(ST_CAP_AMBIENT, -1);
    CHECK(S5(NR_prctl, 47 /* PR_CAP_AMBIENT */, 4 /* CLEAR_ALL */, 0, 0, 0));
    for (i = 0; i < 64; i++) {
      if (!((p->caps[4] >> i) & 1)) continue;
      STEP(ST_CAP_AMBIENT, (int)i);
      CHECK(S5(NR_prctl, 47, 2 /* RAISE */, i, 0, 0));
    }
  }
  if (p->bits & B_NNP) { STEP(ST_NO_NEW_PRIVS, 0); CHECK(S5(NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0)); }
  return 0;
}

/* Every inherited descriptor >= 3 becomes close-on-exec; in create mode the start/status pipes
 * move to 3 and 4 for the gate (first out of the way, since 3 or 4 may hold anything). */
static int fd_hygiene(struct plan *p, struct result *res, long *gate_fd) {
  long first = 3, r, i;
  STEP(ST_FDS, 0);
  if (p->mode == 0) {
    long s = S3(NR_fcntl, p->start_fd, F_DUPFD_CLOEXEC, 5), t = S3(NR_fcntl, p->status_fd, F_DUPFD_CLOEXEC, 5);
    *gate_fd = S3(NR_fcntl, p->gate_fd, F_DUPFD_CLOEXEC, 5);
    CHECK(s); CHECK(t); CHECK(*gate_fd);
    CHECK(S2(NR_dup2, s, 3));
    CHECK(S2(NR_dup2, t, 4));
    first = 5;
  }
  r = S3(NR_close_range, first, ~0u, 4 /* CLOSE_RANGE_CLOEXEC */);
  if (r == -E_NOSYS || r == -E_INVAL) { /* kernel < 5.11 */
    u64 lim[2] = {1024, 1024};
    S4(NR_prlimit64, 0, 7 /* RLIMIT_NOFILE */, 0, lim);
    if (lim[0] > (1u << 20)) lim[0] = 1u << 20;
    for (i = first; i < (long)lim[0]; i++) S3(NR_fcntl, i, F_SETFD, 1);
  } else CHECK(r);
  return 0;
}

/* Create mode only: the gate cannot tell the agent about a bad executable until StartContainer,
 * but Kata fails CreateContainer for it. Check the way execve will: effective ids and caps. */
static int check_exe(struct plan *p, struct result *res) {
  long err;
  u32 mode;
  STEP(ST_EXEC, 0);
  mode = stat_mode(p->exe, &err);
  CHECK(err);
  if ((mode & S_IFMT) != S_IFREG) CHECK(-E_ACCES);
  err = S4(NR_faccessat2, AT_FDCWD, p->exe, 1 /* X_OK */, AT_EACCESS);
  if (err == -E_NOSYS) err = S2(NR_access, p->exe, 1);
  CHECK(err);
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
  if (apply_sysctls(p, res) < 0) goto fail;
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
  if (p->mode == 0) {
    if (check_exe(p, res) < 0) goto fail;
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
static int outer_child(void *arg) {
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

/* ------------------------------------------------------------------ entry points (parent side) */
int kl_version(void) { return KL_VERSION; }

/* out: int[4] = {pid, step, index, errno}. Returns the pid, or -1 with out[1..3] describing the
 * failure (errno 0 = the child died inside that step). */
int kl_launch(const u8 *buf, u64 len, int *out) {
  u64 arena_len = ((3 * len + 65536) + PAGE - 1) & ~(PAGE - 1);
  u64 total = 2 * (PAGE + STACK_SIZE) + arena_len;
  char *base;
  struct arena a;
  struct plan *p;
  struct ctx *c;
  struct result *res;
  u8 *copy;
  u64 all = ~0ul, old = 0, k;
  long pid, dumpable, st = 0, flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
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
  for (i = 0; i < p->nns; i++) {
    if (p->ns[i].path) { if (p->ns[i].flag == CLONE_NEWPID) c->join_pid = 1; }
    else if (p->ns[i].flag != CLONE_NEWCGROUP) flags |= p->ns[i].flag;
  }
  final_step = p->mode == 0 ? ST_GATE_EXEC : ST_EXEC;
  dumpable = S5(NR_prctl, 3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0);

  /* Like posix_spawn: with every signal blocked, none of Bun's handlers can run in a child that
   * shares our memory before it has reset them. */
  S4(NR_rt_sigprocmask, 0 /* SIG_BLOCK */, &all, &old, 8);
  pid = clone(outer_child, base + 2 * (PAGE + STACK_SIZE) - 64, (int)flags, c);
  if (pid < 0) e = *__errno_location();
  S4(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &old, 0, 8);
  /* A uid change in the child went through our shared mm and cleared its dumpable flag; the child
   * has its own mm now (exec'd or gone), so restoring ours cannot leak into it. */
  if (dumpable >= 0 && S5(NR_prctl, 3, 0, 0, 0, 0) != dumpable) S5(NR_prctl, 4 /* PR_SET_DUMPABLE */, dumpable, 0, 0, 0);
  if (pid < 0) {
    S2(NR_munmap, base, total);
    out[1] = ST_CLONE; out[3] = e;
    return -1;
  }
  ok = res->step == final_step && res->err == 0;
  if (c->join_pid) {
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
