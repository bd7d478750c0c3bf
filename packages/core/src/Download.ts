/**
 * Downloading artifact content (`GET <data-href>`, wire doc §7), as a Stream that survives dropped connections.
 *
 * The content URL is the record's `data-href` moved to the configured deployment when it names another host (as
 * the CLI and the newer Python client do), so the token never leaves the configured origin. When the connection
 * drops or stalls mid-body, the download continues with `Range: bytes=<received>-` (and `If-Range` with the
 * first response's `ETag`) under a `Schedule` that restarts whenever bytes arrive. The answer to a resumed request
 * is checked: a `206` must start exactly where asked (`Content-Range`); a `200` means the server ignored the range,
 * and the prefix already delivered is skipped — unless its `ETag` shows the content changed, which fails with
 * `DownloadMismatch`. At the end the byte count must equal the announced length and the record's `size`.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Artifact from "./Artifact.js"
import { contentUrl } from "./internal/dataHref.js"
import * as Http from "./internal/http.js"
import { makeWaiter } from "./internal/retry.js"
import { IvcapClient, transportError } from "./IvcapClient.js"
import { InvalidArgument, isTransient, RequestTimeout, TransportError } from "./IvcapError.js"
import type * as Urn from "./Urn.js"

/**
 * The content received does not match what was announced: a resumed response that starts elsewhere than asked
 * (`range`), content that changed between two requests (`etag`), a byte count other than the announced length
 * or the record's size (`size`), or content whose digest is not the expected one (`checksum`, node's
 * `downloadToFile`).
 *
 * @since 0.1.0
 */
export class DownloadMismatch extends /*#__PURE__*/ Schema.TaggedError<DownloadMismatch>()("DownloadMismatch", {
  url: Schema.String,
  reason: Schema.Literal("range", "etag", "size", "checksum"),
  message: Schema.String
}) {}

/** Options of {@link stream}. @since 0.1.0 */
export interface DownloadOptions {
  /**
   * Waits between a dropped connection (or a transient error) and the request that resumes it; restarted whenever
   * bytes arrive. Default {@link defaultRetrySchedule}.
   */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /** The longest wait for the next bytes of the body before the connection counts as dropped; default: the client's timeout. */
  readonly idleTimeout?: Duration.DurationInput | undefined
}

/**
 * The default wait before resuming: exponential from 250 ms (×2, jittered), each wait at most 10 s, at most 8 in a
 * row without new bytes. A `Retry-After` lengthens a wait.
 *
 * @since 0.1.0
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = /*#__PURE__*/ Schedule.exponential("250 millis", 2).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.intersect(Schedule.recurs(8))
)

const getStatuses = [400, 403, 404, 501] as const

/** The errors of a download. @since 0.1.0 */
export type DownloadError =
  | Artifact.GetError
  | Http.StatusError<(typeof getStatuses)[number]>
  | DownloadMismatch
  | InvalidArgument
  | TransportError
  | RequestTimeout

/** An artifact to download: its id (the record is read first) or a record already read. @since 0.1.0 */
export type ArtifactRef = Urn.ArtifactUrn | string | Artifact.ArtifactDetails

/** The record of an artifact reference, read when only the id is given. @since 0.1.0 */
export const record = (artifact: ArtifactRef): Effect.Effect<Artifact.ArtifactDetails, Artifact.GetError, IvcapClient> =>
  typeof artifact === "string" ? Artifact.get(artifact) : Effect.succeed(artifact)

/** The content URL of a record, on the configured origin. @since 0.1.0 */
export const contentUrlOf = (artifact: Artifact.ArtifactDetails): Effect.Effect<string, InvalidArgument, IvcapClient> =>
  Effect.flatMap(IvcapClient, (client) =>
    artifact.dataHref === undefined
      ? Effect.fail(new InvalidArgument({ argument: "artifact", message: `artifact ${artifact.id} has no data-href (no content)` }))
      : contentUrl(client, artifact.dataHref))

const contentRange = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i

/** A strong `ETag`, usable in `If-Range` (weak ones are not). */
const strongEtag = (response: HttpClientResponse.HttpClientResponse): Option.Option<string> =>
  Option.filter(Option.fromNullable(response.headers["etag"]), (e) => !e.startsWith("W/"))

const intHeader = (value: string | undefined): Option.Option<number> =>
  value !== undefined && /^\d+$/.test(value.trim()) ? Option.some(Number(value.trim())) : Option.none()

/** Drops the first `n` bytes of a stream (per chunk of elements). */
const skip = <E>(n: number, body: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E> =>
  n === 0 ? body : Stream.suspend(() => {
    let left = n
    return Stream.mapChunks(body, (chunk) => {
      if (left === 0) return chunk
      const kept: Array<Uint8Array> = []
      for (const bytes of chunk) {
        const dropped = Math.min(left, bytes.length)
        left -= dropped
        if (dropped < bytes.length) kept.push(dropped === 0 ? bytes : bytes.subarray(dropped))
      }
      return Chunk.unsafeFromArray(kept)
    })
  })

/** How many pieces of the body (~64 KiB each) the reader may get ahead of the consumer. */
const readAhead = 16

/**
 * The body with its idle watchdog: fails with `onIdle()` when no bytes arrive for `idle`. The body is read by one
 * fiber into a small mailbox ({@link readAhead} pieces) that the consumer drains a chunk at a time, and one
 * watchdog fiber sleeps until the deadline the last piece pushed back and then fails the mailbox. Nothing runs
 * per piece but the reader's offer: `Stream.interruptWhen` (and `Stream.timeoutFail`) fork and race per pull,
 * which was two thirds of a download's client CPU. Pieces already read are delivered before a failure, so a
 * resume starts after every byte received.
 */
const watchedBody = <E, E2>(self: Stream.Stream<Uint8Array, E>, idle: Duration.Duration, onIdle: () => E2): Stream.Stream<Uint8Array, E | E2> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const clock = yield* Effect.clock
    const idleMillis = Duration.toMillis(idle)
    let last = clock.unsafeCurrentTimeMillis()
    const mailbox = yield* Mailbox.make<Uint8Array, E | E2>({ capacity: readAhead })
    const watchdog: Effect.Effect<boolean> = Effect.suspend(() => {
      const left = last + idleMillis - clock.unsafeCurrentTimeMillis()
      return left <= 0 ? mailbox.fail(onIdle()) : Effect.zipRight(clock.sleep(Duration.millis(left)), watchdog)
    })
    yield* self.pipe(
      Stream.runForEachChunk((chunk) => {
        last = clock.unsafeCurrentTimeMillis()
        return mailbox.offerAll(chunk)
      }),
      Effect.exit,
      Effect.flatMap((exit) => mailbox.done(exit)),
      Effect.forkScoped
    )
    yield* Effect.forkScoped(watchdog)
    return Mailbox.toStream(mailbox)
  }))

/**
 * The content of an artifact as a Stream of byte chunks, resumed with `Range` after dropped connections. The
 * response's pieces are passed on unchanged; at most 16 of them (~1 MiB) are read ahead of the consumer.
 *
 * @example
 * Download.stream("urn:ivcap:artifact:…").pipe(Stream.runFold(0, (n, bytes) => n + bytes.length))
 * @since 0.1.0
 */
export const stream = (artifact: ArtifactRef, options: DownloadOptions = {}): Stream.Stream<Uint8Array, DownloadError, IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const details = yield* record(artifact)
    const url = yield* contentUrlOf(details)
    const client = yield* IvcapClient
    const { timeout } = yield* client.requestOptions
    const idle = options.idleTimeout === undefined ? timeout : Duration.decode(options.idleTimeout)
    const waiter = yield* makeWaiter(options.retry ?? defaultRetrySchedule)
    const expectedSize = Option.fromNullable(details.size)
    let received = 0
    let length: Option.Option<number> = Option.none()
    let etag: Option.Option<string> = Option.none()
    const mismatch = (reason: DownloadMismatch["reason"], message: string) => new DownloadMismatch({ url, reason, message })

    /** Checks the answer to a request for the bytes from `offset` on; returns how many leading bytes to skip. */
    const accept = (response: HttpClientResponse.HttpClientResponse, offset: number): Effect.Effect<number, DownloadError> => {
      const responseEtag = strongEtag(response)
      if (Option.isSome(etag) && Option.isSome(responseEtag) && etag.value !== responseEtag.value) {
        return Effect.fail(mismatch("etag", `the content changed while downloading (ETag ${etag.value} → ${responseEtag.value})`))
      }
      if (Option.isNone(etag)) etag = responseEtag
      const announce = (total: Option.Option<number>) => {
        if (Option.isSome(length) && Option.isSome(total) && length.value !== total.value) {
          return Effect.fail(mismatch("size", `the length changed from ${length.value} to ${total.value} bytes`))
        }
        // A body announced at another size than the record's is refused before it is read.
        if (Option.isSome(expectedSize) && Option.isSome(total) && expectedSize.value !== total.value) {
          return Effect.fail(mismatch("size", `the server announces ${total.value} bytes, the record says ${expectedSize.value}`))
        }
        if (Option.isNone(length)) length = total
        return Effect.void
      }
      if (response.status === 206) {
        const m = contentRange.exec(response.headers["content-range"] ?? "")
        if (m === null || Number(m[1]) !== offset) {
          return Effect.fail(mismatch("range", `asked for bytes from ${offset}, got Content-Range ${JSON.stringify(response.headers["content-range"] ?? null)}`))
        }
        return Effect.as(announce(m[3] === "*" ? Option.none() : Option.some(Number(m[3]))), 0)
      }
      if (response.status === 200) {
        // A full answer to a resumed request: the server ignored the range (or the ETag no longer matched `If-Range`,
        // caught above when the server sends one): skip what was already delivered.
        return Effect.as(announce(intHeader(response.headers["content-length"])), offset)
      }
      return Http.failStatus(getStatuses)(response)
    }

    const open = (offset: number) => {
      const headers: Record<string, string> = { "cache-control": "no-cache" }
      if (offset > 0) {
        headers["range"] = `bytes=${offset}-`
        if (Option.isSome(etag)) headers["if-range"] = etag.value
      }
      const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers))
      return client.call(request, (response) => Effect.map(accept(response, offset), (toSkip) => ({ response, toSkip })), { idempotent: false })
    }

    const body = (response: HttpClientResponse.HttpClientResponse, toSkip: number): Stream.Stream<Uint8Array, DownloadError> =>
      watchedBody(
        skip(
          toSkip,
          response.stream.pipe(
            // Never the platform error itself: its request carries the headers, token included.
            Stream.mapError(transportError)
          )
        ),
        idle,
        () => new RequestTimeout({ method: "GET", url, timeout: idle })
      ).pipe(
        // Bookkeeping per chunk of elements: count, check against the announced length, restart the retry schedule.
        Stream.mapChunksEffect((chunk) => {
          for (const bytes of chunk) received += bytes.length
          if (Option.isSome(length) && received > length.value) {
            return Effect.fail(mismatch("size", `received more than the announced ${length.value} bytes`))
          }
          // Stop as soon as a body outgrows the record, rather than reading the rest of it.
          return Option.isSome(expectedSize) && received > expectedSize.value
            ? Effect.fail(mismatch("size", `received more than the record's ${expectedSize.value} bytes`))
            : Effect.as(waiter.reset, chunk)
        })
      )

    /** The end of a response: complete, or cut short (resume), checked against the record. */
    const ended = Stream.suspend((): Stream.Stream<Uint8Array, DownloadError> => {
      if (Option.isSome(length) && received < length.value) {
        return resumeAfter(new TransportError({ method: "GET", url, reason: `the connection closed after ${received} of ${length.value} bytes` }))
      }
      if (Option.isSome(expectedSize) && received !== expectedSize.value) {
        return Stream.fail(mismatch("size", `received ${received} bytes, the record says ${expectedSize.value}`))
      }
      return Stream.empty
    })

    const resumeAfter = (error: DownloadError): Stream.Stream<Uint8Array, DownloadError> =>
      isTransient(error)
        ? Stream.unwrap(Effect.as(waiter.wait(error), Stream.suspend(() => from(received))))
        : Stream.fail(error)

    const from = (offset: number): Stream.Stream<Uint8Array, DownloadError> =>
      Stream.unwrap(
        Effect.map(open(offset), ({ response, toSkip }) => Stream.concat(body(response, toSkip), ended))
      ).pipe(Stream.catchAll(resumeAfter))

    return from(0)
  })).pipe(Stream.withSpan("ivcap.Download.stream", { attributes: { "ivcap.id": typeof artifact === "string" ? artifact : artifact.id } }))

/**
 * The content of an artifact as a `Blob` typed with its `mime-type` (in memory: for what fits there; use
 * {@link stream}, or `downloadToFile` on node, for large content).
 *
 * @since 0.1.0
 */
export const toBlob = (artifact: ArtifactRef, options: DownloadOptions = {}): Effect.Effect<Blob, DownloadError, IvcapClient> =>
  Effect.gen(function*() {
    const details = yield* record(artifact)
    // Response bodies are views of plain ArrayBuffers (never shared memory), so they are valid BlobParts.
    const parts: Array<BlobPart> = []
    yield* Stream.runForEach(stream(details, options), (bytes) => Effect.sync(() => parts.push(bytes as Uint8Array<ArrayBuffer>)))
    return new Blob(parts, { type: details.mimeType ?? "application/octet-stream" })
  }).pipe(Effect.withSpan("ivcap.Download.toBlob"))
