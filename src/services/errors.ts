// Maps what the domain throws to a gRPC status. The message always names the RPC, so a client
// sees e.g. "CreateContainer: mount proc on /proc: EPERM".
import { AgentError, type ErrorKind } from "../errors.ts";
import { Code, RpcError } from "../ttrpc/status.ts";

const KIND_CODE: Record<ErrorKind, Code> = {
  invalid: Code.INVALID_ARGUMENT,
  "not-found": Code.NOT_FOUND,
  exists: Code.ALREADY_EXISTS,
  precondition: Code.FAILED_PRECONDITION,
  unavailable: Code.UNAVAILABLE,
  deadline: Code.DEADLINE_EXCEEDED,
  unimplemented: Code.UNIMPLEMENTED,
  internal: Code.INTERNAL,
};

/** Error classes from other modules, by name, so this file needs no import of each. */
const NAME_CODE: Record<string, Code> = {
  SpecError: Code.INVALID_ARGUMENT,
  LaunchError: Code.INTERNAL,
  HookError: Code.INTERNAL,
  SysError: Code.INTERNAL,
  CgroupError: Code.INTERNAL,
};

export function statusFor(method: string, e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const code = err instanceof AgentError ? KIND_CODE[err.kind] : (NAME_CODE[err.name] ?? Code.INTERNAL);
  const msg = err.message.startsWith(`${method}:`) ? err.message : `${method}: ${err.message}`;
  return new RpcError(code, msg);
}
