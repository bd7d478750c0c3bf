/**
 * `downloadToFile` interrupted mid-body closes the connection and leaves nothing behind; and it never splices two
 * versions: against a loopback server whose content changes between two requests, a resume without a validator, or
 * one whose `If-Range` no longer matches (a 200), rewrites the file from byte 0. Each over both transports: undici's
 * body stream and `NodeHttp`'s direct connection.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { downloadWith, transports } from "./download-helpers.js"
import { digest, KiB, live, randomBytes, tempDir } from "./upload-helpers.js"

/** A loopback server that answers the `i`-th GET with `version(i)` (its headers and bytes), cutting the first after 10 KiB. */
const changingServer = (version: (i: number) => { readonly headers: Record<string, string>; readonly bytes: Uint8Array }) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly seen: Array<http.IncomingHttpHeaders>; readonly server: http.Server }>((resume) => {
      const seen: Array<http.IncomingHttpHeaders> = []
      const server = http.createServer((req, res) => {
        const i = seen.push(req.headers) - 1
        const { bytes, headers } = version(i)
        res.writeHead(200, { ...headers, "content-length": String(bytes.length) })
        if (i === 0) res.write(bytes.subarray(0, 10 * KiB), () => res.socket?.destroy())
        else res.end(bytes)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })))
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )

/** A loopback server that sends the first 2 MiB of an 8 MiB body and then holds the connection; `closed` once the client closes it. */
const stallingServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly state: { closed: boolean }; readonly server: http.Server }>((resume) => {
    const state = { closed: false }
    const server = http.createServer((req, res) => {
      req.socket.on("close", () => {
        state.closed = true
      })
      res.writeHead(200, { etag: "\"v1\"", "content-length": String(8 * 1024 * KiB) })
      res.write(randomBytes(2 * 1024 * KiB, 41))
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state, server })))
  }),
  ({ server }) => Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })
)

/** Polls `ready` every 20 ms, at most `tries` times. */
const eventually = (ready: () => boolean, tries: number) =>
  Effect.retry(Effect.suspend(() => (ready() ? Effect.void : Effect.fail("not yet"))), Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(tries))))

const download = (url: string, size: number, target: string, http: (typeof transports)[number][1]) =>
  downloadWith(url, size, target, http)

for (const [name, http] of transports) {
layer(NodeContext.layer)(`NodeTransfer.downloadToFile interrupted (${name})`, (it) => {
  it.effect("mid-body: the connection is closed, the temporary file removed, the target never created", () =>
    live(Effect.gen(function*() {
      const server = yield* stallingServer
      const dir = yield* tempDir
      const target = path.join(dir, "out.bin")
      const fiber = yield* Effect.fork(download(server.url, 8 * 1024 * KiB, target, http))
      // Bytes reached the temporary file: the download is mid-body.
      yield* eventually(() => fs.readdirSync(dir).some((f) => f.endsWith(".part") && fs.statSync(path.join(dir, f)).size > 0), 250)
      expect(server.state.closed).toBe(false)
      yield* Fiber.interrupt(fiber)
      expect(fs.readdirSync(dir)).toEqual([])
      yield* eventually(() => server.state.closed, 100)
      expect(server.state.closed).toBe(true)
    })))
})

layer(NodeContext.layer)(`NodeTransfer.downloadToFile when the content changes between requests (${name})`, (it) => {
  const first = randomBytes(100 * KiB, 31)
  const second = randomBytes(100 * KiB, 32)

  it.effect("without ETag or Last-Modified the resume rewrites the file from byte 0: the second version, whole", () =>
    live(Effect.gen(function*() {
      const server = yield* changingServer((i) => ({ headers: {}, bytes: i === 0 ? first : second }))
      const target = path.join(yield* tempDir, "out.bin")
      const result = yield* download(server.url, second.length, target, http)
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", second))
      expect(result.sha256).toEqual(Option.some(digest("sha256", second)))
      expect(result.size).toBe(second.length)
      // No Range without a validator: the retry asked for everything again.
      expect(server.seen.map((h) => h.range)).toEqual([undefined, undefined])
    })))

  it.effect("with an ETag, a 200 to the If-Range resume (content changed) is not appended: the file restarts", () =>
    live(Effect.gen(function*() {
      const server = yield* changingServer((i) => i === 0 ? { headers: { etag: "\"v1\"" }, bytes: first } : { headers: { etag: "\"v2\"" }, bytes: second })
      const dir = yield* tempDir
      const target = path.join(dir, "out.bin")
      const result = yield* download(server.url, second.length, target, http)
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", second))
      expect(result.sha256).toEqual(Option.some(digest("sha256", second)))
      expect(server.seen.map((h) => [h.range, h["if-range"]])).toEqual([[undefined, undefined], [`bytes=${10 * KiB}-`, "\"v1\""]])
      expect(fs.readdirSync(dir)).toEqual(["out.bin"])
    })))
})
}
