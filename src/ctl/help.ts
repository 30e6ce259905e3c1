// Usage text, the command list and per-command help (request fields come from the schema, so
// every RPC is documented without a hand-kept list).
import { ALL_SERVICES } from "../gen/index.ts";
import { BUILTINS, findBuiltin, findRpc } from "./table.ts";
import { CONVENIENCE } from "./container-args.ts";
import { CtlSyntaxError } from "./errors.ts";
import { ALIASES } from "./request.ts";
import { describeField, messageType } from "./schema.ts";

export const USAGE = `kata-agent-ctl: call the Kata agent's ttRPC API by hand (test and development tool).

USAGE:
  kata-agent-ctl [-l LEVEL] connect --server-address ADDR [OPTIONS] [-c "COMMAND ARGS"]... [-i]
  kata-agent-ctl list | help [COMMAND] | examples | generate-cid | generate-sid | --version
  (the agent binary also answers as: kata-agent ctl …)

CONNECT OPTIONS:
  --server-address ADDR   vsock://CID:PORT, unix:///path, unix://@abstract, tcp://host:port
  --hybrid-vsock          ADDR is a hybrid vsock unix socket (Cloud Hypervisor, Firecracker):
                          send "CONNECT <port>" first
  --hybrid-vsock-port N   agent port for --hybrid-vsock (default 1024)
  --timeout T             deadline of each call, sent as timeout_nano: 5s, 500ms, 1m, 250us;
                          a bare number is nanoseconds (Kata's rule); 0 = none (default)
  --ignore-errors         keep going after a failed call, and exit 0 for failed calls
  -n, --no-auto-values    do not fill in container_id from the previous command, exec_id of
                          CreateContainer from container_id, or len of reads (65536)
  --bundle-dir DIR        bundle for CreateContainer commands that give no spec (as bundle=DIR)
  -c, --cmd "CMD ARGS"    a command to run; repeat -c for several, run in order
  -i, --interactive       read commands from stdin (prompt "kata-agent-ctl> " on a terminal)
  -l, --log-level LEVEL   trace, debug, info (default), warn, error, critical; logs go to stderr

COMMANDS: every RPC of grpc.AgentService and grpc.Health by its name (any case), and built-ins;
"list" shows them, "help COMMAND" shows a command's request fields.

ARGUMENTS of an RPC command, combined freely (JSON first, name=value on top):
  json://{"container_id": "c1"}   the request as JSON with proto field names; unknown fields
                                  are an error
  file:///path/request.json       the same, from a file
  name=value                      one request field: container_id=c1, or a short name:
                                  ${Object.entries(ALIASES).map(([a, f]) => `${a}=→${f}`).join(", ")}
                                  nested fields by dotted path: OCI.Process.Terminal=true,
                                  map entries as OCI.Annotations.KEY=VALUE, messages as JSON
                                  (process=json://{…}), repeated fields by repeating the name
  Values follow the field type: integers (decimal or 0x…), booleans (true/false/1/0),
  enums by name or number, signal=SIGKILL|KILL|kill|9, bytes as text with \\n \\t \\xHH
  escapes (data="hello\\n").
  Words split like a shell: 'single' and "double" quotes; json://… may contain spaces.

RUNNING A CONTAINER BY HAND:
  CreateContainer cid=ID bundle=/path/to/bundle            OCI from bundle/config.json
  CreateContainer cid=ID spec=/path/config.json            the same, any file
  CreateContainer cid=ID rootfs=/path cmd="sh -c 'echo hi'" [terminal=true] [env=K=V]... [cwd=/]
  StartContainer cid=ID
  ExecProcess cid=ID exec_id=E cmd="ls /" [terminal=true] [env=K=V]... [cwd=DIR] [uid=N] [gid=N]
  ReadStdout cid=ID [exec_id=E] [len=N]   ReadAll cid=ID [exec_id=E]
  WriteStdin cid=ID [exec_id=E] data="text\\n"              CloseStdin cid=ID [exec_id=E]
  SignalProcess cid=ID [exec_id=E] signal=SIGTERM           WaitProcess cid=ID [exec_id=E]
  RemoveContainer cid=ID [timeout=SECONDS]
  exec_id defaults to the container id in CreateContainer; empty exec_id = the init process.
  Paths are the agent's (the guest's); rootfs= builds the spec \`runc spec\` would write.

OUTPUT: one line per call, "Command: {json}" on stdout (all fields, enums by name, 64-bit
numbers as numbers, bytes as a string when printable UTF-8 text, else {"base64": "…"}).
A failed call prints "Command: error: rpc error: code = … desc = …" on stderr.
EXIT CODE: 0 ok; 1 a call failed (unless --ignore-errors); 2 bad command syntax.
`;

export const EXAMPLES = `EXAMPLES:
  kata-agent-ctl connect --server-address vsock://3:1024 -c Check -c Version
  kata-agent-ctl connect --server-address unix:///run/vc/vm/ID/clh.sock --hybrid-vsock -c GetGuestDetails
  kata-agent-ctl connect --server-address unix://@agent.sock \\
      -c 'CreateContainer cid=c1 rootfs=/run/rootfs cmd="sh -c \\"echo hi; sleep 1\\""' \\
      -c 'StartContainer cid=c1' -c 'ReadAll cid=c1' -c 'WaitProcess cid=c1' -c 'RemoveContainer cid=c1'
  kata-agent-ctl connect --server-address vsock://3:1024 -c 'GetGuestDetails json://{"mem_block_size": true}'
  kata-agent-ctl connect --server-address vsock://3:1024 -c 'SignalProcess cid=c1 signal=usr1'
  kata-agent-ctl connect --server-address vsock://3:1024 --timeout 2s -c 'repeat 5' -c Check
  printf 'Check\\nsleep 100ms\\nVersion\\n' | kata-agent-ctl connect --server-address vsock://3:1024 -i
`;

export function commandList(): string {
  const lines = ["BUILT-IN COMMANDS:"];
  for (const b of BUILTINS) lines.push(`  ${b.usage.padEnd(38)} ${b.description}`);
  for (const service of ALL_SERVICES) {
    lines.push("", `${service.name} (${Object.keys(service.methods).length} RPCs):`);
    const names = Object.keys(service.methods).sort();
    for (let i = 0; i < names.length; i += 3) lines.push(`  ${names.slice(i, i + 3).map((n) => n.padEnd(32)).join("").trimEnd()}`);
  }
  lines.push("", 'Use "help COMMAND" for a command\'s request fields.');
  return lines.join("\n") + "\n";
}

/** Help for one command; CtlSyntaxError when there is no such command. */
export function commandHelp(name: string): string {
  const builtin = findBuiltin(name);
  if (builtin) return `${builtin.usage}\n  ${builtin.description}\n`;
  const rpc = findRpc(name);
  if (!rpc) throw new CtlSyntaxError(`unknown command "${name}" (try: list)`);
  const m = rpc.method;
  const type = messageType(m.requestType);
  const lines = [`${m.name}: ${rpc.service.name}/${m.name}(${m.requestType}) returns ${m.responseType}`, "request fields:"];
  if (type.fieldsArray.length === 0) lines.push("  (none)");
  for (const f of type.fieldsArray) {
    const aliases = Object.entries(ALIASES).filter(([, target]) => target === f.name).map(([a]) => a);
    lines.push(`  ${f.name.padEnd(24)} ${describeField(f)}${aliases.length ? `   (also: ${aliases.join(", ")})` : ""}`);
  }
  const convenience = CONVENIENCE[m.name];
  if (convenience) lines.push(`short forms: ${convenience.names.map((n) => `${n}=`).join(" ")} (see --help)`);
  return lines.join("\n") + "\n";
}
