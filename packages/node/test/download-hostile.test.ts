/**
 * `downloadToFile` against loopback servers that misbehave, over both transports (undici's body stream and
 * `NodeHttp`'s direct connection): a server that cuts every answer at the same point and never lets the download
 * resume (no validator, or a new `ETag` each time) makes it restart from byte 0 until the retry schedule is spent,
 * then fail with the transport error, nothing left behind; a redirect on the configured origin and one to another
 * origin (no token there) are followed; a gzip body is refused by name. Every server answers a bounded number of
 * requests (then `410`), so a regression fails rather than loops.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { downloadWith, transports } from "./download-helpers.js"
import { digest, KiB, live, randomBytes, tempDir } from "./upload-helpers.js"

/** More requests than any test here needs: past it a server answers `410`, so a download that loops ends. */
const cap = 40

interface Seen {
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
}

/** A loopback server answering at most {@link cap} requests with `handle`. */
const boundedServer = (handle: (request: Seen, index: number, res: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly seen: Array<Seen>; readonly server: http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const server = http.createServer((req, res) => {
        const request = { url: req.url ?? "", headers: req.headers }
        const i = seen.push(request) - 1
        if (i >= cap) return res.writeHead(410, { "content-length": "0" }).end()
        handle(request, i, res)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })))
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )

/** Sends `status` with `headers` and the bytes, dropping the connection after `cutAfter` of them when given. */
const answer = (res: http.ServerResponse, status: number, headers: Record<string, string>, bytes: Uint8Array, cutAfter?: number) => {
  res.writeHead(status, { "content-length": String(bytes.length), ...headers })
  if (cutAfter === undefined) res.end(bytes)
  else res.write(bytes.subarray(0, cutAfter), () => res.socket?.destroy())
}

const download = (url: string, size: number, target: string, http: (typeof transports)[number][1]) =>
  downloadWith(url, size, target, http).pipe(Effect.timeout("20 seconds"))

for (const [name, http] of transports) {
  layer(NodeContext.layer)(`NodeTransfer.downloadToFile against a hostile server (${name})`, (it) => {
    const bytes = randomBytes(100 * KiB, 61)
    const cut = 10 * KiB

    it.effect("no validator, every answer cut at the same point: restarts end with the schedule in TransportError, nothing left", () =>
      live(Effect.gen(function*() {
        const server = yield* boundedServer((_, __, res) => answer(res, 200, {}, bytes, cut))
        const dir = yield* tempDir
        const error = yield* Effect.flip(download(server.url, bytes.length, path.join(dir, "out.bin"), http))
        expect(error._tag, JSON.stringify(error)).toBe("TransportError")
        // The first request, then one per retry of quickRetry (6): a restart from byte 0 that gets no further is no progress.
        expect(server.seen.length).toBe(7)
        expect(fs.readdirSync(dir)).toEqual([])
      })))

    it.effect("a new ETag on every answer, each cut at the same point: the forced restarts end with the schedule", () =>
      live(Effect.gen(function*() {
        const server = yield* boundedServer((_, i, res) => answer(res, 200, { etag: `"v${i}"` }, bytes, cut))
        const dir = yield* tempDir
        const error = yield* Effect.flip(download(server.url, bytes.length, path.join(dir, "out.bin"), http))
        expect(error._tag, JSON.stringify(error)).toBe("TransportError")
        expect(server.seen.length).toBe(7)
        expect(fs.readdirSync(dir)).toEqual([])
      })))

    it.effect("a redirect on the configured origin (token) and then to another origin (no token) is followed", () =>
      live(Effect.gen(function*() {
        const storage = yield* boundedServer((_, __, res) => answer(res, 200, { etag: "\"v1\"" }, bytes))
        const server = yield* boundedServer((request, _, res) =>
          request.url === "/blob"
            ? answer(res, 302, { location: "/moved" }, new Uint8Array(0))
            : answer(res, 302, { location: `${storage.url}/signed?sig=1` }, new Uint8Array(0)))
        const target = path.join(yield* tempDir, "out.bin")
        const result = yield* download(server.url, bytes.length, target, http)
        expect(result.sha256).toEqual(Option.some(digest("sha256", bytes)))
        expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", bytes))
        expect(server.seen.map((r) => [r.url, r.headers["authorization"]])).toEqual([["/blob", "Bearer scripted-token"], ["/moved", "Bearer scripted-token"]])
        expect(storage.seen.map((r) => [r.url, r.headers["authorization"]])).toEqual([["/signed?sig=1", undefined]])
      })))

    it.effect("a gzip body is refused by name (DownloadMismatch, encoding), and the request asked for identity", () =>
      live(Effect.gen(function*() {
        const server = yield* boundedServer((_, __, res) => answer(res, 200, { "content-encoding": "gzip" }, new Uint8Array(zlib.gzipSync(bytes))))
        const dir = yield* tempDir
        const error = yield* Effect.flip(download(server.url, bytes.length, path.join(dir, "out.bin"), http))
        expect(error._tag === "DownloadMismatch" && error.reason).toBe("encoding")
        expect(error.message).toContain("gzip")
        expect(server.seen.map((r) => r.headers["accept-encoding"])).toEqual(["identity"])
        expect(fs.readdirSync(dir)).toEqual([])
      })))
  })
}
