import type { ErrorKind } from "../errors.ts";

// errno numbers (x86_64/arm64 generic Linux) and their names, for error messages like
// "mount proc on /proc: EPERM". Pure data: no FFI here, so tests and the status layer can use it.
const NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
  9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
  16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
  30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG",
  38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 61: "ENODATA", 62: "ETIME", 75: "EOVERFLOW", 88: "ENOTSOCK",
  93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL",
  104: "ECONNRESET", 107: "ENOTCONN", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH",
};

export const ERRNO = Object.fromEntries(Object.entries(NAMES).map(([n, s]) => [s, Number(n)])) as Record<string, number>;

export function errnoName(e: number): string {
  return NAMES[e] ?? `errno ${e}`;
}

/** A failed system call: carries the call (with its arguments, for the message) and errno. */
export class SysError extends Error {
  /** kind: a failed system call is ours to explain ("internal") unless the caller knows that this
   *  errno means the request was wrong. */
  constructor(readonly call: string, readonly errno: number, readonly kind: ErrorKind = "internal") {
    super(`${call}: ${errnoName(errno)}`);
    this.name = "SysError";
  }
  get code(): string {
    return errnoName(this.errno);
  }
}
