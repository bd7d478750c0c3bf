/**
 * The plumbing of `UploadSource`: clamping reads to a size, checking that a ranged stream or iterable body yields
 * exactly its length, and the content type of a source.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { IterableBody, Piece, Reader, SourceOptions } from "../UploadSource.js"
import { SourceError } from "../UploadSource.js"
import { guessContentType } from "./mime.js"

/** The content type of a source: the one in `options`, else the one `given` (a `Blob`'s), else a guess from the name. */
export const contentTypeOf = (options: SourceOptions | undefined, name: string | undefined, given?: string): Option.Option<string> =>
  Option.fromNullable(options?.contentType ?? (given !== undefined && given !== "" ? given : undefined) ?? (name === undefined ? undefined : guessContentType(name)))

/** A reader of a source of known size: clamps every read to the size. */
export const sized = (
  size: number,
  read: (offset: number, length: number) => Effect.Effect<Piece["bytes"], SourceError>
): Reader => ({
  read: (offset, maxLength) => {
    const length = Math.max(0, Math.min(maxLength, size - offset))
    return Effect.map(read(offset, length), (bytes) => ({ length, end: offset + length >= size, bytes }))
  }
})

/**
 * A stream of exactly `length` bytes: fewer (a file cut short while uploading) is a `SourceError`, not a short
 * request body that the server would wait for. Counted per chunk of elements, not per element.
 */
export const exactly = (description: string, length: number, stream: Stream.Stream<Uint8Array, SourceError>): Stream.Stream<Uint8Array, SourceError> =>
  Stream.suspend(() => {
    let seen = 0
    return stream.pipe(
      Stream.mapChunks((chunk) => {
        for (const bytes of chunk) seen += bytes.length
        return chunk
      }),
      Stream.concat(Stream.suspend(() =>
        seen === length ? Stream.empty : Stream.fail(new SourceError({ source: description, message: `expected ${length} bytes, read ${seen}` }))
      ))
    )
  })

/**
 * An iterable body of exactly `length` bytes: fewer or more, or any error it throws, is a `SourceError` naming the
 * source (thrown by the iterator, so the tus engine reports it instead of the transport error it causes).
 */
export const exactlyIterable = (description: string, length: number, body: IterableBody): IterableBody => ({
  _tag: "IterableBody",
  open: async function*() {
    let seen = 0
    try {
      for await (const bytes of body.open()) {
        seen += bytes.length
        if (seen > length) throw new SourceError({ source: description, message: `expected ${length} bytes, read more` })
        yield bytes
      }
    } catch (cause) {
      throw cause instanceof SourceError ? cause : new SourceError({ source: description, message: "read failed", cause })
    }
    if (seen !== length) throw new SourceError({ source: description, message: `expected ${length} bytes, read ${seen}` })
  }
})
