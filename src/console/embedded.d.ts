// Files embedded with `import … with { type: "file" }`: the import is the file's path (inside a
// compiled binary, under /$bunfs/root). Declared here because the packages ship no types for them.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
