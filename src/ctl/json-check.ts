// Checks a JSON request (json://, file://) against the message schema, recursively, and returns
// a copy ready for fromObject (reflection, src/ctl/schema.ts). protobufjs's fromObject silently drops keys it does
// not know (a typo like "containerId" would send an empty container_id), so unknown fields are an
// error naming them and the valid ones; values are coerced per field type (values.ts).
import { CtlSyntaxError } from "./errors.ts";
import { fieldNames, isMap, mapKeyType, valueKind, type Field, type MessageType } from "./schema.ts";
import { coerceEnum, coerceScalar, type Source } from "./values.ts";

export type PlainMessage = Record<string, unknown>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** One value of a field (an element when repeated, a value when a map). */
export function coerceValue(field: Field, value: unknown, path: string, source: Source): unknown {
  const v = valueKind(field);
  switch (v.kind) {
    case "scalar":
      return coerceScalar(path, v.scalar, value, source, field.name);
    case "enum":
      return coerceEnum(path, v.enum, value);
    case "message":
      return normalizeMessage(value, v.type, path);
  }
}

const MAP_KEY_INTEGER = /^(u?int|s?fixed|sint)(32|64)$/;

/** A whole field's value (an array when repeated, an object when a map). */
export function normalizeField(field: Field, value: unknown, path: string): unknown {
  if (isMap(field)) {
    const keyType = mapKeyType(field);
    if (!isPlainObject(value)) throw new CtlSyntaxError(`${path}: expected an object (map<${keyType},…>)`);
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(value)) {
      if (MAP_KEY_INTEGER.test(keyType) && !/^-?\d+$/.test(k)) throw new CtlSyntaxError(`${path}: map key "${k}" is not an integer`);
      if (keyType === "bool" && k !== "true" && k !== "false") throw new CtlSyntaxError(`${path}: map key "${k}" is not a boolean`);
      out[k] = coerceValue(field, item, `${path}["${k}"]`, "json");
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new CtlSyntaxError(`${path}: expected an array (repeated field)`);
    return value.map((item, i) => coerceValue(field, item, `${path}[${i}]`, "json"));
  }
  return coerceValue(field, value, path, "json");
}

/** Validates `value` as message `type`; returns the normalized plain object. */
export function normalizeMessage(value: unknown, type: MessageType, path = type.name): PlainMessage {
  if (!isPlainObject(value)) throw new CtlSyntaxError(`${path}: expected an object for ${type.name}, got ${JSON.stringify(value)}`);
  const unknown = Object.keys(value).filter((k) => !type.fields[k]);
  if (unknown.length > 0) {
    const names = fieldNames(type);
    throw new CtlSyntaxError(
      `${path}: unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} ` +
        `(${type.name} has ${names.length ? names.join(", ") : "no fields"})`,
    );
  }
  const out: PlainMessage = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue; // proto3 JSON: null = the default
    out[k] = normalizeField(type.fields[k]!, v, `${path}.${k}`);
  }
  return out;
}
