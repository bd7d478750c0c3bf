/**
 * The `.ivcap-<name>.txt` marker of the official Python client and CLI (wire doc §6.4): what we write parses as
 * `md5|urn` with the file's md5; a marker written by hand in the official formats makes `uploadFile` skip the
 * upload (no request at all); stale and unwritable markers never break an upload.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it, layer } from "@effect/vitest"
import { Upload, UploadSource } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as FileDigest from "../src/internal/fileDigest.js"
import * as Marker from "@ivcap/node/Marker"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as TestServices from "effect/TestServices"
import * as fs from "node:fs"
import { capture, observed } from "./reliability/harness.js"
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

  it.effect("a stale marker's md5 (the file changed) is computed once: the new marker reuses it", () =>
    observed(Effect.gen(function*() {
      const { bytes, file, markerFile } = yield* tempFile(FileDigest.inThreadBytes + 77, "edited.bin")
      const markerSpans = () => capture.spans.filter((s) => s.name === "ivcap.NodeTransfer.uploadFile.marker").map((s) => s.text)
      const before = markerSpans().length
      const first = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB })
      // The file is edited (same size, other bytes): its marker is stale now.
      bytes[0] = bytes[0]! ^ 0xff
      fs.writeFileSync(file, bytes)
      const second = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB })
      expect(second.id).not.toBe(first.id)
      expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${second.id}\n`)
      const spans = markerSpans().slice(before)
      expect(spans).toHaveLength(2)
      expect(spans[0]).toContain(`"ivcap.marker.md5":"computed"`)
      expect(spans[1]).toContain(`"ivcap.marker.md5":"reused"`)
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

describe("Marker.layerBackground", () => {
  it.effect("holds a write in flight: settled waits for it, and the layer's release waits for the rest", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const written: Array<string> = []
      const write = (name: string) => Effect.zipRight(Deferred.await(gate), Effect.sync(() => void written.push(name)))
      const settledFirst = yield* Effect.scoped(Effect.gen(function*() {
        const writes = (yield* Marker.Background)!
        expect(writes.limit).toBe(2)
        yield* writes.fork("/a", write("a"))
        yield* writes.fork("/b", write("b"))
        expect(writes.hasRoom).toBe(false)
        const waiting = yield* Effect.fork(writes.settled("/a"))
        yield* Effect.yieldNow()
        expect(waiting.unsafePoll()).toBeNull()
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(waiting)
        return [...written]
      }).pipe(Effect.provide(Marker.layerBackground())))
      expect(settledFirst).toContain("a")
      expect(written.sort()).toEqual(["a", "b"])
    }))

  it.effect("two writes of one file run one after the other, the last last, and the release waits for both", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const written: Array<string> = []
      yield* Effect.gen(function*() {
        const writes = (yield* Marker.Background)!
        yield* writes.fork("/same", Effect.zipRight(Deferred.await(gate), Effect.sync(() => void written.push("first"))))
        yield* writes.fork("/same", Effect.sync(() => void written.push("second")))
        yield* Effect.sleep("20 millis")
        expect(written).toEqual([])
        yield* Deferred.succeed(gate, undefined)
      }).pipe(Effect.provide(Marker.layerBackground()), TestServices.provideLive)
      expect(written).toEqual(["first", "second"])
    }))

  it.effect("an interrupted program stops the writes in flight instead of waiting for them", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let stopped = false
      const program = Effect.gen(function*() {
        const writes = (yield* Marker.Background)!
        yield* writes.fork("/slow", Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.onInterrupt(() => Effect.sync(() => void (stopped = true)))))
        return yield* Effect.never
      }).pipe(Effect.provide(Marker.layerBackground()))
      const fiber = yield* Effect.fork(program)
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      expect(stopped).toBe(true)
    }))

  it.effect("without the layer there is no background: settled returns at once", () =>
    Effect.gen(function*() {
      expect(yield* Marker.Background).toBeUndefined()
      yield* Marker.settled().pipe(Effect.provide(NodeContext.layer))
    }))
})

describe("FileDigest.Pace", () => {
  const MiB = 1024 * 1024
  it("waits until a rate is known, while the upload runs at or above yieldAbove, and never after its release", () => {
    const pace = new FileDigest.Pace(100 * MiB)
    expect(pace.waiting).toBe(true)
    pace.sample(0, 1000)
    expect(pace.waiting).toBe(true) // one sample is no rate yet
    pace.sample(50 * MiB, 1250) // 200 MiB/s
    expect(pace.waiting).toBe(true)
    pace.sample(70 * MiB, 1500) // 80 MiB/s: below yieldAbove but not below half of it, so it goes on waiting
    expect(pace.waiting).toBe(true)
    pace.sample(80 * MiB, 1750) // 40 MiB/s: slow once is a dip, it goes on waiting
    expect(pace.waiting).toBe(true)
    pace.sample(90 * MiB, 2000) // 40 MiB/s again: slow, the digest runs
    expect(pace.waiting).toBe(false)
    pace.sample(110 * MiB, 2250) // 80 MiB/s: it goes on running
    expect(pace.waiting).toBe(false)
    pace.sample(135 * MiB, 2500) // exactly 100 MiB/s: at yieldAbove, it waits
    expect(pace.waiting).toBe(true)
    pace.sample(135 * MiB, 2750) // no progress (stalled, or retrying)...
    pace.sample(135 * MiB, 3000) // ...twice: it runs
    expect(pace.waiting).toBe(false)
    pace.sample(200 * MiB, 3250)
    expect(pace.waiting).toBe(true)
    pace.release()
    expect(pace.waiting).toBe(false)
    expect(pace.atRelease).toEqual({ hashed: 0, started: false }) // no worker reads this pace
    pace.sample(400 * MiB, 3500)
    expect(pace.waiting).toBe(false)
  })

  it("an upload's slower start does not start the digest: it runs once two rates in a row are below half of yieldAbove", () => {
    const pace = new FileDigest.Pace(100 * MiB)
    pace.sample(0, 0)
    pace.sample(5 * MiB, 250) // 20 MiB/s: the record created, the first chunk
    expect(pace.waiting).toBe(true)
    pace.sample(50 * MiB, 500) // 180 MiB/s
    expect(pace.waiting).toBe(true)
    pace.sample(60 * MiB, 750) // 40 MiB/s
    pace.sample(70 * MiB, 1000) // 40 MiB/s
    expect(pace.waiting).toBe(false)
  })

  it("0 waits for the whole upload, even a stalled one; Infinity never waits", () => {
    const always = new FileDigest.Pace(0)
    const never = new FileDigest.Pace(Infinity)
    expect([always.waiting, never.waiting]).toEqual([true, false])
    for (const [sent, at] of [[0, 0], [0, 250], [MiB, 500], [MiB, 750]] as const) {
      always.sample(sent, at)
      never.sample(sent, at)
      expect([always.waiting, never.waiting]).toEqual([true, false])
    }
  })
})

layer(layerNode)("uploadFile with Marker.Background", (it) => {
  const large = FileDigest.inThreadBytes + 1234
  const markerSpans = (before: number) => capture.spans.slice(before).filter((s) => s.name === "ivcap.NodeTransfer.uploadFile.marker")
  const hashedAtUploadEnd = (before: number) => markerSpans(before).map((s) => /"ivcap\.marker\.md5\.hashed_at_upload_end":(\d+)/.exec(s.text)?.[1])
  const workerStarted = (before: number) => markerSpans(before).map((s) => /"ivcap\.marker\.md5\.worker_started_during_upload":(true|false)/.exec(s.text)?.[1])

  it.effect("beside a fast upload the md5 waits for its end (yieldAbove 0: nothing hashed before), then the marker follows", () =>
    observed(Effect.gen(function*() {
      const { bytes, file, markerFile } = yield* tempFile(large, "fast.bin")
      const before = capture.spans.length
      yield* Effect.gen(function*() {
        const artifact = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB })
        yield* Marker.settled(file)
        expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${artifact.id}\n`)
      }).pipe(Effect.provide(Marker.layerBackground({ yieldAbove: 0 })))
      expect(hashedAtUploadEnd(before)).toEqual(["0"])
      // Its worker was not even started before the upload ended.
      expect(workerStarted(before)).toEqual(["false"])
    })))

  it.effect("beside a slow upload (below the default yieldAbove) the md5 runs: the whole file is hashed when the upload ends", () =>
    observed(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { bytes, file, markerFile } = yield* tempFile(large, "slow.bin")
      // 9 PATCHes of 1 MiB, 150 ms each: about 7 MB/s.
      yield* emulator.faults.inject(Faults.delay(150, { match: { method: "PATCH" }, times: 100 }))
      const before = capture.spans.length
      const artifact = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 1024 * KiB }).pipe(Effect.provide(Marker.layerBackground()))
      yield* emulator.faults.reset
      expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${artifact.id}\n`)
      expect(hashedAtUploadEnd(before)).toEqual([String(large)])
      expect(workerStarted(before)).toEqual(["true"])
    })))

  it.effect("an upload interrupted while its md5 waits stops the md5: no marker, and the layer's release does not hang", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { file, markerFile } = yield* tempFile(large, "waiting.bin")
      yield* emulator.faults.inject(Faults.delay(200, { match: { method: "PATCH" }, times: 100 }))
      const fiber = yield* Effect.fork(
        NodeTransfer.uploadFile(file, { ...options, chunkSize: 1024 * KiB }).pipe(Effect.provide(Marker.layerBackground({ yieldAbove: 0 })))
      )
      yield* Effect.sleep("500 millis")
      yield* Fiber.interrupt(fiber)
      yield* emulator.faults.reset
      expect(fs.existsSync(markerFile)).toBe(false)
    })))

  it.effect("a large file's marker may follow the call: Marker.settled, artifactForFile and the layer's release wait for it", () =>
    live(Effect.gen(function*() {
      const { bytes, file, markerFile } = yield* tempFile(large, "background.bin")
      const expected = (id: string) => `${digest("md5", bytes)}|${id}\n`
      const artifact = yield* Effect.gen(function*() {
        const artifact = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB })
        yield* Marker.settled(file)
        expect(fs.readFileSync(markerFile, "utf8")).toBe(expected(artifact.id))
        return artifact
      }).pipe(Effect.provide(Marker.layerBackground()))
      fs.rmSync(markerFile)
      // Once more, without waiting: artifactForFile waits for the marker in flight.
      const again = yield* Effect.gen(function*() {
        const again = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB, force: true })
        expect(Option.map(yield* NodeTransfer.artifactForFile(file), (a) => a.id)).toEqual(Option.some(again.id))
        return again
      }).pipe(Effect.provide(Marker.layerBackground()))
      expect(again.id).not.toBe(artifact.id)
      fs.rmSync(markerFile)
      // And the layer's release waits for the one left running.
      const last = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB, force: true }).pipe(Effect.provide(Marker.layerBackground()))
      expect(fs.readFileSync(markerFile, "utf8")).toBe(expected(last.id))
    })))

  it.effect("with no room left (limit 0) the call writes the marker before it returns", () =>
    live(Effect.gen(function*() {
      const { bytes, file, markerFile } = yield* tempFile(large, "no-room.bin")
      yield* Effect.gen(function*() {
        const artifact = yield* NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB })
        expect(fs.readFileSync(markerFile, "utf8")).toBe(`${digest("md5", bytes)}|${artifact.id}\n`)
      }).pipe(Effect.provide(Marker.layerBackground({ limit: 0 })))
    })))

  it.effect("an upload that fails leaves no marker and nothing running: the layer's release does not wait", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { file, markerFile } = yield* tempFile(large, "refused.bin")
      yield* emulator.faults.inject(Faults.status(403, { match: { method: "PATCH" } }))
      const error = yield* Effect.flip(NodeTransfer.uploadFile(file, { ...options, chunkSize: 4 * 1024 * KiB }).pipe(Effect.provide(Marker.layerBackground())))
      expect(error._tag).not.toBe("SourceError")
      expect(error._tag).toBe("Forbidden")
      expect(fs.existsSync(markerFile)).toBe(false)
    })))
})
