// Pure rules of the pod work: which pid namespace a container joins (Kata's
// update_container_namespaces / update_shared_pidns), the holder's plan, and who may set the clock.
import { expect, test } from "bun:test";
import { mayOwnClock } from "../../src/guest/clock-random.ts";
import { holderPlan, PodNamespaces } from "../../src/sandbox/pod-namespaces.ts";

test("sandbox_pidns: the first container makes its own pid namespace, which flagged later ones join", () => {
  const pod = new PodNamespaces();
  expect(pod.pidnsFor(true, true)).toBeUndefined(); // first container, flagged: a new one
  pod.adopt(4242, true);
  expect(pod.pidnsFor(true, false)).toBe("/proc/4242/ns/pid");
  expect(pod.pidnsFor(false, false)).toBeUndefined();
  pod.adopt(5000, false); // a later container never replaces it
  expect(pod.pidnsFor(true, false)).toBe("/proc/4242/ns/pid");
  expect(pod.shared()).toEqual({}); // no CreateSandbox: nothing shared
});

test("a flagged container when no first container was recorded is refused", () => {
  const pod = new PodNamespaces();
  expect(() => pod.pidnsFor(true, false)).toThrow(/sandbox_pidns is set but the sandbox has no shared pid namespace/);
});

test("the holder makes IPC and UTS namespaces with the pod's hostname, and a pid one only for the legacy flag", () => {
  const p = holderPlan({ hostname: "pod-a", pidnsForAll: false });
  expect(p.namespaces).toEqual([{ kind: "ipc" }, { kind: "uts" }]);
  expect(p.hostname).toBe("pod-a");
  expect(p.rootfs).toBeUndefined();
  const q = holderPlan({ hostname: "", pidnsForAll: true });
  expect(q.namespaces.map((n) => n.kind)).toEqual(["ipc", "uts", "pid"]);
  expect(q.hostname).toBeUndefined();
});

test("the clock is set by an agent that owns the guest: PID 1, or a systemd service", () => {
  expect(mayOwnClock({ ownsMachine: true, ppid: 0, systemdBooted: false })).toBe(true);
  expect(mayOwnClock({ ownsMachine: false, ppid: 1, systemdBooted: true })).toBe(true);
  expect(mayOwnClock({ ownsMachine: false, ppid: 1, systemdBooted: false })).toBe(false);
  expect(mayOwnClock({ ownsMachine: false, ppid: 777, systemdBooted: true })).toBe(false);
});
