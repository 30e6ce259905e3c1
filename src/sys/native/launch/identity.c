/* Set-up steps of the process's identity and what it inherits: groups, ids, capabilities,
 * no_new_privs, descriptors; and the executable check of create mode. */
#include "paths.h"
#include "setup.h"

int set_identity(struct plan *p, struct result *res) {
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
  /* Kata's and runc's order: without no_new_privs, loading a filter needs CAP_SYS_ADMIN, so it
   * goes in now, with the bounding set already restricted and before the ids and capabilities
   * change (those calls then pass through it). With no_new_privs it is loaded just before
   * execve instead (child.c), so the profile sees as few of our own calls as possible. */
  if (!(p->bits & B_NNP) && load_seccomp(p, res) < 0) return -1;
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
int fd_hygiene(struct plan *p, struct result *res, long *gate_fd) {
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
int check_exe(struct plan *p, struct result *res) {
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

int load_seccomp(struct plan *p, struct result *res) {
  struct { unsigned short len; const u8 *filter; } prog;
  if (!p->nfilter) return 0;
  prog.len = (unsigned short)p->nfilter;
  prog.filter = p->filter;
  STEP(ST_SECCOMP, 0);
  CHECK(S3(NR_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, p->seccomp_flags, &prog));
  return 0;
}
