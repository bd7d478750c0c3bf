/**
 * A file's digest, the one implementation behind the upload marker (`Marker.md5File`, `uploadFile`). A large file is
 * hashed in a worker thread that reads the file itself, so an upload's marker md5 costs the upload's thread
 * nothing (md5 runs at about 700 MB/s on one core: on the upload's thread it was the largest single cost of
 * `uploadFile`). A worker costs about 60 ms to start, far more than hashing a small file, so files up to
 * {@link inThreadBytes} are hashed on the calling thread instead. Both read 1 MiB at a time into one buffer. A
 * worker's digest can be made to wait while an upload runs fast ({@link Pace}).
 */
import * as UploadSource from "@ivcap/core/UploadSource"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
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
// A pace shared with the caller (see Pace): waits before each read while its state is 1, counts the bytes hashed.
const state = workerData.pace === undefined ? undefined : new Int32Array(workerData.pace, 0, 1)
const hashed = workerData.pace === undefined ? undefined : new BigInt64Array(workerData.pace, 8, 1)
try {
  const hash = createHash(workerData.algorithm)
  const buffer = Buffer.allocUnsafe(1024 * 1024)
  const fd = fs.openSync(workerData.path, "r")
  let size = 0
  try {
    for (;;) {
      if (state !== undefined) while (Atomics.load(state, 0) === 1) Atomics.wait(state, 0, 1)
      const n = fs.readSync(fd, buffer, 0, buffer.length, size)
      if (n === 0) break
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n))
      size += n
      if (hashed !== undefined) Atomics.store(hashed, 0, BigInt(size))
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
   * Hash in the background: only while this pace lets it (see {@link Pace}), and in a worker at the lowest CPU
   * priority (nice 19, on Linux, where it is the thread's own). Ignored for a file hashed on this thread.
   */
  readonly pace?: Pace | undefined
}

/** How often {@link Pace.sample} is meant to be called: the window a rate is measured over, ms. */
export const paceWindowMillis = 250

/**
 * Lets a worker's digest wait while an upload of the same machine runs at or above `yieldAbove` bytes per second:
 * an upload that fast is using the CPUs (a local server, a very fast link), and an md5 beside it slows it down
 * (by 6–56% in rounds on the benchmark machine, at any thread priority: BENCHMARKS.md), while beside a slower upload
 * it costs nothing. The caller feeds it the bytes sent every {@link paceWindowMillis} ({@link sample}) and {@link release}s it when
 * the upload ends. It starts waiting (unless `yieldAbove` is `Infinity`), runs once two windows in a row are below
 * half of `yieldAbove`, and waits again when one is at or above it. Both margins are there because an md5 that
 * starts beside a fast upload slows it, and a slower rate would then keep it running: an upload's first window is
 * slower (the record is created, the connection opened, the first chunk is small), and a fast upload dips now and
 * then. A window without progress (a stalled or retrying upload) counts as rate 0. State and count live in memory
 * shared with the worker.
 */
export class Pace {
  /** `[0]` (Int32): 1 while the digest waits, 0 while it runs; `[8..16)` (BigInt64): the bytes hashed so far. */
  readonly shared = new SharedArrayBuffer(16)
  private readonly state = new Int32Array(this.shared, 0, 1)
  private readonly hashed = new BigInt64Array(this.shared, 8, 1)
  private last: { readonly sent: number; readonly at: number } | undefined
  /** Windows in a row below half of `yieldAbove`. */
  private slow = 0
  private ran: (() => void) | undefined
  /** Resolved the first time the digest may run. */
  readonly running = new Promise<void>((resolve) => this.ran = resolve)
  /** Set when the worker starts (it starts once the digest first may run). */
  started = false
  /** How far the digest was when {@link release} was called: the bytes hashed and whether the worker had started. */
  atRelease: { readonly hashed: number; readonly started: boolean } | undefined
  constructor(readonly yieldAbove: number) {
    this.set(yieldAbove !== Infinity)
  }

  /** Whether the digest is waiting now. */
  get waiting(): boolean {
    return Atomics.load(this.state, 0) === 1
  }

  /** The bytes the worker has hashed so far. */
  get hashedBytes(): number {
    return Number(Atomics.load(this.hashed, 0))
  }

  /** Takes the upload's bytes sent at `now` (ms): the rate since the previous sample decides whether to wait. */
  sample(sent: number, now: number): void {
    const last = this.last
    this.last = { sent, at: now }
    if (last === undefined || this.atRelease !== undefined || now <= last.at) return
    const rate = (sent - last.sent) / ((now - last.at) / 1000)
    this.slow = rate < this.yieldAbove / 2 ? this.slow + 1 : 0
    if (rate >= this.yieldAbove) this.set(true)
    else if (this.slow >= 2) this.set(false)
  }

  /** The upload is done: the digest runs to its end. */
  release(): void {
    if (this.atRelease !== undefined) return
    this.atRelease = { hashed: this.hashedBytes, started: this.started }
    this.set(false)
  }

  private set(wait: boolean): void {
    if (Atomics.exchange(this.state, 0, wait ? 1 : 0) === 1 && !wait) Atomics.notify(this.state, 0)
    if (!wait) this.ran?.()
  }
}

/** The nice value of a paced worker (measured against 10 and 0 in BENCHMARKS.md, "Upload: the marker"). */
const backgroundNice = 19

/** Files up to this size (8 MiB, about 12 ms of md5) are hashed on the calling thread, larger ones in a worker. */
export const inThreadBytes = 8 * 1024 * 1024

/** A failure to hash `file`. */
const fail = (file: string) => (message: string, cause?: unknown) => UploadSource.fileError(file, message, cause)

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
 * started at once (a paced one once its pace first lets it run) and stopped when the scope closes, finished or not
 * (an upload that fails or is interrupted).
 */
export const start = (file: string, algorithm: "md5" | "sha256", options: Options = {}): Effect.Effect<Effect.Effect<Digest, UploadSource.SourceError>, never, Scope.Scope> =>
  Effect.flatMap(Effect.promise(() => fs.promises.stat(file).then((s) => s.size, () => -1)), (size) =>
    size <= inThreadBytes // includes a file that cannot be read (-1): the read says why
      ? Effect.succeed(Effect.tryPromise({ try: () => inThread(file, algorithm), catch: (cause) => fail(file)(`cannot compute the ${algorithm} of`, cause) }))
      : inWorker(file, algorithm, options.pace))

/**
 * Hashing in a worker thread, stopped when the scope closes. A paced one's worker (about 70 ms of CPU to start)
 * starts only once its pace first lets it run: beside a fast upload, after the upload.
 */
const inWorker = (file: string, algorithm: "md5" | "sha256", pace: Pace | undefined): Effect.Effect<Effect.Effect<Digest, UploadSource.SourceError>, never, Scope.Scope> =>
  pace === undefined
    ? startWorker(file, algorithm, undefined)
    : Effect.map(
      Effect.forkScoped(Effect.promise(() => pace.running).pipe(
        Effect.zipRight(Effect.sync(() => pace.started = true)),
        Effect.zipRight(Effect.flatten(startWorker(file, algorithm, pace)))
      )),
      Fiber.join
    )

/**
 * A worker hashing `file` now (a paced one at {@link backgroundNice}), stopped when the scope closes, and the effect
 * that waits for its digest.
 */
const startWorker = (file: string, algorithm: "md5" | "sha256", pace: Pace | undefined): Effect.Effect<Effect.Effect<Digest, UploadSource.SourceError>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const nice = pace === undefined ? 0 : backgroundNice
        return new Worker(program, { eval: true, workerData: { path: file, algorithm, nice, pace: pace?.shared } })
      }),
      (worker) => Effect.promise(() => worker.terminate())
    ),
    (worker) => {
      const failed = fail(file)
      const done = new Promise<Digest>((resolve, reject) => {
        worker.once("message", (m: Partial<Digest> & { readonly error?: string }) =>
          m.error === undefined ? resolve({ digest: m.digest!, size: m.size! }) : reject(failed(`cannot compute the ${algorithm} of`, m.error)))
        worker.once("error", (cause) => reject(failed(`cannot compute the ${algorithm} of`, cause)))
        worker.once("exit", (code) => reject(failed(`the ${algorithm} worker stopped (exit code ${code}) hashing`)))
      })
      // Not awaited when the upload fails first: the rejection of a stopped worker is expected then.
      done.catch(() => undefined)
      return Effect.tryPromise({ try: () => done, catch: (e) => (e instanceof UploadSource.SourceError ? e : failed(`cannot compute the ${algorithm} of`, e)) })
    }
  )

/** The digest of `file`, start to finish: {@link start} and wait (a worker, if any, stopped once it is done). */
export const compute = (file: string, algorithm: "md5" | "sha256"): Effect.Effect<Digest, UploadSource.SourceError> =>
  Effect.scoped(Effect.flatten(start(file, algorithm)))
