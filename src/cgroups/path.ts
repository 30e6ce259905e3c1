// OCI linux.cgroupsPath → a path relative to each hierarchy's root, the way Kata's agent does it
// when it runs as init (it never uses the systemd driver then):
//   ""                      → "<containerId>"            (Kata: "/<id>")
//   "/a/b" or "a/b"         → "a/b"                      (absolute and relative are both below the root)
//   "slice:prefix:name"     → "slice/prefix/name"        (Kata replaces ':' by '/')
// Unlike Kata we never let the result be the hierarchy root or escape it: empty and "." segments
// are dropped, ".." is refused, and a path that ends up empty ("::") falls back to the container id.

import { invalid } from "../errors.ts";

export function resolveCgroupPath(cgroupsPath: string, containerId: string): string {
  const segments = cgroupsPath.replaceAll(":", "/").split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) {
    throw invalid(`invalid cgroupsPath ${JSON.stringify(cgroupsPath)}: ".." is not allowed`);
  }
  if (segments.length > 0) return segments.join("/");
  if (!containerId || containerId.includes("/") || containerId === "." || containerId === "..") {
    throw invalid(`invalid container id ${JSON.stringify(containerId)} for a cgroup name`);
  }
  return containerId;
}
