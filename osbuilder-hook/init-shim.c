/*
 * /init for initrd images whose agent is a `bun build --compile` binary.
 *
 * Why it exists: the Bun runtime aborts before running any JavaScript when /proc is not mounted
 * (measured: "panic(main thread): abort() called" as PID 1 in the VM, and the same on the host in
 * a mount namespace without /proc). A Kata initrd starts /init with nothing mounted, so the agent
 * cannot mount /proc itself. This shim mounts /proc and execs /sbin/init (the agent), which
 * therefore is still PID 1 and mounts everything else as usual (skipping /proc).
 *
 * In a disk image the kernel starts /sbin/init (Kata's runtime passes no init=), so there the shim
 * is /sbin/init and execs the agent at /sbin/kata-agent (built with -DAGENT_PATH='"/sbin/kata-agent"').
 * Run again later (`/sbin/init vsock-cat ...`), it finds /proc mounted and only execs the agent.
 *
 * Freestanding: no libc, raw syscalls, so it is a ~1 KiB static executable that needs nothing in
 * the image. Build: cc -Os -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -o init init-shim.c
 */
#if defined(__x86_64__)
#define SYS_write 1
#define SYS_execve 59
#define SYS_exit 60
#define SYS_mkdirat 258
#define SYS_mount 165
#define SYS_faccessat 269
#define SYS_getpid 39
#define SYS_clone 56
#define SYS_wait4 61
static long syscall5(long n, long a, long b, long c, long d, long e) {
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
	return ret;
}
/* The kernel enters with rsp -> argc, argv..., NULL, envp..., NULL; hand that pointer to C. */
__asm__(".text\n.global _start\n_start:\n  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call shim_main\n  hlt\n");
#elif defined(__aarch64__)
#define SYS_write 64
#define SYS_execve 221
#define SYS_exit 93
#define SYS_mkdirat 34
#define SYS_mount 40
#define SYS_faccessat 48
#define SYS_getpid 172
#define SYS_clone 220
#define SYS_wait4 260
static long syscall5(long n, long a, long b, long c, long d, long e) {
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
	return x0;
}
__asm__(".text\n.global _start\n_start:\n  mov x29, #0\n  mov x0, sp\n  bl shim_main\n");
#else
#error "init-shim: only x86_64 and aarch64 are supported"
#endif

#define AT_FDCWD (-100)
#define MS_NOSUID 2
#define MS_NODEV 4
#define MS_NOEXEC 8
#define EBUSY 16
#define SIGCHLD 17

/* Not optimised into a strlen() call: there is no libc to provide one. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static unsigned long length(const char *s) {
	unsigned long n = 0;
	while (s[n]) n++;
	return n;
}

static void say(const char *msg) {
	syscall5(SYS_write, 2, (long)msg, (long)length(msg), 0, 0);
}

/*
 * Two JavaScriptCore options for the agent. Bun reads BUN_JSC_* only from the environment at start,
 * so whoever execs the agent sets them; a value already in the environment (the kernel command
 * line passes unknown KEY=VALUE words to init) is kept.
 *  - useDFGJIT=0: no DFG (optimising) JIT tier. In a pod VM the agent's code is request handling,
 *    not hot loops, and DFG compiles cost memory that stays (settled RSS after ~1000 container
 *    lifecycles 49-50 MiB instead of 56-57, anonymous 8.3 instead of 11.2 MiB) and CPU on the VM's
 *    few vCPUs (agent CPU per lifecycle -20%, exec p99 3.5-4.3 -> 2.4-2.5 ms), for ~7% of stdout
 *    throughput (docs/PERFORMANCE.md).
 *  - useWarmUpMarkedBlocks=0: no helper thread keeping 32 pre-faulted 16 KiB heap blocks (512 KiB)
 *    resident for 10 s after each heap growth, which an idle agent pays for nothing (idle
 *    anonymous memory -0.4 to -0.6 MiB, docs/PERFORMANCE.md).
 *
 * Bun exits at start on a BUN_JSC_* option its JavaScriptCore does not know (or a bad value), and
 * PID 1 exiting panics the kernel. So as PID 1, when the environment brings BUN_JSC_* options of
 * its own (say a typo on the kernel command line), the shim first runs `agent --version` with
 * them; if that fails (Bun's message is on the console), the agent starts without them. Boots
 * without such options pay nothing. (The two defaults are known to the Bun the agent is built
 * with: the hook's tests start the built agent with them.)
 */
static char *defaults[] = {"BUN_JSC_useDFGJIT=0", "BUN_JSC_useWarmUpMarkedBlocks=0"};
#define N_DEFAULTS (sizeof(defaults) / sizeof(defaults[0]))
#define MAX_ENV 254
static char *env_out[MAX_ENV + N_DEFAULTS + 1];

static int starts_with(const char *s, const char *prefix) {
	while (*prefix)
		if (*s++ != *prefix++) return 0;
	return 1;
}

/* Whether entry is "NAME=..." for the NAME of "NAME=value". */
static int same_name(const char *entry, const char *def) {
	while (*def && *def != '=')
		if (*entry++ != *def++) return 0;
	return *entry == '=';
}

/* envp without its BUN_JSC_* entries when drop_jsc, plus each default it does not set itself. */
static char **agent_env(char **envp, int drop_jsc) {
	long n = 0, k = 0;
	for (; envp[n]; n++)
		if (n >= MAX_ENV) return envp; /* an unusual environment: pass it on as it is */
	for (long i = 0; i < n; i++) {
		if (drop_jsc && starts_with(envp[i], "BUN_JSC_")) continue;
		env_out[k++] = envp[i];
	}
	for (unsigned long d = 0; d < N_DEFAULTS; d++) {
		int set = 0;
		for (long i = 0; i < k && !set; i++) set = same_name(env_out[i], defaults[d]);
		if (!set) env_out[k++] = defaults[d];
	}
	env_out[k] = 0;
	return env_out;
}

static int has_jsc_options(char **envp) {
	for (long i = 0; envp[i]; i++)
		if (starts_with(envp[i], "BUN_JSC_")) return 1;
	return 0;
}

/* Whether `agent --version` exits 0 with this environment (a forked child; the shim waits). */
static int agent_starts(char *agent, char **env) {
	static char version[] = "--version";
	char *args[] = {agent, version, 0};
	long pid = syscall5(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		syscall5(SYS_execve, (long)agent, (long)args, (long)env, 0, 0);
		syscall5(SYS_exit, 127, 0, 0, 0, 0);
	}
	if (pid < 0) return 1; /* cannot check: start it as configured */
	int status = 0;
	if (syscall5(SYS_wait4, pid, (long)&status, 0, 0, 0) != pid) return 1;
	return status == 0; /* exited with 0, not signalled */
}

__attribute__((used, noreturn)) void shim_main(long *sp) {
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
#ifndef AGENT_PATH
#define AGENT_PATH "/sbin/init"
#endif
	static char agent[] = AGENT_PATH;
	static char *no_args[] = {agent, 0};
	if (argc < 1) argv = no_args; /* envp (then empty) was taken from the real stack above */

	/* /proc/self exists once proc is mounted: never stack a second proc mount. */
	if (syscall5(SYS_faccessat, AT_FDCWD, (long)"/proc/self", 0 /* F_OK */, 0, 0) != 0) {
		syscall5(SYS_mkdirat, AT_FDCWD, (long)"/proc", 0555, 0, 0); /* EEXIST is fine */
		long r = syscall5(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
		if (r < 0 && r != -EBUSY) say("init-shim: mounting /proc failed; the agent will probably not start\n");
	}

	/* argv[0] names the agent, not /init: the binary picks agent or ctl mode from its name. */
	argv[0] = agent;
	char **env = agent_env(envp, 0);
	if (syscall5(SYS_getpid, 0, 0, 0, 0, 0) == 1 && has_jsc_options(envp) && !agent_starts(agent, env)) {
		say("init-shim: the agent does not start with the BUN_JSC_* options in its environment (see above); starting it without them\n");
		env = agent_env(envp, 1);
	}
	syscall5(SYS_execve, (long)agent, (long)argv, (long)env, 0, 0);
	say("init-shim: execve " AGENT_PATH " failed\n");
	for (;;) syscall5(SYS_exit, 127, 0, 0, 0, 0);
}
