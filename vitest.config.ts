import { defineConfig } from "vitest/config"

export default defineConfig({
  test: { reporters: ["default", "./scripts/summary-reporter.mjs"], maxWorkers: 2, minWorkers: 1 }
})
