/**
 * A file's digest, the one implementation behind the upload marker (`Marker.md5File`, `uploadFile`). A large file is
 * hashed in a worker thread that reads the file itself, so an upload's marker md5 costs the upload's thread
 * nothing (md5 runs at about 700 MB/s on one core: on the upload's thread it was the largest single cost of
 * `uploadFile`). A worker costs about 60 ms to start, far more than hashing a small file, so files up to
 * {@link inThreadBytes} are hashed on the calling thread instead. Both read 1 MiB at a time into one buffer.
 */
import * as UploadSource from "@ivcap/core/UploadSource"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import type * as Scope from "effect/Scope"
import { Worker } from "node:worker_threads"

/** The worker's program (CommonJS, run with `eval`: nothing to resolve next to the compiled module). */
const program = `
const { parentPort, workerData } = require("node:worker_threads")
const fs = require("node:fs")
const { createHash } = require("node:crypto")
// On Linux a nice value is a thread's own: this lowers the hashing thread's priority only.
if (workerData.nice !== 0 && process.platform === "linux") {
  try { require("node:os").setPriority(workerData.nice) } catch {}
}
try {
  const hash = createHash(workerData.algorithm)
  const buffer = Buffer.allocUnsafe(1024 * 1024)
  const fd = fs.openSync(workerData.path, "r")
  let size = 0
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, size)
      if (n === 0) break
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n))
      size += n
    }
  } finally {
    fs.closeSync(fd)
  }
  parentPort.postMessage({ digest: hash.digest("hex"), size })
} catch (error) {
  parentPort.postMessage({ error: String(error && error.message || error) })
}
`

/** A digest and the number of bytes it covers. */
export interface Digest {
  readonly digest: string
  readonly size: number
}

/** How to hash. */
export interface Options {
  /**
   * Run a worker at the lowest CPU priority (nice 19, on Linux, where it is the thread's own): for work that may
   * finish after what it runs beside (an upload's marker left to the background), so it slows that down less.
   */
  readonly background?: boolean | undefined
}

/** The nice value of a background worker (measured against 10 and 0 in BENCHMARKS.md, "Upload: the marker"). */
const backgroundNice = 19

/** Files up to this size (8 MiB, about 12 ms of md5) are hashed on the calling thread, larger ones in a worker. */
export const inThreadBytes = 8 * 1024 * 1024

/** A failure to hash `file`. */
const fail = (file: string) => (message: string, cause?: unknown) => new UploadSource.SourceError({ source: `file ${file}`, message, cause })

/** Hashes `file` on this thread, reading it 1 MiB at a time. */
const inThread = (file: string, algorithm: string): Promise<Digest> =>
  (async () => {
    const hash = createHash(algorithm)
    const buffer = Buffer.allocUnsafe(1024 * 1024)
    const handle = await fs.promises.open(file, "r")
    let size = 0
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, size)
        if (bytesRead === 0) break
        hash.update(buffer.subarray(0, bytesRead))
        size += bytesRead
      }
    } finally {
      await handle.close()
    }
    return { digest: hash.digest("hex"), size }
  })()

/**
 * Starts hashing `file` and returns the effect that waits for the digest (hex) and the size hashed: on this thread
 * when the file is small (see {@link inThreadBytes}; then when the result is awaited), else in a worker thread
 * started at once and stopped when the scope closes, finished or not (an upload that fails or is interrupted).
 */
export const start = (file: string, algorithm: "md5" | "sha256", options: Options = {}): Effect.Effect<Effect.Effect<Digest, UploadSource.SourceError>, never, Scope.Scope> =>
  Effect.flatMap(Effect.promise(() => fs.promises.stat(file).then((s) => s.size, () => -1)), (size) =>
    size <= inThreadBytes // includes a file that cannot be read (-1): the read says why
      ? Effect.succeed(Effect.tryPromise({ try: () => inThread(file, algorithm), catch: (cause) => fail(file)(`cannot compute the ${algorithm}`, cause) }))
      : inWorker(file, algorithm, options.background === true ? backgroundNice : 0))

/** Hashing in a worker thread, stopped when the scope closes. */
const inWorker = (file: string, algorithm: "md5" | "sha256", nice: number): Effect.Effect<Effect.Effect<Digest, UploadSource.SourceError>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new Worker(program, { eval: true, workerData: { path: file, algorithm, nice } })),
      (worker) => Effect.promise(() => worker.terminate())
    ),
    (worker) => {
      const failed = fail(file)
      const done = new Promise<Digest>((resolve, reject) => {
        worker.once("message", (m: Partial<Digest> & { readonly error?: string }) =>
          m.error === undefined ? resolve({ digest: m.digest!, size: m.size! }) : reject(failed(`cannot compute the ${algorithm}: ${m.error}`)))
        worker.once("error", (cause) => reject(failed(`cannot compute the ${algorithm}`, cause)))
        worker.once("exit", (code) => reject(failed(`the ${algorithm} worker stopped (exit code ${code})`)))
      })
      // Not awaited when the upload fails first: the rejection of a stopped worker is expected then.
      done.catch(() => undefined)
      return Effect.tryPromise({ try: () => done, catch: (e) => (e instanceof UploadSource.SourceError ? e : failed(`cannot compute the ${algorithm}`, e)) })
    }
  )

/** The digest of `file`, start to finish: {@link start} and wait (a worker, if any, stopped once it is done). */
export const compute = (file: string, algorithm: "md5" | "sha256"): Effect.Effect<Digest, UploadSource.SourceError> =>
  Effect.scoped(Effect.flatten(start(file, algorithm)))
