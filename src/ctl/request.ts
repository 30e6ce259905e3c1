// Builds a request object for one RPC from a command's argument words:
//   json://{…}        the request (or part of it) as JSON with proto field names
//   file:///x.json    the same, read from a file
//   name=value        one field: a field name, a short alias (cid, eid, …) or a dotted path into
//                     nested messages (OCI.Process.Terminal=true, OCI.Annotations.key=value)
// JSON documents apply first (later ones override earlier keys), name=value words on top.
// Values are coerced by field type (values.ts); unknown fields and names are errors.
import { readFileSync } from "node:fs";
import { CtlSyntaxError } from "./errors.ts";
import { coerceValue, normalizeField, normalizeMessage, type PlainMessage } from "./json-check.ts";
import { fieldNames, isMap, valueKind, type Field, type MessageType } from "./schema.ts";

/** Short names Kata's agent-ctl accepts, mapped to fields (used when the request has that field). */
export const ALIASES: Record<string, string> = {
  cid: "container_id",
  eid: "exec_id",
  exec: "exec_id",
  sid: "sandbox_id",
  rows: "row",
  cols: "column",
  columns: "column",
  sig: "signal",
};

export interface BuildContext {
  /** Reads the file behind a file:// URI or a path (tests may substitute). */
  readFile(path: string): string;
}

export const defaultBuildContext: BuildContext = { readFile: (p) => readFileSync(p, "utf8") };

/** A `name=value` word split at its first '='. */
export interface Assignment {
  name: string;
  value: string;
}

/** Sorts words into JSON documents and assignments; anything else is an error. */
export function classifyWords(words: string[], ctx: BuildContext): { docs: unknown[]; assignments: Assignment[] } {
  const docs: unknown[] = [];
  const assignments: Assignment[] = [];
  for (const w of words) {
    if (w.startsWith("json://")) docs.push(parseJson(w.slice(7), "json://"));
    else if (w.startsWith("file://")) docs.push(readJsonFile(w.slice(7), ctx));
    else {
      const eq = w.indexOf("=");
      if (eq <= 0) throw new CtlSyntaxError(`unexpected argument "${w}" (expected json://{…}, file:///path.json or name=value)`);
      assignments.push({ name: w.slice(0, eq), value: w.slice(eq + 1) });
    }
  }
  return { docs, assignments };
}

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CtlSyntaxError(`${where}: invalid JSON: ${(e as Error).message}`);
  }
}

export function readJsonFile(path: string, ctx: BuildContext): unknown {
  let text: string;
  try {
    text = ctx.readFile(path);
  } catch (e) {
    throw new CtlSyntaxError(`file://${path}: ${(e as Error).message}`);
  }
  return parseJson(text, `file://${path}`);
}

/** Deep merge of plain objects: `top` wins; arrays and scalars are replaced, not merged. */
export function mergeMessages(base: PlainMessage, top: PlainMessage): PlainMessage {
  const out: PlainMessage = { ...base };
  for (const [k, v] of Object.entries(top)) {
    const b = out[k];
    const bothObjects = isObject(b) && isObject(v);
    out[k] = bothObjects ? mergeMessages(b as PlainMessage, v as PlainMessage) : v;
  }
  return out;
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** The field a top-level name stands for: a field of the type, or an alias of one. */
export function resolveName(type: MessageType, name: string): Field | undefined {
  return type.fields[name] ?? (ALIASES[name] ? type.fields[ALIASES[name]!] : undefined);
}

/** Names accepted at the top level of `type`: its fields plus the aliases that apply. */
export function acceptedNames(type: MessageType): string[] {
  const names = fieldNames(type);
  const aliases = Object.entries(ALIASES).filter(([, f]) => type.fields[f]).map(([a]) => a);
  return [...names, ...aliases];
}

/** A JSON value given inline (json://…, {…}, […]) or from a file (file://…) for a message/array/map. */
function structuredValue(text: string, ctx: BuildContext, path: string): unknown | undefined {
  if (text.startsWith("json://")) return parseJson(text.slice(7), path);
  if (text.startsWith("file://")) return readJsonFile(text.slice(7), ctx);
  if (text.startsWith("{") || text.startsWith("[")) return parseJson(text, path);
  return undefined;
}

/**
 * Applies one name=value onto `target` (mutated). Repeated fields append one element per word,
 * or take a whole JSON array; message fields take JSON; map entries are `map.key=value`.
 */
export function applyAssignment(
  type: MessageType,
  target: PlainMessage,
  a: Assignment,
  ctx: BuildContext,
  extraNames: string[] = [],
): void {
  const segments = a.name.split(".");
  let msgType = type;
  let obj = target;
  let path = type.name;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const field = i === 0 ? resolveName(msgType, seg) : msgType.fields[seg];
    if (!field) {
      const valid = i === 0 ? [...acceptedNames(msgType), ...extraNames] : fieldNames(msgType);
      throw new CtlSyntaxError(`${path}: unknown name "${seg}" (valid: ${valid.length ? valid.join(", ") : "none"})`);
    }
    path += `.${field.name}`;
    const last = i === segments.length - 1;
    const kind = valueKind(field);
    if (isMap(field) && !last) {
      // map.key=value: one entry (the key may contain dots: io.katacontainers.pkg.x).
      const key = segments.slice(i + 1).join(".");
      const entries = (obj[field.name] ?? {}) as Record<string, unknown>;
      const structured = kind.kind === "message" ? structuredValue(a.value, ctx, `${path}["${key}"]`) : undefined;
      entries[key] = coerceValue(field, structured ?? a.value, `${path}["${key}"]`, structured === undefined ? "word" : "json");
      obj[field.name] = entries;
      return;
    }
    if (last) {
      obj[field.name] = wholeFieldValue(field, obj[field.name], a.value, ctx, path);
      return;
    }
    if (kind.kind !== "message" || field.repeated || isMap(field)) {
      throw new CtlSyntaxError(`${path}: "${a.name}" goes through a field that is not a single message`);
    }
    const next = (obj[field.name] ?? {}) as PlainMessage;
    obj[field.name] = next;
    obj = next;
    msgType = kind.type;
  }
}

function wholeFieldValue(field: Field, current: unknown, text: string, ctx: BuildContext, path: string): unknown {
  const kind = valueKind(field);
  const structured = structuredValue(text, ctx, path);
  if (isMap(field)) {
    if (structured === undefined) throw new CtlSyntaxError(`${path}: give a map as JSON ({"key": …}) or one entry as ${field.name}.KEY=VALUE`);
    return normalizeField(field, structured, path);
  }
  if (field.repeated) {
    if (Array.isArray(structured)) return normalizeField(field, structured, path);
    const list = Array.isArray(current) ? current : [];
    const item = kind.kind === "message" ? structured : text;
    if (item === undefined) throw new CtlSyntaxError(`${path}: give each element as JSON`);
    return [...list, coerceValue(field, item, `${path}[${list.length}]`, kind.kind === "message" ? "json" : "word")];
  }
  if (kind.kind === "message") {
    if (structured === undefined) throw new CtlSyntaxError(`${path}: give a ${kind.type.name} as JSON (json://{…}, {…} or file://…)`);
    return coerceValue(field, structured, path, "json");
  }
  return coerceValue(field, text, path, "word");
}

/** Extra names a command understands besides the request's fields (container-args.ts). */
export interface Convenience {
  names: string[];
  /** Fills the request from the extra names' values (each name: its values in order). */
  apply(request: PlainMessage, values: Map<string, string[]>, ctx: BuildContext): PlainMessage;
}

/**
 * The request as a plain object for fromObject (reflection): JSON documents merged in order,
 * then the convenience names (if the command has any), then the other assignments.
 */
export function buildRequest(
  type: MessageType,
  words: string[],
  ctx: BuildContext = defaultBuildContext,
  convenience?: Convenience,
): PlainMessage {
  const { docs, assignments } = classifyWords(words, ctx);
  let request: PlainMessage = {};
  for (const d of docs) request = mergeMessages(request, normalizeMessage(d, type));
  const extras = new Map<string, string[]>();
  const plain: Assignment[] = [];
  for (const a of assignments) {
    if (convenience?.names.includes(a.name)) extras.set(a.name, [...(extras.get(a.name) ?? []), a.value]);
    else plain.push(a);
  }
  if (convenience && extras.size > 0) request = convenience.apply(request, extras, ctx);
  for (const a of plain) applyAssignment(type, request, a, ctx, convenience?.names);
  return request;
}
