/**
 * `NodeFileSource` over HTTP, on both of its paths: with `NodeHttp` taking the file's buffers as they are read
 * (`UploadSource.IterableBodies`, as `IvcapNode.layer` sets it) and, with the flag off, as a `Stream`. The file
 * source reads into the same two buffers again and again, so these tests check the stored bytes exactly, that a
 * file cut short mid-upload is a `SourceError`, and that an interrupted PATCH leaves no file open.
 */
import { expect, layer } from "@effect/vitest"
import { Upload, UploadSource } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import { NodeFileSource } from "@ivcap/node"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import { digest, fresh, KiB, layerNode, live, openOn, quickRetry, tempFile } from "./upload-helpers.js"

const MiB = 1024 * KiB

/** The stored content of an artifact, read back over HTTP. */
const stored = (dataHref: string | undefined) =>
  Effect.flatMap(Emulator.Emulator, (emulator) =>
    Effect.promise(() =>
      fetch(dataHref ?? "", { headers: { authorization: `Bearer ${emulator.token}` } }).then((r) => r.arrayBuffer()).then((b) => new Uint8Array(b))
    ))

const paths = [
  { name: "the client takes the buffers as read", iterables: true },
  { name: "sent as a Stream (another client)", iterables: false }
] as const

layer(layerNode)("NodeFileSource", (it) => {
  for (const { iterables, name } of paths) {
    it.effect(`${name}: the stored bytes are the file's, over chunks that end mid-buffer`, () =>
      live(Effect.gen(function*() {
        yield* fresh
        // 3.5 chunks of 1.5 MiB: reads of 1 MiB, 0.5 MiB at each chunk's end, buffers reused across chunks.
        const { bytes, file } = yield* tempFile(5 * MiB + 12_345, "exact.bin")
        const sent: Array<number> = []
        const source = yield* NodeFileSource.fromFile(file)
        const artifact = yield* Upload.upload(source, {
          chunkSize: 1.5 * MiB,
          retry: quickRetry,
          resume: false,
          onProgress: (p) => Effect.sync(() => sent.push(p.sent))
        }).pipe(Effect.provideService(UploadSource.IterableBodies, iterables))
        expect(artifact.status).toBe("ready")
        expect(digest("sha256", yield* stored(artifact.dataHref))).toBe(digest("sha256", bytes))
        // progress for every buffer handed over: 1 MiB, then the rest of the chunk
        expect(sent).toContain(1 * MiB)
        expect(sent).toContain(1.5 * MiB)
        expect(sent).toContain(2.5 * MiB)
      })))

    it.effect(`${name}: a file cut short while it is sent fails with SourceError, not a transport error`, () =>
      live(Effect.gen(function*() {
        yield* fresh
        const { file } = yield* tempFile(4 * MiB, "shrinks.bin")
        // Once the first MiB is read, the file is truncated to 2.5 MiB: the second chunk's PATCH is cut short mid-body.
        const source = yield* NodeFileSource.fromFile(file, {
          onRead: (position) => {
            if (position === 0) fs.truncateSync(file, 2.5 * MiB)
          }
        })
        const error = yield* Effect.flip(
          Upload.upload(source, { chunkSize: 2 * MiB, retry: quickRetry, resume: false }).pipe(
            Effect.provideService(UploadSource.IterableBodies, iterables)
          )
        )
        expect(error._tag).toBe("SourceError")
        expect(error.message).toContain(`expected ${2 * MiB} bytes, read ${0.5 * MiB}`)
        expect(openOn(file)).toBe(0)
      })))
  }

  it.effect("without a chunkSize, chunks double while the server confirms them quickly and halve after a failure", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { bytes, file } = yield* tempFile(64 * MiB, "grows.bin")
      // The second PATCH (16 MiB) is cut after 1 MiB: the server keeps it, the next chunk is half as large.
      yield* emulator.faults.inject(Faults.cutRequestBody(1 * MiB, { match: { method: "PATCH" }, skip: 1, times: 1 }))
      const source = yield* NodeFileSource.fromFile(file)
      const artifact = yield* Upload.upload(source, { retry: quickRetry, resume: false })
      const sizes = (yield* emulator.requests.log).filter((r) => r.method === "PATCH").map((r) => Number(r.headers["content-length"]) / MiB)
      expect(sizes).toEqual([8, 16, 8, 16, 31])
      expect(digest("sha256", yield* stored(artifact.dataHref))).toBe(digest("sha256", bytes))
    })))

  it.effect("interrupting an upload mid-PATCH aborts it and closes the file", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { file } = yield* tempFile(64 * MiB, "interrupted.bin")
      // The server stops reading the second PATCH's body; the client blocks on a full socket mid-chunk (a chunk
      // larger than the loopback socket buffers).
      yield* emulator.faults.inject(Faults.stall({ match: { method: "PATCH" }, skip: 1 }))
      const source = yield* NodeFileSource.fromFile(file)
      const fiber = yield* Effect.fork(Upload.upload(source, { chunkSize: 32 * MiB, retry: quickRetry, resume: false }))
      for (let i = 0; i < 400 && (yield* emulator.requests.count({ method: "PATCH" })) < 2; i++) yield* Effect.sleep("25 millis")
      // on a busy machine the second PATCH's body may take a moment to be read from the file
      for (let i = 0; i < 200 && openOn(file) !== 1; i++) yield* Effect.sleep("25 millis")
      expect(yield* emulator.requests.count({ method: "PATCH" })).toBeGreaterThanOrEqual(2)
      expect(openOn(file)).toBe(1)
      yield* Fiber.interrupt(fiber)
      for (let i = 0; i < 40 && openOn(file) > 0; i++) yield* Effect.sleep("25 millis")
      expect(openOn(file)).toBe(0)
    })))
})
