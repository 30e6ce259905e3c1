// Domain errors. Domain modules throw these (or SysError/LaunchError for failed system calls);
// the RPC layer maps each kind to a gRPC status code and never needs to know the details.

export type ErrorKind =
  | "invalid" // INVALID_ARGUMENT: the request itself is wrong
  | "not-found" // NOT_FOUND: unknown process / exec id
  | "exists" // ALREADY_EXISTS
  | "precondition" // FAILED_PRECONDITION: right request, wrong state
  | "unavailable" // UNAVAILABLE: e.g. TtyWinResize without a terminal
  | "deadline" // DEADLINE_EXCEEDED
  | "resource-exhausted" // RESOURCE_EXHAUSTED: more than the agent accepts (counts, sizes)
  | "unimplemented"
  | "internal";

/** Any error that says which status it deserves. Errors of every layer (SysError, SpecError,
 *  CgroupError, …) carry a kind; the RPC layer maps kind → code and nothing else. */
export interface KindedError extends Error {
  readonly kind: ErrorKind;
}

export function kindOf(e: unknown): ErrorKind {
  const k = typeof e === "object" && e !== null ? (e as { kind?: unknown }).kind : undefined;
  return typeof k === "string" && k in KINDS ? (k as ErrorKind) : "internal";
}

const KINDS: Record<ErrorKind, true> = {
  invalid: true, "not-found": true, exists: true, precondition: true, unavailable: true, deadline: true,
  "resource-exhausted": true, unimplemented: true, internal: true,
};

export class AgentError extends Error implements KindedError {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
    this.name = "AgentError";
  }
}

export const invalid = (m: string) => new AgentError("invalid", m);
export const notFound = (m: string) => new AgentError("not-found", m);
export const exists = (m: string) => new AgentError("exists", m);
export const precondition = (m: string) => new AgentError("precondition", m);
export const unavailable = (m: string) => new AgentError("unavailable", m);
export const exhausted = (m: string) => new AgentError("resource-exhausted", m);
