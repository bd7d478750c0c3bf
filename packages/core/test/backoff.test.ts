/**
 * Shared back-off and the client-wide rate limit, against the emulator over HTTP: a `Retry-After` seen by one
 * fiber holds back the new requests of all the others; after the pause one probe goes first; a 429 storm costs
 * a bounded number of requests (no thundering herd); the rate limit spaces requests out.
 */
import { expect, layer } from "@effect/vitest"
import type { IvcapClient} from "@ivcap/core";
import { Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import * as Gate from "../src/internal/gate.js"
import { fresh, layerSuite, requestCount, withClient } from "./utils/suite.js"

const hello = SeedData.helloWorld.id
const rich = SeedData.richService.id
// The default (v0.48) emulator serves services at /1/services2 (the client finds that out with one probe).
const path = "/1/services2/"
const helloPath = `/1/services2/${hello}`
const emulator = Emulator.Emulator
const inject = (rule: Faults.FaultRule) => Effect.flatMap(emulator, (e) => e.faults.inject(rule))
/** Arrival times (emulator ms) of the requests under `path`. */
const arrivals = Effect.map(Effect.flatMap(emulator, (e) => e.requests.log), (log) => log.filter((r) => new URL(r.url).pathname.startsWith(path)).map((r) => r.at))

/** Waits until `n` requests were answered (and the client had a moment to look at the answers). */
const answered = (n: number) =>
  Effect.gen(function*() {
    const e = yield* emulator
    while ((yield* e.requests.count({ path })) < n || (yield* e.requests.active) > 0) yield* Effect.sleep("5 millis")
    yield* Effect.sleep("50 millis")
  })

/** Moves the TestClock forward `millis` in 10 ms steps, letting woken fibers run at each. */
const steps = (millis: number) => Effect.repeatN(Effect.zipRight(TestClock.adjust("10 millis"), Effect.yieldNow()), millis / 10 - 1)

/** Retries that are never shorter than the server asks: up to 10, 20 ms apart otherwise. */
const retry: IvcapClient.RetryPolicy = Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(10)))

/**
 * A 429 storm of `stormMillis`: every request is answered 429 with `Retry-After: 1` until the storm ends, while
 * `workers` fibers read a service `items` times in all. Returns how many requests reached the server.
 */
const storm = (items: number, workers: number, stormMillis: number) =>
  Effect.gen(function*() {
    yield* fresh
    yield* inject(Faults.status(429, { match: { path }, retryAfter: 1, times: 1_000_000 }))
    const ending = yield* Effect.fork(Effect.zipRight(Effect.sleep(stormMillis), Effect.flatMap(emulator, (e) => e.faults.reset)))
    yield* Effect.forEach(Array.from({ length: items }), () => Service.get(hello), { concurrency: workers, discard: true })
    yield* Fiber.join(ending)
    return yield* requestCount({ path })
  })

layer(layerSuite())("shared back-off", (it) => {
  it.effect("a Retry-After seen by one fiber pauses the new requests of the others", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(429, { match: { path: helloPath }, retryAfter: 1, times: 1 }))
      const first = yield* Effect.fork(Service.get(hello))
      yield* answered(1)
      // Another fiber, another service, after the 429 was answered: it waits for the pause instead of going.
      yield* Service.get(rich)
      yield* Fiber.join(first)
      const at = yield* arrivals
      expect(at).toHaveLength(3) // the 429, then the retry (the probe) and the other fiber's request
      expect(Math.min(at[1]!, at[2]!) - at[0]!).toBeGreaterThanOrEqual(950)
    }).pipe(withClient({ retry }), TestServices.provideLive))

  it.effect("after the pause one probe goes first; a second 429 pauses everyone again", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(429, { match: { path: helloPath }, retryAfter: 1, times: 1 }))
      const first = yield* Effect.fork(Service.get(hello))
      yield* answered(1)
      // Whichever request goes first after the pause gets the second 429.
      yield* inject(Faults.status(429, { match: { path }, retryAfter: 1, times: 1 }))
      yield* Effect.forEach(Array.from({ length: 8 }), () => Service.get(rich), { concurrency: 8, discard: true })
      yield* Fiber.join(first)
      const at = yield* arrivals
      // 429, the probe (429 again), then 9 successes: 11 requests, none of them sent during either pause.
      expect(at).toHaveLength(11)
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(950)
      expect(Math.min(...at.slice(2)) - at[1]!).toBeGreaterThanOrEqual(950)
    }).pipe(withClient({ retry }), TestServices.provideLive))

  it.effect("a 429 storm costs the requests in flight plus one probe per Retry-After, not one per fiber and second", () =>
    Effect.gen(function*() {
      const items = 64
      const workers = 16
      const shared = yield* storm(items, workers, 2500)
      // Ideal: `items` requests. Bound: + the `workers` in flight when the storm began + one probe per second of it + 1.
      expect(shared).toBeGreaterThanOrEqual(items + 1)
      expect(shared).toBeLessThanOrEqual(items + workers + 4)
      // Without it, every fiber finds out by itself, once per Retry-After, for the whole storm.
      const alone = yield* storm(items, workers, 2500).pipe(withClient({ retry, sharedBackoff: false }))
      expect(alone).toBeGreaterThan(items + 2 * workers)
    }).pipe(withClient({ retry }), TestServices.provideLive), 20_000)

  it.effect("a Retry-After beyond maxRetryAfter pauses nobody: that request fails, the others go on", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(429, { match: { path }, retryAfter: 120, times: 1 }))
      const failed = yield* Effect.flip(Service.get(hello))
      expect(failed._tag).toBe("RateLimited")
      const start = Date.now()
      yield* Service.get(hello)
      expect(Date.now() - start).toBeLessThan(900)
    }).pipe(withClient({ retry }), TestServices.provideLive))
})

layer(layerSuite())("rate limit", (it) => {
  it.effect("requests are spaced evenly at the configured rate, whatever the concurrency", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* Effect.forEach(Array.from({ length: 11 }), () => Service.get(hello), { concurrency: 11, discard: true })
      const at = (yield* arrivals).sort((a, b) => a - b)
      expect(at).toHaveLength(11)
      // 20 per second: 10 gaps of 50 ms (the exact spacing is checked with TestClock below; arrival times on a
      // loaded machine jitter).
      expect(at[10]! - at[0]!).toBeGreaterThanOrEqual(450)
    }).pipe(withClient({ rateLimit: { requests: 20, per: "1 second" } }), TestServices.provideLive))

  it.effect("a burst lets that many go back to back, then the rate holds (TestClock)", () =>
    Effect.gen(function*() {
      const gate = Gate.make({ sharedBackoff: true, rateLimit: { requests: 10, per: "1 second", burst: 4 }, maxPause: Duration.seconds(60) })
      yield* TestClock.adjust("10 seconds") // a quiet spell: the bucket is full
      const base = yield* Clock.currentTimeMillis
      const sent: Array<number> = []
      const fibers = yield* Effect.forEach(Array.from({ length: 8 }), () =>
        Effect.fork(gate.enter(() => Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => sent.push(t - base))))))
      yield* steps(1000)
      yield* Effect.forEach(fibers, Fiber.join)
      expect(sent.sort((a, b) => a - b)).toEqual([0, 0, 0, 0, 100, 200, 300, 400])
    }))

  it.effect("after a pause traffic resumes at the rate, with one probe first (TestClock)", () =>
    Effect.gen(function*() {
      const gate = Gate.make({ sharedBackoff: true, rateLimit: { requests: 10, per: "1 second", burst: 4 }, maxPause: Duration.seconds(60) })
      yield* TestClock.adjust("10 seconds")
      const base = yield* Clock.currentTimeMillis
      yield* gate.enter((observe) => observe(429, "2"))
      const sent: Array<number> = []
      const fibers = yield* Effect.forEach(Array.from({ length: 4 }), () =>
        Effect.fork(gate.enter((observe) => Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => sent.push(t - base))).pipe(Effect.zipLeft(observe(200, undefined))))))
      yield* steps(1000)
      expect(sent).toEqual([])
      yield* steps(2000)
      yield* Effect.forEach(fibers, Fiber.join)
      // The probe at 2 s, then the others at the rate (no burst after a pause).
      expect(sent.sort((a, b) => a - b)).toEqual([2000, 2100, 2200, 2300])
      expect(yield* gate.pauses).toBe(1)
    }))
})
