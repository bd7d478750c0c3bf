/**
 * The `ivcap-emulator` bin (the committed stub `bin/ivcap-emulator.js`, which runs the built `dist/bin.js`;
 * `pnpm test` runs `tsc -b` first): starts, answers HTTP, and keeps its state across a restart with `--data-dir`.
 */
import { describe, expect, it } from "@effect/vitest"
import { SeedData } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = path.join(packageDir, "bin", "ivcap-emulator.js")

interface Running {
  readonly url: string
  readonly token: string
  readonly startedInMillis: number
  readonly child: ChildProcess
}

/** Spawns the bin and waits (at most `waitMillis`) for its "listening" line; killed when the scope closes. */
const startBin = (args: ReadonlyArray<string>, waitMillis = 10_000) =>
  Effect.acquireRelease(
    Effect.async<Running, Error>((resume) => {
      if (!fs.existsSync(path.join(packageDir, "dist", "bin.js"))) {
        resume(Effect.fail(new Error(`dist/bin.js is missing: build with \`pnpm exec tsc -b packages/emulator\``)))
        return
      }
      const started = Date.now()
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      let out = ""
      let err = ""
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        resume(Effect.fail(new Error(`no "listening" line within ${waitMillis} ms; stdout: ${out} stderr: ${err}`)))
      }, waitMillis)
      child.stderr!.on("data", (d) => (err += String(d)))
      child.stdout!.on("data", (d) => {
        out += String(d)
        const m = /IVCAP emulator listening on (http:\/\/127\.0\.0\.1:\d+) \(token: (\S+)\)/.exec(out)
        if (m !== null) {
          clearTimeout(timer)
          resume(Effect.succeed({ url: m[1]!, token: m[2]!, startedInMillis: Date.now() - started, child }))
        }
      })
      child.on("exit", (code) => {
        clearTimeout(timer)
        resume(Effect.fail(new Error(`bin exited with ${code}: ${err}`)))
      })
    }),
    ({ child }) => stop(child)
  )

/** SIGTERM and wait for the exit (SIGKILL after 5 s). */
const stop = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const kill = setTimeout(() => child.kill("SIGKILL"), 5_000)
    child.once("exit", () => {
      clearTimeout(kill)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

const request = (r: Running, p: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const headers = new Headers(init.headers)
    headers.set("authorization", `Bearer ${r.token}`)
    const res = await fetch(`${r.url}${p}`, { ...init, headers })
    const text = await res.text()
    const isJson = (res.headers.get("content-type") ?? "").includes("json") && text !== ""
    return { status: res.status, headers: res.headers, text, body: isJson ? JSON.parse(text) : undefined }
  })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-emulator-data-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

describe("ivcap-emulator bin", () => {
  it("every workspace bin is a committed file, so a fresh install links it without warnings", () => {
    const root = path.join(packageDir, "..", "..")
    const committed = new Set(
      execFileSync("git", ["ls-files"], { cwd: root }).toString().split("\n").filter((l) => l !== "")
    )
    const bins: Array<string> = []
    for (const dir of fs.readdirSync(path.join(root, "packages"))) {
      const manifest = path.join(root, "packages", dir, "package.json")
      if (!fs.existsSync(manifest)) continue
      const pkg = JSON.parse(fs.readFileSync(manifest, "utf8")) as { bin?: string | Record<string, string> }
      const entries = typeof pkg.bin === "string" ? [pkg.bin] : Object.values(pkg.bin ?? {})
      for (const b of entries) bins.push(path.posix.join("packages", dir, b))
    }
    expect(bins).toContain("packages/emulator/bin/ivcap-emulator.js")
    for (const b of bins) expect(committed.has(b), `${b} is not committed`).toBe(true)
    expect(fs.statSync(bin).mode & 0o111).not.toBe(0)
  })

  // Start-up speed is a benchmark's business (bench/src/coldstart.ts, BENCHMARKS.md: about 1.4 s of CPU since
  // jobs, search and the identity provider joined); this bound only catches a bin that hangs or crawls, and leaves
  // room for the other test workers sharing a 2-core machine.
  it.scoped("starts in under 10 s, prints its URL and token, and answers HTTP", () =>
    Effect.gen(function*() {
      const r = yield* startBin(["--host", "127.0.0.1", "--port", "0"])
      expect(r.startedInMillis).toBeLessThan(10_000)
      expect(r.token).toBe(SeedData.defaultToken)
      const services = yield* request(r, "/1/services?limit=1")
      expect(services.status).toBe(200)
      expect(services.body.items[0].href.startsWith(`${r.url}/1/services/`)).toBe(true)
      const health = yield* Effect.promise(() => fetch(`${r.url}/_emulator/health`).then((x) => x.json()))
      expect(health).toMatchObject({ status: "ok" })
    }))

  it.scoped("--api-version 0.41 is a v0.41 deployment (no /1/services2); 0.48 serves jobs; others exit with 2", () =>
    Effect.gen(function*() {
      const old = yield* startBin(["--port", "0", "--api-version", "0.41"])
      expect((yield* request(old, "/1/services2")).status).toBe(404)
      expect((yield* request(old, "/1/services?limit=1")).status).toBe(200)
      const now = yield* startBin(["--port", "0", "--api-version=0.48", "--job-step-ms", "0"])
      const job = yield* request(now, `/1/services2/${SeedData.echo.id}/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json", timeout: "5" },
        body: JSON.stringify({ message: "bin" })
      })
      expect(job.status).toBe(200)
      expect(job.body).toEqual({ message: "bin" })
      const code = yield* Effect.async<number | null>((resume) => {
        const child = spawn(process.execPath, [bin, "--api-version", "0.5"], { stdio: "ignore" })
        child.on("exit", (c) => resume(Effect.succeed(c)))
      })
      expect(code).toBe(2)
    }))

  it.scoped("--token sets the accepted token; bad arguments exit with status 2", () =>
    Effect.gen(function*() {
      const r = yield* startBin(["--port", "0", "--token", "s3cret"])
      expect(r.token).toBe("s3cret")
      expect((yield* request(r, "/1/services")).status).toBe(200)
      const wrong = yield* Effect.promise(() =>
        fetch(`${r.url}/1/services`, { headers: { authorization: `Bearer ${SeedData.defaultToken}` } })
      )
      expect(wrong.status).toBe(401)
      const code = yield* Effect.async<number | null>((resume) => {
        const child = spawn(process.execPath, [bin, "--port", "abc"], { stdio: "ignore" })
        child.on("exit", (c) => resume(Effect.succeed(c)))
      })
      expect(code).toBe(2)
    }))

  it.scoped("--data-dir: aspects, orders, uploads (complete and partial) and the clock survive a restart", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const args = ["--port", "0", "--data-dir", dir, "--order-step-ms", "1000"]
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const r = yield* startBin(args)
        const json = { "content-type": "application/json" }
        const aspect = yield* request(r, "/1/aspects?entity=urn:test:persist&schema=urn:test:schema:p.1", {
          method: "POST",
          headers: json,
          body: JSON.stringify({ kept: true })
        })
        const retracted = yield* request(r, "/1/aspects?entity=urn:test:persist&schema=urn:test:schema:q.1", {
          method: "POST",
          headers: json,
          body: JSON.stringify({ kept: false })
        })
        yield* request(r, `/1/aspects/${retracted.body.id}`, { method: "DELETE" })
        const order = yield* request(r, "/1/orders", {
          method: "POST",
          headers: json,
          body: JSON.stringify({ parameters: [{ name: "msg", value: "disk" }], service: SeedData.helloWorld.id })
        })
        const upload = (length: number) =>
          request(r, "/1/artifacts", { method: "POST", headers: { "x-content-length": String(length) } })
        const patch = (href: string, offset: number, body: string) =>
          request(r, new URL(href).pathname, {
            method: "PATCH",
            headers: { "content-type": "application/offset+octet-stream", "upload-offset": String(offset) },
            body
          })
        const complete = yield* upload(10)
        yield* patch(complete.body["data-href"], 0, "0123456789")
        const partial = yield* upload(10)
        yield* patch(partial.body["data-href"], 0, "abcd")
        yield* request(r, "/_emulator/clock/advance", { method: "POST", body: JSON.stringify({ millis: 60_000 }) })
        const clock = (yield* request(r, "/_emulator/clock")).body["emulator-time"] as string
        return { aspect: aspect.body.id, retracted: retracted.body.id, order: order.body.id, complete, partial, clock }
      }))
      const r = yield* startBin(args)
      const aspect = yield* request(r, `/1/aspects/${first.aspect}`)
      expect(aspect.body.content).toEqual({ kept: true })
      expect((yield* request(r, `/1/aspects/${first.retracted}`)).body["valid-to"]).toBeTypeOf("string")
      const order = yield* request(r, `/1/orders/${first.order}`)
      expect(order.body.status).toBe("succeeded")
      const product = yield* request(r, new URL(order.body.products.items[0]["data-href"]).pathname)
      expect(product.text).toBe("Hello, disk!\n")
      const complete = yield* request(r, new URL(first.complete.body["data-href"]).pathname)
      expect(complete.text).toBe("0123456789")
      const partialPath = new URL(first.partial.body["data-href"]).pathname
      const head = yield* request(r, partialPath, { method: "HEAD" })
      expect(head.headers.get("upload-offset")).toBe("4")
      const resumed = yield* request(r, partialPath, {
        method: "PATCH",
        headers: { "content-type": "application/offset+octet-stream", "upload-offset": "4" },
        body: "efghij"
      })
      expect(resumed.status).toBe(204)
      expect((yield* request(r, partialPath)).text).toBe("abcdefghij")
      const clock = (yield* request(r, "/_emulator/clock")).body["emulator-time"] as string
      expect(Date.parse(clock)).toBeGreaterThanOrEqual(Date.parse(first.clock))
      // reset truncates the journal: after another restart only the seed data is left
      expect((yield* request(r, "/_emulator/reset", { method: "POST" })).status).toBe(204)
      yield* stop(r.child)
      const again = yield* startBin(args)
      expect((yield* request(again, `/1/aspects/${first.aspect}`)).status).toBe(404)
      expect((yield* request(again, `/1/aspects/${SeedData.readmeAspect.id}`)).status).toBe(200)
    }))
})
