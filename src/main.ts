// The one binary: the agent, or agent-ctl when invoked as `kata-agent-ctl` (a link) or as
// `kata-agent ctl …`.
import { basename } from "node:path";

const argv = process.argv.slice(2);
const invokedAs = basename(process.argv0);

if (invokedAs === "kata-agent-ctl" || argv[0] === "ctl") {
  const { ctlMain } = await import("./ctl/main.ts");
  process.exitCode = await ctlMain(invokedAs === "kata-agent-ctl" ? argv : argv.slice(1));
} else {
  const { agentMain } = await import("./agent.ts");
  await agentMain(argv);
}
