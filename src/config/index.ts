// Public surface of the configuration area.
export type { AgentConfig, ConfigSource, EndpointsConfig, Problem } from "./types.ts";
export { defaultConfig, DEFAULT_SERVER_ADDR, DEFAULT_HOTPLUG_TIMEOUT_MS, MAX_TIMER_MS } from "./types.ts";
export type { CmdlineResult } from "./cmdline.ts";
export { parseCmdline } from "./cmdline.ts";
export type { TomlResult } from "./toml.ts";
export type { Env, LoadOptions, LoadResult, ParsedArgs } from "./load.ts";
export { applyEnvOverrides, DEFAULT_CMDLINE_PATH, loadConfig, parseArgs } from "./load.ts";
export { buildAllowList, isEndpointAllowed, isMethodAllowed } from "./endpoints.ts";
export { AGENT_SERVICE_REQUESTS, HEALTH_REQUESTS, KNOWN_REQUEST_NAMES, requestNameForMethod } from "./request-names.ts";
export type { ServerAddrResult } from "./server-addr.ts";
export { parseServerAddr } from "./server-addr.ts";
export { parseGoDuration } from "./values.ts";
