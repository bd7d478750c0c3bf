/**
 * Crash-resume: a child process (`fixtures/upload-child.mjs`, plain Node on the built packages) uploads a large file
 * with @ivcap/node's file-backed upload store and is killed with SIGKILL whenever the server's offset passes one of
 * several random points; then it is run again, and again, until it finishes. Each restart must resume — the same
 * artifact (one POST in all), a HEAD first, the first PATCH at exactly the offset the server had settled at — so the
 * emulator receives at most the file's size plus one chunk per kill, and the final artifact's sha-256 equals the
 * file's. Default: 48 MiB and 4 kills; `IVCAP_RELIABILITY_LONG=1`: 200 MiB and 20 kills. `IVCAP_RELIABILITY_SEED`
 * replays a run's kill points. Figures go to `build/reliability/crash-resume[-long].json`.
 */
import { expect, layer } from "@effect/vitest"
import { Upload } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as H from "./harness.js"

const long = process.env["IVCAP_RELIABILITY_LONG"] === "1"
const MiB = 1024 * 1024
const size = long ? 200 * MiB : 48 * MiB
const kills = long ? 20 : 4
const chunkSize = Upload.defaultChunkSize

const child = fileURLToPath(new URL("./fixtures/upload-child.mjs", import.meta.url))
const built = fileURLToPath(new URL("../../dist/NodeTransfer.js", import.meta.url))


/** `count` increasing offsets spread over 3%..80% of the file, each at a random place in its own slice. */
const killPoints = (random: () => number): ReadonlyArray<number> =>
  Array.from({ length: kills }, (_, i) => Math.floor(size * (0.03 + (0.77 * (i + random())) / kills)))

/** Writes `size` random bytes to `file` and returns their sha-256. */
const writeRandomFile = (file: string) =>
  Effect.sync(() => {
    const hash = createHash("sha256")
    const fd = fs.openSync(file, "w")
    try {
      for (let written = 0; written < size; written += 4 * MiB) {
        const part = randomBytes(Math.min(4 * MiB, size - written))
        hash.update(part)
        fs.writeSync(fd, part)
      }
    } finally {
      fs.closeSync(fd)
    }
    return hash.digest("hex")
  })

/** A running child: its output so far, and its exit. */
interface Running {
  readonly pid: number
  readonly output: () => string
  readonly kill: () => void
  readonly exited: Effect.Effect<{ readonly code: number | null; readonly signal: string | null }>
}

const start = (args: ReadonlyArray<string>) =>
  Effect.sync((): Running => {
    const proc = spawn(process.execPath, [child, ...args], {
      env: { ...process.env, IVCAP_RELIABILITY_TOKEN: H.token },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    proc.stdout.on("data", (b: Buffer) => (output += b.toString()))
    proc.stderr.on("data", (b: Buffer) => (output += b.toString()))
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })))
    return {
      pid: proc.pid ?? -1,
      output: () => output,
      kill: () => void proc.kill("SIGKILL"),
      exited: Effect.promise(() => exit)
    }
  })

/** The server's offset of an upload, asked with a HEAD marked as a probe (so it is told apart in the log). */
const serverOffset = (dataHref: string) =>
  Effect.promise(async () => {
    const response = await fetch(dataHref, { method: "HEAD", headers: { authorization: `Bearer ${H.token}`, "tus-resumable": "1.0.0", "x-reliability-probe": "1" } })
    return Number(response.headers.get("upload-offset") ?? Number.NaN)
  })

/** The upload's content URL, once the child's first PATCH has reached the server. */
const firstPatchUrl = Effect.map(H.requestLog, (log) => log.find((r) => r.method === "PATCH")?.url)

/** The sha-256 of what the server stored, streamed (no 200 MiB buffer). */
const storedSha256 = (dataHref: string) =>
  Effect.promise(async () => {
    const response = await fetch(dataHref, { headers: { authorization: `Bearer ${H.token}` } })
    const hash = createHash("sha256")
    let length = 0
    for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(part)
      length += part.length
    }
    return { sha256: hash.digest("hex"), length, status: response.status }
  })

/** Polls `value` every `millis` ms (real time, at most `max` times) until `done` holds; the last value. */
const pollUntil = <A, R>(value: Effect.Effect<A, never, R>, done: (a: A) => boolean, millis: number, max: number) =>
  Effect.gen(function*() {
    let last = yield* value
    for (let i = 0; i < max && !done(last); i++) {
      yield* Effect.sleep(millis)
      last = yield* value
    }
    return last
  })

/** The offset once the server has stored whatever was in flight when the child died (three equal reads). */
const settledOffset = (dataHref: string) =>
  Effect.gen(function*() {
    let previous = -1
    let same = 0
    for (let i = 0; i < 200 && same < 3; i++) {
      const offset = yield* serverOffset(dataHref)
      same = offset === previous ? same + 1 : 0
      previous = offset
      yield* Effect.sleep("30 millis")
    }
    return previous
  })

const dataDirLayer = Layer.unwrapScoped(Effect.map(H.tempDir, (dataDir) => H.layer({}, { dataDir })))

layer(dataDirLayer, { timeout: 60_000 })("crash-resume", (it) => {
  it.effect(`a ${size / MiB} MiB upload killed ${kills} times with SIGKILL resumes each time and ends byte-exact`, () =>
    H.observed(Effect.gen(function*() {
      expect(fs.existsSync(built), "the built packages (run `pnpm exec tsc -b packages/node` first)").toBe(true)
      yield* H.fresh
      const url = yield* H.serverUrl
      const dir = yield* H.tempDir
      const file = path.join(dir, "big.bin")
      const stateDir = path.join(dir, "upload-state")
      const cliDir = path.join(dir, "no-cli")
      fs.mkdirSync(cliDir)
      const fileSha256 = yield* writeRandomFile(file)
      const points = killPoints(H.prng(H.seed))
      const args = [url, file, stateDir, cliDir, String(chunkSize)]

      const runs: Array<{ readonly startedAt: number; readonly killAt?: number; readonly killedAt?: number; readonly settled?: number; readonly firstPatchOffset?: number }> = []
      const outputs: Array<string> = []
      let dataHref: string | undefined
      for (const point of points) {
        const startedAt = Date.now()
        const proc = yield* start(args)
        dataHref ??= yield* pollUntil(firstPatchUrl, (u) => u !== undefined, 10, 3000)
        expect(dataHref, "the child's first PATCH").toBeDefined()
        // Past the kill point, and past where the previous run left off: this run has resumed and sent bytes.
        const previous = runs[runs.length - 1]?.settled ?? 0
        const reached = yield* pollUntil(serverOffset(dataHref!), (o) => o >= point && o > previous, 5, 12_000)
        proc.kill()
        const exit = yield* proc.exited
        outputs.push(proc.output())
        expect(exit.signal, `run ${runs.length + 1} was killed, not finished (offset ${reached}, point ${point}): ${proc.output()}`).toBe("SIGKILL")
        const settled = yield* settledOffset(dataHref!)
        runs.push({ startedAt, killAt: point, killedAt: reached, settled })
      }
      const startedAt = Date.now()
      const last = yield* start(args)
      const exit = yield* last.exited
      outputs.push(last.output())
      runs.push({ startedAt })
      expect(exit.code, last.output()).toBe(0)
      const result = JSON.parse(last.output().trim().split("\n").pop()!) as { id: string; status: string; size: number; dataHref: string }

      // The request log: one artifact, every restart resumed it (HEAD first, first PATCH at the settled offset).
      const log = (yield* H.requestLog).filter((r) => r.headers["x-reliability-probe"] === undefined)
      const creates = log.filter((r) => r.method === "POST" && new URL(r.url).pathname === "/1/artifacts")
      const patches = log.filter((r) => r.method === "PATCH")
      const declared = patches.reduce((n, r) => n + Number(r.headers["content-length"] ?? 0), 0)
      const checked = runs.map((run, i) => {
        const next = runs[i + 1]
        const mine = log.filter((r) => r.at >= run.startedAt && (next === undefined || r.at < next.startedAt) && /\/blob$/.test(new URL(r.url).pathname))
        const firstPatch = mine.find((r) => r.method === "PATCH")
        return { ...run, firstBlobRequest: mine[0]?.method, firstPatchOffset: Number(firstPatch?.headers["upload-offset"] ?? Number.NaN) }
      })
      const stored = yield* storedSha256(result.dataHref)
      const leftoverState = fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : []
      const childLeaks = outputs.filter((o) => o.includes(H.token)).length
      const leaks = H.leaks()
      yield* H.writeSummary(long ? "crash-resume-long" : "crash-resume", {
        seed: H.seed,
        size,
        chunkSize,
        kills: runs.length - 1,
        runs: checked,
        creates: creates.length,
        patches: patches.length,
        patchBytesDeclared: declared,
        overheadBytes: declared - size,
        bound: size + (runs.length - 1) * chunkSize,
        resentBytes: checked.slice(1).reduce((n, run, i) => n + Math.max(0, (checked[i]!.settled ?? 0) - run.firstPatchOffset), 0),
        bytesLost: size - stored.length,
        sha256Equal: stored.sha256 === fileSha256,
        leftoverState,
        childLeaks,
        leaks: leaks.length
      })

      expect(result).toMatchObject({ status: "ready", size })
      expect(stored).toEqual({ sha256: fileSha256, length: size, status: 200 })
      expect(creates.length, "one artifact: every restart resumed it").toBe(1)
      expect(runs.length).toBe(kills + 1)
      checked.forEach((run, i) => {
        if (i === 0) return
        expect(run.firstBlobRequest, `run ${i + 1} asks the server first`).toBe("HEAD")
        expect(run.firstPatchOffset, `run ${i + 1} resumes at the settled offset`).toBe(checked[i - 1]!.settled)
      })
      expect(declared, "at most one chunk more per kill").toBeLessThanOrEqual(size + kills * chunkSize)
      expect(leftoverState, "the finished upload's resume record is removed").toEqual([])
      expect(childLeaks).toBe(0)
      expect(leaks).toEqual([])
    })), long ? 600_000 : 180_000)
})
