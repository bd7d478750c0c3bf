import { defineWorkspace } from "vitest/config"

/** One Vitest project per package; examples run as tests inside the node project. */
export default defineWorkspace(["packages/emulator", "packages/core", "packages/node", "packages/browser"])
