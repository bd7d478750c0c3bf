/**
 * Shared test helpers: a distinctive token (so a leak is detectable), a fast retry policy, the HTTP emulator
 * layer with them, another client on the same emulator, and assertions on typed failures that also check the
 * token never shows in an error.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect } from "@effect/vitest"
import { IvcapClient } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { type ClientOverrides, layerHttp } from "./emulator.js"

/** The token of the suite's emulators: distinctive, so that a leak into an error message is detectable. */
export const suiteToken = "tok-7c1f3e9a-core-suite-SECRET"

/** Quick retries (tests wait on real time): 20 ms, ×2, at most 4 retries. */
export const fastRetry: IvcapClient.RetryPolicy = Schedule.exponential("20 millis", 2).pipe(Schedule.intersect(Schedule.recurs(4)))

const suiteDefaults: ClientOverrides = { retry: fastRetry, timeout: "10 seconds" }

/** A real emulator server on 127.0.0.1:0 with the suite token, and an IvcapClient over undici for it. */
export const layerSuite = (overrides: ClientOverrides = {}) => layerHttp({ ...suiteDefaults, ...overrides }, { token: suiteToken })

/**
 * Runs `effect` with another IvcapClient for the suite's emulator server (other token, timeout, retry policy …),
 * over undici like the suite's own.
 */
export const withClient = (options: Partial<IvcapClient.Options>) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, IvcapClient.IvcapClient> | EmulatorServer.EmulatorServer> =>
  Effect.gen(function*() {
    const server = yield* EmulatorServer.EmulatorServer
    const client = IvcapClient.layer({ url: server.url, token: suiteToken, ...suiteDefaults, ...options }).pipe(
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.orDie
    )
    return yield* Effect.provide(effect, client)
  })

/** Fails the test if `value` (an error, a cause) mentions the suite token in any rendering. */
export const assertNoToken = (value: unknown): void => {
  expect(String(value)).not.toContain(suiteToken)
  expect(JSON.stringify(value) ?? "").not.toContain(suiteToken)
  if (value instanceof Error) expect(`${value.message}\n${value.stack ?? ""}`).not.toContain(suiteToken)
}

/**
 * Runs `effect`, expects it to fail with the error tagged `tag` and returns that error; the failure (error and
 * whole cause) must not mention the token.
 */
export const expectFailure = <A, E extends { readonly _tag: string }, R, const T extends E["_tag"]>(
  effect: Effect.Effect<A, E, R>,
  tag: T
): Effect.Effect<Extract<E, { readonly _tag: T }>, never, R> =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return expect.fail(`expected a ${tag} failure, got success: ${String(exit.value)}`)
    assertNoToken(Cause.pretty(exit.cause))
    const error = Cause.failureOption(exit.cause)
    if (error._tag === "None") return expect.fail(`expected a ${tag} failure, got ${Cause.pretty(exit.cause)}`)
    expect(error.value._tag, String(error.value)).toBe(tag)
    assertNoToken(error.value)
    return error.value as Extract<E, { readonly _tag: T }>
  })

/** Back to the seeded state (no faults, counters zero), as the first step of a test. */
export const fresh = Effect.flatMap(Emulator.Emulator, (e) => e.reset)

/** How many requests reached the emulator (matching `method` and path prefix or RegExp). */
export const requestCount = (filter?: { readonly method?: string; readonly path?: string | RegExp }) =>
  Effect.flatMap(Emulator.Emulator, (e) => e.requests.count(filter))

/** Real milliseconds an effect took (use under `TestServices.provideLive`). */
export const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const result = yield* Effect.either(effect)
    return { result, millis: Date.now() - start }
  })
