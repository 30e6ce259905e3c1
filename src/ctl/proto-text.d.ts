// Bun imports .proto files as text (`with { type: "text" }`); agent-ctl embeds them to get the
// message schemas (field names and types) that the generated static code does not expose.
declare module "*.proto" {
  const text: string;
  export default text;
}
