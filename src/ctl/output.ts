// How agent-ctl prints a response: one JSON line per call, `Check: {"status":"SERVING"}`.
// The message goes through protobufjs reflection's toObject (src/ctl/schema.ts) with every field
// present (defaults, empty arrays and maps), 64-bit numbers as JS numbers and enums by name; unset message fields are
// left out. Bytes fields are shown as a JSON string when they are printable UTF-8 text
// ("data":"hi\n"), otherwise as {"base64":"…"} — json:// input accepts both forms back
// ({"text": …} for text).
import type { IConversionOptions } from "protobufjs";

interface ToObject {
  toObject(message: never, options?: IConversionOptions): Record<string, unknown>;
}

const TO_OBJECT_OPTIONS: IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The text of `bytes` when it is valid UTF-8 without control characters other than tab,
 * newline, carriage return, backspace and ESC (terminal output); undefined otherwise.
 */
export function printableText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/.test(text) ? undefined : text;
}

/** Bytes as text when printable, else {"base64": …}; drops nulls (unset messages). */
export function displayValue(v: unknown): unknown {
  if (v instanceof Uint8Array) {
    const text = printableText(v);
    return text !== undefined ? text : { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  }
  if (Array.isArray(v)) return v.map(displayValue);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) if (item !== null && item !== undefined) out[k] = displayValue(item);
    return out;
  }
  return v;
}

/** The JSON of a decoded response message. */
export function renderMessage(codec: ToObject, message: unknown): string {
  return JSON.stringify(displayValue(codec.toObject(message as never, TO_OBJECT_OPTIONS)));
}

/** `Name: {json}` */
export function responseLine(command: string, json: string): string {
  return `${command}: ${json}\n`;
}

/** `Name: error: rpc error: code = … desc = …` (the error's own toString for RpcError). */
export function errorLine(command: string | undefined, error: unknown): string {
  const text = error instanceof Error ? (error.name === "RpcError" ? error.toString() : error.message) : String(error);
  return command ? `${command}: error: ${text}\n` : `error: ${text}\n`;
}
