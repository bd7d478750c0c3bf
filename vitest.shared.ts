import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))
const pkg = (name: string) => path.join(root, "packages", name, "src")

/**
 * Tests import the workspace packages by name; resolve them to their sources so a test run never depends on a
 * stale `dist/`. (The install test in @ivcap/node checks the built, packed packages separately.)
 */
export const shared: ViteUserConfig = {
  resolve: {
    alias: ["core", "node", "browser", "emulator"].flatMap((name) => [
      { find: new RegExp(`^@ivcap/${name}$`), replacement: path.join(pkg(name), "index.ts") },
      { find: new RegExp(`^@ivcap/${name}/(.*)$`), replacement: path.join(pkg(name), "$1.ts") }
    ])
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    sequence: { concurrent: false }
  }
}
