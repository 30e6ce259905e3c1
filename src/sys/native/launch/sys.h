/* What every file of the launcher shares: fixed-size types, the raw syscall shim of this
 * architecture (no libc in the child), errno values and the kernel flags the steps use. No system
 * header is included: the numbers here are the kernel ABI, spelled out. */
#ifndef KL_SYS_H
#define KL_SYS_H

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
int *__errno_location(void);

#if defined(__x86_64__)
#include "arch/x86_64.h"
#else
#error "liblaunch: no syscall header for this architecture (see arch/x86_64.h)"
#endif

/* Only kl_version and kl_launch leave the .so; the build hides everything else. */
#define KL_EXPORT __attribute__((visibility("default")))

#define S0(n) sc6(n, 0, 0, 0, 0, 0, 0)
#define S1(n, a) sc6(n, (long)(a), 0, 0, 0, 0, 0)
#define S2(n, a, b) sc6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(n, a, b, c, d) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define S5(n, a, b, c, d, e) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

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

static inline __attribute__((noreturn)) void sys_exit(int code) { for (;;) S1(NR_exit, code); }

#endif
