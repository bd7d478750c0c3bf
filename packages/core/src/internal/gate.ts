/**
 * The client-wide request gate: shared back-off and an optional request rate limit.
 *
 * - **Shared back-off.** A 429 or 503 answer with a `Retry-After` pauses every *new* request of the client for
 *   that long (capped at the client's `maxRetryAfter`; a longer one is not waited for here, the request's own
 *   error says so). The fibers that were waiting do not all go at once when the pause ends: one request goes
 *   first (a probe), and the others follow only once its answer is not another 429/503 — so a storm costs at
 *   most the requests already in flight plus one probe per `Retry-After`, not one rejected request per fiber.
 * - **Rate limit.** A token bucket: at most `requests` per `per`, in bursts of at most `burst` (default 1: evenly
 *   spaced). After a pause the bucket starts empty, so traffic resumes at the configured rate.
 *
 * The gate's clock is Effect's `Clock`, so tests can drive it with `TestClock`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { parseRetryAfter } from "./retryAfter.js"

/** A client-wide request rate limit. */
export interface RateLimit {
  /** How many requests… */
  readonly requests: number
  /** …per this interval. */
  readonly per: Duration.DurationInput
  /** How many may go back to back after a quiet spell (default 1: evenly spaced). */
  readonly burst?: number | undefined
}

/** Reports an answer to the gate. */
export type Observe = (status: number, retryAfter: string | undefined) => Effect.Effect<void>

/** The gate of one client. */
export interface Gate {
  /**
   * Sends a request through the gate: waits until it may go (a pause, a probe in flight, the rate limit), then
   * runs `send`, which reports the answer's status and `Retry-After` with `observe`. A probe that ends without
   * an answer (failed, interrupted) lets the others go. The wait is not part of `send` (nor of its timeout).
   */
  readonly enter: <A, E, R>(send: (observe: Observe) => Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Until when (epoch ms) the client is paused; 0 when not. */
  readonly pausedUntil: Effect.Effect<number>
  /** How many pauses servers have asked for so far. */
  readonly pauses: Effect.Effect<number>
}

/** Builds a gate: `sharedBackoff` on or off, a `RateLimit` or none, pauses capped at `maxPause`. */
export const make = (options: {
  readonly sharedBackoff: boolean
  readonly rateLimit: RateLimit | undefined
  readonly maxPause: Duration.Duration
}): Gate => {
  const maxPauseMillis = Duration.toMillis(options.maxPause)
  let pausedUntil = 0
  let pauses = 0
  // The probe in flight after a pause, if any: the others wait for it.
  let probe: Deferred.Deferred<void> | undefined
  // Token bucket as "the time the next token is free" (GCRA): no timer, one number.
  const rate = options.rateLimit
  const spacing = rate === undefined ? 0 : Duration.toMillis(Duration.decode(rate.per)) / Math.max(1, rate.requests)
  const burstMillis = rate === undefined ? 0 : spacing * Math.max(0, (rate.burst ?? 1) - 1)
  let nextFree = 0

  /** Ends the probe `which` (any when undefined), letting its waiters go. */
  const endProbe = (which: Deferred.Deferred<void> | undefined) =>
    Effect.suspend(() => {
      const current = probe
      if (current === undefined || (which !== undefined && which !== current)) return Effect.void
      probe = undefined
      return Deferred.succeed(current, undefined)
    })

  /** The rate limit's wait for one slot (reserved now, so concurrent callers queue up in order). */
  const rateWait = (now: number): number => {
    if (spacing <= 0) return 0
    const slot = Math.max(nextFree, now - burstMillis)
    nextFree = slot + spacing
    return Math.max(0, slot - now)
  }

  /** Waits until a request may go; its probe token when it is the first request after a pause. */
  const admit: Effect.Effect<Deferred.Deferred<void> | undefined> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (pausedUntil > now) return Effect.zipRight(Effect.sleep(Duration.millis(pausedUntil - now)), admit)
    if (probe !== undefined) return Effect.zipRight(Deferred.await(probe), admit)
    let mine: Deferred.Deferred<void> | undefined
    if (pausedUntil !== 0) {
      // The first request after a pause is the probe; the bucket starts empty (no burst on resumption).
      pausedUntil = 0
      mine = probe = Deferred.unsafeMake<void>(FiberId.none)
      nextFree = Math.max(nextFree, now)
    }
    const wait = rateWait(now)
    return wait > 0 ? Effect.as(Effect.sleep(Duration.millis(wait)), mine) : Effect.succeed(mine)
  })

  const observe = (status: number, retryAfter: string | undefined, mine: Deferred.Deferred<void> | undefined): Effect.Effect<void> => {
    // A probe's answer lets the others go; any other request's answer ends nothing.
    const answered = mine === undefined ? Effect.void : endProbe(mine)
    if (!(options.sharedBackoff && (status === 429 || status === 503))) return answered
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const pause = Option.map(parseRetryAfter(retryAfter, now), Duration.toMillis)
      if (Option.isSome(pause) && pause.value > 0 && pause.value <= maxPauseMillis) {
        const until = now + pause.value
        if (until > pausedUntil) {
          if (pausedUntil <= now) pauses++
          pausedUntil = until
        }
        // Whoever waits for a probe goes back to waiting for this pause (and a new probe after it).
        return endProbe(undefined)
      }
      return answered
    })
  }

  /** The report of a request that is not a probe. */
  const observeFree: Observe = (status, retryAfter) => observe(status, retryAfter, undefined)

  const enter = <A, E, R>(send: (observe: Observe) => Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      // Nothing to wait for (no pause, no probe in flight, no rate limit), as for most requests: no clock read.
      if (pausedUntil === 0 && probe === undefined && spacing <= 0) return send(observeFree)
      return Effect.flatMap(admit, (mine) => {
        const sent = send((status, retryAfter) => observe(status, retryAfter, mine))
        // A probe without an answer (failed, interrupted) must not keep the others waiting.
        return mine === undefined ? sent : Effect.onExit(sent, () => endProbe(mine))
      })
    })

  return {
    enter,
    pausedUntil: Effect.sync(() => pausedUntil),
    pauses: Effect.sync(() => pauses)
  }
}

/** Reports a response's status and `Retry-After` to the gate. */
export const observeResponse = (observe: Observe) => (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  observe(response.status, response.headers["retry-after"])

/** Set while an effect runs past the gate already ({@link admitted}): its requests report here and do not wait again. */
const alreadyAdmitted = FiberRef.unsafeMake<Observe | undefined>(undefined)

/**
 * `client` with every request sent through `gate`, except those of an effect run with {@link admitted} (which
 * waited at the gate before its timeout started).
 */
export const client = (gate: Gate, client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.transform(client, (send) =>
    Effect.flatMap(FiberRef.get(alreadyAdmitted), (observe) =>
      observe === undefined
        ? gate.enter((o) => Effect.tap(send, observeResponse(o)))
        : Effect.tap(send, observeResponse(observe))))

/** Waits at the gate once, then runs `effect` (one request attempt, with its timeout) as admitted. */
export const admitted = <A, E, R>(gate: Gate, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  gate.enter((observe) => Effect.locally(effect, alreadyAdmitted, observe))
