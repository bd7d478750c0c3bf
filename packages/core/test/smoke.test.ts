import { describe, expect, it } from "@effect/vitest"
import { version } from "@ivcap/core"

describe("workspace", () => {
  it("resolves @ivcap/core from source", () => {
    expect(version).toBe("0.1.0")
  })
})
