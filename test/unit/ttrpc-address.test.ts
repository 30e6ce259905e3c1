import { describe, expect, test } from "bun:test";
import { AddressError, CID_ANY, formatAddress, parseAddress, type Address } from "../../src/ttrpc/address.ts";

describe("parseAddress", () => {
  // [text, parsed, canonical text]
  const good: Array<[string, Address, string]> = [
    ["unix:///run/kata/agent.sock", { kind: "unix", path: "/run/kata/agent.sock" }, "unix:///run/kata/agent.sock"],
    ["unix://@kata-agent", { kind: "abstract", name: "kata-agent" }, "unix://@kata-agent"],
    ["vsock://-1:1024", { kind: "vsock", cid: CID_ANY, port: 1024 }, "vsock://-1:1024"],
    ["vsock://4294967295:1024", { kind: "vsock", cid: CID_ANY, port: 1024 }, "vsock://-1:1024"],
    ["vsock://3:5000", { kind: "vsock", cid: 3, port: 5000 }, "vsock://3:5000"],
    ["vsock://0:0", { kind: "vsock", cid: 0, port: 0 }, "vsock://0:0"],
    ["tcp://127.0.0.1:1024", { kind: "tcp", host: "127.0.0.1", port: 1024 }, "tcp://127.0.0.1:1024"],
    ["tcp://localhost:0", { kind: "tcp", host: "localhost", port: 0 }, "tcp://localhost:0"],
    ["tcp://[::1]:65535", { kind: "tcp", host: "::1", port: 65535 }, "tcp://[::1]:65535"],
    ["UNIX:///x", { kind: "unix", path: "/x" }, "unix:///x"],
  ];
  test.each(good)("%s", (text, want, canonical) => {
    expect(parseAddress(text)).toEqual(want);
    expect(formatAddress(want)).toBe(canonical);
  });

  const bad: Array<[string, string]> = [
    ["", "expected scheme"],
    ["/run/agent.sock", "expected scheme"],
    ["http://x:1", "unknown scheme"],
    ["unix://", "absolute path"],
    ["unix://relative/path", "absolute path"],
    ["unix://@", "empty abstract"],
    [`unix:///${"a".repeat(107)}`, "longer than 107"],
    [`unix://@${"a".repeat(108)}`, "longer than 107"],
    ["vsock://1024", "vsock://CID:PORT"],
    ["vsock://x:1024", "CID"],
    ["vsock://-2:1024", "CID must be"],
    ["vsock://4294967296:1024", "CID must be"],
    ["vsock://3:", "port"],
    ["vsock://3:0x10", "port"],
    ["vsock://3:1e3", "port"],
    ["vsock://3:-1", "port must be"],
    ["vsock://3:4294967295", "port must be"],
    ["tcp://host", "tcp://host:port"],
    ["tcp://:80", "empty host"],
    ["tcp://h:65536", "port must be"],
    ["tcp://h: 80", "not a number"],
    ["tcp://::1:80", "brackets"],
    ["tcp://[::1]80", "tcp://[ipv6]:port"],
  ];
  test.each(bad)("rejects %p", (text, why) => {
    let err: unknown;
    try {
      parseAddress(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AddressError);
    expect((err as Error).message).toContain(`"${text}"`);
    expect((err as Error).message).toContain(why);
  });
});
