/* Path-safe helpers of the child: raw syscalls only, fixed-size buffers on the stack. */
#include "paths.h"

u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
long append(char *dst, u64 *at, const char *src) {
  u64 i = 0;
  while (src[i]) { if (*at + 1 >= PATH_BUF) return -E_NAMETOOLONG; dst[(*at)++] = src[i++]; }
  dst[*at] = 0;
  return 0;
}
void fd_path(char *buf, long fd) {
  char t[24];
  int n = 0;
  u64 at = 0;
  append(buf, &at, "/proc/self/fd/");
  do { t[n++] = (char)('0' + fd % 10); fd /= 10; } while (fd);
  while (n) buf[at++] = t[--n];
  buf[at] = 0;
}
u32 stat_mode(const char *path, long *err) {
  u64 st[STAT_WORDS]; /* struct stat; st_mode is a u32 at the start of word STAT_MODE_WORD */
  long r = S4(NR_newfstatat, AT_FDCWD, path, st, 0);
  *err = r < 0 ? r : 0;
  return r < 0 ? 0 : (u32)st[STAT_MODE_WORD];
}
u64 locked_flags(const char *path) {
  u64 sf[STATFS_WORDS]; /* struct statfs; f_flags is word STATFS_FLAGS_WORD */
  if (S2(NR_statfs, path, sf) < 0) return 0;
  return sf[STATFS_FLAGS_WORD] & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

int write_file(const char *path, const char *value, u64 n) {
  long fd = S3(NR_open, path, O_WRONLY | O_TRUNC | O_CLOEXEC, 0), r;
  if (fd < 0) return (int)fd;
  r = S3(NR_write, fd, value, n);
  S1(NR_close, fd);
  return r < 0 ? (int)r : 0;
}

/* Opens path (absolute inside the container) as an O_PATH fd, resolving every symlink as if
 * rootfd were "/": openat2(RESOLVE_IN_ROOT). Kernels without openat2 (< 5.6) get a walk that
 * refuses symlinks and "..", so nothing can lead out of the rootfs either way. */
static int no_openat2;
long open_in_root(long rootfd, const char *path) {
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
long make_path(long rootfd, const char *path, int as_file) {
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
long open_parent(long rootfd, const char *path, char *dir, const char **base) {
  u64 at = 0, cut = 0, i;
  if (append(dir, &at, path) < 0) return -E_NAMETOOLONG;
  for (i = 0; dir[i]; i++) if (dir[i] == '/') cut = i;
  if (!dir[cut + 1] || (dir[cut] != '/')) return -E_INVAL;
  *base = path + cut + 1;
  dir[cut] = 0;
  return make_path(rootfd, cut ? dir : "/", 0);
}
