/**
 * The download engine behind `Download` (wire doc §7): a `GET` of a content URL as a Stream that resumes with
 * `Range: bytes=<received>-` and `If-Range: <validator>` (the first answer's strong `ETag`, else its
 * `Last-Modified`) after a dropped, stalled or too slow connection, under a retry `Schedule` restarted whenever an
 * attempt makes progress, checking every answer against what was asked and announced. Without a validator it never
 * resumes mid-content (two versions could be spliced): it restarts from byte 0 when the consumer can discard what
 * it got (`onRestart`), and fails with `DownloadMismatch` (`resume`) otherwise; a `200` whose validator differs
 * (the content changed, `If-Range` did not match) is handled the same way, never appended.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { DownloadError } from "../Download.js"
import { DownloadMismatch } from "../Download.js"
import { IvcapClient } from "../IvcapClient.js"
import { isTransient, RequestTimeout, TransportError } from "../IvcapError.js"
import * as Http from "./http.js"
import { makeWaiter } from "./retry.js"

/** The statuses a content `GET` declares. */
export const getStatuses = [400, 403, 404, 501] as const

const contentRange = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i

/** A strong `ETag`, usable in `If-Range` (weak ones are not). */
const strongEtag = (response: HttpClientResponse.HttpClientResponse): Option.Option<string> =>
  Option.filter(Option.fromNullable(response.headers["etag"]), (e) => !e.startsWith("W/"))

/** The validator of an answer for `If-Range`: its strong `ETag`, else its `Last-Modified` (RFC 9110 §13.1.5). */
const validatorOf = (response: HttpClientResponse.HttpClientResponse): Option.Option<string> =>
  Option.orElse(strongEtag(response), () => Option.fromNullable(response.headers["last-modified"]))

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

/** A minimum transfer rate: fewer than `bytes` received over any `window` (while the consumer keeps up) fails. */
export interface MinRate {
  readonly bytes: number
  readonly window: Duration.Duration
}

/**
 * The body with its idle watchdog: fails with `onIdle()` when no bytes arrive for `idle`, and with `onSlow()` when
 * fewer than `minRate.bytes` arrive in a `minRate.window` (a window in which the consumer held the reader back is
 * not counted). The body is read by one
 * fiber into a small mailbox ({@link readAhead} pieces) that the consumer drains a chunk at a time, and one
 * watchdog fiber sleeps until the deadline the last piece pushed back and then fails the mailbox. Nothing runs
 * per piece but the reader's offer: `Stream.interruptWhen` (and `Stream.timeoutFail`) fork and race per pull,
 * which was two thirds of a download's client CPU. Pieces already read are delivered before a failure, so a
 * resume starts after every byte received.
 */
const watchedBody = <E, E2>(
  self: Stream.Stream<Uint8Array, E>,
  idle: Duration.Duration,
  onIdle: () => E2,
  minRate: MinRate | undefined,
  onSlow: () => E2
): Stream.Stream<Uint8Array, E | E2> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const clock = yield* Effect.clock
    const idleMillis = Duration.toMillis(idle)
    let last = clock.unsafeCurrentTimeMillis()
    const mailbox = yield* Mailbox.make<Uint8Array, E | E2>({ capacity: readAhead })
    const watchdog: Effect.Effect<boolean> = Effect.suspend(() => {
      const left = last + idleMillis - clock.unsafeCurrentTimeMillis()
      return left <= 0 ? mailbox.fail(onIdle()) : Effect.zipRight(clock.sleep(Duration.millis(left)), watchdog)
    })
    let windowBytes = 0
    let heldBack = false
    const rateWatch = (rate: MinRate): Effect.Effect<boolean> =>
      Effect.zipRight(
        clock.sleep(rate.window),
        Effect.suspend(() => {
          const slow = windowBytes < rate.bytes && !heldBack
          windowBytes = 0
          heldBack = false
          return slow ? mailbox.fail(onSlow()) : rateWatch(rate)
        })
      )
    yield* self.pipe(
      Stream.runForEachChunk((chunk) => {
        last = clock.unsafeCurrentTimeMillis()
        for (const bytes of chunk) windowBytes += bytes.length
        const rest = mailbox.unsafeOfferAll(chunk)
        if (Chunk.isEmpty(rest)) return Effect.void
        // The consumer is behind: this window says nothing about the server's rate.
        heldBack = true
        return Effect.asVoid(mailbox.offerAll(rest))
      }),
      Effect.exit,
      Effect.flatMap((exit) => mailbox.done(exit)),
      Effect.forkScoped
    )
    yield* Effect.forkScoped(watchdog)
    if (minRate !== undefined && minRate.bytes > 0) yield* Effect.forkScoped(rateWatch(minRate))
    return Mailbox.toStream(mailbox)
  }))

/** What the engine needs to fetch one content URL. */
export interface Options {
  /** The absolute content URL, already on the configured origin. */
  readonly url: string
  /** The size the record announces, when it does: the content must have exactly that many bytes. */
  readonly expectedSize: Option.Option<number>
  /** Waits before resuming; restarted whenever bytes arrive. */
  readonly retry: Schedule.Schedule<unknown, unknown>
  /** The longest wait for the next bytes; default the client's timeout. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** The minimum rate; `undefined` = none. */
  readonly minRate?: MinRate | undefined
  /**
   * Discards what the consumer got so far, before the content is sent again from byte 0 (no validator to resume
   * with, or the content changed). Without it such a resume fails with `DownloadMismatch`.
   */
  readonly onRestart?: Effect.Effect<void, DownloadError> | undefined
}

/** The content at `url` as a Stream that resumes dropped connections (see the module comment). */
export const resumable = (options: Options): Stream.Stream<Uint8Array, DownloadError, IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const { expectedSize, onRestart, url } = options
    const client = yield* IvcapClient
    const { timeout } = yield* client.requestOptions
    const idle = options.idleTimeout === undefined ? timeout : Duration.decode(options.idleTimeout)
    const waiter = yield* makeWaiter(options.retry)
    let received = 0
    /** Bytes received by the current attempt (the retry schedule restarts after an attempt that made progress). */
    let progressed = false
    let length: Option.Option<number> = Option.none()
    let validator: Option.Option<string> = Option.none()
    const mismatch = (reason: DownloadMismatch["reason"], message: string) => new DownloadMismatch({ url, reason, message })

    /** Forgets the content received so far (the consumer discarded it): the next answer starts it again. */
    const restart = Effect.suspend(() => {
      received = 0
      length = Option.none()
      validator = Option.none()
      return onRestart ?? Effect.void
    })

    /** Checks the answer to a request for the bytes from `offset` on; returns how many leading bytes to skip. */
    const accept = (response: HttpClientResponse.HttpClientResponse, offset: number): Effect.Effect<number, DownloadError> => {
      const responseValidator = validatorOf(response)
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
      if (offset === 0 && (response.status === 200 || response.status === 206)) validator = responseValidator
      if (response.status === 206) {
        const etag = strongEtag(response)
        if (Option.isSome(validator) && Option.isSome(etag) && validator.value.startsWith("\"") && validator.value !== etag.value) {
          return Effect.fail(mismatch("etag", `the content changed while downloading (ETag ${validator.value} → ${etag.value})`))
        }
        const m = contentRange.exec(response.headers["content-range"] ?? "")
        if (m === null || Number(m[1]) !== offset) {
          return Effect.fail(mismatch("range", `asked for bytes from ${offset}, got Content-Range ${JSON.stringify(response.headers["content-range"] ?? null)}`))
        }
        return Effect.as(announce(m[3] === "*" ? Option.none() : Option.some(Number(m[3]))), 0)
      }
      if (response.status === 200) {
        const total = Http.intHeader(response.headers["content-length"])
        // The same validator: the server ignored the range, skip what was already delivered.
        if (offset === 0 || Option.getOrUndefined(validator) === Option.getOrUndefined(responseValidator)) {
          return Effect.as(announce(total), offset)
        }
        // Another (or no) validator: the content changed (`If-Range` did not match), never append it.
        const changed = `the content changed while downloading (${Option.getOrElse(validator, () => "no validator")} → ${
          Option.getOrElse(responseValidator, () => "none")
        })`
        if (onRestart === undefined) return Effect.fail(mismatch("etag", `${changed}; it cannot be appended to the ${offset} bytes delivered`))
        return restart.pipe(
          Effect.zipRight(Effect.sync(() => {
            validator = responseValidator
          })),
          Effect.zipRight(announce(total)),
          Effect.as(0)
        )
      }
      return Http.failStatus(getStatuses)(response)
    }

    const open = (offset: number) => {
      const headers: Record<string, string> = { "cache-control": "no-cache" }
      if (offset > 0 && Option.isSome(validator)) {
        headers["range"] = `bytes=${offset}-`
        headers["if-range"] = validator.value
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
            Stream.mapError(Http.transportError)
          )
        ),
        idle,
        () => new RequestTimeout({ method: "GET", url, timeout: idle }),
        options.minRate,
        () =>
          new RequestTimeout({
            method: "GET",
            url,
            timeout: options.minRate!.window,
            reason: `fewer than ${options.minRate!.bytes} bytes received in ${Duration.format(options.minRate!.window)}`
          })
      ).pipe(
        // Bookkeeping per chunk of elements: count, check against the announced length.
        Stream.mapChunksEffect((chunk) => {
          for (const bytes of chunk) received += bytes.length
          if (chunk.length > 0) progressed = true
          if (Option.isSome(length) && received > length.value) {
            return Effect.fail(mismatch("size", `received more than the announced ${length.value} bytes`))
          }
          // Stop as soon as a body outgrows the record, rather than reading the rest of it.
          return Option.isSome(expectedSize) && received > expectedSize.value
            ? Effect.fail(mismatch("size", `received more than the record's ${expectedSize.value} bytes`))
            : Effect.succeed(chunk)
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

    /** A transient error resumes after a wait; the schedule restarts after an attempt that made progress in time. */
    const resumeAfter = (error: DownloadError): Stream.Stream<Uint8Array, DownloadError> => {
      if (!isTransient(error)) return Stream.fail(error)
      // A too slow attempt did receive bytes, but is no progress: a trickle must exhaust the schedule.
      const slow = error._tag === "RequestTimeout" && error.reason !== undefined
      const reset = progressed && !slow ? waiter.reset : Effect.void
      progressed = false
      return Stream.unwrap(Effect.as(Effect.zipRight(reset, waiter.wait(error)), Stream.suspend(() => resume)))
    }

    /** The next attempt: from the bytes received with a validator; else from byte 0 when nothing (or `onRestart`) allows. */
    const resume = Stream.suspend((): Stream.Stream<Uint8Array, DownloadError> => {
      if (received === 0 || Option.isSome(validator)) return from(received)
      if (onRestart === undefined) {
        return Stream.fail(mismatch(
          "resume",
          `the server sent neither ETag nor Last-Modified, so the download cannot resume after ${received} bytes without risking two versions spliced together`
        ))
      }
      return Stream.unwrap(Effect.as(restart, Stream.suspend(() => from(0))))
    })

    const from = (offset: number): Stream.Stream<Uint8Array, DownloadError> =>
      Stream.unwrap(
        Effect.map(open(offset), ({ response, toSkip }) => Stream.concat(body(response, toSkip), ended))
      ).pipe(Stream.catchAll(resumeAfter))

    return from(0)
  }))
