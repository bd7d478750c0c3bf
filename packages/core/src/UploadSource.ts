/**
 * What an upload reads from: a platform-free source of bytes with a known or unknown size.
 *
 * A source is opened once per upload and then asked for the bytes `[offset, offset + n)` of each chunk. Files,
 * `Blob`s and byte arrays can be read again from any offset, so a chunk that failed is simply re-read; a one-pass
 * `Stream` keeps only the chunk in flight in memory, which is enough to re-send it from the offset the server
 * confirmed. The `fingerprint` identifies the same content across restarts (path + size + mtime, or name + size +
 * lastModified), so `Upload` can find an unfinished upload of it in the `UploadStore`.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Internal from "./internal/source.js"

/** A source that could not be read (missing file, a failing stream, fewer bytes than announced, …). @since 0.1.0 */
export class SourceError extends /*#__PURE__*/ Schema.TaggedError<SourceError>()("SourceError", {
  /** What was being read, e.g. `file /data/a.tif`. */
  source: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The {@link SourceError} of a file (`source`: `file <path>`) whose message is enough on its own: what failed, the
 * path, and the cause's own message when there is one (`cannot read the file /data/a.tif: ENOENT: …`).
 *
 * @since 0.2.0
 */
export const fileError = (path: string, message: string, cause?: unknown): SourceError =>
  new SourceError({
    source: `file ${path}`,
    message: cause === undefined ? `${message} ${path}` : `${message} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
    ...(cause === undefined ? {} : { cause })
  })

/**
 * The bytes of a chunk as a plain `AsyncIterable` made afresh for each request (a Node `fs.ReadStream` over a file
 * range is one): read while it is sent, with no Effect `Stream` step per buffer. When the `HttpClient` in context
 * takes such a body as it is ({@link IterableBodies}: `@ivcap/node`'s), the tus engine hands it over with
 * `HttpBody.raw`, counting each buffer for progress; otherwise it is sent as a `Stream` of copies. Anything it
 * throws fails the upload with `SourceError` (not a transport error), as does a length other than the piece's.
 *
 * A buffer it yields is done with once the next one is asked for (`@ivcap/node`'s client writes each buffer to the
 * socket before it asks for the next one, as undici does with buffers of 16 KiB or more, and the `Stream` path copies), so an iterable may read into the
 * same few buffers again and again instead of allocating fresh memory per read.
 *
 * @since 0.2.0
 */
export interface IterableBody {
  readonly _tag: "IterableBody"
  /** Opens the bytes of one request (called once per attempt, only when the body is read). */
  readonly open: () => AsyncIterable<Uint8Array>
}

/**
 * An {@link IterableBody} from a function that opens the bytes of one request.
 *
 * @example
 * UploadSource.iterableBody(() => fs.createReadStream(path, { start: offset, end: offset + length - 1 }))
 * @since 0.2.0
 */
export const iterableBody = (open: () => AsyncIterable<Uint8Array>): IterableBody => ({ _tag: "IterableBody", open })

/** Whether the bytes of a piece are an {@link IterableBody}. @since 0.2.0 */
export const isIterableBody = (bytes: Piece["bytes"]): bytes is IterableBody =>
  !(bytes instanceof Uint8Array) && (bytes as Partial<IterableBody>)._tag === "IterableBody"

/**
 * Whether the platform's `HttpClient` sends an `AsyncIterable<Uint8Array>` given as `HttpBody.raw` as the request
 * body. `false` by default (fetch and `node:http` do not); `@ivcap/node`'s layers (undici, and direct connections for uploads) set it, and a
 * program that pairs `IvcapClient.layer` with `NodeHttpClient.layerUndici` itself can provide it with
 * `Layer.succeed(UploadSource.IterableBodies, true)`. When `false`, an {@link IterableBody} is sent as a `Stream`
 * (same bytes, more work per buffer).
 *
 * @since 0.2.0
 */
export class IterableBodies extends /*#__PURE__*/ Context.Reference<IterableBodies>()("@ivcap/core/UploadSource/IterableBodies", {
  defaultValue: () => false
}) {}

/**
 * The bytes of one chunk: `length` bytes in memory, as a stream of exactly `length` bytes read while it is sent,
 * or as an {@link IterableBody} read while it is sent (files: the memory of a chunk is then a few MiB of reads,
 * not the chunk size).
 *
 * @since 0.1.0
 */
export interface Piece {
  readonly length: number
  /** Whether the source ends with this piece (how an upload of unknown size learns its length). */
  readonly end: boolean
  readonly bytes: Uint8Array | Stream.Stream<Uint8Array, SourceError> | IterableBody
}

/** An opened source. @since 0.1.0 */
export interface Reader {
  /**
   * The bytes `[offset, offset + maxLength)`, fewer only at the end of the source. One-pass sources fail with
   * `SourceError` when asked for bytes before the current piece (they are gone).
   */
  readonly read: (offset: number, maxLength: number) => Effect.Effect<Piece, SourceError>
}

/** Something to upload. @since 0.1.0 */
export interface UploadSource {
  /** For error messages: `file <path>`, `blob <name>`, `bytes`, `stream`. */
  readonly description: string
  /** The size in bytes; `None` for a stream of unknown length (`X-Content-Length: -1`, tus deferred length). */
  readonly size: Option.Option<number>
  /** The default artifact name (a file's base name). */
  readonly name: Option.Option<string>
  /** The default content type (given, a `Blob`'s type, or guessed from the name). */
  readonly contentType: Option.Option<string>
  /** Identifies the same content across restarts, for resuming; `None` when it cannot be told. */
  readonly fingerprint: Option.Option<string>
  /** Whether bytes can be read again from any offset (false for one-pass streams). */
  readonly rereadable: boolean
  /** Opens the source for one upload; the scope closes what was opened. */
  readonly open: Effect.Effect<Reader, SourceError, Scope.Scope>
}

/** Naming and typing options shared by the constructors. @since 0.1.0 */
export interface SourceOptions {
  /** Overrides the name (a file's base name, a `File`'s name). */
  readonly name?: string | undefined
  /** Overrides the content type (otherwise taken from the `Blob` or guessed from the name's extension). */
  readonly contentType?: string | undefined
}

/** What {@link fromRanges} needs to know about something with a size. @since 0.1.0 */
export interface Ranges {
  /** For error messages, e.g. `file /data/a.tif`. */
  readonly description: string
  /** The size in bytes. */
  readonly size: number
  /** The default artifact name (`SourceOptions.name` wins). */
  readonly name?: string | undefined
  /** A content type the thing carries (a `Blob`'s `type`); `SourceOptions.contentType` wins, else a guess from the name. */
  readonly contentType?: string | undefined
  /** Identifies the same content across restarts (see {@link fileFingerprint}); absent: not resumable after a restart. */
  readonly fingerprint?: string | undefined
  /**
   * The bytes `[offset, offset + length)` (`length` ≥ 1, within the size): in memory, or as a stream or an
   * {@link IterableBody} read while it is sent. One that yields fewer or more bytes fails the upload with `SourceError`.
   */
  readonly read: (offset: number, length: number) => Effect.Effect<Piece["bytes"], SourceError>
}

/**
 * A rereadable source from byte ranges of something with a known size (a file, a `Blob`, bytes, an object in
 * another store): every platform's file source is built with it.
 *
 * @example
 * const source = UploadSource.fromRanges({ description: "bytes", size: data.length, read: (offset, length) => Effect.succeed(data.subarray(offset, offset + length)) })
 * @since 0.1.0
 */
export const fromRanges = (ranges: Ranges, options?: SourceOptions): UploadSource => {
  const name = options?.name ?? ranges.name
  const reader = Internal.sized(ranges.size, (offset, length) =>
    length === 0
      ? Effect.succeed(new Uint8Array(0))
      : Effect.map(ranges.read(offset, length), (bytes) =>
        bytes instanceof Uint8Array
          ? bytes
          : isIterableBody(bytes)
          ? Internal.exactlyIterable(ranges.description, length, bytes)
          : Internal.exactly(ranges.description, length, bytes)))
  return {
    description: ranges.description,
    size: Option.some(ranges.size),
    name: Option.fromNullable(name),
    contentType: Internal.contentTypeOf(options, name, ranges.contentType),
    fingerprint: Option.fromNullable(ranges.fingerprint),
    rereadable: true,
    open: Effect.succeed(reader)
  }
}

/**
 * How many bytes a file stream reads at a time: 1 MiB, so that a GiB is 1,024 stream elements rather than 16,384
 * (each costs a few Effect steps; BENCHMARKS.md has the measurement).
 */
const fileReadSize = /*#__PURE__*/ FileSystem.MiB(1)

/** How many reads the platform's file stream may run ahead of the upload (its default, 16, would hold 16 MiB). */
const fileReadAhead = 2

/**
 * `@effect/platform`'s `Path` service, by its key (the same service as `Path.Path`). Importing the `Path` module
 * for its tag would put its POSIX implementation in every esbuild bundle that imports `UploadSource` from the
 * `@ivcap/core` barrel (esbuild keeps a re-exported namespace whole, and that implementation cannot be dropped).
 */
const PathService = /*#__PURE__*/ Context.GenericTag<Path.Path>("@effect/platform/Path")

/**
 * The fingerprint of a file: absolute path + size + modification time (ms), so a changed file starts a new upload.
 *
 * @since 0.1.0
 */
export const fileFingerprint = (absolute: string, size: number, mtime: number | undefined): string =>
  `file|${absolute}|${size}|${mtime === undefined ? "?" : String(mtime)}`

/**
 * A file, read with `@effect/platform/FileSystem` from the offset of each chunk (so an upload holds a few MiB of
 * it in memory, whatever the chunk size). Fails with `SourceError` when the path is not a readable regular file. The fingerprint is the
 * absolute path + size + modification time: a file changed since an unfinished upload starts a new one.
 *
 * @since 0.1.0
 */
export const fromFile = (
  path: string,
  options?: SourceOptions
): Effect.Effect<UploadSource, SourceError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const paths = yield* PathService
    const absolute = paths.resolve(path)
    const description = `file ${absolute}`
    const fail = (message: string) => (cause: unknown) => fileError(absolute, message, cause)
    const info = yield* fs.stat(absolute).pipe(Effect.mapError(fail("cannot read the file")))
    if (info.type !== "File") return yield* new SourceError({ source: description, message: `not a regular file (${info.type}): ${absolute}` })
    const size = Number(info.size)
    const mtime = Option.match(info.mtime, { onNone: () => undefined, onSome: (d) => d.getTime() })
    return fromRanges({
      description,
      size,
      name: paths.basename(absolute),
      fingerprint: fileFingerprint(absolute, size, mtime),
      read: (offset, length) =>
        Effect.succeed(
          fs.stream(absolute, { offset, bytesToRead: length, chunkSize: fileReadSize, bufferSize: fileReadAhead }).pipe(Stream.mapError(fail("cannot read the file")))
        )
    }, options)
  })

/**
 * A `Blob` or `File` (web standard; browsers, Node ≥ 20). Each chunk is `blob.slice(…)` read into memory, as
 * browsers cannot stream request bodies over HTTP/1.1. A `File` gets the fingerprint name + size + lastModified.
 *
 * @since 0.1.0
 */
export const fromBlob = (blob: Blob, options?: SourceOptions): UploadSource => {
  const fileName = "name" in blob && typeof blob.name === "string" ? blob.name : undefined
  const lastModified = "lastModified" in blob && typeof blob.lastModified === "number" ? blob.lastModified : undefined
  const description = `blob ${options?.name ?? fileName ?? "(unnamed)"}`
  return fromRanges({
    description,
    size: blob.size,
    name: fileName,
    contentType: blob.type,
    fingerprint: fileName !== undefined && lastModified !== undefined ? `blob|${fileName}|${blob.size}|${lastModified}` : undefined,
    read: (offset, length) =>
      Effect.tryPromise({
        try: () => blob.slice(offset, offset + length).arrayBuffer(),
        catch: (cause) => new SourceError({ source: description, message: "cannot read the blob", cause })
      }).pipe(Effect.map((buffer) => new Uint8Array(buffer)))
  }, options)
}

/**
 * Bytes already in memory (sent as sub-arrays, never copied). No fingerprint: give one in `options` to let an
 * unfinished upload of them be resumed from the `UploadStore`.
 *
 * @since 0.1.0
 */
export const fromBytes = (bytes: Uint8Array, options?: SourceOptions & { readonly fingerprint?: string | undefined }): UploadSource =>
  fromRanges({
    description: "bytes",
    size: bytes.length,
    fingerprint: options?.fingerprint,
    read: (offset, length) => Effect.succeed(bytes.subarray(offset, offset + length))
  }, options)

/** Options of {@link fromStream}. @since 0.1.0 */
export interface StreamSourceOptions extends SourceOptions {
  /** The exact number of bytes the stream yields, when known; a stream that yields more or fewer fails. */
  readonly size?: number | undefined
}

/**
 * A one-pass `Stream` (stdin, a generated file, another download). Only the chunk being sent is kept in memory;
 * after a failure it is re-sent from the offset the server confirmed. Without `size` the upload announces an
 * unknown length (`X-Content-Length: -1`, `Upload-Defer-Length: 1`) and gives the length once the stream ends.
 * It can be uploaded once, and not resumed after a restart (no fingerprint).
 *
 * @since 0.1.0
 */
export const fromStream = <E>(stream: Stream.Stream<Uint8Array, E>, options?: StreamSourceOptions): UploadSource => {
  const description = options?.name === undefined ? "stream" : `stream ${options.name}`
  const fail = (message: string, cause?: unknown) => new SourceError({ source: description, message, cause })
  let opened = false
  const open = Effect.gen(function*() {
    if (opened) return yield* fail("a one-pass stream can be uploaded only once")
    opened = true
    const pull = yield* Stream.toPull(stream)
    // The bytes from `start` on that were pulled and not yet passed: at most one piece plus one upstream chunk.
    let parts: Array<Uint8Array> = []
    let start = 0
    let buffered = 0
    let ended = false
    const drop = (n: number) => {
      let left = n
      while (left > 0 && parts.length > 0) {
        const first = parts[0]!
        if (first.length <= left) {
          parts.shift()
          left -= first.length
        } else {
          parts[0] = first.subarray(left)
          left = 0
        }
      }
      buffered -= n - left
      start += n - left
      return left
    }
    const pullMore = pull.pipe(
      Effect.map((chunk) => {
        for (const bytes of Chunk.toReadonlyArray(chunk)) {
          if (bytes.length === 0) continue
          parts.push(bytes)
          buffered += bytes.length
        }
      }),
      Effect.catchAll(Option.match({
        onNone: () => Effect.sync(() => void (ended = true)),
        onSome: (cause) => Effect.fail(fail("the stream failed", cause))
      }))
    )
    const checkSize = Effect.suspend(() => {
      const total = start + buffered
      if (options?.size === undefined) return Effect.void
      if (total > options.size) return Effect.fail(fail(`the stream yielded more than the announced ${options.size} bytes`))
      if (ended && total < options.size) return Effect.fail(fail(`the stream ended after ${total} of the announced ${options.size} bytes`))
      return Effect.void
    })
    const read = (offset: number, maxLength: number): Effect.Effect<Piece, SourceError> =>
      Effect.gen(function*() {
        if (offset < start) return yield* fail(`cannot go back to byte ${offset}: a one-pass stream keeps bytes from ${start} on`)
        // Skip what the server already has (it may have kept part of a cut request).
        while (drop(offset - start) > 0 && !ended) yield* pullMore
        if (offset > start) return yield* fail(`the stream ended at byte ${start}, before ${offset}`)
        while (buffered < maxLength && !ended) yield* pullMore
        yield* checkSize
        const length = Math.min(maxLength, buffered)
        const bytes = new Uint8Array(length)
        let at = 0
        for (const part of parts) {
          if (at >= length) break
          const n = Math.min(part.length, length - at)
          bytes.set(n === part.length ? part : part.subarray(0, n), at)
          at += n
        }
        // Keep one copy of the piece (the one being sent), not the upstream chunks it was made from.
        const rest: Array<Uint8Array> = []
        let skip = length
        for (const part of parts) {
          if (skip >= part.length) skip -= part.length
          else {
            rest.push(part.subarray(skip))
            skip = 0
          }
        }
        parts = length > 0 ? [bytes, ...rest] : rest
        return { length, end: ended && length === buffered, bytes }
      })
    return { read }
  })
  return {
    description,
    size: Option.fromNullable(options?.size),
    name: Option.fromNullable(options?.name),
    contentType: Internal.contentTypeOf(options, options?.name),
    fingerprint: Option.none(),
    rereadable: false,
    open
  }
}

/**
 * @deprecated Internal plumbing; build a source with {@link fromRanges} instead. Will be removed in 0.2.
 * @since 0.1.0
 */
export const contentTypeOf = (options: SourceOptions | undefined, name: string | undefined, given?: string): Option.Option<string> =>
  Internal.contentTypeOf(options, name, given)

/**
 * @deprecated Internal plumbing; build a source with {@link fromRanges} instead. Will be removed in 0.2.
 * @since 0.1.0
 */
export const sized = (size: number, read: (offset: number, length: number) => Effect.Effect<Piece["bytes"], SourceError>): Reader =>
  Internal.sized(size, read)

/**
 * @deprecated Internal plumbing; {@link fromRanges} checks the length of every range. Will be removed in 0.2.
 * @since 0.1.0
 */
export const exactly = (description: string, length: number, stream: Stream.Stream<Uint8Array, SourceError>): Stream.Stream<Uint8Array, SourceError> =>
  Internal.exactly(description, length, stream)
