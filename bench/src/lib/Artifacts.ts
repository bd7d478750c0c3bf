/**
 * Artifact helpers shared by the upload and download benchmarks: test files, artifact records created and
 * checked with plain `fetch` (outside any timing), and the `curl` baseline that sends a file as one tus PATCH.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import { open } from "node:fs/promises"
import { Readable } from "node:stream"
import { run } from "./Child.js"
import type { EmulatorProcess } from "./EmulatorProcess.js"

/** A record or transfer that is not what the benchmark expects (so a figure would be meaningless). */
export class CheckFailed extends Data.TaggedError("CheckFailed")<{ readonly message: string }> {}

/** A generated test file, and (optionally) the same bytes cut into chunk files for curl. */
export interface TestFile {
  readonly path: string
  readonly size: number
  readonly chunks: ReadonlyArray<{ readonly path: string; readonly offset: number; readonly length: number }>
}

/**
 * Writes `size` pseudo-random (incompressible) bytes to `path`; with `chunkDir`, also writes each `chunkSize`
 * slice to its own file there, in the same pass.
 */
export const makeFile = (path: string, size: number, chunking?: { readonly dir: string; readonly chunkSize: number }): Effect.Effect<TestFile> =>
  Effect.promise(async () => {
    const block = randomBytes(16 * 2 ** 20)
    const file = await open(path, "w")
    const chunks: Array<{ path: string; offset: number; length: number }> = []
    try {
      const step = chunking?.chunkSize ?? block.length
      for (let offset = 0; offset < size; offset += step) {
        const length = Math.min(step, size - offset)
        const chunkFile = chunking ? await open(`${chunking.dir}/chunk-${chunks.length}`, "w") : undefined
        for (let done = 0; done < length;) {
          // vary the bytes per block so no two chunks are equal
          const n = Math.min(block.length, length - done)
          block.writeUInt32LE((offset + done) >>> 0, 0)
          const piece = block.subarray(0, n)
          await file.write(piece)
          if (chunkFile) await chunkFile.write(piece)
          done += n
        }
        if (chunkFile) {
          await chunkFile.close()
          chunks.push({ path: `${chunking!.dir}/chunk-${chunks.length}`, offset, length })
        }
      }
    } finally {
      await file.close()
    }
    return { path, size, chunks }
  })

/** The wire fields of an artifact record the benchmarks read. */
interface ArtifactWire {
  readonly id: string
  readonly status: string
  readonly size?: number
  readonly "data-href"?: string
}

const call = (emu: EmulatorProcess, method: string, route: string, headers: Record<string, string> = {}) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(`${emu.url}${route}`, { method, headers: { authorization: `Bearer ${emu.token}`, ...headers } })
      const text = await response.text()
      if (!response.ok) throw new Error(`${method} ${route} -> ${response.status}: ${text.slice(0, 300)}`)
      return JSON.parse(text) as ArtifactWire
    },
    catch: (e) => new CheckFailed({ message: e instanceof Error ? e.message : String(e) })
  })

/** Creates an artifact record for `size` bytes (`POST /1/artifacts`) and returns its id and `data-href`. */
export const createArtifact = (emu: EmulatorProcess, name: string, size: number) =>
  Effect.flatMap(
    call(emu, "POST", "/1/artifacts", {
      "x-name": Buffer.from(name).toString("base64"),
      "x-content-type": "application/octet-stream",
      "x-content-length": String(size),
      "tus-resumable": "1.0.0"
    }),
    (a) => (a["data-href"] === undefined
      ? Effect.fail(new CheckFailed({ message: `artifact ${a.id} has no data-href` }))
      : Effect.succeed({ id: a.id, dataHref: a["data-href"] }))
  )

/** Checks that an artifact is `ready` with exactly `size` bytes (so every upload figure is for a complete upload). */
export const expectReady = (emu: EmulatorProcess, id: string, size: number) =>
  Effect.flatMap(call(emu, "GET", `/1/artifacts/${encodeURIComponent(id)}`), (a) =>
    a.status === "ready" && a.size === size
      ? Effect.void
      : Effect.fail(new CheckFailed({ message: `artifact ${id}: status ${a.status}, size ${a.size}; expected ready with ${size} bytes` })))

/**
 * The curl baseline: one curl process sends the whole file as one tus PATCH to `dataHref` (`-T file`), with
 * `Expect:` off (no 100-continue round trip) and the headers from a file (the token stays out of argv). Fails
 * unless the PATCH answered 204.
 */
export const curlUpload = (emu: EmulatorProcess, dataHref: string, file: TestFile, headerFile: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(headerFile, `Authorization: Bearer ${emu.token}\nTus-Resumable: 1.0.0\nContent-Type: application/offset+octet-stream\nExpect:\n`)
    const finished = yield* run("curl", ["-sS", "-X", "PATCH", "-H", `@${headerFile}`, "-H", "Upload-Offset: 0", "-T", file.path, "-o", "/dev/null", "-w", "%{http_code}", dataHref])
    if (finished.stdout.trim() !== "204") {
      return yield* new CheckFailed({ message: `curl PATCH status: ${finished.stdout.trim()}; stderr: ${finished.stderr.slice(0, 300)}` })
    }
    return finished
  })

/** Sends a whole file as one tus PATCH with `fetch` (setup for the download benchmark; not timed). */
export const patchFile = (emu: EmulatorProcess, dataHref: string, file: string, size: number) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(dataHref, {
        method: "PATCH",
        headers: {
          authorization: `Bearer ${emu.token}`,
          "tus-resumable": "1.0.0",
          "upload-offset": "0",
          "content-type": "application/offset+octet-stream",
          "content-length": String(size)
        },
        body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
        duplex: "half"
      } as RequestInit)
      if (response.status !== 204) throw new Error(`PATCH ${dataHref} -> ${response.status}: ${await response.text()}`)
    },
    catch: (e) => new CheckFailed({ message: e instanceof Error ? e.message : String(e) })
  })

/** Downloads `dataHref` to `out` with `curl -o` (the token from a header file). */
export const curlDownload = (emu: EmulatorProcess, dataHref: string, out: string, headerFile: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(headerFile, `Authorization: Bearer ${emu.token}\n`)
    const finished = yield* run("curl", ["-sS", "--fail", "-H", `@${headerFile}`, "-o", out, dataHref])
    const size = Number((yield* fs.stat(out).pipe(Effect.orDie)).size)
    return { finished, size }
  })

/** CPU seconds per GiB moved. */
export const perGiB = (cpuMs: number, bytes: number): number => cpuMs / 1000 / (bytes / 2 ** 30)

/** Megabytes (10^6 B) per second. */
export const mbPerSecond = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000)
