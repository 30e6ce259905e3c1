// Errors agent-ctl tells apart: bad command syntax (exit code 2) versus a failed call (exit code 1,
// an RpcError from src/ttrpc/status.ts, or any other runtime failure).

/** The command line or a command's arguments are wrong: nothing was sent. Exit code 2. */
export class CtlSyntaxError extends Error {
  override name = "CtlSyntaxError";
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_SYNTAX = 2;
