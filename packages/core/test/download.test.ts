/**
 * Downloads over HTTP: from the emulator (byte-exact, resumed with Range after injected cuts and stalls), from a
 * scripted server for answers the emulator never gives (a 200 to a Range request, a wrong Content-Range, a changed
 * ETag, a short record), and the token staying on the configured origin for both downloads and uploads.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, expect, layer } from "@effect/vitest"
import { Artifact, Download, IvcapClient, Upload, UploadSource, Urn } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import type * as http from "node:http"
import { layerHttp } from "./utils/emulator.js"
import { artifactsPath, blobPath, KiB, logged, quickRetry, randomBytes, scriptedServer, sha256 } from "./utils/upload.js"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestServices.provideLive(Effect.scoped(effect))

const fresh = Effect.flatMap(Emulator.Emulator, (e) => Effect.zipRight(e.requests.reset, e.faults.reset))

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** Uploads `bytes` to the emulator (small chunks) and returns the artifact. */
const uploaded = (bytes: Uint8Array, contentType = "application/octet-stream") =>
  Upload.upload(UploadSource.fromBytes(bytes, { contentType }), { chunkSize: 256 * KiB, retry: quickRetry })

/** A client of another server (a scripted one), for the tests that need answers the emulator never gives. */
const clientOf = (url: string) =>
  IvcapClient.layer({ url, token: "scripted-token", retry: false, timeout: "5 seconds" }).pipe(Layer.provide(NodeHttpClient.layerUndici))

/** A record whose content is at `dataHref`. */
const recordAt = (dataHref: string, size: number) =>
  new Artifact.ArtifactDetails({ id: Urn.ArtifactUrn.make("urn:ivcap:artifact:scripted"), status: "ready", links: [], dataHref, size })

/** Every string reachable from a value through its properties (own, inherited getters excluded), bounded. */
const reachableStrings = (root: unknown): Array<string> => {
  const seen = new Set<unknown>()
  const out: Array<string> = []
  const visit = (value: unknown, depth: number) => {
    if (typeof value === "string") out.push(value)
    if (typeof value !== "object" || value === null || seen.has(value) || depth > 8 || seen.size > 10_000) return
    seen.add(value)
    for (const key of Reflect.ownKeys(value)) visit((value as Record<PropertyKey, unknown>)[key], depth + 1)
  }
  visit(root, 0)
  return out
}

/** Sends `status` with `headers` and the bytes, dropping the connection after `cutAfter` of them when given. */
const answer = (res: http.ServerResponse, status: number, headers: Record<string, string>, bytes: Uint8Array, cutAfter?: number) => {
  res.writeHead(status, { "content-length": String(bytes.length), ...headers })
  if (cutAfter === undefined) res.end(bytes)
  else res.write(bytes.subarray(0, cutAfter), () => res.socket?.destroy())
}

layer(layerHttp({ retry: quickRetry, timeout: "10 seconds" }))("Download over HTTP", (it) => {
  it.effect("streams the content byte-exact, with one plain GET", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(1536 * KiB + 5, 3)
      const artifact = yield* uploaded(bytes)
      yield* fresh
      const parts = yield* collect(Download.stream(artifact.id))
      expect(sha256(parts)).toBe(sha256(bytes))
      const gets = yield* logged("GET", blobPath)
      expect(gets.length).toBe(1)
      expect(gets[0]?.headers["range"]).toBeUndefined()
      expect(gets[0]?.auth).toBe("token")
    })))

  it.effect("resumes with Range (and If-Range) after the connection drops mid-body, twice", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(1024 * KiB + 77, 5)
      const artifact = yield* uploaded(bytes)
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.cutResponse(300 * KiB, { match: { method: "GET", path: blobPath } }))
      yield* emulator.faults.inject(Faults.cutResponse(200 * KiB, { match: { method: "GET", path: blobPath } }))
      const parts = yield* collect(Download.stream(artifact))
      expect(sha256(parts)).toBe(sha256(bytes))
      const gets = yield* logged("GET", blobPath)
      expect(gets.map((g) => g.headers["range"])).toEqual([undefined, `bytes=${300 * KiB}-`, `bytes=${500 * KiB}-`])
      expect(gets[1]?.headers["if-range"]).toMatch(/^".+"$/)
    })))

  it.effect("resumes after a response that never comes (timeout), and toBlob keeps the type", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(300 * KiB, 9)
      const artifact = yield* uploaded(bytes, "image/png")
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.stall({ match: { method: "GET", path: blobPath } }))
      const blob = yield* Download.toBlob(artifact.id).pipe(IvcapClient.withRequestOptions({ timeout: "300 millis" }))
      expect(blob.type).toBe("image/png")
      expect(sha256(new Uint8Array(yield* Effect.promise(() => blob.arrayBuffer())))).toBe(sha256(bytes))
      expect((yield* logged("GET", blobPath)).length).toBe(2)
    })))

  it.effect("a dropped connection beyond the schedule is a TransportError that does not carry the token", () =>
    live(Effect.gen(function*() {
      const artifact = yield* uploaded(randomBytes(200 * KiB, 8))
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.cutResponse(50 * KiB, { match: { method: "GET", path: blobPath } }))
      // No retry at all: the cut mid-body is the download's error.
      const exit = yield* Effect.exit(Stream.runDrain(Download.stream(artifact, { retry: Schedule.stop })))
      yield* emulator.faults.reset
      assert(Exit.isFailure(exit))
      const error = Cause.squash(exit.cause)
      expect((error as { _tag?: string })._tag).toBe("TransportError")
      for (const rendering of [Cause.pretty(exit.cause), JSON.stringify(error), String(error), Inspectable.format(error)]) {
        expect(rendering).not.toContain(emulator.token)
      }
      // Nor anywhere inside it (a platform error as `cause` would hold the request's headers).
      expect(reachableStrings(error).some((text) => text.includes(emulator.token))).toBe(false)
    })))

  it.effect("fails with the typed error of a missing artifact, and without a token in it", () =>
    live(Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runDrain(Download.stream("urn:ivcap:artifact:00000000-0000-0000-0000-000000000000")))
      expect(error._tag).toBe("ResourceNotFound")
      const emulator = yield* Emulator.Emulator
      expect(JSON.stringify(error)).not.toContain(emulator.token)
    })))

  it.effect("a data-href naming another host is fetched from the configured deployment; the other host gets nothing", () =>
    live(Effect.gen(function*() {
      const foreign = yield* scriptedServer((_, __, res) => answer(res, 404, {}, new Uint8Array(0)))
      const bytes = randomBytes(200 * KiB, 11)
      const artifact = yield* uploaded(bytes)
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const moved = (json: unknown) => {
        const record = json as Record<string, unknown>
        return { ...record, "data-href": `${foreign.url}${new URL(String(record["data-href"])).pathname}` }
      }
      yield* emulator.faults.inject(Faults.mapBody(moved, { match: { method: "GET", path: "/1/artifacts/" } }))
      const parts = yield* collect(Download.stream(artifact.id))
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(foreign.seen.length).toBe(0)
      expect((yield* logged("GET", blobPath))[0]?.auth).toBe("token")
    })))

  it.effect("a javascript:, file: or data: data-href is refused (InvalidArgument), never mapped onto a deployment path", () =>
    live(Effect.gen(function*() {
      const artifact = yield* uploaded(randomBytes(10 * KiB, 12))
      const emulator = yield* Emulator.Emulator
      for (const href of ["javascript:alert(document.cookie)//1/artifacts/x/blob", "file:///etc/passwd", "data:text/plain,hi"]) {
        yield* fresh
        const rewrite = (json: unknown) => ({ ...(json as Record<string, unknown>), "data-href": href })
        yield* emulator.faults.inject(Faults.mapBody(rewrite, { match: { method: "GET", path: "/1/artifacts/" } }))
        const e = yield* Effect.flip(Stream.runDrain(Download.stream(artifact.id)))
        expect(e._tag, href).toBe("InvalidArgument")
        if (e._tag === "InvalidArgument") expect(e.argument).toBe("data-href")
        expect(yield* logged("GET", blobPath), href).toHaveLength(0)
      }
    })))

  it.effect("an upload whose data-href names another host goes to the configured deployment", () =>
    live(Effect.gen(function*() {
      const foreign = yield* scriptedServer((_, __, res) => answer(res, 404, {}, new Uint8Array(0)))
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.mapBody((json) => {
        const record = json as Record<string, unknown>
        return { ...record, "data-href": `${foreign.url}${new URL(String(record["data-href"])).pathname}` }
      }, { match: { method: "POST", path: artifactsPath } }))
      const bytes = randomBytes(600 * KiB, 13)
      const artifact = yield* uploaded(bytes)
      expect(artifact.status).toBe("ready")
      expect(foreign.seen.length).toBe(0)
      const patches = yield* logged("PATCH", blobPath)
      expect(patches.length).toBe(3)
      expect(patches.every((p) => p.auth === "token")).toBe(true)
      // The second defence: the engine pointed at another origin sends no token there.
      const error = yield* Effect.flip(Upload.resumeAt(`${foreign.url}/files/x`, UploadSource.fromBytes(bytes), { retry: quickRetry }))
      expect(error._tag).toBe("ResourceNotFound")
      expect(foreign.seen.length).toBe(1)
      expect(foreign.seen[0]?.headers["authorization"]).toBeUndefined()
    })))
})

layer(Layer.empty)("Download against a scripted server", (it) => {
  const bytes = randomBytes(100 * KiB, 17)

  it.effect("a server that ignores Range (200 on the resumed request): the delivered prefix is skipped", () =>
    live(Effect.gen(function*() {
      const server = yield* scriptedServer((_, i, res) => answer(res, 200, { etag: "\"v1\"" }, bytes, i === 0 ? 30 * KiB : undefined))
      const parts = yield* collect(Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }).pipe(
        Stream.provideLayer(clientOf(server.url))
      ))
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.map((r) => r.headers["range"])).toEqual([undefined, `bytes=${30 * KiB}-`])
      expect(server.seen[1]?.headers["if-range"]).toBe("\"v1\"")
      expect(server.seen[0]?.headers["authorization"]).toBe("Bearer scripted-token")
    })))

  it.effect("a body that stalls mid-way is cut by the idle watchdog and resumed after the bytes received", () =>
    live(Effect.gen(function*() {
      const stalled = 30 * KiB
      const server = yield* scriptedServer((_, i, res) => {
        if (i === 0) {
          res.writeHead(200, { "content-length": String(bytes.length), etag: "\"v1\"" })
          res.write(bytes.subarray(0, stalled)) // then nothing: the connection stays open
        } else {
          answer(res, 206, { "content-range": `bytes ${stalled}-${bytes.length - 1}/${bytes.length}`, etag: "\"v1\"" }, bytes.subarray(stalled))
        }
      })
      const started = Date.now()
      const parts = yield* collect(Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry, idleTimeout: "300 millis" }).pipe(
        Stream.provideLayer(clientOf(server.url))
      ))
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.map((r) => r.headers["range"])).toEqual([undefined, `bytes=${stalled}-`])
      // Cut by the 300 ms watchdog, well before the client's 5 s timeout.
      expect(Date.now() - started).toBeLessThan(4000)
    })))

  it.effect("bytes that arrive are handed over without waiting for a full batch (a held connection still delivers them)", () =>
    live(Effect.gen(function*() {
      const first = 3 * KiB
      const server = yield* scriptedServer((_, __, res) => {
        res.writeHead(200, { "content-length": String(bytes.length), etag: "\"v1\"" })
        res.write(bytes.subarray(0, first)) // then nothing: the connection stays open
      })
      // Were the pieces held until ~1 MiB had arrived, nothing would come before the 60 s idle timeout (no idle-rate
      // rule): the 10 s bound catches that hang only.
      const head = Option.getOrThrow(
        yield* Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry, idleTimeout: "60 seconds", minRate: false }).pipe(
          Stream.runHead,
          Effect.timeout("10 seconds"),
          Effect.provide(clientOf(server.url))
        )
      )
      // The first piece: some of the bytes sent, from the start.
      expect(head.length).toBeGreaterThan(0)
      expect(head.length).toBeLessThanOrEqual(first)
      expect(sha256([head])).toBe(sha256([bytes.subarray(0, head.length)]))
    })))

  it.effect("a 206 that starts elsewhere than asked fails with DownloadMismatch (range)", () =>
    live(Effect.gen(function*() {
      const server = yield* scriptedServer((_, i, res) =>
        i === 0
          ? answer(res, 200, { etag: "\"v1\"" }, bytes, 10 * KiB)
          : answer(res, 206, { "content-range": `bytes 0-${bytes.length - 1}/${bytes.length}`, etag: "\"v1\"" }, bytes))
      const error = yield* Effect.flip(Stream.runDrain(Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }).pipe(
        Stream.provideLayer(clientOf(server.url))
      )))
      expect(error._tag).toBe("DownloadMismatch")
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("range")
    })))

  it.effect("content that changed between requests (another ETag) fails with DownloadMismatch (etag)", () =>
    live(Effect.gen(function*() {
      const server = yield* scriptedServer((_, i, res) => answer(res, 200, { etag: `"v${i}"` }, bytes, i === 0 ? 10 * KiB : undefined))
      const error = yield* Effect.flip(Stream.runDrain(Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }).pipe(
        Stream.provideLayer(clientOf(server.url))
      )))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("etag")
    })))

  it.effect("content of another size than the record says fails with DownloadMismatch (size)", () =>
    live(Effect.gen(function*() {
      const server = yield* scriptedServer((_, __, res) => answer(res, 200, {}, bytes))
      const error = yield* Effect.flip(Stream.runDrain(Download.stream(recordAt(`${server.url}/blob`, bytes.length + 1)).pipe(
        Stream.provideLayer(clientOf(server.url))
      )))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("size")
    })))

  it.effect("a body announced at another size than the record is refused before it is read", () =>
    live(Effect.gen(function*() {
      // Announces 64 MiB, sends 1 KiB and then nothing: only refusing on the announcement ends this quickly.
      const server = yield* scriptedServer((_, __, res) => {
        res.writeHead(200, { "content-length": String(64 * 1024 * KiB) })
        res.write(bytes.subarray(0, KiB))
      })
      const error = yield* Effect.flip(Stream.runDrain(Download.stream(recordAt(`${server.url}/blob`, bytes.length)).pipe(
        Stream.provideLayer(clientOf(server.url))
      )))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("size")
      expect(error.message).toContain("announces")
      server.server.closeAllConnections()
    })))

  it.effect("a body that outgrows the record (no length announced) fails as soon as it does", () =>
    live(Effect.gen(function*() {
      // Chunked, more bytes than the record's size, then nothing: stopping at the record's size ends this quickly.
      const server = yield* scriptedServer((_, __, res) => {
        res.writeHead(200, { "transfer-encoding": "chunked" })
        res.write(bytes)
        res.write(bytes.subarray(0, KiB))
      })
      const error = yield* Effect.flip(Stream.runDrain(Download.stream(recordAt(`${server.url}/blob`, bytes.length)).pipe(
        Stream.provideLayer(clientOf(server.url))
      )))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("size")
      expect(error.message).toContain("more than the record's")
      server.server.closeAllConnections()
    })))

  it.effect("no ETag nor Last-Modified: a resume after delivered bytes fails (resume) instead of splicing two versions", () =>
    live(Effect.gen(function*() {
      const changed = randomBytes(bytes.length, 18)
      // The content changes between the two requests, and nothing tells it (no validator, and a 200 to the Range).
      const server = yield* scriptedServer((_, i, res) => i === 0 ? answer(res, 200, {}, bytes, 10 * KiB) : answer(res, 200, {}, changed))
      const received: Array<Uint8Array> = []
      const error = yield* Effect.flip(Stream.runForEach(
        Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }),
        (b) => Effect.sync(() => received.push(b))
      ).pipe(Effect.provide(clientOf(server.url))))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("resume")
      // Only the first version's bytes were delivered, and no resume was asked.
      expect(sha256(received)).toBe(sha256([bytes.subarray(0, received.reduce((n, b) => n + b.length, 0))]))
      expect(server.seen.length).toBe(1)
    })))

  it.effect("no validator, nothing delivered yet: the retry starts again from byte 0", () =>
    live(Effect.gen(function*() {
      const server = yield* scriptedServer((_, i, res) => i === 0 ? answer(res, 200, {}, bytes, 0) : answer(res, 200, {}, bytes))
      const parts = yield* collect(Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }).pipe(
        Stream.provideLayer(clientOf(server.url))
      ))
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.map((r) => r.headers["range"])).toEqual([undefined, undefined])
    })))

  it.effect("Last-Modified only: the resume sends it as If-Range", () =>
    live(Effect.gen(function*() {
      const lastModified = "Tue, 01 Dec 2026 10:00:00 GMT"
      const server = yield* scriptedServer((request, i, res) =>
        i === 0
          ? answer(res, 200, { "last-modified": lastModified }, bytes, 10 * KiB)
          : request.headers["if-range"] === lastModified
          ? answer(res, 206, { "content-range": `bytes ${10 * KiB}-${bytes.length - 1}/${bytes.length}`, "last-modified": lastModified }, bytes.subarray(10 * KiB))
          : answer(res, 200, { "last-modified": lastModified }, bytes))
      const parts = yield* collect(Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }).pipe(
        Stream.provideLayer(clientOf(server.url))
      ))
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen.map((r) => [r.headers["range"], r.headers["if-range"]])).toEqual([[undefined, undefined], [`bytes=${10 * KiB}-`, lastModified]])
    })))

  it.effect("a weak ETag is no If-Range validator: Last-Modified is used instead", () =>
    live(Effect.gen(function*() {
      const lastModified = "Tue, 01 Dec 2026 11:00:00 GMT"
      const headers = { etag: "W/\"weak\"", "last-modified": lastModified }
      const server = yield* scriptedServer((_, i, res) =>
        i === 0
          ? answer(res, 200, headers, bytes, 10 * KiB)
          : answer(res, 206, { ...headers, "content-range": `bytes ${10 * KiB}-${bytes.length - 1}/${bytes.length}` }, bytes.subarray(10 * KiB)))
      const parts = yield* collect(Download.stream(recordAt(`${server.url}/blob`, bytes.length), { retry: quickRetry }).pipe(
        Stream.provideLayer(clientOf(server.url))
      ))
      expect(sha256(parts)).toBe(sha256(bytes))
      expect(server.seen[1]?.headers["if-range"]).toBe(lastModified)
    })))

  it.effect("a 2 bytes/s trickle ends in RequestTimeout once the schedule is spent (the idle-rate rule)", () =>
    live(Effect.gen(function*() {
      const server = yield* scriptedServer((_, __, res) => {
        res.writeHead(200, { "content-length": String(bytes.length), etag: "\"v1\"" })
        res.flushHeaders()
        let sent = 0
        const timer = setInterval(() => res.write(bytes.subarray(sent, ++sent)), 500)
        res.on("close", () => clearInterval(timer))
      })
      const started = Date.now()
      const error = yield* Effect.flip(Stream.runDrain(
        Download.stream(recordAt(`${server.url}/blob`, bytes.length), {
          retry: Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(2))),
          minRate: { bytesPerSecond: 100, window: "600 millis" }
        })
      ).pipe(Effect.provide(clientOf(server.url)), Effect.timeout("6 seconds")))
      expect(error._tag).toBe("RequestTimeout")
      expect(error.message).toContain("fewer than 60 bytes")
      // Three attempts of one window each (a trickle is no progress, so it never restarts the schedule).
      expect(server.seen.length).toBe(3)
      expect(Date.now() - started).toBeLessThan(5000)
      server.server.closeAllConnections()
    })))
})
