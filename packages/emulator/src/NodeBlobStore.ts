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
            // chunks are gathered into ~1 MiB vectored writes; the offset advances only once bytes are on disk
            let position = offset
            let batch: Array<Uint8Array> = []
            let batchBytes = 0
            const flush = Effect.suspend(() => {
              if (batchBytes === 0) return Effect.void
              const buffers = batch
              const bytes = batchBytes
              batch = []
              batchBytes = 0
              return io("write blob", async () => {
                let done = 0
                while (done < bytes) {
                  const { bytesWritten } = await handle.writev(remaining(buffers, done), position + done)
                  done += bytesWritten
                }
                position += bytes
                onChunk(bytes)
              })
            })
            return Stream.runForEach(body, (chunk) => {
              if (chunk.length === 0) return Effect.void
              batch.push(chunk)
              batchBytes += chunk.length
              return batchBytes >= writeBatchBytes ? flush : Effect.void
            }).pipe(
              // what arrived before a failing body (client gone) is kept
              Effect.tapError(() => Effect.ignore(flush)),
              Effect.zipLeft(flush)
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
