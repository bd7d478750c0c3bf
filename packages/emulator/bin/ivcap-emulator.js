#!/usr/bin/env node
/* global URL, console, process */
// The `ivcap-emulator` command: a committed stub (so installing the workspace links it before anything is built)
// that runs the built server in ../dist/bin.js.
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const target = new URL("../dist/bin.js", import.meta.url)
if (!existsSync(fileURLToPath(target))) {
  console.error("ivcap-emulator: not built yet (no dist/bin.js); run `pnpm run build` in the repository first")
  process.exit(1)
}
await import(target.href)
