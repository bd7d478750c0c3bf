#!/usr/bin/env node
/**
 * The API reference, generated with TypeDoc from the doc comments of @ivcap/core, @ivcap/node, @ivcap/browser and
 * @ivcap/emulator (config: typedoc.json, tsconfig.typedoc.json).
 *
 *   node scripts/api-docs.mjs           # HTML into docs/api/ (git-ignored): open docs/api/index.html
 *   node scripts/api-docs.mjs --check   # what `npm test` runs: converts everything, fails on any warning
 *                                       # (an export without a doc comment, a broken {@link}); writes nothing
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")
const check = process.argv.includes("--check")
const bin = path.join(root, "node_modules", ".bin", process.platform === "win32" ? "typedoc.cmd" : "typedoc")
const args = ["--options", path.join(root, "typedoc.json"), "--logLevel", "Warn", ...(check ? ["--emit", "none"] : [])]
const started = Date.now()
const run = spawnSync(bin, args, { cwd: root, stdio: "inherit" })
if (run.status !== 0) {
  console.error(`api-docs: failed (exit ${run.status ?? run.signal}); every export needs a doc comment and every {@link} a target`)
  process.exit(1)
}
console.log(`api-docs: ${check ? "checked" : "written to docs/api/"} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
