/**
 * tus conformance with a client nobody here wrote: tus-js-client (Node) uploads to a `data-href` of the emulator,
 * survives an injected connection cut, resumes, and the downloaded bytes are identical.
 */
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Emulator, Faults } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import * as tus from "tus-js-client"
import { call, pathOf } from "./helpers.js"

const MiB = 1024 * 1024

/** A temp file of `size` pseudo-random bytes; removed when the scope closes. */
const tempFile = (size: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-emulator-tus-"))
      const file = path.join(dir, "payload.bin")
      const bytes = Buffer.alloc(size)
      let x = 0x9e3779b9
      for (let i = 0; i < size; i++) {
        if (i % 4 === 0) {
          x ^= x << 13
          x ^= x >>> 17
          x ^= x << 5
        }
        bytes[i] = (x >>> ((i % 4) * 8)) & 0xff
      }
      fs.writeFileSync(file, bytes)
      return { dir, file, sha256: crypto.createHash("sha256").update(bytes).digest("hex") }
    }),
    ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** Runs a tus-js-client upload to completion (or failure), for at most 30 s of real time. */
const runUpload = (input: fs.ReadStream | Readable, options: tus.UploadOptions) =>
  Effect.async<void, Error>((resume) => {
    const upload = new tus.Upload(input, {
      ...options,
      onSuccess: () => {
        clearTimeout(timer)
        resume(Effect.void)
      },
      onError: (e) => {
        clearTimeout(timer)
        resume(Effect.fail(e))
      }
    })
    // a real timer: the suite runs under TestClock
    const timer = setTimeout(() => {
      void upload.abort()
      resume(Effect.fail(new Error("upload timed out")))
    }, 30_000)
    upload.start()
    return Effect.promise(() => upload.abort()).pipe(Effect.ensuring(Effect.sync(() => clearTimeout(timer))))
  })

const createArtifact = (length: number) =>
  Effect.map(
    call("/1/artifacts", {
      method: "POST",
      headers: { "x-content-type": "application/octet-stream", "x-content-length": String(length) }
    }),
    (r) => ({ id: r.body.id as string, dataHref: r.body["data-href"] as string })
  )

const sha256Of = (dataHref: string) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    const res = yield* Effect.promise(() =>
      fetch(dataHref, { headers: { authorization: `Bearer ${emulator.token}` } })
    )
    expect(res.status).toBe(200)
    const hash = crypto.createHash("sha256")
    const reader = res.body!.getReader()
    for (;;) {
      const { done, value } = yield* Effect.promise(() => reader.read())
      if (done) break
      hash.update(value)
    }
    return hash.digest("hex")
  })

/** tus-js-client: 10 MiB in 1 MiB chunks, a cut 4th PATCH, resume, identical bytes. */
const cutAndResume = () =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    yield* emulator.reset
    const { file, sha256 } = yield* tempFile(10 * MiB)
    const { dataHref, id } = yield* createArtifact(10 * MiB)
    // the 4th PATCH is cut after 300 000 bytes (which are stored, as a real tus server does)
    yield* emulator.faults.inject(Faults.cutRequestBody(300_000, { match: { method: "PATCH" }, skip: 3 }))
    yield* runUpload(fs.createReadStream(file), {
      uploadUrl: dataHref,
      headers: { Authorization: `Bearer ${emulator.token}` },
      chunkSize: MiB,
      retryDelays: [0, 100, 200],
      storeFingerprintForResuming: false
    })
    const patches = yield* emulator.requests.count({ method: "PATCH", path: `/1/artifacts/${id}/blob` })
    const heads = yield* emulator.requests.count({ method: "HEAD", path: `/1/artifacts/${id}/blob` })
    // 3 full chunks, the cut one, then 1 MiB chunks from 3 MiB + 300 000: ceil((7 MiB - 300 000) / 1 MiB) = 7
    expect(patches).toBe(11)
    expect(heads).toBeGreaterThanOrEqual(2) // the initial resume HEAD + the one after the cut
    const log = yield* emulator.requests.log
    const offsets = log.filter((r) => r.method === "PATCH").map((r) => Number(r.headers["upload-offset"]))
    expect(offsets).toContain(3 * MiB + 300_000)
    const record = yield* call(pathOf(dataHref).replace(/\/blob$/, ""))
    expect(record.body).toMatchObject({ status: "ready", size: 10 * MiB })
    expect(yield* sha256Of(dataHref)).toBe(sha256)
  })

layer(EmulatorServer.layer())("tus-js-client", (it) => {
  describe("uploads to a data-href", () => {
    it.scoped("10 MiB in 1 MiB chunks, survives a cut connection, resumes, bytes identical", cutAndResume)

    it.scoped("deferred length (X-Content-Length: -1): the final PATCH carries Upload-Length", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        const size = 2 * MiB + 12_345
        const { file, sha256 } = yield* tempFile(size)
        const { dataHref } = yield* createArtifact(-1)
        const head = yield* call(pathOf(dataHref), { method: "HEAD" })
        expect(head.headers.get("upload-defer-length")).toBe("1")
        yield* runUpload(Readable.from(fs.createReadStream(file)), {
          uploadUrl: dataHref,
          uploadLengthDeferred: true,
          headers: { Authorization: `Bearer ${emulator.token}` },
          chunkSize: MiB,
          retryDelays: [0, 100, 200],
          storeFingerprintForResuming: false
        })
        const record = yield* call(pathOf(dataHref).replace(/\/blob$/, ""))
        expect(record.body).toMatchObject({ status: "ready", size })
        expect(yield* sha256Of(dataHref)).toBe(sha256)
      }))

    it.scoped("deferred length ended as the Go CLI ends a stdin upload: an empty PATCH with Upload-Length, no Content-Type", () =>
      Effect.gen(function*() {
        const { dataHref } = yield* createArtifact(-1)
        const tus = { "tus-resumable": "1.0.0" }
        const data = yield* call(pathOf(dataHref), {
          method: "PATCH",
          headers: { ...tus, "content-type": "application/offset+octet-stream", "upload-offset": "0", "upload-defer-length": "1" },
          body: new TextEncoder().encode("hello stdin\n")
        })
        expect(data.status).toBe(204)
        // a body without the tus Content-Type is still refused
        const typeless = yield* call(pathOf(dataHref), { method: "PATCH", headers: { ...tus, "upload-offset": "12" }, body: new Uint8Array(1) })
        expect(typeless.status).toBe(415)
        const end = yield* call(pathOf(dataHref), {
          method: "PATCH",
          headers: { ...tus, "upload-offset": "12", "upload-length": "12" }, // undici sends Content-Length: 0, as Go does
          body: new Uint8Array(0)
        })
        expect(end.status).toBe(204)
        const record = yield* call(pathOf(dataHref).replace(/\/blob$/, ""))
        expect(record.body).toMatchObject({ status: "ready", size: 12 })
      }))
  })
})

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-emulator-tus-data-"))
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

layer(EmulatorServer.layer({ dataDir }))("tus-js-client with a data directory (file-backed blobs)", (it) => {
  it.scoped("10 MiB in 1 MiB chunks, survives a cut connection, resumes, bytes identical", cutAndResume)
})
