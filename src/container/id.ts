// Container and exec ids, validated like Kata (rpc.rs): an id becomes a path component of the
// container's state and cgroup, so it must not contain '/', '..' tricks or odd characters.
import { invalid } from "../errors.ts";

const ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateId(kind: "container" | "exec" | "sandbox", id: string): void {
  if (!ID.test(id)) {
    throw invalid(`invalid ${kind} id ${JSON.stringify(id)}: must match ${ID.source}`);
  }
}
