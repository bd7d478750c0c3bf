/**
 * `downloadToFile` over HTTP: byte-exact through a dropped connection, digests reported, a wrong expected digest
 * failing without leaving anything behind, and an unwritable target as a `FileError`.
 */
import { expect, layer } from "@effect/vitest"
import { Upload, UploadSource } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { digest, fresh, KiB, layerNode, live, quickRetry, randomBytes, tempDir } from "./upload-helpers.js"

const uploaded = (bytes: Uint8Array) => Upload.upload(UploadSource.fromBytes(bytes), { chunkSize: 256 * KiB, retry: quickRetry })

layer(layerNode)("NodeTransfer.downloadToFile", (it) => {
  it.effect("writes the content byte-exact through a dropped connection, reports its digests, leaves no temp file", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(900 * KiB + 1, 21)
      const artifact = yield* uploaded(bytes)
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.cutResponse(250 * KiB, { match: { method: "GET", path: /\/blob$/ } }))
      const dir = yield* tempDir
      const target = path.join(dir, "out.bin")
      const result = yield* NodeTransfer.downloadToFile(artifact.id, target, { retry: quickRetry, sha256: digest("sha256", bytes) })
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", bytes))
      // No md5 to check (the emulator's ETags are not md5s), so none is computed.
      expect(result).toMatchObject({ path: target, size: bytes.length, md5: Option.none(), sha256: Option.some(digest("sha256", bytes)) })
      expect(fs.readdirSync(dir)).toEqual(["out.bin"])
      expect(yield* emulator.requests.count({ method: "GET", path: /\/blob$/ })).toBe(2)
    })))

  it.effect("an expected md5 is computed, checked and returned", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(300 * KiB + 7, 23)
      const artifact = yield* uploaded(bytes)
      const target = path.join(yield* tempDir, "out.bin")
      const result = yield* NodeTransfer.downloadToFile(artifact, target, { md5: digest("md5", bytes).toUpperCase() })
      expect(result.md5).toEqual(Option.some(digest("md5", bytes)))
      // No sha-256 to check and none asked for: not computed.
      expect(result.sha256).toEqual(Option.none())
    })))

  it.effect("computeSha256 reports the sha-256 without one to check", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(2 * 1024 * KiB + 5, 24)
      const artifact = yield* uploaded(bytes)
      const target = path.join(yield* tempDir, "out.bin")
      const result = yield* NodeTransfer.downloadToFile(artifact, target, { computeSha256: true })
      expect(result).toMatchObject({ size: bytes.length, md5: Option.none(), sha256: Option.some(digest("sha256", bytes)) })
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", bytes))
    })))

  it.effect("a wrong expected digest fails with DownloadMismatch (checksum); the target is untouched, nothing left behind", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(64 * KiB, 22)
      const artifact = yield* uploaded(bytes)
      const dir = yield* tempDir
      const target = path.join(dir, "out.bin")
      fs.writeFileSync(target, "previous content")
      const error = yield* Effect.flip(NodeTransfer.downloadToFile(artifact, target, { md5: "0".repeat(32) }))
      expect(error._tag === "DownloadMismatch" && error.reason).toBe("checksum")
      expect(fs.readFileSync(target, "utf8")).toBe("previous content")
      expect(fs.readdirSync(dir)).toEqual(["out.bin"])
    })))

  it.effect("a target in a folder that does not exist is a FileError", () =>
    live(Effect.gen(function*() {
      const artifact = yield* uploaded(randomBytes(1000, 23))
      const dir = yield* tempDir
      const error = yield* Effect.flip(NodeTransfer.downloadToFile(artifact, path.join(dir, "missing", "out.bin")))
      expect(error._tag).toBe("FileError")
    })))
})
