/**
 * The download engine behind `Download` (wire doc §7): a `GET` of a content URL as a Stream that resumes with
 * `Range: bytes=<received>-` and `If-Range: <validator>` (the first answer's strong `ETag`, else its
 * `Last-Modified`) after a dropped, stalled or too slow connection, under a retry `Schedule` restarted whenever an
 * attempt gets further into the content than any before it, checking every answer against what was asked and
 * announced, following redirects (the token only on the configured origin). Without a validator it never
 * resumes mid-content (two versions could be spliced): it restarts from byte 0 when the consumer can discard what
 * it got (`onRestart`), and fails with `DownloadMismatch` (`resume`) otherwise; a `200` whose validator differs
 * (the content changed, `If-Range` did not match) is handled the same way, never appended.
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { DownloadError } from "../Download.js"
import { DownloadMismatch, IterableBodies, iterableBodyOf, maxRedirects } from "../Download.js"
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

/**
 * What an answer says of the validator `kind` of `validator` (an entity tag, quoted, or a date): its strong `ETag`
 * for an entity tag, its `Last-Modified` for a date. A `206` whose one differs is another version of the content.
 */
const sameKindValidator = (response: HttpClientResponse.HttpClientResponse, validator: string): Option.Option<string> =>
  validator.startsWith("\"") ? strongEtag(response) : Option.fromNullable(response.headers["last-modified"])

/** The statuses after which a `GET` is sent again to `Location`. */
const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/** The `Content-Encoding` of an answer when it is not the identity (the bytes are then not the content's). */
const encodingOf = (response: HttpClientResponse.HttpClientResponse): string | undefined => {
  const encoding = response.headers["content-encoding"]?.trim()
  return encoding === undefined || encoding === "" || encoding.toLowerCase() === "identity" ? undefined : encoding
}

/** The content codings a fetch-based transport decodes by itself. */
const knownEncodings: ReadonlySet<string> = new Set(["gzip", "x-gzip", "deflate", "br", "zstd"])

const encodingMessage = (encoding: string) =>
  `the server sent the content with Content-Encoding ${JSON.stringify(encoding)} although it was asked for none (Accept-Encoding: identity), and the transport did not decode it; encoded bytes cannot be checked against the record's size nor resumed`

/**
 * Whether `bytes` (the start of a body sent with `encoding`) are still encoded: the transport did not decode them.
 * Fetch-based transports (browsers, Node's `fetch`) decode `gzip`, `deflate`, `br` and `zstd` themselves and leave
 * the header in place; raw ones (`NodeHttp`, `node:http`) hand on the encoded bytes. `gzip`, `zstd` and zlib
 * `deflate` are recognised by their magic bytes; an encoding without one (`br`) is taken as decoded, and the
 * record's size still checks the result.
 */
const stillEncoded = (encoding: string, bytes: Uint8Array): boolean => {
  switch (encoding.toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return bytes[0] === 0x1f && bytes[1] === 0x8b
    case "deflate":
      return bytes.length >= 2 && (bytes[0]! & 0x0f) === 8 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0
    case "zstd":
      return bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd
    default:
      return false
  }
}

/** The reader hands the consumer what it has read once this many bytes are waiting (or after {@link flushDelay}). */
export const batchBytes = 1024 * 1024

/** How long the first bytes of a batch may wait for more while the consumer waits (the latency batching costs). */
const flushDelay = 2

/** How far (bytes) the reader may get ahead of the consumer before it stops reading: the socket is then paused. */
export const readAheadBytes = 4 * batchBytes

/** A minimum transfer rate: fewer than `bytes` received over any `window` (while the consumer keeps up) fails. */
export interface MinRate {
  readonly bytes: number
  readonly window: Duration.Duration
}

/** How {@link watchedBody} reads one response body. */
interface BodyOptions<E> {
  /** Leading bytes to drop (a `200` to a resumed request repeats the content from byte 0). */
  readonly skip: number
  /** Called with each batch's size as it is read (before it is queued); an error ends the body with it. */
  readonly count: (bytes: number) => E | undefined
  /** Called with the first bytes kept (before they are counted); an error ends the body with it. */
  readonly first?: ((bytes: Uint8Array) => E | undefined) | undefined
  readonly idle: Duration.Duration
  readonly onIdle: () => E
  readonly minRate: MinRate | undefined
  readonly onSlow: () => E
  /** The error of a failed read (the platform's errors carry the request, token included: never pass them on). */
  readonly onError: (error: HttpClientError.HttpClientError) => E
}

/**
 * A response body as a Stream, read in one stage: one reader fiber drains the platform's body stream and, per
 * piece it gets, drops the bytes to skip, counts (and checks, `count`) the rest and queues them; the consumer takes
 * everything queued at once, as soon as {@link batchBytes} are waiting or {@link flushDelay} ms after the first of
 * them, so a GiB crosses into the Stream as ~1,024 chunks rather than 16,384 pieces of 64 KiB each woken for
 * separately. The reader stops (and the socket fills) when {@link readAheadBytes} wait. One watchdog fiber sleeps
 * until the deadline the last read pushed back and fails the body with `onIdle()` when no bytes arrive for `idle`;
 * with a `minRate`, a window with fewer bytes (in which the consumer did not hold the reader back) fails it with
 * `onSlow()`. Bytes already read are delivered before a failure, so a resume starts after every byte counted.
 */
const watchedBody = <E>(response: HttpClientResponse.HttpClientResponse, options: BodyOptions<E>): Stream.Stream<Uint8Array, E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const clock = yield* Effect.clock
    const idleMillis = Duration.toMillis(options.idle)
    let last = clock.unsafeCurrentTimeMillis()
    let skip = options.skip
    let first = options.first
    let queue: Array<Uint8Array> = []
    let queued = 0
    let end: Exit.Exit<void, E> | undefined
    /** The consumer waiting for bytes, and the reader waiting for room. */
    let consumer: ((pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>>) => void) | undefined
    let reader: (() => void) | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    let windowBytes = 0
    let heldBack = false

    /** Everything queued, or the end once the queue is empty. */
    const next = (): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>> => {
      if (queue.length > 0) {
        const chunk = Chunk.unsafeFromArray(queue)
        queue = []
        queued = 0
        const resume = reader
        reader = undefined
        resume?.()
        return Effect.succeed(chunk)
      }
      return end !== undefined && Exit.isFailure(end) ? Effect.failCause(Cause.map(end.cause, Option.some)) : Effect.fail(Option.none())
    }
    const wake = () => {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      const resume = consumer
      if (resume === undefined) return
      consumer = undefined
      resume(next())
    }
    const finish = (exit: Exit.Exit<void, E>) => {
      end ??= exit
      wake()
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => timer !== undefined && clearTimeout(timer)))

    /**
     * Takes the pieces of one read: skips, counts (`count` may refuse them) and queues them, and wakes the consumer
     * when a batch is ready. Returns an error to end the body with, else whether the reader may go on (`false`: the
     * consumer is {@link readAheadBytes} behind, wait for {@link room}).
     */
    const take = (pieces: Iterable<Uint8Array>): E | boolean => {
      last = clock.unsafeCurrentTimeMillis()
      let bytes = 0
      const kept: Array<Uint8Array> = []
      for (let piece of pieces) {
        if (skip > 0) {
          const dropped = Math.min(skip, piece.length)
          skip -= dropped
          piece = piece.subarray(dropped)
        }
        if (piece.length === 0) continue
        if (first !== undefined) {
          const refused = first(piece)
          first = undefined
          if (refused !== undefined) return refused
        }
        kept.push(piece)
        bytes += piece.length
      }
      if (bytes === 0) return true
      windowBytes += bytes
      const error = options.count(bytes)
      if (error !== undefined) return error
      for (const piece of kept) queue.push(piece)
      queued += bytes
      if (consumer !== undefined) {
        if (queued >= batchBytes) wake()
        else timer ??= setTimeout(wake, flushDelay)
      }
      if (queued < readAheadBytes) return true
      // The consumer is behind: this window says nothing about the server's rate.
      heldBack = true
      return false
    }
    /** Calls `resume` once the consumer has taken what is queued. */
    const room = (resume: () => void) => {
      reader = resume
    }

    const offer = (chunk: Chunk.Chunk<Uint8Array>): Effect.Effect<void, E> => {
      // After a failure (the watchdog's) the reader only waits to be interrupted.
      if (end !== undefined) return Effect.never
      const taken = take(chunk)
      if (taken === true) return Effect.void
      if (taken !== false) return Effect.fail(taken)
      return Effect.async<void>((resume) => {
        room(() => resume(Effect.void))
        return Effect.sync(() => {
          reader = undefined
        })
      })
    }
    const iterable = iterableBodyOf(response)
    // A transport's plain iterable (no Stream step per piece), read by a loop of promises; else the platform's stream.
    const read: Effect.Effect<void, E> = iterable !== undefined
      ? Effect.async<void, E>((resume) => {
        const iterator = iterable[Symbol.asyncIterator]()
        let stopped = false
        const step = (): void => {
          iterator.next().then((result) => {
            if (stopped) return
            if (result.done === true) return resume(Effect.void)
            // After a failure (the watchdog's) the reader only waits to be interrupted.
            if (end !== undefined) return
            const taken = take([result.value])
            if (taken === true) return step()
            if (taken === false) return room(step)
            stopped = true
            void iterator.return?.()
            resume(Effect.fail(taken))
          }, (cause: unknown) => {
            if (!stopped) resume(Effect.fail(options.onError(new HttpClientError.ResponseError({ request: response.request, response, reason: "Decode", cause }))))
          })
        }
        step()
        return Effect.sync(() => {
          stopped = true
          reader = undefined
          void iterator.return?.()
        })
      })
      : response.stream.pipe(
        Stream.runForEachChunk(offer),
        Effect.mapError((e) => (HttpClientError.isHttpClientError(e) ? options.onError(e) : e))
      )
    yield* read.pipe(
      Effect.exit,
      Effect.flatMap((exit) => Effect.sync(() => finish(exit))),
      Effect.forkScoped
    )

    const watchdog: Effect.Effect<void> = Effect.suspend(() => {
      const left = last + idleMillis - clock.unsafeCurrentTimeMillis()
      return left <= 0 ? Effect.sync(() => finish(Exit.fail(options.onIdle()))) : Effect.zipRight(clock.sleep(Duration.millis(left)), watchdog)
    })
    yield* Effect.forkScoped(watchdog)
    const rate = options.minRate
    if (rate !== undefined && rate.bytes > 0) {
      const rateWatch: Effect.Effect<void> = Effect.zipRight(
        clock.sleep(rate.window),
        Effect.suspend(() => {
          const slow = windowBytes < rate.bytes && !heldBack
          windowBytes = 0
          heldBack = false
          return slow ? Effect.sync(() => finish(Exit.fail(options.onSlow()))) : rateWatch
        })
      )
      yield* Effect.forkScoped(rateWatch)
    }

    const pull = Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<E>>((resume) => {
      if (queued >= batchBytes || end !== undefined) return resume(next())
      consumer = resume
      if (queue.length > 0) timer ??= setTimeout(wake, flushDelay)
      return Effect.sync(() => {
        consumer = undefined
      })
    })
    return Stream.repeatEffectChunkOption(pull)
  }))

/** What the engine needs to fetch one content URL. */
export interface Options {
  /** The absolute content URL, already on the configured origin. */
  readonly url: string
  /** The size the record announces, when it does: the content must have exactly that many bytes. */
  readonly expectedSize: Option.Option<number>
  /** The most bytes the content may have (`DownloadOptions.maxBytes`), if bounded. */
  readonly maxBytes?: number | undefined
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
    const { expectedSize, maxBytes, onRestart, url } = options
    const client = yield* IvcapClient
    const { timeout } = yield* client.requestOptions
    const idle = options.idleTimeout === undefined ? timeout : Duration.decode(options.idleTimeout)
    const waiter = yield* makeWaiter(options.retry)
    let received = 0
    /**
     * The furthest point of the content any attempt reached (a restart from byte 0 does not lower it): only bytes
     * past it are progress, so a server that cuts every answer at the same point, or sends a new version each time
     * and so forces restarts, exhausts the schedule instead of restarting it for ever.
     */
    let furthest = 0
    /** The current attempt went past {@link furthest} (the retry schedule restarts after an attempt that made progress). */
    let progressed = false
    /** The end (exclusive) of the range the current answer announced: a `206`'s `Content-Range`, else none. */
    let rangeEnd = Number.POSITIVE_INFINITY
    /** The `Content-Encoding` of the answer being read (which the transport must have decoded), if any. */
    let encoded: string | undefined = undefined
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
      encoded = undefined
      if (response.status === 200 || response.status === 206) {
        // Downloads ask for the content as it is (`Accept-Encoding: identity`; a browser cannot, and decodes what
        // it gets). An encoded range cannot be placed by offset; an encoded whole is taken only if the transport
        // decoded it (checked on its first bytes), and its Content-Length, the encoded size, says nothing then.
        const encoding = encodingOf(response)
        if (encoding !== undefined && (response.status === 206 || !knownEncodings.has(encoding.toLowerCase()))) {
          return Effect.fail(mismatch("encoding", encodingMessage(encoding)))
        }
        encoded = encoding
      }
      if (offset === 0 && (response.status === 200 || response.status === 206)) validator = responseValidator
      rangeEnd = Number.POSITIVE_INFINITY
      if (response.status === 206) {
        // The validator of the same kind as the one sent in `If-Range` (entity tag or date) must not have changed.
        if (Option.isSome(validator)) {
          const now = sameKindValidator(response, validator.value)
          if (Option.isSome(now) && now.value !== validator.value) {
            return Effect.fail(mismatch("etag", `the content changed while downloading (${validator.value} → ${now.value}); a 206 of another version is never appended`))
          }
        }
        const m = contentRange.exec(response.headers["content-range"] ?? "")
        const first = m === null ? -1 : Number(m[1])
        const last = m === null ? -1 : Number(m[2])
        const total = m === null || m[3] === "*" ? Option.none<number>() : Option.some(Number(m[3]))
        if (m === null || first !== offset || last < first || Option.exists(total, (t) => last >= t)) {
          return Effect.fail(mismatch("range", `asked for bytes from ${offset}, got Content-Range ${JSON.stringify(response.headers["content-range"] ?? null)}`))
        }
        // A body longer than its range is refused as it outgrows it (a shorter range is resumed after its end).
        rangeEnd = last + 1
        return Effect.as(announce(total), 0)
      }
      if (response.status === 200) {
        const total = encoded === undefined ? Http.intHeader(response.headers["content-length"]) : Option.none<number>()
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
          // After the restart: the new version's length is announced afresh (not checked against the old one's).
          Effect.zipRight(Effect.suspend(() => announce(total))),
          Effect.as(0)
        )
      }
      return Http.failStatus(getStatuses)(response)
    }

    /** The body of an answer that is not read (refused, or a redirect): its connection is closed now (the platform's stream by GC). */
    const discard = (response: HttpClientResponse.HttpClientResponse) => Effect.sync(() => void iterableBodyOf(response)?.[Symbol.asyncIterator]().return?.())

    /**
     * Sends the request for the bytes from `offset` and checks the answer. Redirects are followed (the same headers
     * to `Location`): the token goes with a request on the configured origin only (`IvcapClient`'s rule), so a
     * redirect to another host (a pre-signed storage URL) gets none. Every attempt starts at the content URL again.
     */
    const open = (offset: number) => {
      const headers: Record<string, string> = { "cache-control": "no-cache", "accept-encoding": "identity" }
      if (offset > 0 && Option.isSome(validator)) {
        headers["range"] = `bytes=${offset}-`
        headers["if-range"] = validator.value
      }
      type Answer = { readonly response: HttpClientResponse.HttpClientResponse; readonly toSkip: number } | { readonly redirect: string }
      const send = (target: string, hops: number): Effect.Effect<{ readonly response: HttpClientResponse.HttpClientResponse; readonly toSkip: number }, DownloadError> =>
        Effect.flatMap(
          // A transport that can answer with a plain iterable body does so for this request (Download.IterableBodies).
          client.call(HttpClientRequest.get(target).pipe(HttpClientRequest.setHeaders(headers)), (response): Effect.Effect<Answer, DownloadError> =>
            redirectStatuses.has(response.status)
              ? Effect.zipRight(discard(response), Effect.map(Http.redirectTarget(response, hops, maxRedirects), (redirect) => ({ redirect })))
              : accept(response, offset).pipe(
                Effect.map((toSkip) => ({ response, toSkip })),
                Effect.tapError(() => discard(response))
              ), { idempotent: false }),
          (answer) => ("redirect" in answer ? send(answer.redirect, hops + 1) : Effect.succeed(answer))
        )
      return send(url, 0).pipe(Effect.provideService(IterableBodies, true))
    }

    /** For an encoded answer: its first bytes must not still be encoded (the transport decoded them). */
    const stillEncodedCheck = (encoding: string | undefined) =>
      encoding === undefined ? undefined : (bytes: Uint8Array) => (stillEncoded(encoding, bytes) ? mismatch("encoding", encodingMessage(encoding)) : undefined)

    const body = (response: HttpClientResponse.HttpClientResponse, toSkip: number): Stream.Stream<Uint8Array, DownloadError> =>
      watchedBody<DownloadError>(response, {
        skip: toSkip,
        first: stillEncodedCheck(encoded),
        // Bookkeeping per batch read: count, check against the announced length and the record.
        count: (bytes) => {
          received += bytes
          if (received > furthest) {
            furthest = received
            progressed = true
          }
          if (received > rangeEnd) return mismatch("range", `received more than the bytes up to ${rangeEnd - 1} the Content-Range announced`)
          if (Option.isSome(length) && received > length.value) return mismatch("size", `received more than the announced ${length.value} bytes`)
          // Stop as soon as a body outgrows the record (or the caller's bound), rather than reading the rest of it.
          if (Option.isSome(expectedSize) && received > expectedSize.value) return mismatch("size", `received more than the record's ${expectedSize.value} bytes`)
          return maxBytes !== undefined && received > maxBytes ? mismatch("size", `received more than maxBytes ${maxBytes}`) : undefined
        },
        idle,
        onIdle: () => new RequestTimeout({ method: "GET", url, timeout: idle }),
        minRate: options.minRate,
        onSlow: () =>
          new RequestTimeout({
            method: "GET",
            url,
            timeout: options.minRate!.window,
            reason: `fewer than ${options.minRate!.bytes} bytes received in ${Duration.format(options.minRate!.window)}`
          }),
        // Never the platform error itself: its request carries the headers, token included.
        onError: Http.transportError
      })

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
