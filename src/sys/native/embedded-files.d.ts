// Build outputs of scripts/build-native.ts, imported `with { type: "file" }`: Bun gives their path
// (a real file under `bun test`, a /$bunfs/ path inside the compiled binary).
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*/kata-gate" {
  const path: string;
  export default path;
}
