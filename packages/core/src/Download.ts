/**
 * Downloading artifact content (`GET <data-href>`, wire doc §7), as a Stream that survives dropped connections.
 *
 * The content URL is the record's `data-href` moved to the configured deployment when it names another host (as
 * the CLI and the newer Python client do), so the token never leaves the configured origin. A redirect (`301`,
 * `302`, `303`, `307`, `308`) is followed, at most {@link maxRedirects} in a row, to `http(s)` URLs only and never
 * from `https` to `http` (else `RedirectRefused`): with the token on the configured origin, without it anywhere
 * else (a pre-signed storage URL). The content is asked for unencoded (`Accept-Encoding: identity`); an answer with
 * another `Content-Encoding` is refused (`DownloadMismatch`, `encoding`). When the connection drops, stalls or
 * trickles (below {@link DownloadOptions.minRate}, a `RequestTimeout`) mid-body, the download continues with
 * `Range: bytes=<received>-` and `If-Range` with the first response's validator (its strong `ETag`, else its
 * `Last-Modified`) under a `Schedule` that restarts after every attempt that got further into the content than any
 * before it. The answer to a resumed request is checked: a `206` must start exactly where asked (`Content-Range`),
 * carry no body past the end its `Content-Range` gives, and the same validator (`ETag`, or `Last-Modified` when
 * that is what `If-Range` sent) when it has one; a `200` with the same validator means the server ignored the
 * range, and the prefix already delivered is skipped; a `200` with another validator means the content changed and
 * is never appended. Two versions are never spliced: when the server sent no validator, or the content changed,
 * the download starts again from byte 0 if the consumer can discard what it got (`onRestart`; `downloadToFile`
 * does), and fails with `DownloadMismatch` (`resume` or `etag`) otherwise. A restart is no progress until it gets
 * past the furthest byte reached before, so a server that cuts every answer at the same point ends the download
 * when the schedule is spent. At the end the byte count must equal the announced length and the record's `size`.
 *
 * @since 0.1.0
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Artifact from "./Artifact.js"
import * as ContentUrl from "./internal/dataHref.js"
import * as Engine from "./internal/download.js"
import type * as Http from "./internal/http.js"
import type { IvcapClient } from "./IvcapClient.js"
import { InvalidArgument } from "./IvcapError.js"
import type { RedirectRefused, RequestTimeout, TransportError } from "./IvcapError.js"
import type * as Urn from "./Urn.js"

/**
 * The content received does not match what was announced: a resumed response that starts elsewhere than asked, or
 * a body longer than its `Content-Range` (`range`), content that changed between two requests (`etag`: another
 * `ETag`, or another `Last-Modified` when that is the validator), a resume after bytes were delivered when the
 * server sent no validator (`resume`: neither `ETag` nor `Last-Modified`, so nothing proves the rest is the same
 * content), a byte count other than the announced length or the record's size (`size`), content whose digest is
 * not the expected one (`checksum`, node's `downloadToFile`), or a body sent with a `Content-Encoding` (`encoding`:
 * `gzip`, `br`…) although the download asked for none.
 *
 * @since 0.1.0
 */
export class DownloadMismatch extends /*#__PURE__*/ Schema.TaggedError<DownloadMismatch>()("DownloadMismatch", {
  url: Schema.String,
  reason: Schema.Literal("range", "etag", "size", "checksum", "resume", "encoding"),
  message: Schema.String
}) {}

/**
 * The key under which an HTTP response offers its body as a plain `AsyncIterable<Uint8Array>` besides the
 * platform's `stream` (see {@link IterableBodies}). Every piece it yields is the reader's to keep (never written
 * again), and `return()` on its iterator closes the connection.
 *
 * @since 0.2.0
 */
export const IterableBodyKey: unique symbol = /*#__PURE__*/ Symbol.for("@ivcap/core/Download/IterableBody") as never

/** A response that offers its body as an iterable under {@link IterableBodyKey}. @since 0.2.0 */
export interface IterableBodyResponse extends HttpClientResponse.HttpClientResponse {
  readonly [IterableBodyKey]: AsyncIterable<Uint8Array>
}

/** The body of `response` as a plain iterable, when its transport offers one ({@link IterableBodyKey}). @since 0.2.0 */
export const iterableBodyOf = (response: HttpClientResponse.HttpClientResponse): AsyncIterable<Uint8Array> | undefined => {
  const body = (response as Partial<IterableBodyResponse>)[IterableBodyKey]
  return body !== undefined && typeof body[Symbol.asyncIterator] === "function" ? body : undefined
}

/**
 * `true` while a download sends its `GET`s (the content's, and the record's in {@link record}): an `HttpClient` that
 * can answer with a body read without a Web or Effect stream per piece (`@ivcap/node`'s `NodeHttp`, which reads the
 * socket straight into 1 MiB slabs) does so for the `GET`s it sends meanwhile, and puts the body under
 * {@link IterableBodyKey}; the download engine then reads it with a plain loop. Other clients ignore it and the
 * engine reads `response.stream`, with the same checks either way.
 *
 * @since 0.2.0
 */
export class IterableBodies extends /*#__PURE__*/ Context.Reference<IterableBodies>()("@ivcap/core/Download/IterableBodies", {
  defaultValue: () => false
}) {}

/** Options of {@link stream}. @since 0.1.0 */
export interface DownloadOptions {
  /**
   * Waits between a dropped connection (or a transient error) and the request that resumes it; restarted whenever
   * an attempt gets further into the content than any before it (bytes again from 0 after a restart are no
   * progress). Default `Download.defaultRetrySchedule`.
   */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /** The longest wait for the next bytes of the body before the connection counts as dropped; default: the client's timeout. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * The idle-rate rule: an attempt that receives fewer than `bytesPerSecond` on average over a `window` (while the
   * consumer keeps up) fails with `RequestTimeout` and is resumed under `retry` like any timeout; a trickle is no
   * progress, so it does not restart the schedule. Default {@link defaultMinRate} (1 KiB/s over 30 s); `false`
   * turns the rule off.
   */
  readonly minRate?: MinRate | false | undefined
  /**
   * Lets the download start again from byte 0 when it cannot resume safely (no `ETag`/`Last-Modified` from the
   * server, or the content changed): called first, it must discard every byte the consumer received (truncate a
   * file, clear a buffer). Without it such a resume fails with `DownloadMismatch` (`resume` or `etag`) rather than
   * splicing two versions.
   */
  readonly onRestart?: Effect.Effect<void, DownloadError> | undefined
  /**
   * The most bytes the content may have: more is `DownloadMismatch` (`size`) as soon as they arrive. A bound for
   * a record that announces no `size` (whose body would otherwise be read as long as the server sends it); a record
   * with a larger `size` fails before any request. Default: none.
   */
  readonly maxBytes?: number | undefined
}

/** A minimum download rate: `bytesPerSecond` on average over each `window`. @since 0.1.0 */
export interface MinRate {
  readonly bytesPerSecond: number
  readonly window: Duration.DurationInput
}

/**
 * The default idle-rate rule: 1 KiB/s on average over each 30 s window (30 KiB), which only catches connections
 * that are as good as dead, such as a server trickling a few bytes a second.
 *
 * @since 0.1.0
 */
export const defaultMinRate: MinRate = { bytesPerSecond: 1024, window: "30 seconds" }

/**
 * The default wait before resuming: exponential from 250 ms (×2, jittered), each wait at most 10 s, at most 8 in a
 * row without getting further into the content. A `Retry-After` lengthens a wait.
 *
 * @since 0.1.0
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = /*#__PURE__*/ Schedule.exponential("250 millis", 2).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.intersect(Schedule.recurs(8))
)

/** The errors of a download. @since 0.1.0 */
export type DownloadError =
  | Artifact.GetError
  | Http.StatusError<(typeof Engine.getStatuses)[number]>
  | DownloadMismatch
  | InvalidArgument
  | RedirectRefused
  | TransportError
  | RequestTimeout

/** At most this many redirects are followed for one request of a download. @since 0.2.0 */
export const maxRedirects = 5

/** An artifact to download: its id (the record is read first) or a record already read. @since 0.1.0 */
export type ArtifactRef = Urn.ArtifactUrn | string | Artifact.ArtifactDetails

/**
 * The record of an artifact reference, read when only the id is given (with {@link IterableBodies} set, like the
 * content `GET`: a program that only downloads then never loads a second HTTP stack).
 *
 * @since 0.1.0
 */
export const record = (artifact: ArtifactRef): Effect.Effect<Artifact.ArtifactDetails, Artifact.GetError, IvcapClient> =>
  typeof artifact === "string" ? Effect.provideService(Artifact.get(artifact), IterableBodies, true) : Effect.succeed(artifact)

/**
 * The content URL of a record, on the configured origin (a `data-href` naming another host is moved to it); a
 * record without `data-href` fails with `InvalidArgument`.
 *
 * @since 0.1.0
 */
export const contentUrlOf: (artifact: Artifact.ArtifactDetails) => Effect.Effect<string, InvalidArgument, IvcapClient> = ContentUrl.contentUrlOf

/**
 * The content of an artifact as a Stream of byte chunks, resumed with `Range` after dropped connections. The
 * response's pieces (as the transport reads them: ~64 KiB with undici or fetch, up to 1 MiB with `@ivcap/node`'s
 * layers, see {@link IterableBodies}) are passed on unchanged and are the consumer's to keep, in Stream chunks of
 * about 1 MiB (what has arrived when 1 MiB is waiting, or 2 ms after the first piece while the consumer waits);
 * at most 4 MiB are read ahead of the consumer, after which the connection is left to fill (back-pressure).
 *
 * @example
 * Download.stream("urn:ivcap:artifact:…").pipe(Stream.runFold(0, (n, bytes) => n + bytes.length))
 * @since 0.1.0
 */
export const stream = (artifact: ArtifactRef, options: DownloadOptions = {}): Stream.Stream<Uint8Array, DownloadError, IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const details = yield* record(artifact)
    const url = yield* contentUrlOf(details)
    const minRate = options.minRate === false ? undefined : options.minRate ?? defaultMinRate
    const { maxBytes } = options
    if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
      return yield* new InvalidArgument({ argument: "maxBytes", message: `maxBytes must be a whole number of bytes, got ${String(maxBytes)}` })
    }
    if (maxBytes !== undefined && details.size !== undefined && details.size > maxBytes) {
      return yield* new DownloadMismatch({ url, reason: "size", message: `the record says ${details.size} bytes, more than maxBytes ${maxBytes}` })
    }
    return Engine.resumable({
      url,
      expectedSize: Option.fromNullable(details.size),
      maxBytes,
      retry: options.retry ?? defaultRetrySchedule,
      idleTimeout: options.idleTimeout,
      minRate: minRate === undefined ? undefined : {
        bytes: Math.ceil(minRate.bytesPerSecond * Duration.toSeconds(minRate.window)),
        window: Duration.decode(minRate.window)
      },
      onRestart: options.onRestart
    })
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
