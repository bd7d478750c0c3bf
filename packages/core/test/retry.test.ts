import { expect, layer } from "@effect/vitest"
import { IvcapClient, Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as TestServices from "effect/TestServices"
import { expectFailure, fresh, layerSuite, requestCount, timed, withClient } from "./utils/suite.js"

const hello = SeedData.helloWorld.id
const path = `/1/services2/${hello}`
const inject = (rule: Faults.FaultRule) => Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(rule))

layer(layerSuite())("retries and timeouts", (it) => {
  it.effect("a GET survives a burst of 503s", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(503, { match: { method: "GET", path }, times: 3 }))
      const s = yield* Service.get(hello)
      expect(s.id).toBe(hello)
      expect(yield* requestCount({ path })).toBe(4)
    }).pipe(TestServices.provideLive))

  it.effect("a burst longer than the policy ends in ServiceUnavailable after the last retry", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(503, { match: { path }, times: 20 }))
      const e = yield* expectFailure(Service.get(hello), "ServiceUnavailable")
      expect(e.url).toContain("/1/services2/")
      // fastRetry: one attempt + 4 retries
      expect(yield* requestCount({ path })).toBe(5)
    }).pipe(TestServices.provideLive))

  it.effect("500, 502 and 504 are retried; 400, 403 and 404 are not", () =>
    Effect.gen(function*() {
      yield* fresh
      for (const status of [500, 502, 504]) yield* inject(Faults.status(status, { match: { path } }))
      expect((yield* Service.get(hello)).id).toBe(hello)
      expect(yield* requestCount({ path })).toBe(4)
      for (const [status, tag] of [[400, "BadRequest"], [403, "Forbidden"]] as const) {
        yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.reset)
        yield* inject(Faults.status(status, { match: { path } }))
        const e = yield* expectFailure(Service.get(hello), tag)
        expect(e.message.length).toBeGreaterThan(0)
        expect(yield* requestCount({ path })).toBe(1)
      }
    }).pipe(TestServices.provideLive))

  it.effect("a 429 with Retry-After: 1 waits at least a second before the retry", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(429, { match: { path }, retryAfter: 1 }))
      const { millis, result } = yield* timed(Service.get(hello))
      expect(Either.isRight(result)).toBe(true)
      expect(millis).toBeGreaterThanOrEqual(1000)
      expect(millis).toBeLessThan(5000)
      const log = yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)
      expect(log.length).toBe(2)
      expect(log[1]!.at - log[0]!.at).toBeGreaterThanOrEqual(1000)
    }).pipe(TestServices.provideLive))

  it.effect("a Retry-After beyond maxRetryAfter is not waited for: RateLimited carries it", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(429, { match: { path }, retryAfter: 120 }))
      const { millis, result } = yield* timed(expectFailure(Service.get(hello), "RateLimited"))
      const e = Either.getOrThrow(result)
      expect(Option.map(e.retryAfter, Duration.toSeconds)).toEqual(Option.some(120))
      expect(e.message).toContain("retry after")
      expect(millis).toBeLessThan(1000)
      expect(yield* requestCount({ path })).toBe(1)
    }).pipe(TestServices.provideLive))

  it.effect("a stall past the per-call timeout is RequestTimeout, and the retry then succeeds", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.stall({ match: { path } }))
      const quick = IvcapClient.withRequestOptions({ timeout: "300 millis" })
      const { millis, result } = yield* timed(quick(Service.get(hello)))
      expect(Either.isRight(result)).toBe(true)
      expect(millis).toBeGreaterThanOrEqual(300)
      expect(yield* requestCount({ path })).toBe(2)

      yield* inject(Faults.stall({ match: { path } }))
      const e = yield* expectFailure(Service.get(hello).pipe(IvcapClient.withRequestOptions({ timeout: "200 millis", retry: false })), "RequestTimeout")
      expect(Duration.toMillis(e.timeout)).toBe(200)
      expect(e.message).toContain("200")
    }).pipe(TestServices.provideLive))

  it.effect("a response cut short is a TransportError, retried like one", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.cutResponse(20, { match: { path } }))
      expect((yield* Service.get(hello)).id).toBe(hello)
      expect(yield* requestCount({ path })).toBe(2)
      yield* inject(Faults.cutResponse(20, { match: { path } }))
      const e = yield* expectFailure(Service.get(hello).pipe(IvcapClient.withRequestOptions({ retry: false })), "TransportError")
      expect(e.url).toContain("/1/services2/")
    }).pipe(TestServices.provideLive))

  it.effect("retry policy and timeout are set per client too", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.status(503, { match: { path } }))
      yield* withClient({ retry: false })(expectFailure(Service.get(hello), "ServiceUnavailable"))
      expect(yield* requestCount({ path })).toBe(1)
      yield* inject(Faults.delay(400, { match: { path } }))
      yield* withClient({ timeout: "100 millis", retry: false })(expectFailure(Service.get(hello), "RequestTimeout"))
    }).pipe(TestServices.provideLive))
})
