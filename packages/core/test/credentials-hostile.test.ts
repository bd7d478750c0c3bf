/**
 * Credentials against a misbehaving token source, over real HTTP to the emulator: a provider whose tokens are
 * already expired when they come (used until rejected, not renewed before every request), a renewal that gives a
 * token the server refuses (the 401 stands for a while instead of a renewal per request), while a renewed token
 * that the server accepted and later refuses is renewed at once.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Credentials, IvcapClient, Service } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { loginRaw } from "./utils/oauth.js"

const Server = EmulatorServer.layer({ oauth: { deviceIntervalSeconds: 0 } })

const clientWith = (credentials: Layer.Layer<Credentials.Credentials>) =>
  Layer.unwrapEffect(Effect.map(EmulatorServer.EmulatorServer, (server) =>
    IvcapClient.layer({ url: server.url, timeout: "10 seconds", apiVersion: "v0.44" }).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provideMerge(credentials))))

const listOne = Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)

/** `n` sequential listings: each one's outcome ("ok" or the error's tag). */
const listings = (n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.either(listOne), { concurrency: 1 }).pipe(
    Effect.map((results) => results.map((r) => (r._tag === "Right" ? "ok" : r.left._tag)))
  )

const run = <A, E>(effect: Effect.Effect<A, E, Emulator.Emulator | EmulatorServer.EmulatorServer>) =>
  effect.pipe(Effect.provide(Server), Effect.scoped, TestServices.provideLive)

describe("Credentials against a misbehaving token source", () => {
  it.effect("a provider whose tokens are already expired is asked once for 10 requests, not before each", () =>
    run(Effect.gen(function*() {
      const { access } = yield* loginRaw
      const reasons: Array<string> = []
      const provider = (reason: Credentials.RefreshReason) => {
        reasons.push(reason)
        return { token: access, expiresAt: Date.now() - 3_600_000 }
      }
      const outcomes = yield* listings(10).pipe(Effect.provide(clientWith(Credentials.layerProvider(provider))))
      expect(outcomes).toEqual(Array(10).fill("ok"))
      expect(reasons).toEqual(["initial"])
    })))

  it.effect("a renewal whose token the server refuses: one renewal for 10 requests, each Unauthorized", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      let calls = 0
      const credentials = Credentials.layerRefreshing({
        initial: { accessToken: Redacted.make("stale-token-0") },
        refresh: () => Effect.sync(() => ({ accessToken: Redacted.make(`refused-token-${++calls}`) }))
      })
      yield* emulator.requests.reset
      const outcomes = yield* listings(10).pipe(Effect.provide(clientWith(credentials)))
      expect(outcomes).toEqual(Array(10).fill("Unauthorized"))
      expect(calls).toBe(1)
      // the first listing twice (the stale token, then the renewed one), the others once
      expect((yield* emulator.requests.rejected).withOtherToken).toBe(11)
    })))

  it.effect("a renewed token the server accepted and then refuses is renewed at once, as often as that happens", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const context = yield* Effect.context<Emulator.Emulator | EmulatorServer.EmulatorServer>()
      let calls = 0
      const credentials = Credentials.layerRefreshing({
        initial: { accessToken: Redacted.make((yield* loginRaw).access) },
        refresh: () =>
          Effect.suspend(() => {
            calls++
            return Effect.map(Effect.provide(loginRaw, context), ({ access }) => ({ accessToken: Redacted.make(access) }))
          })
      })
      const outcomes = yield* Effect.gen(function*() {
        const seen: Array<string> = []
        for (let i = 0; i < 3; i++) {
          seen.push(...(yield* listings(2)))
          yield* emulator.oauth.expireAccessTokens
        }
        seen.push(...(yield* listings(1)))
        return seen
      }).pipe(Effect.provide(clientWith(credentials)))
      expect(outcomes).toEqual(Array(7).fill("ok"))
      expect(calls).toBe(3)
    })))
})
