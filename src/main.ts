// The one binary: the agent, or agent-ctl when invoked as `kata-agent-ctl` (a link) or as
// `kata-agent ctl …`; `kata-agent vsock-cat CID PORT` is a tiny vsock client for guests. (No top-level await: --bytecode builds a CommonJS bundle.)
import { basename } from "node:path";
import { agentMain } from "./agent.ts";
import { ctlMain } from "./ctl/main.ts";
import { vsockCatMain } from "./tools/vsock-cat.ts";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const invokedAs = basename(process.argv0);
  if (argv[0] === "vsock-cat") {
    process.exit(await vsockCatMain(argv.slice(1))); // stdin may still be open
  } else if (invokedAs === "kata-agent-ctl" || argv[0] === "ctl") {
    process.exitCode = await ctlMain(invokedAs === "kata-agent-ctl" ? argv : argv.slice(1));
  } else {
    await agentMain(argv);
  }
}

main().catch((e) => {
  process.stderr.write(`kata-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
