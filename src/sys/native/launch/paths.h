/* Path and file helpers for the child (raw syscalls only). Everything that resolves a container
 * path does it relative to the rootfs fd, so a symlink in the image cannot lead outside it. */
#ifndef KL_PATHS_H
#define KL_PATHS_H

#include "sys.h"

u64 slen(const char *s);
/* Appends src to dst[*at], bounded by PATH_BUF; returns -ENAMETOOLONG when it does not fit. */
long append(char *dst, u64 *at, const char *src);
/* "/proc/self/fd/<fd>" into buf (at least 40 bytes). */
void fd_path(char *buf, long fd);
/* The S_IF* type and mode of path (following symlinks); *err = -errno or 0. */
u32 stat_mode(const char *path, long *err);
/* Mount flags that a bind remount must keep (the kernel refuses to clear them when locked). */
u64 locked_flags(const char *path);
/* Writes value (n bytes) to an existing file; 0 or -errno. */
int write_file(const char *path, const char *value, u64 n);
/* An O_PATH fd of path, resolved inside rootfd as if it were "/". */
long open_in_root(long rootfd, const char *path);
/* mkdir -p of path inside rootfd (last component a file when as_file); an O_PATH fd of it. */
long make_path(long rootfd, const char *path, int as_file);
/* The parent of path (created if missing) as an fd; *base points at the last component. */
long open_parent(long rootfd, const char *path, char *dir, const char **base);

#endif
