/* kata-gate: the container init's start gate. Static, no libc, no relocations, no writable data.
 *
 * The launcher's vfork child does all container setup (namespaces, root, cgroups, ids, caps, rlimits,
 * no_new_privs) and then execs this program from a sealed memfd, so the agent is released as soon as
 * setup is done while the init waits here, in its own few-page address space, for StartContainer.
 *
 *   argv:  kata-gate <exe> <workload argv0> [argv1 ...]      envp: the workload's environment
 *   fd 3:  read end of the start pipe (the agent writes one byte to start, or closes it to abort)
 *   fd 4:  write end of the status pipe (only the agent holds the read end)
 *
 * Status records are 12 bytes {step, index, errno} (native-endian u32), the same shape as the
 * launcher's failure report: {0,0,0} = "ready, blocking now"; after the start byte, EOF on the
 * status pipe means the workload was exec'd (fd 4 is close-on-exec by then); {STEP_EXEC,0,errno}
 * means execve failed. Exit codes: 124 status pipe unusable, 125 start pipe closed without a
 * byte (aborted), 126 bad arguments, 127 execve failed. */
#define START_FD 3
#define STATUS_FD 4
#define STEP_EXEC 37 /* keep in sync with launch/steps.h (ST_EXEC) and launch-error.ts (STEPS) */

#if defined(__x86_64__)
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_execve 59
#define SYS_exit 60
#define SYS_fcntl 72
#define SYS_prctl 157
static inline long sc3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
#else
#error "kata-gate: only x86_64 syscall numbers are defined"
#endif

static __attribute__((noreturn)) void die(int code) {
  for (;;) sc3(SYS_exit, code, 0, 0);
}

static int report(int step, int err) {
  unsigned int rec[3];
  rec[0] = (unsigned int)step;
  rec[1] = 0;
  rec[2] = (unsigned int)err;
  return sc3(SYS_write, STATUS_FD, (long)rec, sizeof rec) == sizeof rec;
}

__attribute__((noreturn, used)) void gate_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  char b;
  long r;
  /* Like runc's init: nothing in the container may ptrace the blocked init (it holds agent pipes);
   * the workload's execve recomputes dumpability. */
  sc3(SYS_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0);
  if (argc < 3) die(126);
  if (!report(0, 0)) die(124);
  do r = sc3(SYS_read, START_FD, (long)&b, 1); while (r == -4 /* EINTR */);
  if (r != 1) die(125);
  sc3(SYS_close, START_FD, 0, 0);
  sc3(SYS_fcntl, STATUS_FD, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  r = sc3(SYS_execve, (long)argv[1], (long)(argv + 2), (long)envp);
  report(STEP_EXEC, (int)-r);
  die(127);
}

/* The kernel enters at _start with the stack pointer at argc; align it and hand it to gate_main. */
__asm__(".text\n.global _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall gate_main\n\thlt\n");
