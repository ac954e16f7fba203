#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/agent/cli/camino.js, with every module it imports, dependencies included)
 * into one file, dist/camino.bundle.js, which bin/camino.js runs. Node loads one file far faster than the
 * thousands of modules behind it (@kubernetes/client-node alone is over 2,500): an agent or an emulator starts in
 * about 0.5 s instead of 1.5 s here. `npm run build` runs it after tsc. Only whitespace is minified: names are
 * kept, so stack traces stay readable.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ["dist/agent/cli/camino.js"],
  outfile: "dist/camino.bundle.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Whitespace only: names stay, so stack traces stay readable; the file is 40% smaller and loads faster.
  minifyWhitespace: true,
  // CommonJS dependencies call require() for Node's own modules; an ES module has no require of its own.
  banner: {
    js: "import { createRequire as __caminoRequire } from 'node:module'; const require = __caminoRequire(import.meta.url);",
  },
});
