import { defineWorkspace } from "vitest/config"

/** One Vitest project per package, plus the examples (run as real processes against the emulator). */
export default defineWorkspace(["packages/emulator", "packages/core", "packages/node", "packages/browser", "examples"])
