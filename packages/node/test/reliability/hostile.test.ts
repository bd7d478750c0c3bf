/**
 * Hostile server (issue 16): what a misbehaving server or a careless caller can do to the SDK, over real HTTP.
 * An endless JSON body ends in `ResponseTooLarge`, and a child process (`fixtures/endless-child.mjs`, plain Node
 * on the built packages) measures that the client's peak RSS stays within the cap plus a few MiB of its baseline;
 * `__proto__` content from the wire is an own key; content JSON cannot carry is `InvalidArgument` before any
 * request; a `javascript:`/`file:` data-href is refused; a tus server confirming 1 byte per PATCH costs a bounded
 * number of requests; the emulator's 413 is a readable typed error. Figures go to `build/reliability/hostile.json`.
 */
import { expect, layer } from "@effect/vitest"
import { Aspect, Download, IvcapClient, Upload, UploadSource } from "@ivcap/core"
import { Faults, SeedData } from "@ivcap/emulator"
import { IvcapNode } from "@ivcap/node"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { execFile } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as H from "./harness.js"

const MiB = 1024 * 1024
const child = fileURLToPath(new URL("./fixtures/endless-child.mjs", import.meta.url))

/** A server on 127.0.0.1:0 answering with `answer`; every request counted. Closed with the scope. */
const loopback = (answer: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: http.Server; readonly methods: Array<string> }>((resume) => {
      const methods: Array<string> = []
      const server = http.createServer((req, res) => {
        const parts: Array<Buffer> = []
        req.on("data", (b: Buffer) => parts.push(b))
        req.on("end", () => {
          methods.push(req.method ?? "")
          answer(req, Buffer.concat(parts), res)
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, methods })))
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )

/** Streams `{"content":"xxxx…` for ever (bounded at 2 GiB, then it hangs up by itself). */
const endless = (_req: http.IncomingMessage, _body: Buffer, res: http.ServerResponse) => {
  const filler = Buffer.alloc(256 * 1024, "x")
  let sent = 0
  res.writeHead(200, { "content-type": "application/json" })
  res.write("{\"content\":\"")
  const pump = () => {
    while (sent < 2048 * MiB) {
      sent += filler.length
      if (!res.write(filler)) return void res.once("drain", pump)
    }
    res.destroy()
  }
  res.on("close", () => res.removeAllListeners("drain"))
  pump()
}

/** The figures of this file, for RELIABILITY.md. */
const figures: Record<string, unknown> = {}

const runChild = (args: ReadonlyArray<string>) =>
  Effect.async<{ warm: string; tag: string; cap: number; baseline: number; peak: number }, Error>((resume) => {
    const proc = execFile(process.execPath, ["--expose-gc", child, ...args], { timeout: 90_000 }, (error, stdout, stderr) => {
      if (error) return resume(Effect.fail(new Error(`${error.message}\n${stderr}`)))
      resume(Effect.succeed(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")))
    })
    return Effect.sync(() => proc.kill("SIGKILL"))
  })

layer(H.layer())("hostile server", (it) => {
  it.effect("an endless JSON body ends in ResponseTooLarge; the client's peak RSS stays within the cap plus a few MiB", () =>
    H.observed(Effect.gen(function*() {
      const big = yield* loopback(endless)
      const small = yield* loopback((_req, _body, res) => void res.writeHead(404, { "content-type": "application/json" }).end("{\"message\":\"no such aspect\"}"))
      const cap = IvcapClient.defaultMaxResponseBytes
      const r = yield* runChild([big.url, small.url, String(cap)])
      const growth = r.peak - r.baseline
      figures["endlessJson"] = { cap, baselineMiB: +(r.baseline / MiB).toFixed(1), peakMiB: +(r.peak / MiB).toFixed(1), growthMiB: +(growth / MiB).toFixed(1), error: r.tag }
      expect(r.tag).toBe("ResponseTooLarge")
      expect(big.methods).toEqual(["GET"])
      expect(growth, `peak ${r.peak} over baseline ${r.baseline}`).toBeLessThanOrEqual(cap + 8 * MiB)
    })))

  it.effect("a server echoing the Authorization header into its answers gets no token into the errors (IvcapNode.layer)", () =>
    H.observed(Effect.gen(function*() {
      const token = "tok-SECRET-echoed-9d2f"
      const echo = yield* loopback((req, _body, res) => {
        const echoed = String(req.headers["authorization"])
        if (req.url?.includes("forbidden") === true) res.writeHead(403, { "content-type": "text/plain" }).end(`nope, ${echoed}`)
        else res.writeHead(200, { "content-type": "text/html" }).end(`<html>${echoed}</html>`)
      })
      const layer = IvcapNode.layer({ url: echo.url, token, retry: false, cliConfigDir: "/nonexistent" })
      const notJson = yield* Effect.flip(Aspect.get("urn:ivcap:aspect:00000000-0000-4000-8000-000000000001").pipe(Effect.provide(layer)))
      const forbidden = yield* Effect.flip(Aspect.list({ schema: "forbidden" }).pipe(Stream.runDrain, Effect.provide(layer)))
      expect([notJson._tag, forbidden._tag]).toEqual(["DecodeError", "UnexpectedStatus"])
      for (const error of [notJson, forbidden]) {
        const shown = [String(error), JSON.stringify(error), error.message].join("\n")
        expect(shown).not.toContain(token)
        expect(shown).toContain("Bearer <redacted>")
      }
      figures["echoedTokenScrubbed"] = true
    })))

  it.effect("`__proto__` in content from the wire is an own key, never a prototype", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const url = yield* H.serverUrl
      const entity = "urn:ivcap:entity:hostile"
      const created = yield* Effect.promise(() =>
        fetch(`${url}/1/aspects?entity=${entity}&schema=urn:ivcap:schema:hostile.1`, {
          method: "POST",
          headers: { authorization: `Bearer ${H.token}`, "content-type": "application/json" },
          body: "{\"__proto__\":{\"approved\":true},\"$schema\":\"urn:ivcap:schema:hostile.1\"}"
        }).then((r) => r.json() as Promise<{ id: string }>)
      )
      const content = (yield* Aspect.get(created.id)).content as Record<string, unknown>
      expect(Object.getPrototypeOf(content)).toBe(Object.prototype)
      expect(Object.hasOwn(content, "__proto__")).toBe(true)
      expect((content as { approved?: unknown }).approved).toBeUndefined()
      figures["protoOwnKey"] = true
    })))

  it.effect("content JSON cannot carry is InvalidArgument naming the field, before any request", () =>
    H.observed(Effect.gen(function*() {
      yield* H.forget
      const cyclic: Record<string, unknown> = {}
      cyclic["self"] = cyclic
      const cases = [{ n: 1n }, cyclic, { f: () => 1 }, { x: Number.NaN }]
      const fields: Array<string> = []
      for (const content of cases) {
        const e = yield* Effect.flip(Aspect.add("urn:ivcap:entity:hostile", content, { schema: "urn:ivcap:schema:x.1" }))
        expect(e._tag).toBe("InvalidArgument")
        if (e._tag === "InvalidArgument") fields.push(e.argument)
      }
      expect(fields).toEqual(["content.n", "content.self", "content.f", "content.x"])
      expect(yield* H.count()).toBe(0)
      figures["unserialisable"] = { cases: cases.length, invalidArgument: fields.length, requests: 0 }
    })))

  it.effect("a javascript: or file: data-href is refused (InvalidArgument), no content request made", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const emulator = yield* H.emulator
      const refused: Array<string> = []
      for (const href of ["javascript:alert(1)//1/artifacts/x/blob", "file:///etc/passwd"]) {
        yield* H.forget
        yield* emulator.faults.inject(Faults.mapBody((json) => ({ ...(json as Record<string, unknown>), "data-href": href }), { match: { method: "GET", path: "/1/artifacts/" } }))
        const e = yield* Effect.flip(Stream.runDrain(Download.stream(SeedData.readmeArtifact.id)))
        expect(e._tag, href).toBe("InvalidArgument")
        expect(yield* H.count({ method: "GET", path: "/blob" }), href).toBe(0)
        refused.push(e._tag)
      }
      figures["dataHref"] = { schemes: ["javascript:", "file:"], refused: refused.length }
    })))

  it.effect("a tus server confirming 1 byte per PATCH costs a bounded number of requests, then a typed error", () =>
    H.observed(Effect.gen(function*() {
      let offset = 0
      const length = 512 * 1024
      const server = yield* loopback((req, body, res) => {
        if (req.method === "PATCH") offset += Math.min(1, body.length)
        res.writeHead(req.method === "PATCH" ? 204 : 200, { "tus-resumable": "1.0.0", "upload-offset": String(offset), "upload-length": String(length) })
        res.end()
      })
      const started = Date.now()
      const e = yield* Effect.flip(Upload.resumeAt(`${server.url}/files/1`, UploadSource.fromBytes(new Uint8Array(length)), { chunkSize: 64 * 1024, retry: H.quickResume }))
      const patches = server.methods.filter((m) => m === "PATCH").length
      figures["tinyProgress"] = { length, chunkSize: 64 * 1024, requests: server.methods.length, patches, confirmed: offset, error: e._tag, ms: Date.now() - started }
      expect(e._tag).toBe("UploadOffsetMismatch")
      // quickResume allows 6 waits without real progress: one HEAD and 7 PATCHes (before: one PATCH per byte)
      expect(patches).toBe(7)
      expect(server.methods.length).toBe(8)
    })))

  it.effect("an oversized aspect gets the emulator's 413 as a readable typed error", () =>
    H.observed(Effect.gen(function*() {
      yield* H.forget
      const e = yield* Effect.flip(Aspect.add("urn:ivcap:entity:hostile", { pad: "x".repeat(17 * MiB) }, { schema: "urn:ivcap:schema:x.1" }))
      expect(e._tag).toBe("UnexpectedStatus")
      if (e._tag === "UnexpectedStatus") {
        expect(e.status).toBe(413)
        expect(e.message).toMatch(/413/)
        expect(e.message).toMatch(/exceeds 16777216 bytes/)
        figures["oversized"] = { status: e.status, error: e._tag, message: e.message.slice(0, 160) }
      }
    })))

  it.effect("summary: figures written; nothing leaked", () =>
    H.observed(Effect.gen(function*() {
      const leaks = H.leaks()
      yield* H.writeSummary("hostile", { ...figures, leaks: leaks.length, capture: H.captureCounts() })
      expect(leaks).toEqual([])
    })))
})
