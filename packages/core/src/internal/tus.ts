/**
 * The tus 1.0.0 core protocol engine behind `Upload` (wire doc §6.2–6.3): PATCH chunks at the confirmed offset,
 * and after a failure wait (a `Schedule`), ask the server for its offset with HEAD and go on from there.
 *
 * Invariants: `confirmed` only ever comes from a server (`Upload-Offset` of a PATCH or HEAD answer) and never goes
 * down; a server offset behind it, or beyond the length, stops the upload with `UploadOffsetMismatch` rather than
 * re-sending or skipping bytes. Each request is one attempt under the client's timeout (no nested retries), and
 * the retry schedule restarts whenever the server confirms progress, so a long upload over a flaky link is bounded
 * per stall, not in total. Everything is interruptible: an interrupted PATCH is aborted mid-body and the upload
 * can be resumed later from whatever the server kept.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { IvcapClient } from "../IvcapClient.js"
import type { RequestTimeout, TransportError } from "../IvcapError.js"
import { DecodeError, isTransient, ResourceNotFound, Unauthorized, UnexpectedStatus } from "../IvcapError.js"
import { minimumChunkSize, Progress, UploadOffsetMismatch } from "../Upload.js"
import type { IterableBody, Piece, Reader } from "../UploadSource.js"
import { isIterableBody, IterableBodies, SourceError } from "../UploadSource.js"
import * as Http from "./http.js"
import { makeWaiter } from "./retry.js"

/** The tus version spoken. */
export const tusVersion = "1.0.0"

const offsetContentType = "application/offset+octet-stream"

/** The errors of one tus request. */
export type RequestError =
  | Http.StatusError<400 | 403 | 404 | 415>
  | ResourceNotFound
  | TransportError
  | RequestTimeout

/** The errors of sending a source to an upload URL. */
export type SendError = RequestError | UploadOffsetMismatch | SourceError

/**
 * Whether a failed request may succeed when the upload goes on from the server's offset: transient failures, and
 * the tus statuses that say the offset or a lock is off (409 Conflict, 423 Locked, 460 checksum mismatch). That
 * IVCAP answers a wrong `Upload-Offset` with 409 is standard tus, **inferred** for IVCAP (wire doc §6.5).
 */
export const isRetryable = (e: unknown): boolean =>
  isTransient(e) || (e instanceof UnexpectedStatus && [409, 423, 460].includes(e.status))

const offsetHeader = (response: HttpClientResponse.HttpClientResponse) =>
  Option.match(Http.intHeader(response.headers["upload-offset"]), {
    onNone: () =>
      Effect.fail(new DecodeError({ ...Http.describe(response.request), message: `Upload-Offset header: expected a non-negative integer, got ${JSON.stringify(response.headers["upload-offset"] ?? null)}` })),
    onSome: Effect.succeed
  })

/** A 404 or 410 on an upload URL: the upload is gone (expired, deleted or never there). */
const gone = (response: HttpClientResponse.HttpClientResponse) =>
  new ResourceNotFound({ id: response.request.url, message: `upload not found (${response.status}): ${response.request.method} ${response.request.url}` })

const patchStatuses = [400, 403, 404, 415] as const

/** The server's view of an upload. */
export interface ServerState {
  readonly offset: number
  readonly length: Option.Option<number>
}

/** `HEAD <url>`: the server's offset (and length, once known). One attempt. */
export const head = (url: string): Effect.Effect<ServerState, RequestError, IvcapClient> =>
  Effect.flatMap(IvcapClient, (client) =>
    client.call(
      HttpClientRequest.head(url).pipe(HttpClientRequest.setHeaders({ "tus-resumable": tusVersion, "cache-control": "no-store" })),
      (response): Effect.Effect<ServerState, RequestError> => {
        if (response.status === 404 || response.status === 410) return Effect.fail(gone(response))
        if (response.status < 200 || response.status >= 300) return Http.failStatus(patchStatuses)(response)
        return Effect.map(offsetHeader(response), (offset) => ({ offset, length: Http.intHeader(response.headers["upload-length"]) }))
      },
      { idempotent: false }
    ))

interface PatchOptions {
  /** Send `Upload-Defer-Length: 1` (length not known yet). */
  readonly deferLength: boolean
  /** Declare the length (`Upload-Length`), on the final empty PATCH of an upload of unknown size. */
  readonly uploadLength?: number
  /** Called with the size of each part of a streamed body as it is handed to the connection. */
  readonly onSent: (bytes: number) => Effect.Effect<void>
}

/** The number of bytes in a chunk of buffers. */
const chunkBytes = (chunk: Chunk.Chunk<Uint8Array>): number => {
  let n = 0
  for (const bytes of chunk) n += bytes.length
  return n
}

/** What a source's iterable threw, as a `SourceError` (sources built with `fromRanges` throw one already). */
const asSourceError = (cause: unknown): SourceError =>
  cause instanceof SourceError ? cause : new SourceError({ source: "source", message: "read failed", cause })

/**
 * The stream of an iterable body, opened when it is run. Each buffer is copied: the iterable may read into it again
 * once the next one is asked for, while a stream body may still hold it in a queue.
 */
const iterableStream = (body: IterableBody): Stream.Stream<Uint8Array, SourceError> =>
  Stream.fromAsyncIterable({ [Symbol.asyncIterator]: () => body.open()[Symbol.asyncIterator]() }, asSourceError).pipe(
    Stream.map((bytes) => bytes.slice())
  )

/**
 * An iterable body as the platform client takes it (`HttpBody.raw`): each buffer is reported with `onSent` (its
 * progress event runs before the buffer is handed over, as on the stream path) and a failure of the source is
 * recorded with `onFailure` before the iterator throws it (the client then aborts the request).
 */
const rawIterable = (
  body: IterableBody,
  onSent: (bytes: number) => Effect.Effect<void>,
  onFailure: (error: SourceError) => void,
  runtime: Runtime.Runtime<never>
): AsyncIterable<Uint8Array> => {
  const run = Runtime.runPromise(runtime)
  return {
    [Symbol.asyncIterator]: async function*() {
      try {
        for await (const bytes of body.open()) {
          await run(onSent(bytes.length))
          yield bytes
        }
      } catch (cause) {
        const error = asSourceError(cause)
        onFailure(error)
        throw error
      }
    }
  }
}

/** `PATCH <url>` with the piece at `offset`: the server's new offset. One attempt. */
const patch = (url: string, offset: number, piece: Piece, options: PatchOptions): Effect.Effect<number, RequestError | SourceError, IvcapClient> =>
  Effect.flatMap(Effect.all([IvcapClient, IterableBodies, Effect.runtime<never>()]), ([client, iterables, runtime]) => {
    // A body that fails surfaces as a transport error; keep the real cause to report it instead.
    let sourceFailure: Option.Option<SourceError> = Option.none()
    const onFailure = (e: SourceError) => void (sourceFailure = Option.some(e))
    const streamed = (bytes: Stream.Stream<Uint8Array, SourceError>) =>
      HttpBody.stream(
        bytes.pipe(
          // One progress step per chunk of elements, not per element (a file source yields 1 MiB buffers).
          Stream.mapChunksEffect((chunk) => Effect.as(options.onSent(chunkBytes(chunk)), chunk)),
          Stream.tapError((e) => Effect.sync(() => onFailure(e)))
        ),
        offsetContentType,
        piece.length
      )
    const body = piece.bytes instanceof Uint8Array
      ? HttpBody.uint8Array(piece.bytes, offsetContentType)
      : isIterableBody(piece.bytes)
      ? iterables
        ? HttpBody.raw(rawIterable(piece.bytes, options.onSent, onFailure, runtime), { contentType: offsetContentType, contentLength: piece.length })
        : streamed(iterableStream(piece.bytes))
      : streamed(piece.bytes)
    const request = HttpClientRequest.patch(url).pipe(
      HttpClientRequest.setBody(body),
      HttpClientRequest.setHeaders({
        "tus-resumable": tusVersion,
        "upload-offset": String(offset),
        "content-length": String(piece.length),
        ...(options.deferLength ? { "upload-defer-length": "1" } : {}),
        ...(options.uploadLength !== undefined ? { "upload-length": String(options.uploadLength) } : {})
      })
    )
    const sentAll = piece.bytes instanceof Uint8Array ? options.onSent(piece.length) : Effect.void
    return sentAll.pipe(
      Effect.zipRight(client.call(
        request,
        (response): Effect.Effect<number, RequestError> => {
          if (response.status === 404 || response.status === 410) return Effect.fail(gone(response))
          return response.status >= 200 && response.status < 300 ? offsetHeader(response) : Http.failStatus(patchStatuses)(response)
        },
        { idempotent: false }
      )),
      Effect.catchAll((e) => Effect.fail(Option.getOrElse(sourceFailure, () => e)))
    )
  })

/** What {@link send} needs. */
export interface SendOptions {
  /** The absolute upload URL (already moved to the configured origin). */
  readonly url: string
  readonly reader: Reader
  /** The total length, when known. */
  readonly length: Option.Option<number>
  /** The size of the first chunk (and of every chunk, unless `grow`). */
  readonly chunkSize: number
  /**
   * Grow chunks read while they are sent: double the next after a whole chunk confirmed within `within`, up to
   * `max`; halve it after a failure, down to `chunkSize`.
   */
  readonly grow: Option.Option<{ readonly max: number; readonly within: Duration.Duration }>
  /** Waits between a failure and the HEAD that follows it; restarted whenever the server confirms progress. */
  readonly retry: Schedule.Schedule<unknown, unknown>
  /** The offset the server is known to be at (0 right after creation); `None` asks it with HEAD first. */
  readonly offset: Option.Option<number>
  readonly onProgress: (progress: Progress) => Effect.Effect<void>
}

/**
 * Sends the source to a tus upload URL until the server's offset equals the length; returns the length.
 */
export const send = (options: SendOptions): Effect.Effect<number, SendError, IvcapClient> =>
  Effect.gen(function*() {
    const { reader, url } = options
    let chunkSize = options.chunkSize
    const shrink = () => void (chunkSize = Math.max(options.chunkSize, Math.floor(chunkSize / 2)))
    const waiter = yield* makeWaiter(options.retry)
    let total = options.length
    let confirmed = 0
    let sent = 0
    /** The furthest byte this call has sent (what the server can hold at most, for an upload this call created). */
    let highWater = 0
    const report = Effect.suspend(() => options.onProgress(new Progress({ sent, confirmed, total })))
    const mismatch = (server: number, message: string) =>
      new UploadOffsetMismatch({ url, confirmed, server, ...Option.match(total, { onNone: () => ({}), onSome: (length) => ({ length }) }), message })
    const pause = waiter.wait
    const retrying = <A, E>(effect: Effect.Effect<A, E, IvcapClient>): Effect.Effect<A, E, IvcapClient> =>
      Effect.catchAll(effect, (e) => (isRetryable(e) ? Effect.zipRight(pause(e), retrying(effect)) : Effect.fail(e)))
    /** Asks the server where it is and checks that the upload can go on from there. */
    const sync = Effect.gen(function*() {
      const state = yield* retrying(head(url))
      if (state.offset < confirmed) return yield* mismatch(state.offset, `the server is at byte ${state.offset}, behind the ${confirmed} it confirmed before`)
      if (Option.isSome(total) && Option.isSome(state.length) && total.value !== state.length.value) {
        return yield* mismatch(state.offset, `the server expects ${state.length.value} bytes, the source has ${total.value}`)
      }
      // An upload whose offset was known at the start (created by this call) cannot hold more than was sent to it.
      const ceiling = Option.map(options.offset, (start) => Math.max(start, highWater))
      if (Option.isSome(ceiling) && state.offset > ceiling.value) {
        return yield* mismatch(state.offset, `the server is at byte ${state.offset}, beyond the ${ceiling.value} bytes sent to it`)
      }
      if (Option.isNone(total) && Option.isSome(state.length) && state.offset === state.length.value) {
        // A length the server reports for an upload of unknown length was declared by an earlier attempt's last
        // PATCH; the upload is complete only if the source really ends there.
        const rest = yield* reader.read(state.offset, 1)
        if (rest.length > 0) {
          return yield* mismatch(state.offset, `the server says the upload is complete at ${state.offset} bytes, the source has more`)
        }
        total = state.length
      }
      if (Option.isSome(total) && state.offset > total.value) {
        return yield* mismatch(state.offset, `the server is at byte ${state.offset}, beyond the length ${total.value}`)
      }
      if (isProgress(state.offset)) {
        yield* waiter.reset
        renewedSinceProgress = false
      }
      confirmed = state.offset
      sent = confirmed
      yield* report
    })
    /**
     * Whether moving to `offset` is real progress: at least `minimumChunkSize` bytes (or the rest of the source).
     * Only real progress restarts the retry schedule; a server that confirms a byte or two per request would
     * otherwise make the upload resend a whole chunk in a tight loop, for as long as the source lasts.
     */
    const isProgress = (offset: number) =>
      offset - confirmed >= Option.match(total, { onNone: () => minimumChunkSize, onSome: (t) => Math.min(minimumChunkSize, t - confirmed) })
    // A 401 to a PATCH (its token expired or was withdrawn mid-body) has renewed the token already (see
    // internal/authorize): ask the server for its offset with the new one and go on. Once per stretch of
    // progress; a second 401 without progress in between waits like any other failure.
    let renewedSinceProgress = false
    const onSent = (bytes: number) => Effect.suspend(() => {
      sent += bytes
      highWater = Math.max(highWater, sent)
      return report
    })

    if (Option.isSome(options.offset)) {
      confirmed = options.offset.value
      sent = confirmed
      yield* report
    } else {
      yield* sync
    }
    while (Option.isNone(total) || confirmed < total.value) {
      const remaining = Option.match(total, { onNone: () => chunkSize, onSome: (t) => Math.min(chunkSize, t - confirmed) })
      const piece = yield* reader.read(confirmed, remaining)
      const declaring = Option.isNone(total) && piece.length === 0 && piece.end
      if (Option.isSome(total) && piece.length === 0) {
        return yield* mismatch(confirmed, `the source ended at byte ${confirmed}, before its length ${total.value}`)
      }
      const started = yield* Clock.currentTimeMillis
      const attempt = yield* Effect.either(patch(url, confirmed, piece, {
        deferLength: Option.isNone(total),
        ...(declaring ? { uploadLength: confirmed } : {}),
        onSent
      }))
      if (attempt._tag === "Left") {
        shrink()
        if (attempt.left instanceof Unauthorized && !renewedSinceProgress) {
          renewedSinceProgress = true
          yield* Effect.logDebug("upload: the token was refused mid-upload; asking the server for its offset with the renewed one")
          yield* sync
          continue
        }
        if (!isRetryable(attempt.left) && !(attempt.left instanceof Unauthorized)) return yield* attempt.left
        yield* Effect.logDebug(`upload: ${attempt.left.message}; asking the server for its offset`)
        yield* pause(attempt.left)
        yield* sync
        continue
      }
      const server = attempt.right
      if (server < confirmed || server > confirmed + piece.length) {
        return yield* mismatch(server, `the server answered offset ${server} to ${piece.length} bytes sent at ${confirmed}`)
      }
      if (declaring) {
        total = Option.some(confirmed)
        yield* report
        break
      }
      if (server === confirmed && piece.length > 0) {
        // Accepted nothing: treat as a failure (wait, then ask), so a server that never moves ends the upload.
        yield* pause(mismatch(server, `the server accepted none of the ${piece.length} bytes sent at ${confirmed}`))
        yield* sync
        continue
      }
      if (Option.isSome(options.grow) && !(piece.bytes instanceof Uint8Array) && piece.length === chunkSize) {
        // A whole chunk read while it was sent: its size costs no memory, so grow it while the server keeps up.
        const took = (yield* Clock.currentTimeMillis) - started
        if (server === confirmed + piece.length && took < Duration.toMillis(options.grow.value.within)) {
          chunkSize = Math.min(options.grow.value.max, chunkSize * 2)
        } else if (server < confirmed + piece.length) shrink()
      }
      const tiny = !isProgress(server) && server - confirmed < piece.length
      if (server > confirmed && !tiny) {
        yield* waiter.reset
        renewedSinceProgress = false
      }
      const before = confirmed
      confirmed = server
      sent = Math.max(sent, confirmed)
      yield* report
      if (tiny) {
        // Confirmed almost nothing: keep the bytes, but wait like after a failure (and give up when the schedule
        // does), so the next PATCH is not sent at once.
        yield* pause(mismatch(server, `the server confirmed only ${server - before} of the ${piece.length} bytes sent at ${before}, again and again`))
      }
    }
    return confirmed
  })
