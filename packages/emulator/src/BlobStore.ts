/**
 * Where artifact content lives. The emulator streams upload bodies into a `BlobStore` chunk by chunk and streams
 * downloads (and `Range` requests) out of it, so no blob is ever concatenated in memory. `memory` (platform-free)
 * keeps blobs as lists of chunks; `@ivcap/emulator/NodeBlobStore` keeps one file per blob.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * A storage failure (I/O error of a file-backed store).
 * @since 0.1.0
 */
export class BlobStoreError extends Data.TaggedError("BlobStoreError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * Blob storage keyed by artifact id.
 * @since 0.1.0
 */
export interface BlobStore {
  /** Writes `body` at byte `offset` (the bytes after it are dropped first); `onChunk(n)` after each stored chunk. */
  readonly write: <E>(
    id: string,
    offset: number,
    body: Stream.Stream<Uint8Array, E>,
    onChunk: (bytes: number) => void
  ) => Effect.Effect<void, E | BlobStoreError>
  /** Bytes `[start, end)` of a blob. */
  readonly read: (id: string, start: number, end: number) => Stream.Stream<Uint8Array, BlobStoreError>
  /** Current size (0 when absent). */
  readonly size: (id: string) => Effect.Effect<number, BlobStoreError>
  /** Cuts a blob to `size` bytes (used when replaying a journal). */
  readonly truncate: (id: string, size: number) => Effect.Effect<void, BlobStoreError>
  /** Removes every blob. */
  readonly clear: Effect.Effect<void, BlobStoreError>
}

/**
 * An in-memory store: each blob is a list of chunks (never re-concatenated); reads slice the chunks.
 * @since 0.1.0
 */
export const memory = (): BlobStore => {
  const blobs = new Map<string, { chunks: Array<Uint8Array>; size: number }>()
  const get = (id: string) => {
    let b = blobs.get(id)
    if (b === undefined) {
      b = { chunks: [], size: 0 }
      blobs.set(id, b)
    }
    return b
  }
  const cut = (id: string, size: number) => {
    const b = get(id)
    if (b.size <= size) return
    const kept: Array<Uint8Array> = []
    let total = 0
    for (const c of b.chunks) {
      if (total >= size) break
      const take = Math.min(c.length, size - total)
      kept.push(take === c.length ? c : c.subarray(0, take))
      total += take
    }
    b.chunks = kept
    b.size = total
  }
  return {
    write: (id, offset, body, onChunk) =>
      Effect.suspend(() => {
        cut(id, offset)
        const b = get(id)
        return Stream.runForEachChunk(body, (chunk) =>
          Effect.sync(() => {
            let bytes = 0
            for (const c of chunk) {
              if (c.length === 0) continue
              // copy: the producer may reuse its buffer
              b.chunks.push(c.slice())
              bytes += c.length
            }
            b.size += bytes
            if (bytes > 0) onChunk(bytes)
          }))
      }),
    read: (id, start, end) =>
      Stream.suspend(() => {
        const b = blobs.get(id)
        const parts: Array<Uint8Array> = []
        if (b !== undefined) {
          let pos = 0
          for (const c of b.chunks) {
            const cEnd = pos + c.length
            if (cEnd > start && pos < end) {
              parts.push(c.subarray(Math.max(0, start - pos), Math.min(c.length, end - pos)))
            }
            pos = cEnd
            if (pos >= end) break
          }
        }
        return Stream.fromIterable(parts)
      }),
    size: (id) => Effect.sync(() => blobs.get(id)?.size ?? 0),
    truncate: (id, size) => Effect.sync(() => cut(id, size)),
    clear: Effect.sync(() => blobs.clear())
  }
}
