/**
 * Downloads against scripted servers that misbehave (a hostile-server probe's findings): answers cut at the same
 * point every time, whether they force a restart from byte 0 or not, end in the transport error once the schedule
 * is spent (a restart is no progress); a `206` with another `Last-Modified` is never spliced on; an encoded body
 * (`Content-Encoding: gzip`) is refused by name; redirects are followed, with the token on the configured origin
 * only; a `206` whose body outgrows its `Content-Range` is refused. Every server answers a bounded number of
 * requests (then `410`), so a regression fails rather than loops.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Artifact, Download, IvcapClient, Urn } from "@ivcap/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import type * as http from "node:http"
import * as zlib from "node:zlib"
import { KiB, quickRetry, randomBytes, type SeenRequest, scriptedServer, sha256 } from "./utils/upload.js"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestServices.provideLive(Effect.scoped(effect))

const clientOf = (url: string, http: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerUndici) =>
  IvcapClient.layer({ url, token: "scripted-token", retry: false, timeout: "5 seconds" }).pipe(Layer.provide(http))

const recordAt = (dataHref: string, size: number | undefined) =>
  new Artifact.ArtifactDetails({ id: Urn.ArtifactUrn.make("urn:ivcap:artifact:scripted"), status: "ready", links: [], dataHref, size })

/** Sends `status` with `headers` and the bytes, dropping the connection after `cutAfter` of them when given. */
const answer = (res: http.ServerResponse, status: number, headers: Record<string, string>, bytes: Uint8Array, cutAfter?: number) => {
  res.writeHead(status, { "content-length": String(bytes.length), ...headers })
  if (cutAfter === undefined) res.end(bytes)
  else res.write(bytes.subarray(0, cutAfter), () => res.socket?.destroy())
}

/** More requests than any test here needs: past it a server answers `410`, so a download that loops ends. */
const cap = 40

/** A scripted server that answers at most {@link cap} requests with `handle`. */
const boundedServer = (handle: (request: SeenRequest, index: number, response: http.ServerResponse) => void) =>
  scriptedServer((request, i, res) => (i >= cap ? answer(res, 410, {}, new Uint8Array(0)) : handle(request, i, res)))

/** The download of `size` bytes at `server.url/blob` with `options`, collected, against the server's client. */
const download = (url: string, size: number | undefined, options: Download.DownloadOptions = {}, http?: Layer.Layer<HttpClient.HttpClient>) =>
  Stream.runCollect(Download.stream(recordAt(`${url}/blob`, size), { retry: quickRetry, ...options })).pipe(
    Effect.map(Chunk.toReadonlyArray),
    Effect.provide(clientOf(url, http)),
    Effect.timeout("20 seconds")
  )

layer(Layer.empty)("Download against a hostile server", (it) => {
  const bytes = randomBytes(100 * KiB, 51)
  const cut = 10 * KiB
  /** An `onRestart` that discards nothing (the tests collect what is delivered) and counts the restarts. */
  const restarts = { count: 0 }
  const onRestart = Effect.sync(() => void restarts.count++)

  it.effect("no validator and every answer cut at the same point: restarts from byte 0 are no progress, the schedule runs out", () =>
    live(Effect.gen(function*() {
      restarts.count = 0
      const server = yield* boundedServer((_, __, res) => answer(res, 200, {}, bytes, cut))
      const error = yield* Effect.flip(download(server.url, bytes.length, { onRestart }))
      expect(error._tag).toBe("TransportError")
      // The first request, then one per retry of quickRetry (6): none of the restarts got past 10 KiB.
      expect(server.seen.length).toBe(7)
      expect(server.seen.every((r) => r.headers["range"] === undefined)).toBe(true)
      expect(restarts.count).toBe(6)
    })))

  it.effect("a new ETag on every answer, each cut at the same point: the forced restarts end when the schedule does", () =>
    live(Effect.gen(function*() {
      restarts.count = 0
      const server = yield* boundedServer((_, i, res) => answer(res, 200, { etag: `"v${i}"` }, bytes, cut))
      const error = yield* Effect.flip(download(server.url, bytes.length, { onRestart }))
      expect(error._tag).toBe("TransportError")
      expect(server.seen.length).toBe(7)
      expect(server.seen[1]?.headers["range"]).toBe(`bytes=${cut}-`)
      expect(restarts.count).toBe(6)
    })))

  it.effect("content that changed (a 200 to If-Range) restarts with the new version's own length: no size check against the old one", () =>
    live(Effect.gen(function*() {
      const second = randomBytes(50 * KiB, 53)
      const server = yield* boundedServer((_, i, res) => (i === 0 ? answer(res, 200, { etag: "\"v1\"" }, bytes, cut) : answer(res, 200, { etag: "\"v2\"" }, second)))
      const kept: Array<Uint8Array> = []
      // The consumer discards what it got on a restart, as onRestart promises; the record gives no size.
      yield* Stream.runForEach(
        Download.stream(recordAt(`${server.url}/blob`, undefined), { retry: quickRetry, onRestart: Effect.sync(() => void kept.splice(0)) }),
        (b) => Effect.sync(() => kept.push(b))
      ).pipe(Effect.provide(clientOf(server.url)), Effect.timeout("20 seconds"))
      expect(sha256(kept)).toBe(sha256(second))
      expect(server.seen.length).toBe(2)
    })))

  it.effect("every answer cut 10 KiB further on (Range honoured): each attempt is progress, so 10 cuts pass a schedule of 1 retry", () =>
    live(Effect.gen(function*() {
      const server = yield* boundedServer((request, _, res) => {
        const from = Number(/bytes=(\d+)-/.exec(request.headers["range"] ?? "")?.[1] ?? 0)
        const rest = bytes.subarray(from)
        const status = from === 0 ? 200 : 206
        const range: Record<string, string> = from === 0 ? {} : { "content-range": `bytes ${from}-${bytes.length - 1}/${bytes.length}` }
        answer(res, status, { etag: "\"v1\"", ...range }, rest, rest.length > cut ? cut : undefined)
      })
      const parts = yield* download(server.url, bytes.length, { retry: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(1))) })
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.length).toBe(10)
    })))

  it.effect("Last-Modified as the validator: a 206 with another Last-Modified is DownloadMismatch (etag), never spliced on", () =>
    live(Effect.gen(function*() {
      const changed = randomBytes(bytes.length, 52)
      const server = yield* boundedServer((_, i, res) =>
        i === 0
          ? answer(res, 200, { "last-modified": "Wed, 01 Jan 2025 00:00:00 GMT" }, bytes, cut)
          // A server that ignores If-Range and sends the newer version's bytes from the offset asked.
          : answer(res, 206, {
            "content-range": `bytes ${cut}-${bytes.length - 1}/${bytes.length}`,
            "last-modified": "Thu, 02 Jan 2025 00:00:00 GMT"
          }, changed.subarray(cut)))
      const received: Array<Uint8Array> = []
      const error = yield* Effect.flip(Stream.runForEach(
        Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }),
        (b) => Effect.sync(() => received.push(b))
      ).pipe(Effect.provide(clientOf(server.url)), Effect.timeout("20 seconds")))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("etag")
      expect(server.seen[1]?.headers["if-range"]).toBe("Wed, 01 Jan 2025 00:00:00 GMT")
      // Only the first version's bytes were delivered.
      const count = received.reduce((n, b) => n + b.length, 0)
      expect(count).toBe(cut)
      expect(sha256(received)).toBe(sha256([bytes.subarray(0, count)]))
    })))

  it.effect("asks for the content unencoded, and refuses a gzip body by name (with a size, and chunked without one)", () =>
    live(Effect.gen(function*() {
      const gzipped = new Uint8Array(zlib.gzipSync(bytes))
      const sized = yield* boundedServer((_, __, res) => answer(res, 200, { "content-encoding": "gzip", etag: "\"v1\"" }, gzipped))
      const first = yield* Effect.flip(download(sized.url, bytes.length))
      expect(first._tag === "DownloadMismatch" && first.reason).toBe("encoding")
      expect(first.message).toContain("gzip")
      expect(sized.seen[0]?.headers["accept-encoding"]).toBe("identity")

      const chunked = yield* boundedServer((_, __, res) => {
        res.writeHead(200, { "content-encoding": "gzip", "transfer-encoding": "chunked", etag: "\"v1\"" })
        res.end(gzipped)
      })
      const second = yield* Effect.flip(download(chunked.url, undefined))
      expect(second._tag === "DownloadMismatch" && second.reason).toBe("encoding")
      expect(chunked.seen.length).toBe(1)
    })))

  it.effect("a transport that decodes the encoding itself (fetch, as in browsers) gets the content, sized or chunked", () =>
    live(Effect.gen(function*() {
      const text = new TextEncoder().encode("{\"rows\": [1, 2, 3]}\n".repeat(2000))
      const gzipped = new Uint8Array(zlib.gzipSync(text))
      const server = yield* boundedServer((_, i, res) => {
        if (i === 0) return answer(res, 200, { "content-encoding": "gzip", etag: "\"v1\"" }, gzipped)
        res.writeHead(200, { "content-encoding": "gzip", "transfer-encoding": "chunked", etag: "\"v1\"" })
        res.end(gzipped)
      })
      const viaFetch = (size: number | undefined) => download(server.url, size, {}, FetchHttpClient.layer)
      expect(sha256(yield* viaFetch(text.length))).toBe(sha256([text]))
      expect(sha256(yield* viaFetch(undefined))).toBe(sha256([text]))
      expect(server.seen.length).toBe(2)
    })))

  it.effect("maxBytes bounds a body no size announces: refused as it outgrows the bound; a larger record before any request", () =>
    live(Effect.gen(function*() {
      let written = 0
      const endless = yield* boundedServer((_, __, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream", etag: "\"v1\"" })
        const piece = new Uint8Array(64 * KiB)
        // at most 64 MiB, so that a regression ends too
        const more = () => {
          while (written < 64 * 1024 * KiB) {
            written += piece.length
            if (!res.write(piece)) return void res.once("drain", more)
          }
          res.end()
        }
        res.on("close", () => void res.destroy())
        more()
      })
      const error = yield* Effect.flip(download(endless.url, undefined, { maxBytes: 256 * KiB }))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("size")
      expect(error.message).toContain("maxBytes")
      expect(written).toBeLessThan(16 * 1024 * KiB)
      const before = endless.seen.length
      const bigger = yield* Effect.flip(download(endless.url, 300 * KiB, { maxBytes: 256 * KiB }))
      expect(bigger._tag === "DownloadMismatch" && bigger.reason).toBe("size")
      expect(endless.seen.length).toBe(before)
      expect((yield* Effect.flip(download(endless.url, undefined, { maxBytes: -1 })))._tag).toBe("InvalidArgument")
    })))

  it.effect("a redirect on the configured origin is followed with the token; one to another origin without it", () =>
    live(Effect.gen(function*() {
      const storage = yield* boundedServer((_, __, res) => answer(res, 200, { etag: "\"v1\"" }, bytes))
      const server = yield* boundedServer((request, _, res) =>
        request.url === "/blob"
          ? answer(res, 302, { location: "/real/blob" }, new Uint8Array(0))
          : request.url === "/real/blob"
          ? answer(res, 307, { location: `${storage.url}/signed?sig=abc` }, new Uint8Array(0))
          : answer(res, 404, {}, new Uint8Array(0)))
      const parts = yield* download(server.url, bytes.length)
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.map((r) => [r.url, r.headers["authorization"]])).toEqual([
        ["/blob", "Bearer scripted-token"],
        ["/real/blob", "Bearer scripted-token"]
      ])
      expect(storage.seen.map((r) => [r.url, r.headers["authorization"]])).toEqual([["/signed?sig=abc", undefined]])
    })))

  it.effect("a resume after a redirect asks the content URL again, and the Range goes along to Location", () =>
    live(Effect.gen(function*() {
      const server = yield* boundedServer((request, i, res) =>
        request.url === "/blob"
          ? answer(res, 302, { location: "/real" }, new Uint8Array(0))
          : i === 1
          ? answer(res, 200, { etag: "\"v1\"" }, bytes, cut)
          : answer(res, 206, { etag: "\"v1\"", "content-range": `bytes ${cut}-${bytes.length - 1}/${bytes.length}` }, bytes.subarray(cut)))
      const parts = yield* download(server.url, bytes.length)
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.map((r) => [r.url, r.headers["range"]])).toEqual([
        ["/blob", undefined],
        ["/real", undefined],
        ["/blob", `bytes=${cut}-`],
        ["/real", `bytes=${cut}-`]
      ])
    })))

  it.effect("a redirect loop ends after 5 hops in RedirectRefused; so does a redirect to another scheme", () =>
    live(Effect.gen(function*() {
      const looping = yield* boundedServer((request, _, res) => answer(res, 302, { location: request.url === "/blob" ? "/again" : "/blob" }, new Uint8Array(0)))
      const error = yield* Effect.flip(download(looping.url, bytes.length))
      expect(error._tag).toBe("RedirectRefused")
      expect(error.message).toContain(`more than ${Download.maxRedirects} redirects`)
      expect(looping.seen.length).toBe(Download.maxRedirects + 1)

      const other = yield* boundedServer((_, __, res) => answer(res, 301, { location: "file:///etc/passwd" }, new Uint8Array(0)))
      const refused = yield* Effect.flip(download(other.url, bytes.length))
      expect(refused._tag).toBe("RedirectRefused")
      expect(other.seen.length).toBe(1)
    })))

  it.effect("a 206 whose body runs past the end of its Content-Range is DownloadMismatch (range)", () =>
    live(Effect.gen(function*() {
      const server = yield* boundedServer((_, i, res) =>
        i === 0
          ? answer(res, 200, { etag: "\"v1\"" }, bytes, cut)
          : answer(res, 206, { etag: "\"v1\"", "content-range": `bytes ${cut}-${cut + 99}/${bytes.length}` }, bytes.subarray(cut)))
      const error = yield* Effect.flip(download(server.url, bytes.length))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("range")
      expect(error.message).toContain("Content-Range")
    })))

  it.effect("a 206 that stops at the end of a shorter Content-Range is resumed after it", () =>
    live(Effect.gen(function*() {
      const half = bytes.length / 2
      const server = yield* boundedServer((request, _, res) => {
        const from = Number(/bytes=(\d+)-/.exec(request.headers["range"] ?? "")?.[1] ?? 0)
        if (from === 0) return answer(res, 200, { etag: "\"v1\"" }, bytes, cut)
        const end = Math.min(from + half, bytes.length)
        answer(res, 206, { etag: "\"v1\"", "content-range": `bytes ${from}-${end - 1}/${bytes.length}` }, bytes.subarray(from, end))
      })
      const parts = yield* download(server.url, bytes.length)
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.map((r) => r.headers["range"])).toEqual([undefined, `bytes=${cut}-`, `bytes=${cut + half}-`])
    })))
})
