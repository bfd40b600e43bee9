import { join } from "node:path";
import { Elysia } from "elysia";
import { ELYSIA_OPTIONS } from "../http/schema.ts";
import { fileAt, staticHandler, text } from "./static.ts";

/**
 * The OpenAPI UI at /openapi: Swagger UI (swagger-ui-dist, pinned in package.json) embedded in the
 * binary, so the page works on a gateway without internet and runs no third-party code fetched at
 * view time. The document itself is /openapi/json (src/http/openapi.ts).
 */

/** Swagger UI's files: gzipped by scripts/build.ts into the binary, else from node_modules. */
export const SWAGGER_FILES = ["swagger-ui-bundle.js", "swagger-ui.css"] as const;
const EMBEDDED = "/$bunfs/root/openapi-ui";
const swaggerFile = (name: (typeof SWAGGER_FILES)[number]) =>
  import.meta.dir.startsWith("/$bunfs/") ? join(EMBEDDED, `${name}.gz`) : Bun.resolveSync(`swagger-ui-dist/${name}`, import.meta.dir);
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>magistrala-clients API</title>
<link rel="stylesheet" href="/openapi/swagger-ui.css">
<style>body{margin:0} .swagger-ui .topbar{display:none}</style>
</head>
<body>
<main id="swagger-ui" aria-label="API reference"></main>
<script src="/openapi/swagger-ui-bundle.js"></script>
<script src="/openapi/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to an online validator.
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi/json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  displayOperationId: true,
  defaultModelsExpandDepth: 0,
  persistAuthorization: false,
});
`;

const hidden = { detail: { hide: true } };

export function openapiUi() {
  return new Elysia({ ...ELYSIA_OPTIONS, name: "openapi-ui" })
    .get("/openapi", staticHandler(text(PAGE, "text/html; charset=utf-8")), hidden)
    .get("/openapi/init.js", staticHandler(text(INIT, "text/javascript; charset=utf-8")), hidden)
    .get("/openapi/swagger-ui-bundle.js", staticHandler(fileAt(swaggerFile("swagger-ui-bundle.js"), "text/javascript; charset=utf-8")), hidden)
    .get("/openapi/swagger-ui.css", staticHandler(fileAt(swaggerFile("swagger-ui.css"), "text/css; charset=utf-8")), hidden);
}
