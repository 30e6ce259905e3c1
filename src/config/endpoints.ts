// The `[endpoints] allowed = [...]` allow-list. Kata compared the request's protobuf type
// name ("CreateContainerRequest") with the list and answered a blocked call UNIMPLEMENTED
// ("<name> is blocked"). Without a list (cmdline mode, or a file without [endpoints]) every
// request is allowed.
import type { AgentConfig, Problem } from "./types.ts";
import { makeProblem } from "./types.ts";
import { AGENT_SERVICE_REQUESTS, HEALTH_REQUESTS, KNOWN_REQUEST_NAMES, requestNameForMethod } from "./request-names.ts";

const HEALTH_REQUEST_NAMES = new Set(Object.values(HEALTH_REQUESTS));

/**
 * Whether the server may serve a request of this type. Health requests are never blocked:
 * Kata's health service does not consult the list, and the runtime needs Check to see the
 * agent alive.
 */
export function isEndpointAllowed(config: Pick<AgentConfig, "endpoints">, requestName: string): boolean {
  const allowed = config.endpoints.allowed;
  return allowed === null || allowed.has(requestName) || HEALTH_REQUEST_NAMES.has(requestName);
}

/**
 * The same check keyed by the wire names (`Request.service`, `Request.method`). Use this in
 * the server rather than appending "Request" to the method: WriteStdin's type is
 * WriteStreamRequest, GetGuestDetails's is GuestDetailsRequest, and so on. Unknown methods
 * pass, so the server can answer them UNIMPLEMENTED as unknown rather than as blocked.
 */
export function isMethodAllowed(config: Pick<AgentConfig, "endpoints">, service: string, method: string): boolean {
  if (service !== "grpc.AgentService") return true;
  const requestName = AGENT_SERVICE_REQUESTS[method];
  return requestName === undefined || isEndpointAllowed(config, requestName);
}

export interface AllowListResult {
  allowed: Set<string>;
  problems: Problem[];
  warnings: Problem[];
}

/**
 * Checks every entry against the known request type names. An entry that names no request of
 * this protocol is warned about and ignored, as Kata ignores it (its samples list requests of
 * other builds, e.g. "PullImageRequest", "StartTracingRequest"), so Kata's own files load
 * unchanged; the list only ever gets more restrictive. An entry naming a method instead of its
 * request type gets a "did you mean" hint: it allows nothing.
 */
export function buildAllowList(
  entries: readonly string[],
  origin: string,
  known: ReadonlySet<string> = KNOWN_REQUEST_NAMES,
): AllowListResult {
  const allowed = new Set<string>();
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const key = "endpoints.allowed";
  for (const entry of entries) {
    if (known.has(entry)) {
      if (allowed.has(entry)) warnings.push(makeProblem(origin, key, "is listed twice", entry));
      allowed.add(entry);
      continue;
    }
    const hint = requestNameForMethod(entry);
    const reason = hint
      ? `is a method name, not a request type name (did you mean "${hint}"?)`
      : "is not a request type name of grpc.AgentService or grpc.Health (e.g. \"CreateContainerRequest\"); ignored";
    warnings.push(makeProblem(origin, key, hint ? `${reason}; ignored` : reason, entry));
  }
  if (entries.length === 0) {
    warnings.push(makeProblem(origin, key, "is empty: every AgentService request will be refused"));
  }
  return { allowed, problems, warnings };
}
