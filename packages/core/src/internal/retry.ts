/**
 * Waiting between attempts in loops that resume work themselves (tus uploads, ranged downloads): a retry
 * `Schedule` driven by hand, so it can be restarted whenever the work makes progress.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { IvcapClient, retryWithRetryAfter } from "../IvcapClient.js"
import { retryAfter } from "../IvcapError.js"

/** Waits as a schedule says, from one failure to the next. */
export interface Waiter {
  /**
   * Waits before the next attempt after `error` — at least its `Retry-After` — or fails with `error` when the
   * schedule is exhausted or the `Retry-After` exceeds the client's `maxRetryAfter`. Interruptible.
   */
  readonly wait: <E>(error: E) => Effect.Effect<void, E>
  /** Starts the schedule over (after progress). */
  readonly reset: Effect.Effect<void>
}

/** A waiter for `schedule`, with the client's `maxRetryAfter`. */
export const makeWaiter = (schedule: Schedule.Schedule<unknown, unknown>): Effect.Effect<Waiter, never, IvcapClient> =>
  Effect.gen(function*() {
    const { maxRetryAfter } = yield* (yield* IvcapClient).requestOptions
    const driver = yield* Schedule.driver(retryWithRetryAfter(schedule))
    return {
      wait: <E>(error: E) =>
        Option.exists(retryAfter(error), (d) => Duration.greaterThan(d, maxRetryAfter))
          ? Effect.fail(error)
          : Effect.asVoid(Effect.mapError(driver.next(error), () => error)),
      reset: driver.reset
    }
  })
