/* Set-up steps of the container's root: the plan's mounts, devices and symlinks made under the
 * rootfs through path-safe fds, pivot_root, then masked and read-only paths. */
#include "paths.h"
#include "setup.h"

static int is_sysfs(const char *t) {
  return t[0] == 's' && t[1] == 'y' && t[2] == 's' && t[3] == 'f' && t[4] == 's' && t[5] == 0;
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
  if (r == -E_PERM && p->uid_map && fstype && is_sysfs(fstype)) {
    /* In a user namespace, sysfs can only be mounted with a network namespace that namespace
     * owns; a joined one (the pod's) is not. Bind the guest's /sys instead, read-only as asked
     * (runc does the same). */
    r = S5(NR_mount, "/sys", fdp, 0, MS_BIND | MS_REC, 0);
    if (r >= 0) {
      /* The remount must reach the new mount, not the directory under it: reopen. */
      long top = open_in_root(rootfd, m->target);
      if (top < 0) r = top;
      else {
        char topp[40];
        fd_path(topp, top);
        r = S5(NR_mount, 0, topp, 0, MS_REMOUNT | MS_BIND | (m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) | locked_flags("/sys"), 0);
        S1(NR_close, top);
      }
    }
  }
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

/* After pivot_root (and after the sysctls, which write below /proc/sys, usually a read-only
 * path): paths are container paths now. Missing paths are skipped (OCI). */
int mask_and_protect(struct plan *p, struct result *res) {
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
/* The requested propagation of the container's root, now that it is "/" (the rootfs bind,
 * private until here because its parent was). */
static int root_propagation_again(struct plan *p, struct result *res) {
  if (!p->root_propagation) return 0;
  STEP(ST_ROOT_PROPAGATION, 1);
  CHECK(S5(NR_mount, 0, "/", 0, p->root_propagation, 0));
  return 0;
}

int setup_rootfs(struct plan *p, struct result *res) {
  long rootfd;
  u32 i;
  STEP(ST_ROOT_PROPAGATION, 0);
  CHECK(S5(NR_mount, 0, "/", 0, p->root_propagation ? p->root_propagation : MS_REC | MS_PRIVATE, 0));
  /* A shared parent would make pivot_root fail and carry every mount below the rootfs into the
   * agent's namespace (with "/" rshared): make it private here, in our namespace only. */
  if (p->rootfs_parent) CHECK(S5(NR_mount, 0, p->rootfs_parent, 0, MS_PRIVATE, 0));
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
      return root_propagation_again(p, res);
    }
    CHECK(r);
  }
  STEP(ST_OLD_ROOT, 0);
  CHECK(S2(NR_umount2, ".", 2 /* MNT_DETACH */));
  CHECK(S1(NR_chdir, "/"));
  return root_propagation_again(p, res);
}
