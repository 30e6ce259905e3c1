// gRPC status codes (ttRPC reuses google.rpc.Status) and the error a handler throws to answer one.

export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** "NOT_FOUND" for 5; codes outside the table print as "CODE_<n>" (a peer may send anything). */
export function codeName(code: number): string {
  return Code[code] ?? `CODE_${code}`;
}

/**
 * A call's non-OK outcome. `message` is what goes on the wire in Status.message; `details` are
 * encoded google.protobuf.Any messages, passed through untouched.
 */
export class RpcError extends Error {
  constructor(
    readonly code: Code | number,
    message: string,
    readonly details: Uint8Array[] = [],
  ) {
    super(message);
    this.name = "RpcError";
  }

  /** Go's format, which Kata's tooling and logs show: "rpc error: code = NotFound desc = …". */
  override toString(): string {
    return `rpc error: code = ${codeName(this.code)} desc = ${this.message}`;
  }
}

/** Maps anything a handler threw to a status: RpcError keeps its code, the rest is UNKNOWN. */
export function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  if (e instanceof Error) return new RpcError(Code.UNKNOWN, e.message);
  return new RpcError(Code.UNKNOWN, String(e));
}
