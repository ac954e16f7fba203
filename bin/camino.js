#!/usr/bin/env node
// The `camino` executable: runs the compiled CLI, bundled into one file (npm install builds it; `npm run build`
// rebuilds it: scripts/bundle.mjs).
import { main } from "../dist/camino.bundle.js";

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
