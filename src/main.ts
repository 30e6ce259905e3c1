// The one binary: the agent, or agent-ctl when invoked as `kata-agent-ctl` (a link) or as
// `kata-agent ctl …`; `kata-agent vsock-cat CID PORT` is a tiny vsock client for guests.
// Each mode loads only its own modules (start-up time matters: the agent is on the VM's boot
// path): build.ts splits every dynamic import() into its own chunk.
import { basename } from "node:path";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const invokedAs = basename(process.argv0);
  if (argv[0] === "vsock-cat") {
    const { vsockCatMain } = await import("./tools/vsock-cat.ts");
    process.exit(await vsockCatMain(argv.slice(1))); // stdin may still be open
  } else if (invokedAs === "kata-agent-ctl" || argv[0] === "ctl") {
    const { ctlMain } = await import("./ctl/main.ts");
    process.exitCode = await ctlMain(invokedAs === "kata-agent-ctl" ? argv : argv.slice(1));
  } else if (argv.includes("--version") || argv.includes("-V")) {
    // Answered before the agent's modules are loaded: nothing else is needed for it.
    const { versionLine } = await import("./version.ts");
    console.log(versionLine());
  } else {
    const { agentMain } = await import("./agent.ts");
    await agentMain(argv);
  }
}

main().catch((e) => {
  process.stderr.write(`kata-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
