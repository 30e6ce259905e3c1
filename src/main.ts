// The one binary: the agent, or agent-ctl when invoked as `kata-agent-ctl` (a link) or as
// `kata-agent ctl …`. (No top-level await: --bytecode builds a CommonJS bundle.)
import { basename } from "node:path";
import { agentMain } from "./agent.ts";
import { ctlMain } from "./ctl/main.ts";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const invokedAs = basename(process.argv0);
  if (invokedAs === "kata-agent-ctl" || argv[0] === "ctl") {
    process.exitCode = await ctlMain(invokedAs === "kata-agent-ctl" ? argv : argv.slice(1));
  } else {
    await agentMain(argv);
  }
}

main().catch((e) => {
  process.stderr.write(`kata-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
