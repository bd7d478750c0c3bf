#!/usr/bin/env node
// Brings a bare machine (Node 20.19+ and npm only) to a state where the workspace builds and tests:
// pnpm 10, the workspace's dependencies and, unless --no-browser, Debian's Chromium for the browser tests.
import { execSync, spawnSync } from "node:child_process"
import { existsSync, statSync } from "node:fs"

const args = new Set(process.argv.slice(2))
const sh = (cmd) => execSync(cmd, { stdio: "inherit" })
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0

const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Node ${process.versions.node} is too old: this workspace needs Node 20.19 or newer.`)
  process.exit(1)
}
if (!has("pnpm")) {
  console.log("bootstrap: installing pnpm 10 (npm install -g pnpm@10)")
  sh("npm install -g pnpm@10")
}
const lock = "pnpm-lock.yaml"
const marker = "node_modules/.modules.yaml"
if (!existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs || process.env.CI === "true") {
  sh(`pnpm install --frozen-lockfile${process.env.CI === "true" ? "" : " --prefer-offline"}`)
}
// The browser tests drive this Chromium with playwright-core (packages/browser/test/utils/harness.ts); playwright's
// own browser download is not used.
const chromium = "/usr/bin/chromium"
if (!args.has("--no-browser") && !existsSync(chromium) && process.env.IVCAP_SKIP_BROWSER !== "1") {
  if (process.getuid?.() === 0 && has("apt-get")) {
    console.log("bootstrap: installing Debian's chromium for the browser tests")
    const apt = (cmd) => sh(`DEBIAN_FRONTEND=noninteractive apt-get ${cmd}`)
    apt("update -qq")
    apt("install -y -qq chromium")
    if (!existsSync(chromium)) {
      console.error(`bootstrap: apt-get installed chromium but ${chromium} is missing (not Debian?); the browser tests need it`)
      process.exit(1)
    }
  } else {
    console.warn(`bootstrap: ${chromium} is missing; install it (as root: apt-get install -y chromium) for the browser tests`)
  }
}
