/**
 * A file's digest computed in a worker thread that reads the file itself, so an upload's marker md5 costs the
 * upload's thread nothing (md5 runs at about 700 MB/s on one core: on the upload's thread it was the largest
 * single cost of `uploadFile`). The worker reads 1 MiB at a time into one buffer; it is plain JavaScript (no
 * Effect), so it starts in milliseconds and holds a few MiB.
 */
import * as UploadSource from "@ivcap/core/UploadSource"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Worker } from "node:worker_threads"

/** The worker's program (CommonJS, run with `eval`: nothing to resolve next to the compiled module). */
const program = `
const { parentPort, workerData } = require("node:worker_threads")
const fs = require("node:fs")
const { createHash } = require("node:crypto")
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

/**
 * Starts hashing `file` in a worker thread and returns the effect that waits for the digest (hex) and the size
 * hashed. The worker is stopped when the scope closes, finished or not (an upload that fails or is interrupted).
 */
export const start = (file: string, algorithm: "md5" | "sha256"): Effect.Effect<Effect.Effect<Digest, UploadSource.SourceError>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new Worker(program, { eval: true, workerData: { path: file, algorithm } })),
      (worker) => Effect.promise(() => worker.terminate())
    ),
    (worker) => {
      const fail = (message: string, cause?: unknown) => new UploadSource.SourceError({ source: `file ${file}`, message, cause })
      const done = new Promise<Digest>((resolve, reject) => {
        worker.once("message", (m: Partial<Digest> & { readonly error?: string }) =>
          m.error === undefined ? resolve({ digest: m.digest!, size: m.size! }) : reject(fail(`cannot compute the ${algorithm}: ${m.error}`)))
        worker.once("error", (cause) => reject(fail(`cannot compute the ${algorithm}`, cause)))
        worker.once("exit", (code) => reject(fail(`the ${algorithm} worker stopped (exit code ${code})`)))
      })
      // Not awaited when the upload fails first: the rejection of a stopped worker is expected then.
      done.catch(() => undefined)
      return Effect.tryPromise({ try: () => done, catch: (e) => (e instanceof UploadSource.SourceError ? e : fail(`cannot compute the ${algorithm}`, e)) })
    }
  )
