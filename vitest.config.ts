import { defineConfig } from "vitest/config"

export default defineConfig({ test: { reporters: ["default"], maxWorkers: 2, minWorkers: 1 } })
