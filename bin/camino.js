#!/usr/bin/env node
// The `camino` executable: runs the compiled CLI (npm install builds it; `npm run build` rebuilds it).
import { main } from "../dist/agent/cli/camino.js";

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
