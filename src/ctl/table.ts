// The commands agent-ctl understands: every RPC of grpc.AgentService and grpc.Health (named
// like the RPC, case-insensitive) and the built-ins.
import { ALL_SERVICES, type MethodDescriptor, type ServiceDescriptor } from "../gen/index.ts";

export interface RpcCommand {
  service: ServiceDescriptor;
  method: MethodDescriptor;
}

export interface Builtin {
  name: string;
  usage: string;
  description: string;
}

export const BUILTINS: Builtin[] = [
  { name: "echo", usage: "echo WORDS…", description: "print the words" },
  { name: "help", usage: "help [COMMAND]", description: "list the commands, or describe one (its request fields and short names)" },
  { name: "list", usage: "list", description: "same as help" },
  { name: "quit", usage: "quit", description: "stop (also: exit)" },
  { name: "ReadAll", usage: "ReadAll cid=ID [exec_id=E] [len=N]", description: "ReadStdout and ReadStderr until both reach EOF; the data is written as it is (stdout to stdout, stderr to stderr), then a summary line" },
  { name: "repeat", usage: "repeat N [COMMAND…]", description: "run the next command (or the rest of this line) N times; -1 = until it fails" },
  { name: "sleep", usage: "sleep TIME", description: "pause: Go-style duration (500ms, 2s, 1m30s) or a number of milliseconds" },
];

/** RPC commands by lower-case name (both services; their method names do not collide). */
const RPCS = new Map<string, RpcCommand>();
for (const service of ALL_SERVICES) {
  for (const method of Object.values(service.methods)) RPCS.set(method.name.toLowerCase(), { service, method });
}

export function rpcCommands(): RpcCommand[] {
  return [...RPCS.values()];
}

export function findRpc(name: string): RpcCommand | undefined {
  return RPCS.get(name.toLowerCase());
}

export function findBuiltin(name: string): Builtin | undefined {
  const lower = name.toLowerCase() === "exit" ? "quit" : name.toLowerCase();
  return BUILTINS.find((b) => b.name.toLowerCase() === lower);
}

