/**
 * A file-backed `BlobStore` for Node: one file per artifact under a directory. Uploads are written chunk by chunk
 * at explicit positions (a retried or resumed PATCH overwrites from its offset) and downloads stream ranges from
 * the file, so a blob is never held whole in memory.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { type BlobStore, BlobStoreError } from "./BlobStore.js"

const writeBatchBytes = 1024 * 1024

/** The buffers after skipping `skip` bytes (for a short vectored write). */
const remaining = (buffers: ReadonlyArray<Uint8Array>, skip: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length
      continue
    }
    out.push(skip > 0 ? b.subarray(skip) : b)
    skip = 0
  }
  return out
}

const fileName = (id: string) => id.replace(/[^A-Za-z0-9._-]/g, "_")

const io = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (cause) => new BlobStoreError({ message: `${what}: ${String(cause)}`, cause }) })

/**
 * A store keeping blobs as files in `dir` (created if missing).
 * @since 0.1.0
 */
export const make = (dir: string): Effect.Effect<BlobStore, BlobStoreError> =>
  Effect.gen(function*() {
    yield* io("create blob directory", () => fsp.mkdir(dir, { recursive: true }))
    const file = (id: string) => path.join(dir, fileName(id))
    const store: BlobStore = {
      write: (id, offset, body, onChunk) =>
        Effect.acquireUseRelease(
          io("open blob", async () => {
            const f = file(id)
            const handle = await fsp.open(f, fs.existsSync(f) ? "r+" : "w+")
            await handle.truncate(offset)
            return handle
          }),
          (handle) => {
            // Chunks are gathered into ~1 MiB vectored writes. One write is in flight while the next batch is read
            // from the socket; the offset advances only once bytes are on disk.
            let position = offset
            let batch: Array<Uint8Array> = []
            let batchBytes = 0
            let inFlight: Promise<void> = Promise.resolve()
            const writeAt = async (buffers: Array<Uint8Array>, bytes: number, at: number) => {
              let done = 0
              while (done < bytes) {
                const { bytesWritten } = await handle.writev(remaining(buffers, done), at + done)
                done += bytesWritten
              }
              onChunk(bytes)
            }
            /** Waits for the previous write, then starts writing the current batch. */
            const flush = io("write blob", async () => {
              await inFlight
              if (batchBytes === 0) return
              inFlight = writeAt(batch, batchBytes, position)
              position += batchBytes
              batch = []
              batchBytes = 0
            })
            const drain = Effect.zipRight(flush, io("write blob", () => inFlight))
            return Stream.runForEachChunk(body, (chunk) => {
              for (const b of chunk) {
                if (b.length === 0) continue
                batch.push(b)
                batchBytes += b.length
              }
              return batchBytes >= writeBatchBytes ? flush : Effect.void
            }).pipe(
              // what arrived before a failing body (client gone) is kept
              Effect.tapError(() => Effect.ignore(drain)),
              Effect.zipLeft(drain),
              // never close the file under a running write
              Effect.onInterrupt(() => Effect.promise(() => inFlight.catch(() => undefined)))
            )
          },
          (handle) => Effect.promise(() => handle.close())
        ),
      read: (id, start, end) =>
        end <= start
          ? Stream.empty
          : Stream.suspend(() =>
            Stream.fromAsyncIterable(
              // opened only when the stream runs; closed by the iterator's return() when interrupted
              fs.createReadStream(file(id), { start, end: end - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<
                Uint8Array
              >,
              (cause) => new BlobStoreError({ message: `read blob: ${String(cause)}`, cause })
            )
          ),
      size: (id) =>
        io("stat blob", async () => {
          try {
            return (await fsp.stat(file(id))).size
          } catch {
            return 0
          }
        }),
      truncate: (id, size) =>
        io("truncate blob", async () => {
          if (fs.existsSync(file(id))) await fsp.truncate(file(id), size)
        }),
      clear: io("clear blobs", async () => {
        for (const name of await fsp.readdir(dir)) await fsp.rm(path.join(dir, name), { force: true })
      })
    }
    return store
  })
