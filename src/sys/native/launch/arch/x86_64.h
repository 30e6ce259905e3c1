/* x86_64: the syscall instruction, the syscall numbers and the kernel struct layouts the launcher
 * reads. Another architecture is one more header like this one, selected in ../sys.h; it must define
 * the same names (sc6, every NR_* below, the STAT_ and STATFS_ layouts). Note for ports: open,
 * access and dup2 are x86_64 legacy syscalls that aarch64 lacks (openat, faccessat, dup3 instead). */
#ifndef KL_ARCH_H
#define KL_ARCH_H

/* One raw syscall; returns -errno on failure. */
static inline long sc6(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}

enum {
  NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_mmap = 9, NR_mprotect = 10, NR_munmap = 11,
  NR_rt_sigaction = 13, NR_rt_sigprocmask = 14, NR_ioctl = 16, NR_sched_yield = 24, NR_access = 21, NR_dup2 = 33, NR_execve = 59,
  NR_exit = 60, NR_wait4 = 61, NR_fcntl = 72, NR_chdir = 80, NR_fchdir = 81, NR_umask = 95, NR_setsid = 112,
  NR_setgroups = 116, NR_setresuid = 117, NR_setresgid = 119, NR_capset = 126, NR_statfs = 137,
  NR_pivot_root = 155, NR_chroot = 161, NR_prctl = 157, NR_mount = 165, NR_umount2 = 166, NR_sethostname = 170,
  NR_openat = 257, NR_mkdirat = 258, NR_mknodat = 259, NR_fchownat = 260, NR_newfstatat = 262,
  NR_unlinkat = 263, NR_symlinkat = 266, NR_unshare = 272, NR_prlimit64 = 302, NR_setns = 308,
  NR_pipe2 = 293, NR_seccomp = 317, NR_execveat = 322, NR_close_range = 436, NR_openat2 = 437, NR_faccessat2 = 439
};

/* struct stat is 144 bytes; st_mode is the u32 at offset 24 (u64 word 3). */
#define STAT_WORDS 18
#define STAT_MODE_WORD 3
/* struct statfs is 120 bytes; f_flags is the u64 at offset 80 (u64 word 10). */
#define STATFS_WORDS 15
#define STATFS_FLAGS_WORD 10

#endif
