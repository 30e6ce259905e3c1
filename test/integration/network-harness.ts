// Network namespaces for the network RPC tests: the "pod" namespace the agent runs in (via
// `ip netns exec`) and a "host" namespace holding the veth peers, like a CNI plugin leaves them.
// The test only configures and reads back; both namespaces (and so every veth) are removed by
// stop(), also after a failure.
import { AgentService, type AgentRequest, type AgentResponse, type AgentServiceTypes } from "../../src/gen/index.ts";
import { messageType } from "../../src/ctl/schema.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";

export const isRoot = process.getuid?.() === 0;
export const haveIp = Bun.which("ip") !== null;

export function sh(args: string[]): string {
  const p = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${args.join(" ")}: exit ${p.exitCode}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

export interface Veth {
  /** The name the pod side starts with (before UpdateInterface renames it). */
  name: string;
  mac: string;
  peer: string;
}

export interface NetHarness {
  pod: string;
  host: string;
  agent: RunningAgent;
  /** `ip -j <args>` in the pod namespace, parsed. */
  ipj(...args: string[]): any[];
  /** A veth pair: `name` in the pod namespace with a fixed MAC, its peer (up) in the host namespace. */
  veth(name: string, mac: string): Veth;
  stop(): Promise<void>;
}

export async function startNetHarness(tag: string): Promise<NetHarness> {
  const pod = `kata-${tag}-pod-${process.pid}`;
  const host = `kata-${tag}-host-${process.pid}`;
  for (const ns of [pod, host]) Bun.spawnSync(["ip", "netns", "del", ns], { stderr: "ignore" });
  sh(["ip", "netns", "add", pod]);
  let agent: RunningAgent | undefined;
  const stop = async () => {
    await agent?.stop().catch(() => {});
    for (const ns of [pod, host]) Bun.spawnSync(["ip", "netns", "del", ns], { stderr: "ignore" });
  };
  try {
    sh(["ip", "netns", "add", host]);
    agent = await startAgent({ wrap: ["ip", "netns", "exec", pod], toml: "hotplug_timeout = 1" });
  } catch (e) {
    await stop();
    throw e;
  }
  let peers = 0;
  return {
    pod, host, agent: agent!, stop,
    ipj: (...args) => JSON.parse(sh(["ip", "-n", pod, "-j", ...args]) || "[]"),
    veth(name, mac) {
      const peer = `hv${peers++}`;
      sh(["ip", "-n", pod, "link", "add", name, "address", mac, "type", "veth", "peer", "name", peer, "netns", host]);
      sh(["ip", "-n", host, "link", "set", peer, "up"]);
      return { name, mac, peer };
    },
  };
}

type Method = keyof AgentServiceTypes;

/** One AgentService call, the request given as a plain object (protobufjs fromObject). */
export async function rpc<M extends Method>(c: TtrpcClient, method: M, req: AgentRequest<M> | Record<string, unknown>): Promise<AgentResponse<M>> {
  const d = AgentService.methods[method]!;
  const type = messageType(d.requestType);
  const payload = type.encode(type.fromObject(req as Record<string, unknown>)).finish();
  return d.response.decode(await c.call(AgentService.name, method, payload)) as AgentResponse<M>;
}
