// agent-ctl's pure parsing: word splitting, escapes, durations, signal names, the command line.
import { describe, expect, test } from "bun:test";
import { Level } from "../../src/log/logger.ts";
import { DEFAULT_AGENT_VSOCK_PORT, parseArgs, parseDuration } from "../../src/ctl/args.ts";
import { CtlSyntaxError } from "../../src/ctl/errors.ts";
import { parseSignal, signalName } from "../../src/ctl/signals.ts";
import { decodeEscapes, splitWords } from "../../src/ctl/words.ts";

describe("splitWords", () => {
  const cases: [string, string[]][] = [
    ["Check", ["Check"]],
    ["  ReadStdout   cid=c1\tlen=10  ", ["ReadStdout", "cid=c1", "len=10"]],
    [`CreateContainer cmd="sh -c 'echo hi'"`, ["CreateContainer", "cmd=sh -c 'echo hi'"]],
    [`echo 'a "b" c' d`, ["echo", 'a "b" c', "d"]],
    [`echo "say \\"hi\\"" x`, ["echo", 'say "hi"', "x"]],
    [`echo a\\ b`, ["echo", "a b"]],
    // backslashes before other characters stay, for byte escapes decoded later
    [`WriteStdin data=hi\\n`, ["WriteStdin", "data=hi\\n"]],
    [`WriteStdin data="a\\tb\\n"`, ["WriteStdin", "data=a\\tb\\n"]],
    [`echo '' x`, ["echo", "", "x"]],
    [`echo ab'cd'"ef"`, ["echo", "abcdef"]],
    // json:// keeps spaces and quotes up to the matching bracket
    [`Check json://{"a": "b c", "d": [1, {"e": "}"}]} cid=x`, ["Check", `json://{"a": "b c", "d": [1, {"e": "}"}]}`, "cid=x"]],
    [`X process=json://{"Args": ["sh", "-c"]} eid=e`, ["X", `process=json://{"Args": ["sh", "-c"]}`, "eid=e"]],
    [`X json://"str ing" y`, ["X", 'json://"str ing"', "y"]],
  ];
  for (const [line, words] of cases) {
    test(line, () => expect(splitWords(line)).toEqual(words));
  }

  test("unterminated quotes and JSON are syntax errors", () => {
    expect(() => splitWords(`echo "abc`)).toThrow(/unterminated double quote/);
    expect(() => splitWords(`echo 'abc`)).toThrow(/unterminated single quote/);
    expect(() => splitWords(`X json://{"a": 1`)).toThrow(CtlSyntaxError);
  });
});

describe("decodeEscapes", () => {
  test("C escapes become bytes, the rest is UTF-8", () => {
    expect([...decodeEscapes("a\\nb\\t\\0\\x41\\\\é")]).toEqual([0x61, 10, 0x62, 9, 0, 0x41, 0x5c, 0xc3, 0xa9]);
  });
  test("unknown escapes and a trailing backslash stay as they are", () => {
    expect(Buffer.from(decodeEscapes("\\q\\x4\\")).toString()).toBe("\\q\\x4\\");
  });
});

describe("parseDuration", () => {
  const good: [string, number, number][] = [
    ["5s", 1, 5e9],
    ["500ms", 1, 5e8],
    ["1m30s", 1, 90e9],
    ["1h", 1, 3600e9],
    ["1.5s", 1, 1.5e9],
    [".5s", 1, 5e8],
    ["5.s", 1, 5e9],
    ["250us", 1, 250e3],
    ["250µs", 1, 250e3],
    ["99ns", 1, 99],
    ["1h2m3s4ms", 1, 3_723_004e6],
    ["0", 1, 0],
    ["42", 1, 42], // --timeout: bare number = nanoseconds, like Kata
    ["42", 1e6, 42e6], // sleep: bare number = milliseconds
    ["2.5", 1e6, 2.5e6],
  ];
  for (const [text, unit, ns] of good) test(`${text} (bare unit ${unit} ns)`, () => expect(parseDuration(text, unit)).toBe(ns));

  for (const bad of ["", "5x", "s", "1s5", "-1s", "1 s", "1e3"]) {
    test(`rejects ${JSON.stringify(bad)}`, () => expect(() => parseDuration(bad, 1)).toThrow(CtlSyntaxError));
  }
});

describe("signals", () => {
  const cases: [string, number][] = [
    ["SIGKILL", 9], ["KILL", 9], ["kill", 9], ["usr1", 10], ["SIGTERM", 15], ["9", 9],
    ["sigchld", 17], ["WINCH", 28], ["SIGRTMIN", 34], ["SIGRTMIN+3", 37], ["RTMAX-1", 63], ["64", 64],
  ];
  for (const [text, n] of cases) test(`${text} = ${n}`, () => expect(parseSignal(text)).toBe(n));
  for (const bad of ["SIGFOO", "65", "RTMIN+40", "", "-9"]) test(`${JSON.stringify(bad)} is not a signal`, () => expect(parseSignal(bad)).toBeUndefined());
  test("names for numbers", () => {
    expect(signalName(9)).toBe("SIGKILL");
    expect(signalName(35)).toBe("SIGRTMIN+1");
    expect(signalName(99)).toBe("99");
  });
});

describe("parseArgs", () => {
  test("Kata's connect syntax", () => {
    const inv = parseArgs([
      "-l", "debug", "connect", "--server-address", "unix:///run/x.sock", "--hybrid-vsock", "--hybrid-vsock-port=2048",
      "--timeout", "5s", "--ignore-errors", "-n", "--bundle-dir", "/b", "-c", "Check", "--cmd", "Version", "-i",
    ]);
    expect(inv).toEqual({
      kind: "connect",
      logLevel: Level.Debug,
      options: {
        serverAddress: "unix:///run/x.sock",
        hybridVsock: true,
        hybridVsockPort: 2048,
        timeoutNs: 5e9,
        ignoreErrors: true,
        noAutoValues: true,
        bundleDir: "/b",
        commands: ["Check", "Version"],
        interactive: true,
      },
    });
  });

  test("defaults", () => {
    const inv = parseArgs(["connect", "--server-address=vsock://3:1024", "-c", "Check"]);
    if (inv.kind !== "connect") throw new Error("not connect");
    expect(inv.logLevel).toBe(Level.Info);
    expect(inv.options.hybridVsockPort).toBe(DEFAULT_AGENT_VSOCK_PORT);
    expect(inv.options.timeoutNs).toBe(0);
    expect(inv.options.interactive).toBe(false);
  });

  test("sub-commands", () => {
    expect(parseArgs(["list"])).toEqual({ kind: "list" });
    expect(parseArgs(["--help"])).toEqual({ kind: "help", topic: undefined });
    expect(parseArgs(["help", "WaitProcess"])).toEqual({ kind: "help", topic: "WaitProcess" });
    expect(parseArgs(["--version"])).toEqual({ kind: "version" });
    expect(parseArgs(["generate-cid"])).toEqual({ kind: "generate-cid" });
  });

  const bad: [string[], RegExp][] = [
    [[], /missing sub-command/],
    [["frobnicate"], /unknown sub-command "frobnicate"/],
    [["-l", "loud", "list"], /unknown log level "loud"/],
    [["connect", "-c", "Check"], /--server-address is required/],
    [["connect", "--server-address", "vsock://3:1024"], /give commands with -c/],
    [["connect", "--server-address", "vsock://3:1024", "--timeout", "soon", "-c", "Check"], /invalid duration "soon"/],
    [["connect", "--server-address", "vsock://3:1024", "--frob", "-c", "Check"], /unknown option --frob/],
    [["connect", "--server-address"], /needs a value/],
    [["connect", "--server-address", "x", "--hybrid-vsock-port", "-1", "-c", "Check"], /invalid hybrid vsock port/],
  ];
  for (const [argv, msg] of bad) {
    test(`rejects ${argv.join(" ") || "(nothing)"}`, () => {
      expect(() => parseArgs(argv)).toThrow(msg);
      expect(() => parseArgs(argv)).toThrow(CtlSyntaxError);
    });
  }
});
