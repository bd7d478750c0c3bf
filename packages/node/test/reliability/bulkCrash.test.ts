/**
 * Bulk crash-resume: a child process (`fixtures/bulk-child.mjs`, plain Node on the built packages) runs a `Bulk`
 * pipeline that writes one result aspect per input aspect, with @ivcap/node's file-backed checkpoints, and is
 * killed with SIGKILL when the server has received a random number of its writes — three times — then run again
 * until it finishes. Every input must end with exactly one result (the writes counted on the server: the result
 * aspects, one per input, none twice, none missing). Default: 1,000 items; `IVCAP_RELIABILITY_LONG=1` (CI): 10,000.
 * `IVCAP_BULK_CRASH_ITEMS` sets the size; `IVCAP_RELIABILITY_SEED` replays the kill points. Figures go to
 * `build/reliability/bulk-crash[-long].json`.
 */
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as H from "./harness.js"

const long = process.env["IVCAP_RELIABILITY_LONG"] === "1"
const items = Number(process.env["IVCAP_BULK_CRASH_ITEMS"] ?? (long ? 10_000 : 1_000))
const kills = 3
const concurrency = 16
const input = "urn:example:schema:reliability-bulk-in.1"
const output = "urn:example:schema:reliability-bulk-out.1"

const child = fileURLToPath(new URL("./fixtures/bulk-child.mjs", import.meta.url))
const built = fileURLToPath(new URL("../../dist/index.js", import.meta.url))

/** `kills` increasing write counts spread over 5%..85% of the items, each at a random place in its own slice. */
const killPoints = (random: () => number): ReadonlyArray<number> =>
  Array.from({ length: kills }, (_, i) => Math.floor(items * (0.05 + (0.8 * (i + random())) / kills)))

const run = (args: ReadonlyArray<string>) =>
  Effect.sync(() => {
    const proc = spawn(process.execPath, [child, ...args], { env: { ...process.env, IVCAP_RELIABILITY_TOKEN: H.token }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    proc.stdout.on("data", (b: Buffer) => (output += b.toString()))
    proc.stderr.on("data", (b: Buffer) => (output += b.toString()))
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })))
    return { output: () => output, kill: () => void proc.kill("SIGKILL"), exited: Effect.promise(() => exit) }
  })

const writes = H.count({ method: "POST", path: "/1/aspects" })

/** Every result aspect, read page by page with a raw `fetch` (independent of the SDK): entity → how many. */
const results = (url: string) =>
  Effect.promise(async () => {
    const counts = new Map<string, number>()
    let next: string | undefined = `${url}/1/aspects?${new URLSearchParams({ schema: output, limit: "50", "include-content": "false" })}`
    while (next !== undefined) {
      const response = await fetch(next, { headers: { authorization: `Bearer ${H.token}` } })
      const page = (await response.json()) as { items: Array<{ entity: string }>; links: Array<{ rel: string; href: string }> }
      for (const a of page.items) counts.set(a.entity, (counts.get(a.entity) ?? 0) + 1)
      const link = page.links.find((l) => l.rel === "next")
      next = link === undefined ? undefined : `${url}/1/aspects${new URL(link.href).search}`
    }
    return counts
  })

// The write count comes from the request log: keep every request of the run (writes, pages, checks), not the
// default newest 100,000.
layer(H.layer({}, { requestLogLimit: 4 * items + 10_000 }), { timeout: 60_000 })("bulk crash-resume", (it) => {
  it.effect(`a ${items}-item pipeline killed ${kills} times with SIGKILL finishes with every item processed exactly once`, () =>
    H.observed(Effect.gen(function*() {
      expect(fs.existsSync(built), "the built packages (run `pnpm exec tsc -b packages/node` first)").toBe(true)
      yield* H.fresh
      const emulator = yield* H.emulator
      const inputs = yield* emulator.seed.aspects(items, { schema: input, entity: "urn:example:entity:reliability-bulk" })
      const url = yield* H.serverUrl
      const dir = yield* H.tempDir
      const cliDir = path.join(dir, "no-cli")
      fs.mkdirSync(cliDir)
      const args = [url, input, output, path.join(dir, "bulk-state"), cliDir, String(concurrency)]
      const points = killPoints(H.prng(H.seed))
      const started = Date.now()
      const runs: Array<{ readonly killAt: number; readonly writesAtKill: number; readonly millis: number }> = []
      for (const point of points) {
        const t0 = Date.now()
        const proc = yield* run(args)
        let seen = yield* writes
        while (seen < point) {
          yield* Effect.sleep(long ? "50 millis" : "10 millis")
          seen = yield* writes
        }
        proc.kill()
        const exit = yield* proc.exited
        expect(exit.signal, proc.output()).toBe("SIGKILL")
        runs.push({ killAt: point, writesAtKill: yield* writes, millis: Date.now() - t0 })
      }
      const last = yield* run(args)
      const exit = yield* last.exited
      expect(exit.code, last.output()).toBe(0)
      const report = JSON.parse(last.output().trim().split("\n").pop()!) as { complete: boolean; resumed: boolean; succeeded: number; failed: number; skipped: number; recovered: number; processed: number }
      expect(report).toMatchObject({ complete: true, resumed: true, failed: 0 })
      const counts = yield* results(url)
      expect(counts.size).toBe(items)
      expect([...counts.values()].filter((n) => n !== 1)).toEqual([])
      expect([...counts.keys()].sort()).toEqual([...inputs].sort())
      expect(report.succeeded, "the report's count over all runs").toBe(items)
      const posts = yield* writes
      // Each kill may cut a write the server never stored (then it is sent again): at most `concurrency` per kill.
      expect(posts).toBeLessThanOrEqual(items + kills * concurrency)
      yield* H.writeSummary(long ? "bulk-crash-long" : "bulk-crash", {
        items,
        kills,
        concurrency,
        seed: H.seed,
        runs,
        finalRun: report,
        resultAspects: counts.size,
        duplicates: [...counts.values()].filter((n) => n > 1).length,
        writesReceived: posts,
        seconds: (Date.now() - started) / 1000
      })
    })), long ? 3_600_000 : 400_000)
})
