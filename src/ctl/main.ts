// Entry point of agent-ctl: `kata-agent-ctl …` (a link to the agent binary) or `kata-agent ctl …`.
// Returns the exit code: 0 ok, 1 a call failed (unless --ignore-errors), 2 bad command syntax.
import { randomBytes } from "node:crypto";
import { Logger } from "../log/logger.ts";
import { AGENT_VERSION } from "../version.ts";
import { parseArgs, type ConnectOptions, type Invocation } from "./args.ts";
import { Session, type CtlIo } from "./commands.ts";
import { CtlSyntaxError, EXIT_OK, EXIT_SYNTAX } from "./errors.ts";
import { EXAMPLES, USAGE, commandHelp, commandList } from "./help.ts";
import { errorLine } from "./output.ts";

export const PROMPT = "kata-agent-ctl> ";

export interface CtlEnvironment extends CtlIo {
  /** Lines for -i; default: the process's stdin. */
  stdinLines?: AsyncIterable<string>;
  /** Print the prompt (default: when stdin is a terminal). */
  prompt?: boolean;
}

const processIo: CtlEnvironment = {
  stdout: (d) => void process.stdout.write(d),
  stderr: (d) => void process.stderr.write(d),
};

export async function ctlMain(args: string[], env: CtlEnvironment = processIo): Promise<number> {
  let inv: Invocation;
  try {
    inv = parseArgs(args);
  } catch (e) {
    env.stderr(errorLine(undefined, e));
    env.stderr("(try: kata-agent-ctl --help)\n");
    return e instanceof CtlSyntaxError ? EXIT_SYNTAX : 1;
  }
  switch (inv.kind) {
    case "help":
      try {
        env.stdout(inv.topic ? commandHelp(inv.topic) : USAGE);
      } catch (e) {
        env.stderr(errorLine(undefined, e));
        return EXIT_SYNTAX;
      }
      return EXIT_OK;
    case "list":
      env.stdout(commandList());
      return EXIT_OK;
    case "examples":
      env.stdout(EXAMPLES);
      return EXIT_OK;
    case "version":
      env.stdout(`kata-agent-ctl ${AGENT_VERSION}\n`);
      return EXIT_OK;
    case "generate-cid":
    case "generate-sid":
      // Same shape as the ids the Kata runtime makes: 64 hex digits.
      env.stdout(`${randomBytes(32).toString("hex")}\n`);
      return EXIT_OK;
    case "connect": {
      const log = Logger.create();
      log.setLevel(inv.logLevel);
      log.setSink((line) => env.stderr(line));
      return runConnect(inv.options, env, log.child({ subsystem: "ctl" }));
    }
  }
}

async function runConnect(opts: ConnectOptions, env: CtlEnvironment, log: Logger): Promise<number> {
  const session = new Session(opts, env, log);
  try {
    for (const line of opts.commands) {
      const outcome = await session.runLine(line);
      if (outcome === "quit") return session.exitCode;
      // Like Kata's tool: the first error ends a command list unless --ignore-errors.
      if ((outcome === "failed" || outcome === "syntax") && !opts.ignoreErrors) return session.exitCode;
    }
    if (opts.interactive) await interactive(session, env);
    return session.exitCode;
  } finally {
    await session.close();
  }
}

/** Reads command lines until EOF or `quit`; errors do not end the loop (it is a shell). */
async function interactive(session: Session, env: CtlEnvironment): Promise<void> {
  const showPrompt = env.prompt ?? (env.stdinLines === undefined && process.stdin.isTTY === true);
  const lines = env.stdinLines ?? (console as unknown as AsyncIterable<string>);
  if (showPrompt) env.stdout(PROMPT);
  for await (const line of lines) {
    if ((await session.runLine(line)) === "quit") return;
    if (showPrompt) env.stdout(PROMPT);
  }
  if (showPrompt) env.stdout("\n");
}
