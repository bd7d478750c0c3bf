/**
 * The `.ivcap-<name>.txt` marker of the official Python client and CLI (wire doc §6.4): what we write parses as
 * `md5|urn` with the file's md5; a marker written by hand in the official formats makes `uploadFile` skip the
 * upload (no request at all); stale and unwritable markers never break an upload.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Upload, UploadSource } from "@ivcap/core"
import * as FileDigest from "../src/internal/fileDigest.js"
import * as Marker from "@ivcap/node/Marker"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import { count, digest, fresh, KiB, layerNode, live, quickRetry, tempFile } from "./upload-helpers.js"

describe("Marker format", () => {
  it("parses the Python format (newline), the CLI format (none) and CRLF; rejects other text", () => {
    const md5 = "0123456789abcdef0123456789abcdef"
    const urn = "urn:ivcap:artifact:4a1f"
    for (const text of [`${md5}|${urn}\n`, `${md5}|${urn}`, `${md5}|${urn}\r\n`, `${md5.toUpperCase()}|${urn}\nextra`]) {
      expect(Marker.parse(text)).toEqual(Option.some({ md5, artifactId: urn }))
    }
    for (const text of ["", "no bar here", `|${urn}`, `${md5}|`]) expect(Option.isNone(Marker.parse(text))).toBe(true)
    expect(Marker.format({ md5, artifactId: urn })).toBe(`${md5}|${urn}\n`)
  })
})

const options = { chunkSize: 128 * KiB, retry: quickRetry }

layer(layerNode)("Marker files with uploads over HTTP", (it) => {
  it.effect("uploadFile writes `<md5 of the file>|<artifact urn>\\n` next to the file", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const { bytes, file, markerFile } = yield* tempFile(300 * KiB)
      const artifact = yield* NodeTransfer.uploadFile(file, options)
      const text = fs.readFileSync(markerFile, "utf8")
      expect(text).toBe(`${digest("md5", bytes)}|${artifact.id}\n`)
      expect(text).toMatch(/^[0-9a-f]{32}\|urn:ivcap:artifact:[^|\s]+\n$/)
      expect(Option.map(yield* NodeTransfer.artifactForFile(file), (a) => a.id)).toEqual(Option.some(artifact.id))
    })))

  it.effect("a file above the in-thread size is hashed in a worker: the same marker, and artifactForFile finds it", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const { bytes, file, markerFile } = yield* tempFile(FileDigest.inThreadBytes + 99)
      const artifact = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB })
      expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${artifact.id}\n`)
      expect(yield* Marker.md5File(file)).toBe(digest("md5", bytes))
      expect(Option.map(yield* NodeTransfer.artifactForFile(file), (a) => a.id)).toEqual(Option.some(artifact.id))
    })))

  it.effect("a hand-written marker in the official format makes uploadFile skip the upload: no request but the record read", () =>
    live(Effect.gen(function*() {
      // An artifact uploaded by someone else (the CLI, say), then its marker written by hand the CLI's way.
      const { bytes, file, markerFile } = yield* tempFile(200 * KiB, "field notes.csv")
      const existing = yield* Upload.upload(UploadSource.fromBytes(bytes), options)
      fs.writeFileSync(markerFile, `${digest("md5", bytes)}|${existing.id}`)
      yield* fresh
      const artifact = yield* NodeTransfer.uploadFile(file, options)
      expect(artifact.id).toBe(existing.id)
      expect(yield* count("POST")).toBe(0)
      expect(yield* count("PATCH")).toBe(0)
      expect(yield* count("GET", "/1/artifacts/")).toBe(1)
      // `force` uploads anyway, and the marker then names the new artifact.
      const forced = yield* NodeTransfer.uploadFile(file, { ...options, force: true })
      expect(forced.id).not.toBe(existing.id)
      expect(yield* count("POST")).toBe(1)
      expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${forced.id}\n`)
    })))

  it.effect("a marker whose md5 no longer matches, or whose artifact is gone, does not stop an upload", () =>
    live(Effect.gen(function*() {
      const { bytes, file, markerFile } = yield* tempFile(100 * KiB)
      const existing = yield* Upload.upload(UploadSource.fromBytes(bytes), options)
      fs.writeFileSync(markerFile, `${"0".repeat(32)}|${existing.id}\n`)
      expect(Option.isNone(yield* NodeTransfer.artifactForFile(file))).toBe(true)
      fs.writeFileSync(markerFile, `${digest("md5", bytes)}|urn:ivcap:artifact:00000000-0000-0000-0000-00000000dead\n`)
      expect(Option.isNone(yield* NodeTransfer.artifactForFile(file))).toBe(true)
      yield* fresh
      const artifact = yield* NodeTransfer.uploadFile(file, options)
      expect(artifact.id).not.toBe(existing.id)
      expect(yield* count("POST")).toBe(1)
    })))

  it.effect("a marker that cannot be written (the path is a directory) is logged, and the upload succeeds", () =>
    live(Effect.gen(function*() {
      const { file, markerFile } = yield* tempFile(50 * KiB)
      fs.mkdirSync(markerFile)
      const logs: Array<string> = []
      const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ logLevel, message }) => logs.push(`${logLevel.label} ${String(message)}`)))
      const artifact = yield* NodeTransfer.uploadFile(file, options).pipe(Effect.provide(capture))
      expect(artifact.status).toBe("ready")
      expect(logs.some((l) => l.startsWith("WARN") && l.includes(markerFile))).toBe(true)
      expect(Option.isNone(yield* NodeTransfer.artifactForFile(file))).toBe(true)
    })))

  it.effect("a read-only folder (chmod 0555) does not make the upload fail", () =>
    live(Effect.gen(function*() {
      const { dir, file, markerFile } = yield* tempFile(50 * KiB)
      fs.chmodSync(dir, 0o555)
      const artifact = yield* NodeTransfer.uploadFile(file, options)
      expect(artifact.status).toBe("ready")
      // As root the folder stays writable; otherwise there is no marker. Either way the upload succeeded.
      const writable = process.getuid?.() === 0
      expect(fs.existsSync(markerFile)).toBe(writable)
    })))
})
