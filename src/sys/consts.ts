// Linux ABI numbers the agent uses (x86_64; the generic values are the same on arm64 unless
// noted). One home for them, so no file re-declares O_CLOEXEC or SIGKILL with its own comment.
// errno numbers and their names are in errno.ts.

export const O_RDONLY = 0, O_WRONLY = 0x1, O_RDWR = 0x2;
export const O_NOCTTY = 0x100;
export const O_NONBLOCK = 0x800;
export const O_DIRECTORY = 0x10000;
export const O_NOFOLLOW = 0x20000;
export const O_CLOEXEC = 0x80000;
export const O_PATH = 0x200000;

export const F_GETFL = 3, F_SETFL = 4, F_SETFD = 2, FD_CLOEXEC = 1;
export const F_ADD_SEALS = 1033, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;

export const SIGHUP = 1, SIGINT = 2, SIGKILL = 9, SIGTERM = 15, SIGCHLD = 17;

export const SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
/** VMADDR_CID_ANY: `vsock://-1:PORT` listens on every CID of this VM. */
export const VMADDR_CID_ANY = 0xffffffff;
/** Interface flags (rtnetlink and the SIOC*IFFLAGS ioctls). */
export const IFF_UP = 0x1, IFF_NOARP = 0x80;
export const AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_VSOCK = 40;

/** bpf(2), for cgroup v2 device filters (src/sys/bpf.ts). */
export const SYS_bpf = 321; // x86_64
export const BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6, BPF_F_ALLOW_MULTI = 2;
