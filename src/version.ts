// The agent's version, reported by Health.Version and `--version`.
// Kept in one place so the log lines, the Version RPC and the CLI agree.
import pkg from "../package.json" with { type: "json" };

export const AGENT_VERSION: string = pkg.version;
/** Kata answers this fixed string as the ttRPC/gRPC API version. */
export const API_VERSION = "0.0.1";
export const AGENT_NAME = "kata-agent";

/** What `kata-agent --version` prints. */
export const versionLine = (): string => `kata-agent version ${AGENT_VERSION} (api ${API_VERSION})`;
