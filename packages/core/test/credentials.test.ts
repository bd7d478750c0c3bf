/**
 * Credentials over real HTTP against the emulator's identity provider: one renewal for many fibers (before expiry
 * and after a 401), a POST re-sent once after a 401, a refused renewal ends in LoginRequired with nothing more
 * sent, a token provider, and no Authorization header at all without credentials (in-platform mode).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Aspect, Credentials, IvcapClient, Service } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { loginRaw, post } from "./utils/oauth.js"

const Server = EmulatorServer.layer({ oauth: { deviceIntervalSeconds: 0 } })

/** A refresh function on the emulator's token endpoint, rotating the refresh token; counts its calls. */
const emulatorRefresher = (initialRefresh: string) =>
  Effect.gen(function*() {
    const { url } = yield* EmulatorServer.EmulatorServer
    let refreshToken = initialRefresh
    const counter = { calls: 0 }
    const refresh = () =>
      Effect.gen(function*() {
        counter.calls++
        const answer = yield* post(`${url}/oauth/token`, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: "ivcap-emulator-cli" })
        if (answer.status !== 200) {
          return yield* new Credentials.LoginRequired({ reason: `refused (${String(answer.body["error"])})`, login: "log in again" })
        }
        refreshToken = String(answer.body["refresh_token"])
        return { accessToken: Redacted.make(String(answer.body["access_token"])), expiresAt: Date.now() + Number(answer.body["expires_in"]) * 1000 }
      })
    return { refresh, counter }
  })

/** A login and refreshing credentials starting from its access token (expiry unknown unless given). */
const refreshingLogin = (expiresAt?: number) =>
  Effect.gen(function*() {
    const first = yield* loginRaw
    const { counter, refresh } = yield* emulatorRefresher(first.refresh)
    const initial = { accessToken: Redacted.make(first.access), ...(expiresAt !== undefined ? { expiresAt } : {}) }
    return { first, counter, credentials: Credentials.layerRefreshing({ initial, refresh }) }
  })

/** A client for the emulator with the given credentials, and the credentials service itself. */
const clientWith = (credentials: Layer.Layer<Credentials.Credentials>) =>
  Layer.unwrapEffect(Effect.map(EmulatorServer.EmulatorServer, (server) =>
    IvcapClient.layer({ url: server.url, timeout: "10 seconds" }).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provideMerge(credentials))))

/**
 * The token fingerprints of the API requests the emulator accepted (its log keeps no Authorization values, and
 * refused requests are only counted).
 */
const apiAuthorizations = Effect.map(Effect.flatMap(Emulator.Emulator, (e) => e.requests.log), (log) =>
  log.filter((r) => new URL(r.url).pathname.startsWith("/1/") && !r.url.endsWith("/authinfo.yaml")).map((r) => r.tokenTag))

const run = <A, E>(effect: Effect.Effect<A, E, Emulator.Emulator | EmulatorServer.EmulatorServer>) =>
  effect.pipe(Effect.provide(Server), Effect.scoped, TestServices.provideLive)

describe("Credentials", () => {
  it.effect("50 concurrent requests on an expired token cause one renewal, and none goes out with the old token", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { counter, credentials, first } = yield* refreshingLogin(Date.now() - 1000)
      yield* emulator.requests.reset
      const results = yield* Effect.all(Array.from({ length: 50 }, () => Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runCollect)), { concurrency: "unbounded" }).pipe(
        Effect.provide(clientWith(credentials))
      )
      expect(results).toHaveLength(50)
      expect(counter.calls).toBe(1)
      expect((yield* emulator.oauth.stats).refreshGrants).toBe(1)
      const auths = yield* apiAuthorizations
      // 50 listings (and the client's one API-version probe), all with the new token
      expect(auths.length).toBeGreaterThanOrEqual(50)
      expect(auths.length).toBeLessThanOrEqual(51)
      expect(auths.filter((a) => a === Emulator.tokenTag(first.access))).toEqual([])
      expect((yield* emulator.requests.rejected).total).toBe(0)
    })))

  it.effect("50 concurrent requests refused with 401 mid-run: one renewal, each request re-sent once with the new token", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      // expiry unknown to the client: only the server's 401 tells
      const { counter, credentials, first } = yield* refreshingLogin()
      yield* Effect.gen(function*() {
        yield* Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)
        yield* emulator.oauth.expireAccessTokens
        yield* emulator.requests.reset
        yield* Effect.all(Array.from({ length: 50 }, () => Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)), { concurrency: "unbounded" })
        const credentialsService = yield* Credentials.Credentials
        expect(yield* credentialsService.refreshes).toBe(1)
      }).pipe(Effect.provide(clientWith(credentials)))
      expect(counter.calls).toBe(1)
      const auths = yield* apiAuthorizations
      // each request: once with the old token (401: refused, counted, not logged), once with the new one
      expect((yield* emulator.requests.rejected).withOtherToken).toBe(50)
      expect(auths.filter((a) => a === Emulator.tokenTag(first.access)).length).toBe(0)
      expect(auths.length).toBe(50)
    })))

  it.effect("a POST refused with 401 is renewed and re-sent once: created exactly once", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { credentials } = yield* refreshingLogin()
      const entity = `urn:ivcap:test:${Date.now()}`
      yield* Effect.gen(function*() {
        yield* emulator.oauth.expireAccessTokens
        yield* Aspect.add(entity, { $schema: "urn:test:schema:cred.1", n: 1 })
        const listed = yield* Aspect.list({ entity }).pipe(Stream.runCollect)
        expect(listed.length).toBe(1)
      }).pipe(Effect.provide(clientWith(credentials)))
      // the first POST was refused (401, counted, not logged), the re-sent one accepted
      expect(yield* emulator.requests.count({ method: "POST", path: "/1/aspects" })).toBe(1)
      expect((yield* emulator.requests.rejected).withOtherToken).toBe(1)
    })))

  it.effect("a refused renewal is LoginRequired, and afterwards nothing is sent with the stale token", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { counter, credentials, first } = yield* refreshingLogin()
      yield* Effect.gen(function*() {
        yield* emulator.oauth.revokeAll
        const error = yield* Effect.flip(Service.list({ pageSize: 1 }).pipe(Stream.runDrain))
        expect(error._tag).toBe("LoginRequired")
        expect(error.message).toContain("Log in again")
        expect(error.message).not.toContain(first.refresh)
        const before = yield* emulator.requests.count({ path: "/1/" })
        const again = yield* Effect.flip(Service.list({ pageSize: 1 }).pipe(Stream.runDrain))
        expect(again._tag).toBe("LoginRequired")
        expect(yield* emulator.requests.count({ path: "/1/" })).toBe(before)
        // a new login (installed by the application) lifts it
        const next = yield* loginRaw
        yield* (yield* Credentials.Credentials).set({ accessToken: Redacted.make(next.access) })
        yield* Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)
      }).pipe(Effect.provide(clientWith(credentials)))
      expect(counter.calls).toBe(1)
    })))

  it.effect("a token provider is asked once at first use, and again (once) after a 401", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const reasons: Array<string> = []
      const tokens = [yield* loginRaw, yield* loginRaw]
      const provider = (reason: Credentials.RefreshReason) => {
        reasons.push(reason)
        return Promise.resolve(tokens[reasons.length - 1]!.access)
      }
      yield* Effect.gen(function*() {
        yield* Effect.all(Array.from({ length: 10 }, () => Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)), { concurrency: "unbounded" })
        yield* emulator.oauth.expireAccessTokens
        // that expired the spare login's token too: log in again for the provider's second answer
        tokens[1] = yield* loginRaw
        yield* Effect.all(Array.from({ length: 10 }, () => Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)), { concurrency: "unbounded" })
      }).pipe(Effect.provide(clientWith(Credentials.layerProvider(provider))))
      expect(reasons).toEqual(["initial", "rejected"])
    })))

  it.effect("a provider that throws is LoginRequired with the application's advice", () =>
    run(Effect.gen(function*() {
      const error = yield* Effect.flip(Service.list({ pageSize: 1 }).pipe(
        Stream.runDrain,
        Effect.provide(clientWith(Credentials.layerProvider(() => Promise.reject(new Error("session ended")), { login: "reload the page" })))
      ))
      expect(error._tag).toBe("LoginRequired")
      expect(error.message).toContain("session ended")
      expect(error.message).toContain("reload the page")
    })))

  it.effect("no credentials: no Authorization header at all (in-platform mode)", () =>
    run(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      yield* emulator.requests.reset
      const error = yield* Effect.flip(Service.list({ pageSize: 1 }).pipe(Stream.runDrain, Effect.provide(clientWith(Credentials.layerNone))))
      expect(error._tag).toBe("Unauthorized")
      // refused before being logged: the counts say they came without any Authorization header
      const rejected = yield* emulator.requests.rejected
      expect(rejected.withoutToken).toBeGreaterThan(0)
      expect(rejected.withOtherToken).toBe(0)
      expect(yield* emulator.requests.count()).toBe(0)
    })))

  it.effect("IVCAP_BASE_URL alone configures in-platform mode; IVCAP_URL wins over it and needs IVCAP_JWT", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        Effect.either(Effect.withConfigProvider(IvcapClient.defaultConfig, ConfigProvider.fromMap(new Map(Object.entries(env)))))
      const inPlatform = yield* read({ IVCAP_BASE_URL: "http://ivcap.local", IVCAP_JWT: "ignored" })
      expect(inPlatform._tag === "Right" && inPlatform.right.url === "http://ivcap.local" && inPlatform.right.token === undefined).toBe(true)
      const both = yield* read({ IVCAP_BASE_URL: "http://ivcap.local", IVCAP_URL: "https://x.example", IVCAP_JWT: "t" })
      expect(both._tag === "Right" && both.right.url === "https://x.example" && Option.isSome(Option.fromNullable(both.right.token))).toBe(true)
      const noJwt = yield* read({ IVCAP_BASE_URL: "http://ivcap.local", IVCAP_URL: "https://x.example" })
      expect(noJwt._tag === "Left" && String(noJwt.left).includes("IVCAP_JWT")).toBe(true)
    }))
})
