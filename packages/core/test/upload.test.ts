/**
 * Uploads to the emulator over real HTTP (undici): byte-exact (sha-256 of what the server stored) with every
 * injected fault, interruption and resume by a new client, streams of unknown size, progress, validation.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, expect, layer } from "@effect/vitest"
import { IvcapClient, Upload, UploadSource, UploadStore } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { layerHttp } from "./utils/emulator.js"
import { artifactsPath, blobPath, KiB, logged, MiB, quickRetry, randomBytes, scriptedServer, sha256, storedContent, tempFile } from "./utils/upload.js"

const chunkSize = 512 * KiB
const options = { chunkSize, retry: quickRetry }

/** Runs with the real clock (uploads wait on real sockets and real back-off), in a scope for temp files. */
const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestServices.provideLive(Effect.scoped(effect))

/** Forgets earlier requests and faults, so each test counts only its own. */
const fresh = Effect.flatMap(Emulator.Emulator, (e) => Effect.zipRight(e.requests.reset, e.faults.reset))

/** Polls `value` (real time, at most 200 times) until `done` holds. */
const waitFor = <A>(value: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      if (done(yield* value)) return
      yield* Effect.sleep("25 millis")
    }
    return yield* Effect.die("condition not reached")
  })

/** Uploads a fresh file of `size` bytes with `fault` injected, and checks the stored bytes are exactly the file's. */
const faultedUpload = (size: number, fault: Faults.FaultRule) =>
  Effect.gen(function*() {
    const { bytes, emulator, source } = yield* withFault(size, fault)
    const artifact = yield* Upload.upload(source, options)
    expect(sha256(yield* storedContent(artifact.dataHref))).toBe(sha256(bytes))
    return { emulator, artifact, bytes }
  })

/** A fresh emulator (no requests, no faults) with `fault` injected, and a file source of `size` bytes. */
const withFault = (size: number, fault: Faults.FaultRule) =>
  Effect.gen(function*() {
    yield* fresh
    const emulator = yield* Emulator.Emulator
    const { bytes, file } = yield* tempFile(size)
    yield* emulator.faults.inject(fault)
    return { emulator, bytes, source: yield* UploadSource.fromFile(file) }
  })

const contentLengths = (records: ReadonlyArray<{ readonly headers: Record<string, string> }>) =>
  records.reduce((sum, r) => sum + Number(r.headers["content-length"] ?? 0), 0)

layer(Layer.merge(layerHttp({ retry: quickRetry, timeout: "10 seconds" }), NodeContext.layer))("Upload over HTTP", (it) => {
  it.effect("uploads a file byte-exact in chunks, with the §6.1 headers, and reads back a ready record", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const { bytes, file, sha256: expected } = yield* tempFile(3 * MiB + 123, { name: "Grüße 1.csv" })
      const source = yield* UploadSource.fromFile(file)
      const artifact = yield* Upload.upload(source, { ...options, policy: "urn:ivcap:policy:ivcap.open.artifact" })
      expect(artifact.status).toBe("ready")
      expect(artifact.size).toBe(bytes.length)
      expect(artifact.name).toBe("Grüße 1.csv")
      expect(artifact.mimeType).toBe("text/csv")
      expect(sha256(yield* storedContent(artifact.dataHref))).toBe(expected)

      const [post] = yield* logged("POST", artifactsPath)
      assert(post !== undefined)
      expect(post.headers["x-name"]).toBe(Buffer.from("Grüße 1.csv", "utf8").toString("base64"))
      expect(post.headers["x-content-length"]).toBe(String(bytes.length))
      expect(post.headers["x-content-type"]).toBe("text/csv")
      expect(post.headers["x-policy"]).toBe("urn:ivcap:policy:ivcap.open.artifact")
      expect(post.headers["tus-resumable"]).toBe("1.0.0")
      const patches = yield* logged("PATCH", blobPath)
      expect(patches.map((p) => p.headers["upload-offset"])).toEqual(["0", "524288", "1048576", "1572864", "2097152", "2621440", "3145728"])
      expect(patches.every((p) => p.headers["content-type"] === "application/offset+octet-stream" && p.headers["tus-resumable"] === "1.0.0")).toBe(true)
      expect(contentLengths(patches)).toBe(bytes.length)
      expect(patches.every((p) => p.auth === "token")).toBe(true)
    })))

  it.effect("sends a name beyond Latin-1 (CJK, an astral emoji) as the base64 of its UTF-8 bytes", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const name = "数据 😀 Grüße.bin"
      const artifact = yield* Upload.upload(UploadSource.fromBytes(randomBytes(1000), { name }), options)
      expect(artifact.name).toBe(name)
      const [post] = yield* logged("POST", artifactsPath)
      expect(post?.headers["x-name"]).toBe(Buffer.from(name, "utf8").toString("base64"))
    })))

  it.effect("survives a connection cut in the middle of a PATCH (continues from the server's offset)", () =>
    live(Effect.gen(function*() {
      const { bytes, emulator } = yield* faultedUpload(2 * MiB + 7, Faults.cutRequestBody(200 * KiB, { match: { method: "PATCH" }, skip: 1 }))
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBe(1)
      // The server kept the 200 KiB before the cut, so the next PATCH starts there: nothing is sent twice.
      const patches = yield* logged("PATCH", blobPath)
      expect(patches[2]?.headers["upload-offset"]).toBe(String(chunkSize + 200 * KiB))
      expect(contentLengths(patches)).toBe(bytes.length + chunkSize - 200 * KiB)
    })))

  it.effect("rides out a burst of 503s on PATCH (one HEAD after each)", () =>
    live(Effect.gen(function*() {
      const { emulator } = yield* faultedUpload(MiB + 5, Faults.status(503, { match: { method: "PATCH" }, skip: 1, times: 3 }))
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBe(3)
      expect(yield* emulator.requests.count({ method: "PATCH" })).toBe(3 + 3)
    })))

  it.effect("gives up with the last error when 503s outlast the schedule", () =>
    live(Effect.gen(function*() {
      const { emulator, source } = yield* withFault(300 * KiB, Faults.status(503, { match: { method: "PATCH" }, times: 50 }))
      const error = yield* Effect.flip(Upload.upload(source, options))
      expect(error._tag).toBe("ServiceUnavailable")
      // quickRetry allows 6 waits: 7 PATCHes, 6 HEADs — bounded.
      expect(yield* emulator.requests.count({ method: "PATCH" })).toBe(7)
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBe(6)
      yield* emulator.faults.reset
    })))

  it.effect("does not wait for a Retry-After beyond the client's limit: the 503 is returned", () =>
    live(Effect.gen(function*() {
      const { emulator, source } = yield* withFault(100 * KiB, Faults.status(503, { match: { method: "PATCH" }, retryAfter: 3600 }))
      const error = yield* Effect.flip(Upload.upload(source, options))
      expect(error._tag).toBe("ServiceUnavailable")
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBe(0)
    })))

  it.effect("recovers from a 409 offset mismatch on PATCH by asking HEAD", () =>
    live(Effect.gen(function*() {
      const { emulator } = yield* faultedUpload(MiB + 11, Faults.status(409, { match: { method: "PATCH" }, skip: 1 }))
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBe(1)
    })))

  it.effect("retries a PATCH that answers after the timeout", () =>
    live(Effect.gen(function*() {
      const { emulator } = yield* faultedUpload(MiB + 3, Faults.delay(1500, { match: { method: "PATCH" }, skip: 1 })).pipe(
        IvcapClient.withRequestOptions({ timeout: "400 millis" })
      )
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBeGreaterThanOrEqual(1)
    })))

  it.effect("uploads a one-pass stream of unknown size (deferred length), re-sending its buffered chunk after a cut", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const bytes = randomBytes(MiB + 333 * KiB + 1, 42)
      // Upstream pieces of odd sizes, as a pipe would deliver them.
      const pieces: Array<Uint8Array> = []
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = 1000 + ((i * 7919) % 90_000)
        pieces.push(bytes.slice(at, at + n))
        at += n
      }
      yield* emulator.faults.inject(Faults.cutRequestBody(100 * KiB, { match: { method: "PATCH" }, skip: 1 }))
      const source = UploadSource.fromStream(Stream.fromIterable(pieces), { name: "stdin.bin" })
      const artifact = yield* Upload.upload(source, options)
      expect(artifact.status).toBe("ready")
      expect(artifact.size).toBe(bytes.length)
      expect(sha256(yield* storedContent(artifact.dataHref))).toBe(sha256(bytes))
      const [post] = yield* logged("POST", artifactsPath)
      expect(post?.headers["x-content-length"]).toBe("-1")
      const patches = yield* logged("PATCH", blobPath)
      expect(patches.every((p) => p.headers["upload-defer-length"] === "1")).toBe(true)
      const last = patches[patches.length - 1]
      expect(last?.headers["upload-length"]).toBe(String(bytes.length))
      expect(last?.headers["content-length"]).toBe("0")
      // The source can be read once.
      const again = yield* Effect.flip(Upload.upload(source, options))
      expect(again._tag).toBe("SourceError")
    })))

  it.effect("resuming with a one-pass stream skips what the server already has (the CLI's stdin resume)", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const bytes = randomBytes(MiB + 99, 77)
      const half = 600 * KiB
      const created = yield* Upload.create({ size: bytes.length })
      // A first run whose input ended early: the whole chunks before the end were sent and kept; the short last
      // one is not sent, since the source is known to be broken by then.
      const early = yield* Effect.flip(Upload.resume(created.id, UploadSource.fromStream(Stream.make(bytes.slice(0, half)), { size: bytes.length }), options))
      expect(early._tag).toBe("SourceError")
      yield* emulator.requests.reset
      const pieces = Array.from({ length: 20 }, (_, i) => bytes.slice(i * 60 * KiB, (i + 1) * 60 * KiB)).filter((p) => p.length > 0)
      const done = yield* Upload.resume(created.id, UploadSource.fromStream(Stream.fromIterable(pieces), { size: bytes.length }), options)
      expect(sha256(yield* storedContent(done.dataHref))).toBe(sha256(bytes))
      const patches = yield* logged("PATCH", blobPath)
      expect(patches[0]?.headers["upload-offset"]).toBe(String(chunkSize))
      expect(contentLengths(patches)).toBe(bytes.length - chunkSize)
    })))

  it.effect("a stream that delivers fewer bytes than its announced size fails with SourceError", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const source = UploadSource.fromStream(Stream.make(randomBytes(1000)), { size: 5000 })
      const error = yield* Effect.flip(Upload.upload(source, options))
      expect(error._tag).toBe("SourceError")
    })))

  it.effect("uploads Blobs and bytes", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const bytes = randomBytes(700 * KiB, 7)
      const blob = new File([bytes], "photo.png", { type: "", lastModified: 1 })
      const fromBlob = yield* Upload.upload(UploadSource.fromBlob(blob), options)
      expect(fromBlob.mimeType).toBe("image/png")
      expect(fromBlob.name).toBe("photo.png")
      expect(sha256(yield* storedContent(fromBlob.dataHref))).toBe(sha256(bytes))
      const fromBytes = yield* Upload.upload(UploadSource.fromBytes(bytes, { contentType: "application/x-test" }), options)
      expect(fromBytes.mimeType).toBe("application/x-test")
      expect(sha256(yield* storedContent(fromBytes.dataHref))).toBe(sha256(bytes))
      const empty = yield* Upload.upload(UploadSource.fromBytes(new Uint8Array(0)), options)
      expect(empty.size ?? 0).toBe(0)
    })))

  it.effect("reports progress as data: confirmed only from server offsets, ending with the artifact", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { bytes, file } = yield* tempFile(2 * MiB)
      yield* emulator.faults.inject(Faults.cutRequestBody(64 * KiB, { match: { method: "PATCH" }, skip: 2 }))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Upload.uploadWithProgress(yield* UploadSource.fromFile(file), options)))
      const last = events[events.length - 1]
      assert(last?._tag === "Completed")
      expect(sha256(yield* storedContent(last.artifact.dataHref))).toBe(sha256(bytes))
      const progress = events.filter((e): e is Upload.Progress => e._tag === "Progress")
      const confirmed = progress.map((p) => p.confirmed)
      expect(confirmed).toEqual([...confirmed].sort((a, b) => a - b))
      // Every confirmed value is one the server answered: chunk boundaries, or where the cut left it.
      const serverOffsets = new Set([0, 1, 2, 3, 4].map((i) => i * chunkSize).concat([2 * chunkSize + 64 * KiB, 3 * chunkSize + 64 * KiB]))
      expect(confirmed.every((c) => serverOffsets.has(c))).toBe(true)
      expect(progress.every((p) => p.sent >= p.confirmed && Option.getOrThrow(p.total) === bytes.length)).toBe(true)
      expect(progress.some((p) => p.sent > p.confirmed)).toBe(true)
      expect(confirmed[confirmed.length - 1]).toBe(bytes.length)
    })))

  it.effect("progress stream: the upload's error fails it; ending it early interrupts the upload", () =>
    live(Effect.gen(function*() {
      const { emulator, source } = yield* withFault(100 * KiB, Faults.status(403, { match: { method: "POST", path: "/1/artifacts" } }))
      const error = yield* Stream.runCollect(Upload.uploadWithProgress(source, options)).pipe(Effect.flip)
      expect(error._tag).toBe("Forbidden")
      expect(yield* emulator.requests.count({ method: "PATCH" })).toBe(0)

      // Every PATCH after the first is held for a while: the consumer stops after the first event.
      const { source: big } = yield* withFault(4 * chunkSize, Faults.delay(600, { match: { method: "PATCH" }, skip: 1, times: 10 }))
      const first = yield* Stream.runCollect(Upload.uploadWithProgress(big, options).pipe(Stream.take(1)))
      expect(Chunk.toReadonlyArray(first).map((e) => e._tag)).toEqual(["Progress"])
      // A PATCH already on the wire when the upload is interrupted reaches the emulator's log a moment later.
      yield* Effect.sleep("200 millis")
      const patches = yield* emulator.requests.count({ method: "PATCH" })
      expect(patches).toBeLessThan(4)
      yield* Effect.sleep("1500 millis")
      expect(yield* emulator.requests.count({ method: "PATCH" })).toBe(patches)
    })))

  it.effect("is interruptible mid-PATCH, and a NEW client with the same upload store resumes it", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const server = yield* EmulatorServer.EmulatorServer
      // One store (a process's upload-state folder, say) outlives two clients.
      const store = yield* UploadStore.make.pipe(Effect.provide(KeyValueStore.layerMemory))
      const newClient = () =>
        IvcapClient.layer({ url: server.url, token: emulator.token, retry: quickRetry }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const { bytes, file, sha256: expected } = yield* tempFile(3 * MiB + 17)
      const source = yield* UploadSource.fromFile(file)
      // The server does not read the third PATCH for a while: the upload is interrupted with that body half sent.
      // (A Delay, not a Stall: a server that never reads never notices the client closing, see the report.)
      yield* emulator.faults.inject(Faults.delay(800, { match: { method: "PATCH" }, skip: 2 }))
      const first = yield* Upload.upload(source, options).pipe(
        Effect.provide(newClient()),
        Effect.provideService(UploadStore.UploadStore, store),
        Effect.fork
      )
      yield* waitFor(emulator.requests.count({ method: "PATCH" }), (n) => n >= 3)
      yield* Fiber.interrupt(first).pipe(Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "the interrupt waited for the stalled PATCH" }))
      const record = yield* store.get(server.url, Option.getOrThrow(source.fingerprint))
      assert(Option.isSome(record), "the unfinished upload is remembered")

      const artifact = yield* Upload.upload(source, options).pipe(
        Effect.provide(newClient()),
        Effect.provideService(UploadStore.UploadStore, store)
      )
      expect(artifact.id).toBe(record.value.artifactId)
      expect(sha256(yield* storedContent(artifact.dataHref))).toBe(expected)
      expect(yield* emulator.requests.count({ method: "POST", path: "/1/artifacts" })).toBe(1)
      expect(contentLengths(yield* logged("PATCH", blobPath))).toBeLessThanOrEqual(bytes.length + chunkSize)
      expect(Option.isNone(yield* store.get(server.url, Option.getOrThrow(source.fingerprint)))).toBe(true)
    })))

  it.effect("interrupting during a back-off wait ends at once", () =>
    live(Effect.gen(function*() {
      // Retry-After: 50 s (under the client's 60 s limit) lengthens the wait far beyond the test's patience.
      const { emulator, source } = yield* withFault(100 * KiB, Faults.status(503, { match: { method: "PATCH" }, retryAfter: 50 }))
      const server = yield* EmulatorServer.EmulatorServer
      // A client of its own: the shared back-off would otherwise hold this file's client for those 50 s.
      const ownClient = IvcapClient.layer({ url: server.url, token: emulator.token, retry: quickRetry }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const fiber = yield* Effect.fork(Upload.upload(source, options).pipe(Effect.provide(ownClient)))
      yield* waitFor(emulator.requests.count({ method: "PATCH" }), (n) => n >= 1)
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber).pipe(Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "the interrupt waited for the back-off" }))
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBe(0)
    })))

  it.effect("Upload.resume continues an artifact by id; an already complete one succeeds without PATCH", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { bytes, file, sha256: expected } = yield* tempFile(MiB + 100)
      const source = yield* UploadSource.fromFile(file)
      const created = yield* Upload.create({ name: "data.bin", size: bytes.length })
      expect(created.status).toBe("pending")
      // Send the first chunk only, as an earlier run would have.
      yield* emulator.faults.inject(Faults.delay(800, { match: { method: "PATCH" }, skip: 1 }))
      const partial = yield* Effect.fork(Upload.resume(created.id, source, options))
      yield* waitFor(emulator.requests.count({ method: "PATCH" }), (n) => n >= 2)
      yield* Fiber.interrupt(partial)
      yield* emulator.faults.reset
      const done = yield* Upload.resume(created.id, source, options)
      expect(done.status).toBe("ready")
      expect(sha256(yield* storedContent(done.dataHref))).toBe(expected)
      const patches = yield* emulator.requests.count({ method: "PATCH" })
      const again = yield* Upload.resume(created.id, source, options)
      expect(again.id).toBe(created.id)
      expect(yield* emulator.requests.count({ method: "PATCH" })).toBe(patches)
    })))

  it.effect("refuses to go on when the server's offset is beyond the length (UploadOffsetMismatch)", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const { file } = yield* tempFile(1000)
      const created = yield* Upload.create({ size: 2000 })
      yield* Upload.resume(created.id, UploadSource.fromBytes(randomBytes(2000)), options)
      // The server has 2000 bytes; this source has 1000.
      const error = yield* Effect.flip(Upload.resume(created.id, yield* UploadSource.fromFile(file), options))
      expect(error._tag).toBe("UploadOffsetMismatch")
    })))

  it.effect("rejects bad arguments before any request", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const source = UploadSource.fromBytes(randomBytes(10))
      const created0 = "urn:ivcap:artifact:00000000-0000-0000-0000-000000000000"
      expect((yield* Effect.flip(Upload.upload(source, { policy: "urn:ivcap:artifact:x" })))._tag).toBe("InvalidArgument")
      expect((yield* Effect.flip(Upload.upload(source, { collection: "not a urn" })))._tag).toBe("InvalidArgument")
      expect((yield* Effect.flip(Upload.upload(source, { chunkSize: 0 })))._tag).toBe("InvalidArgument")
      // A 1 KiB chunk would make a 10 GiB upload ten million requests: refused, naming the minimum.
      const tiny = yield* Effect.flip(Upload.upload(source, { chunkSize: KiB }))
      assert(tiny._tag === "InvalidArgument")
      expect([tiny.argument, tiny.message]).toEqual(["chunkSize", expect.stringContaining(String(Upload.minimumChunkSize))])
      expect((yield* Effect.flip(Upload.resume(created0, source, { chunkSize: Upload.minimumChunkSize - 1 })))._tag).toBe("InvalidArgument")
      expect((yield* Effect.flip(Upload.resume("urn:ivcap:order:1", source)))._tag).toBe("InvalidArgument")
      expect(yield* emulator.requests.count()).toBe(0)
    })))
})

/** A client of a scripted tus server. */
const scriptedClient = (url: string) =>
  IvcapClient.layer({ url, token: "scripted", timeout: "5 seconds" }).pipe(Layer.provide(NodeHttpClient.layerUndici))

/** `resumeAt` of 160 KiB in 64 KiB chunks against a server answering HEAD and PATCH as `answers` says (by request index). */
const againstScript = (answers: (method: string, index: number) => { status: number; headers?: Record<string, string> }) =>
  Effect.gen(function*() {
    const server = yield* scriptedServer((request, index, res) => {
      const { headers = {}, status } = answers(request.method, index)
      res.writeHead(status, { "tus-resumable": "1.0.0", ...headers })
      res.end()
    })
    const error = yield* Effect.flip(
      Upload.resumeAt(`${server.url}/files/1`, UploadSource.fromBytes(randomBytes(160 * KiB)), { chunkSize: 64 * KiB, retry: quickRetry }).pipe(
        Effect.provide(scriptedClient(server.url))
      )
    )
    return { error, seen: server.seen }
  })

layer(Layer.empty)("Upload against a scripted tus server", (it) => {
  it.effect("a server whose offset falls behind what it confirmed stops the upload (UploadOffsetMismatch)", () =>
    live(Effect.gen(function*() {
      const { error, seen } = yield* againstScript((method, i) =>
        method === "HEAD"
          ? { status: 200, headers: { "upload-offset": "0", "upload-length": String(160 * KiB) } }
          : i === 1
          ? { status: 204, headers: { "upload-offset": String(64 * KiB) } }
          : { status: 503 })
      expect(error._tag).toBe("UploadOffsetMismatch")
      assert(error._tag === "UploadOffsetMismatch")
      expect([error.confirmed, error.server]).toEqual([64 * KiB, 0])
      expect(seen.map((r) => r.method)).toEqual(["HEAD", "PATCH", "PATCH", "HEAD"])
    })))

  it.effect("a PATCH answer beyond the bytes sent stops the upload (UploadOffsetMismatch)", () =>
    live(Effect.gen(function*() {
      const { error } = yield* againstScript((method) =>
        method === "HEAD" ? { status: 200, headers: { "upload-offset": "0" } } : { status: 204, headers: { "upload-offset": String(90 * KiB) } })
      expect(error._tag).toBe("UploadOffsetMismatch")
    })))

  it.effect("a server that reports another length stops the upload before sending (UploadOffsetMismatch)", () =>
    live(Effect.gen(function*() {
      const { error, seen } = yield* againstScript(() => ({ status: 200, headers: { "upload-offset": "0", "upload-length": "5" } }))
      expect(error._tag).toBe("UploadOffsetMismatch")
      expect(seen.map((r) => r.method)).toEqual(["HEAD"])
    })))

  it.effect("a PATCH answer without Upload-Offset is a DecodeError naming the header", () =>
    live(Effect.gen(function*() {
      const { error } = yield* againstScript((method) => (method === "HEAD" ? { status: 200, headers: { "upload-offset": "0" } } : { status: 204 }))
      expect(error._tag).toBe("DecodeError")
      expect(error.message).toContain("Upload-Offset")
    })))

  it.effect("a gone upload (410) is ResourceNotFound, not retried", () =>
    live(Effect.gen(function*() {
      const { error, seen } = yield* againstScript(() => ({ status: 410 }))
      expect(error._tag).toBe("ResourceNotFound")
      expect(seen.length).toBe(1)
    })))

  it.effect("a server that confirms 1 byte per PATCH waits on the schedule and ends in a typed error (bounded)", () =>
    live(Effect.gen(function*() {
      let offset = 0
      const server = yield* scriptedServer((request, _i, res) => {
        if (request.method === "PATCH") offset += Math.min(1, request.body.length)
        res.writeHead(request.method === "PATCH" ? 204 : 200, { "tus-resumable": "1.0.0", "upload-offset": String(offset), "upload-length": String(160 * KiB) })
        res.end()
      })
      const error = yield* Effect.flip(
        Upload.resumeAt(`${server.url}/files/1`, UploadSource.fromBytes(randomBytes(160 * KiB)), { chunkSize: 64 * KiB, retry: quickRetry }).pipe(
          Effect.provide(scriptedClient(server.url))
        )
      )
      // quickRetry allows 6 waits without progress: HEAD + 7 PATCHes, not 160 Ki of them.
      expect(error._tag).toBe("UploadOffsetMismatch")
      expect(error.message).toContain("confirmed only 1 of the 65536 bytes")
      expect(server.seen.filter((r) => r.method === "PATCH").length).toBe(7)
      expect(server.seen.length).toBeLessThanOrEqual(8)
    })))

  it.effect("a server that confirms a few KiB per PATCH still completes when it keeps going (progress below the minimum waits, not fails, until the schedule ends)", () =>
    live(Effect.gen(function*() {
      // 64 KiB then 4 KiB at a time for the last 16 KiB: four tiny confirmations, within quickRetry's 6 waits.
      let offset = 0
      const length = 80 * KiB
      const server = yield* scriptedServer((request, _i, res) => {
        if (request.method === "PATCH") offset += Math.min(offset < 64 * KiB ? 64 * KiB : 4 * KiB, request.body.length)
        res.writeHead(request.method === "PATCH" ? 204 : 200, { "tus-resumable": "1.0.0", "upload-offset": String(offset), "upload-length": String(length) })
        res.end()
      })
      const done = yield* Upload.resumeAt(`${server.url}/files/1`, UploadSource.fromBytes(randomBytes(length)), { chunkSize: 64 * KiB, retry: quickRetry }).pipe(
        Effect.provide(scriptedClient(server.url))
      )
      expect(done).toBe(length)
      expect(server.seen.filter((r) => r.method === "PATCH").length).toBe(5)
    })))

  /**
   * `Upload.upload` of `source` (64 KiB chunks) against a server that creates the upload, confirms the first
   * PATCH, fails the second with a 500 and then answers HEAD with `head`: the outcome and the methods seen.
   */
  const createdThenLied = (source: UploadSource.UploadSource, head: Record<string, string>) =>
    Effect.gen(function*() {
      let patches = 0
      const server = yield* scriptedServer((request, _i, res) => {
        const id = "urn:ivcap:artifact:00000000-0000-4000-8000-000000000098"
        const record = (status: string) => JSON.stringify({ id, status, size: Number(head["upload-offset"]), "data-href": `http://${request.headers.host}/files/1`, links: [] })
        if (request.method === "POST") return void res.writeHead(201, { "content-type": "application/json" }).end(record("pending"))
        if (request.method === "GET") return void res.writeHead(200, { "content-type": "application/json" }).end(record("ready"))
        if (request.method === "HEAD") return void res.writeHead(200, { "tus-resumable": "1.0.0", ...head }).end()
        patches++
        if (patches === 1) return void res.writeHead(204, { "tus-resumable": "1.0.0", "upload-offset": String(request.body.length) }).end()
        res.writeHead(500).end()
      })
      const client = IvcapClient.layer({ url: server.url, token: "t", retry: false }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const outcome = yield* Effect.either(Upload.upload(source, { chunkSize: 64 * KiB, retry: quickRetry }).pipe(Effect.provide(client)))
      return { outcome, methods: server.seen.map((r) => r.method) }
    })

  it.effect("an upload of unknown length is not complete because the server reports a length the source goes past (UploadOffsetMismatch)", () =>
    live(Effect.gen(function*() {
      const pieces = [randomBytes(64 * KiB), randomBytes(64 * KiB), randomBytes(64 * KiB)]
      const { methods, outcome } = yield* createdThenLied(
        UploadSource.fromStream(Stream.fromIterable(pieces), { name: "s.bin" }),
        { "upload-offset": String(64 * KiB), "upload-length": String(64 * KiB) }
      )
      assert(outcome._tag === "Left")
      expect(outcome.left._tag).toBe("UploadOffsetMismatch")
      expect(outcome.left.message).toContain("the source has more")
      expect(methods).toEqual(["POST", "PATCH", "PATCH", "HEAD"])
    })))

  it.effect("an upload of unknown length whose declaring PATCH lost its answer ends once the server reports that length", () =>
    live(Effect.gen(function*() {
      const { methods, outcome } = yield* createdThenLied(
        UploadSource.fromStream(Stream.make(randomBytes(64 * KiB)), { name: "s.bin" }),
        { "upload-offset": String(64 * KiB), "upload-length": String(64 * KiB) }
      )
      assert(outcome._tag === "Right")
      expect(outcome.right.size).toBe(64 * KiB)
      // the second PATCH was the empty one declaring the length
      expect(methods).toEqual(["POST", "PATCH", "PATCH", "HEAD", "GET"])
    })))

  it.effect("an upload this call created cannot be further on the server than this call sent (UploadOffsetMismatch)", () =>
    live(Effect.gen(function*() {
      const { methods, outcome } = yield* createdThenLied(
        UploadSource.fromBytes(randomBytes(200 * KiB)),
        { "upload-offset": String(200 * KiB), "upload-length": String(200 * KiB) }
      )
      assert(outcome._tag === "Left")
      expect(outcome.left._tag).toBe("UploadOffsetMismatch")
      expect(outcome.left.message).toContain(`beyond the ${128 * KiB} bytes sent to it`)
      expect(methods).toEqual(["POST", "PATCH", "PATCH", "HEAD"])
    })))

  it.effect("Upload.TransferRequests is set for every request of an upload (create, PATCH, HEAD, record read) and for nothing else", () =>
    live(Effect.gen(function*() {
      const seen: Array<readonly [string, boolean]> = []
      let offset = 0
      const length = 96 * KiB
      const server = yield* scriptedServer((request, _i, res) => {
        const id = "urn:ivcap:artifact:00000000-0000-4000-8000-000000000099"
        const record = (status: string) => JSON.stringify({ id, status, size: length, "data-href": `http://${request.headers.host}/files/1`, links: [] })
        if (request.method === "POST") return void res.writeHead(201, { "content-type": "application/json" }).end(record("pending"))
        if (request.method === "GET") return void res.writeHead(200, { "content-type": "application/json" }).end(record("ready"))
        if (request.method === "PATCH") offset += request.body.length
        res.writeHead(request.method === "PATCH" ? 204 : 200, { "tus-resumable": "1.0.0", "upload-offset": String(offset), "upload-length": String(length) }).end()
      })
      const recording = (client: HttpClient.HttpClient) =>
        HttpClient.tapRequest(client, (request) => Effect.map(Upload.TransferRequests, (transfer) => void seen.push([request.method, transfer])))
      const client = IvcapClient.layer({ url: server.url, token: "t", retry: false, transformClient: recording }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const bytes = randomBytes(length)
      yield* Effect.gen(function*() {
        const artifact = yield* Upload.upload(UploadSource.fromBytes(bytes), { chunkSize: 64 * KiB, retry: quickRetry })
        yield* Upload.resumeAt(artifact.dataHref!, UploadSource.fromBytes(bytes), { chunkSize: 64 * KiB })
        yield* Upload.create({ size: length })
      }).pipe(Effect.provide(client))
      expect(seen).toEqual([
        ["POST", true], ["PATCH", true], ["PATCH", true], ["GET", true],
        // resumeAt: the server's offset first (complete already), then the record created on its own
        ["HEAD", true],
        ["POST", false]
      ])
    })))
})
