// The one binary: the agent, or agent-ctl when invoked as `kata-agent-ctl` (a link) or as
// `kata-agent ctl …`; `kata-agent vsock-cat CID PORT` is a tiny vsock client for guests.
// The agent is the mode on the VM's boot path, so its start-up modules are imported statically:
// they load with this entry chunk instead of as the 14 chunks a dynamic import() of agent.ts made
// (build.ts splits every dynamic import() into its own chunk): start-to-ready −0.34 ms, paired,
// 12 rounds × 10 starts. The other modes pay for it (`--version` 3.7 → 5.8 ms) and load their
// own modules on demand; everything the agent serves RPCs with stays lazy (test/unit/startup-imports).
import { agentMain } from "./agent.ts";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const invokedAs = process.argv0.slice(process.argv0.lastIndexOf("/") + 1);
  if (argv[0] === "vsock-cat") {
    const { vsockCatMain } = await import("./tools/vsock-cat.ts");
    process.exit(await vsockCatMain(argv.slice(1))); // stdin may still be open
  } else if (invokedAs === "kata-agent-ctl" || argv[0] === "ctl") {
    const { ctlMain } = await import("./ctl/main.ts");
    process.exitCode = await ctlMain(invokedAs === "kata-agent-ctl" ? argv : argv.slice(1));
  } else {
    // --version is answered by agentMain before it reads any configuration.
    await agentMain(argv);
  }
}

main().catch((e) => {
  process.stderr.write(`kata-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
