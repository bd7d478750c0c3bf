/**
 * `uploadFile` on Node over HTTP: an upload interrupted in one "run" is resumed by the next — a new client and a
 * new file-backed store on the same folder (what `IvcapNode.layer` provides) — sending no byte twice beyond the
 * chunk in flight; the marker is written only once the upload is complete.
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, expect, layer } from "@effect/vitest"
import type { Upload } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import { NodeFileSource, NodeUpload, UploadSource } from "@ivcap/node"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as path from "node:path"
import { clientLayer, digest, fresh, KiB, layerNode, live, quickRetry, tempDir, tempFile } from "./upload-helpers.js"

const chunkSize = 256 * KiB

layer(layerNode)("NodeTransfer.uploadFile", (it) => {
  it("the deprecated name NodeUpload is the same module", () => {
    expect(NodeUpload.uploadFile).toBe(NodeTransfer.uploadFile)
    expect(NodeUpload.downloadToFile).toBe(NodeTransfer.downloadToFile)
  })

  it.effect("resumes in a new run (new client, new file store on the same folder) where the interrupted one stopped", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const stateDir = yield* tempDir
      const { bytes, file, markerFile } = yield* tempFile(2 * 1024 * KiB + 99)
      /** One "run" of a program: its own client and its own store on the state folder. */
      const run = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.provide(clientLayer), Effect.provide(KeyValueStore.layerFileSystem(stateDir)))

      const progress: Array<Upload.Progress> = []
      // The server does not read the fourth PATCH for a while; the first run is interrupted meanwhile.
      yield* emulator.faults.inject(Faults.delay(800, { match: { method: "PATCH" }, skip: 3 }))
      const first = yield* Effect.fork(run(NodeTransfer.uploadFile(file, {
        chunkSize,
        retry: quickRetry,
        onProgress: (p) => Effect.sync(() => progress.push(p))
      })))
      for (let i = 0; i < 200 && (yield* emulator.requests.count({ method: "PATCH" })) < 4; i++) yield* Effect.sleep("25 millis")
      yield* Fiber.interrupt(first)
      expect(fs.existsSync(markerFile)).toBe(false)
      expect(fs.readdirSync(stateDir).length).toBe(1)
      const confirmedBefore = Math.max(...progress.map((p) => p.confirmed))
      expect(confirmedBefore).toBe(3 * chunkSize)

      const artifact = yield* run(NodeTransfer.uploadFile(file, { chunkSize, retry: quickRetry }))
      expect(artifact.status).toBe("ready")
      expect(yield* emulator.requests.count({ method: "POST" })).toBe(1)
      const patched = (yield* emulator.requests.log)
        .filter((r) => r.method === "PATCH")
        .reduce((sum, r) => sum + Number(r.headers["content-length"]), 0)
      expect(patched).toBeLessThanOrEqual(bytes.length + chunkSize)
      // Finished: the record is gone from the store and the marker names the artifact.
      expect(fs.readdirSync(stateDir).length).toBe(0)
      expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${artifact.id}\n`)
      const stored = yield* Effect.promise(() =>
        fetch(artifact.dataHref ?? "", { headers: { authorization: `Bearer ${emulator.token}` } }).then((r) => r.arrayBuffer())
      )
      expect(digest("sha256", new Uint8Array(stored))).toBe(digest("sha256", bytes))
    })))

  it.effect("the marker's md5 is right when a cut PATCH makes the upload re-read part of a chunk it hashed already", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { bytes, file, markerFile } = yield* tempFile(5 * chunkSize + 4321, "cut.bin")
      // The second PATCH is cut 100 KiB into its body: the server keeps those bytes, the rest of that chunk (read
      // and hashed already) is read again from the server's offset.
      yield* emulator.faults.inject(Faults.cutRequestBody(100 * KiB, { match: { method: "PATCH" }, skip: 1 }))
      const artifact = yield* NodeTransfer.uploadFile(file, { chunkSize, retry: quickRetry, resume: false })
      expect(yield* emulator.requests.count({ method: "HEAD" })).toBeGreaterThanOrEqual(1)
      // Two PATCHes up to the cut, then whole chunks from the 100 KiB the server kept of the second.
      const resumedAt = chunkSize + 100 * KiB
      expect(yield* emulator.requests.count({ method: "PATCH" })).toBe(2 + Math.ceil((bytes.length - resumedAt) / chunkSize))
      expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${artifact.id}\n`)
    })))

  it.effect("guesses the content type from the extension and names the artifact after the file", () =>
    live(Effect.gen(function*() {
      const { file } = yield* tempFile(10 * KiB, "map.geojson")
      const artifact = yield* NodeTransfer.uploadFile(file, { retry: quickRetry })
      expect(artifact.mimeType).toBe("application/geo+json")
      expect(artifact.name).toBe(path.basename(file))
    })))

  it.effect("a missing file is a SourceError before any request", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const dir = yield* tempDir
      const missing = path.join(dir, "nope.bin")
      const error = yield* Effect.flip(NodeTransfer.uploadFile(missing))
      assert(error._tag === "SourceError")
      // the message alone says which file and why
      expect(error.message).toContain(`cannot read the file ${missing}: ENOENT`)
      const folder = yield* Effect.flip(NodeFileSource.fromFile(dir))
      expect(folder.message).toBe(`not a regular file: ${dir}`)
      const core = yield* Effect.flip(UploadSource.fromFile(missing))
      expect(core.message).toContain(`cannot read the file ${missing}: `)
      expect(yield* (yield* Emulator.Emulator).requests.count()).toBe(0)
    })))
})
