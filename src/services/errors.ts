// Maps what the domain throws to a gRPC status, by the error's kind (src/errors.ts): no class
// names here. The message always names the RPC, so a client sees e.g.
// "CreateContainer: mount proc on /proc: EPERM".
import { kindOf, type ErrorKind } from "../errors.ts";
import { Code, RpcError } from "../ttrpc/status.ts";

const KIND_CODE: Record<ErrorKind, Code> = {
  invalid: Code.INVALID_ARGUMENT,
  "not-found": Code.NOT_FOUND,
  exists: Code.ALREADY_EXISTS,
  precondition: Code.FAILED_PRECONDITION,
  unavailable: Code.UNAVAILABLE,
  deadline: Code.DEADLINE_EXCEEDED,
  "resource-exhausted": Code.RESOURCE_EXHAUSTED,
  unimplemented: Code.UNIMPLEMENTED,
  internal: Code.INTERNAL,
};

export function statusFor(method: string, e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const msg = err.message.startsWith(`${method}:`) ? err.message : `${method}: ${err.message}`;
  return new RpcError(KIND_CODE[kindOf(err)], msg);
}
