// Message schemas for agent-ctl: field names, types, enums and nesting of every request, from
// protobufjs reflection over our own protos/*.proto (embedded as text, so the compiled binary has
// them). The generated static classes (src/gen) encode and decode; they expose no field list,
// which agent-ctl needs to reject unknown JSON fields and to map name=value words onto fields.
import protobuf from "protobufjs";
import agentProto from "../../protos/agent.proto" with { type: "text" };
import csiProto from "../../protos/csi.proto" with { type: "text" };
import healthProto from "../../protos/health.proto" with { type: "text" };
import ociProto from "../../protos/oci.proto" with { type: "text" };
import typesProto from "../../protos/types.proto" with { type: "text" };

export type MessageType = protobuf.Type;
export type Field = protobuf.Field;

let root: protobuf.Root | undefined;

function schemaRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  // google/protobuf/empty.proto is imported by agent.proto; protobufjs ships its definition.
  const empty = protobuf.common.get("google/protobuf/empty.proto");
  if (empty?.nested) r.addJSON(empty.nested);
  for (const text of [typesProto, ociProto, csiProto, healthProto, agentProto]) {
    protobuf.parse(text, r, { keepCase: true, alternateCommentMode: true });
  }
  r.resolveAll();
  root = r;
  return r;
}

/** The message type with this fully qualified name ("grpc.CreateContainerRequest"). */
export function messageType(fullName: string): MessageType {
  return schemaRoot().lookupType(fullName);
}

export type ScalarKind = "int" | "uint" | "int64" | "uint64" | "float" | "bool" | "string" | "bytes";

const SCALAR_KIND: Record<string, ScalarKind> = {
  int32: "int", sint32: "int", sfixed32: "int",
  uint32: "uint", fixed32: "uint",
  int64: "int64", sint64: "int64", sfixed64: "int64",
  uint64: "uint64", fixed64: "uint64",
  double: "float", float: "float",
  bool: "bool", string: "string", bytes: "bytes",
};

/** What a single value of a field is (for a map: of its values). */
export type ValueKind =
  | { kind: "scalar"; scalar: ScalarKind; protoType: string }
  | { kind: "enum"; enum: protobuf.Enum }
  | { kind: "message"; type: MessageType };

export function valueKind(field: Field): ValueKind {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Enum) return { kind: "enum", enum: resolved };
  if (resolved instanceof protobuf.Type) return { kind: "message", type: resolved };
  const scalar = SCALAR_KIND[field.type];
  if (!scalar) throw new Error(`agent-ctl schema: field ${field.fullName} has unsupported type ${field.type}`);
  return { kind: "scalar", scalar, protoType: field.type };
}

/** "uint32", "repeated string", "map<string,string>", "grpc.Process", "enum types.IPFamily". */
export function describeField(field: Field): string {
  const v = valueKind(field);
  const one = v.kind === "scalar" ? v.protoType : v.kind === "enum" ? `enum ${v.enum.fullName.slice(1)}` : v.type.fullName.slice(1);
  if (isMap(field)) return `map<${mapKeyType(field)},${one}>`;
  return field.repeated ? `repeated ${one}` : one;
}

export function isMap(field: Field): boolean {
  return (field as unknown) instanceof protobuf.MapField;
}

/** The key type of a map field ("string", "uint32", …). */
export function mapKeyType(field: Field): string {
  return (field as unknown as protobuf.MapField).keyType;
}

/** Field names of a message type, in declaration order. */
export function fieldNames(type: MessageType): string[] {
  return type.fieldsArray.map((f) => f.name);
}
