/**
 * A file as an upload source on Node, read with `fs.createReadStream` over the byte range of each chunk (1 MiB
 * reads) and handed to the HTTP client as it is: with `@ivcap/node`'s layers (`UploadSource.IterableBodies`)
 * the buffers go from the file to the socket with no Effect `Stream` step and no Web-stream conversion; with
 * another `HttpClient` they are sent as a `Stream`. Same fingerprint as `UploadSource.fromFile` (absolute path + size +
 * modification time), so an unfinished upload started with either resumes with the other.
 *
 * `onRead` sees every buffer as it is read, with its position in the file: `NodeTransfer.uploadFile` hashes the
 * bytes for the marker while they are sent instead of reading the file a second time.
 *
 * @since 0.1.0
 */
import * as UploadSource from "@ivcap/core/UploadSource"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"

/** How many bytes are read at a time (the memory of a file upload is a few of these, whatever the chunk size). */
const readSize = 1024 * 1024

/**
 * The two read buffers of a file source, reused from one request to the next: reading into fresh memory costs the
 * kernel a page fault per 4 KiB (measured: 0.85 CPU s per GiB against 0.16 with reused buffers). A buffer is
 * read into again only after the one read after it was asked for, which the tus engine's contract allows
 * (`UploadSource.IterableBody`); a request that overlaps another (it never does in one upload) gets its own.
 */
const bufferPool = () => {
  let idle: ReadonlyArray<Buffer> | undefined
  return {
    take: (): ReadonlyArray<Buffer> => {
      const buffers = idle ?? [Buffer.allocUnsafeSlow(readSize), Buffer.allocUnsafeSlow(readSize)]
      idle = undefined
      return buffers
    },
    give: (buffers: ReadonlyArray<Buffer>) => void (idle = buffers)
  }
}

/** Options of {@link fromFile}. @since 0.1.0 */
export interface FileSourceOptions extends UploadSource.SourceOptions {
  /**
   * Called with each buffer read from the file and its position, in the order read. A chunk sent again after a
   * failure is read again, so positions may repeat; an upload resumed mid-file starts after 0. The buffer is read
   * into again later: use it during the call (hash it, copy it), do not keep it.
   */
  readonly onRead?: ((position: number, bytes: Uint8Array) => void) | undefined
}

/**
 * A file to upload. Fails with `SourceError` when the path is not a readable regular file; a file that becomes
 * shorter while it is uploaded fails the upload with `SourceError`.
 *
 * @example
 * Effect.flatMap(NodeFileSource.fromFile("scan.tif"), (source) => Upload.upload(source))
 * @since 0.1.0
 */
export const fromFile = (path: string, options?: FileSourceOptions): Effect.Effect<UploadSource.UploadSource, UploadSource.SourceError> =>
  Effect.gen(function*() {
    const absolute = nodePath.resolve(path)
    const description = `file ${absolute}`
    const info = yield* Effect.tryPromise({ try: () => fs.promises.stat(absolute), catch: (cause) => UploadSource.fileError(absolute, "cannot read the file", cause) })
    if (!info.isFile()) return yield* new UploadSource.SourceError({ source: description, message: `not a regular file: ${absolute}` })
    const size = info.size
    const onRead = options?.onRead
    const pool = bufferPool()
    const range = (offset: number, length: number) =>
      UploadSource.iterableBody(async function*() {
        const end = offset + length
        const handle = await fs.promises.open(absolute, "r")
        const buffers = pool.take()
        let pending: Promise<fs.promises.FileReadResult<Buffer>> | undefined
        try {
          // One read ahead: the next buffer fills while the current one is sent.
          let position = offset
          let next = 0
          const readAt = (at: number) => {
            const buffer = buffers[next]!
            next = 1 - next
            return handle.read(buffer, 0, Math.min(buffer.length, end - at), at)
          }
          pending = readAt(position)
          while (pending !== undefined) {
            const { buffer, bytesRead } = await pending
            pending = undefined
            // A file cut short: the upload's length check turns the missing bytes into a SourceError.
            if (bytesRead === 0) break
            const at = position
            position += bytesRead
            if (position < end) pending = readAt(position)
            const bytes = buffer.subarray(0, bytesRead)
            onRead?.(at, bytes)
            yield bytes
          }
        } finally {
          await pending?.catch(() => undefined)
          pool.give(buffers)
          await handle.close()
        }
      })
    return UploadSource.fromRanges({
      description,
      size,
      name: nodePath.basename(absolute),
      fingerprint: UploadSource.fileFingerprint(absolute, size, info.mtime.getTime()),
      read: (offset, length) => Effect.succeed(range(offset, length))
    }, options)
  })
