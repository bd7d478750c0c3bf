/**
 * The device login against the emulator over HTTP, with the client's waits on the TestClock: pending → slow_down →
 * success (the emulator answers slow_down by itself when polled sooner than its interval), a denied login, an
 * expired code, and an interrupted login that stops polling. Also: discovery, and the refresh grant with rotation.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import { NodeLogin } from "@ivcap/node"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"

const Server = EmulatorServer.layer({ oauth: { deviceIntervalSeconds: 1, deviceCodeSeconds: 30 } }).pipe(
  Layer.merge(NodeContext.layer),
  Layer.merge(NodeHttpClient.layerUndici)
)

const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 15)))

/** Starts a device login whose events go to a queue. */
const startLogin = Effect.gen(function*() {
  const { url } = yield* EmulatorServer.EmulatorServer
  const events = yield* Queue.unbounded<NodeLogin.LoginEvent>()
  const fiber = yield* Effect.fork(NodeLogin.deviceLogin({ url, onEvent: (e) => Queue.offer(events, e) }))
  /** The next event: advances the TestClock a second at a time (real I/O in between) until one comes. */
  const next = Effect.gen(function*() {
    for (let i = 0; i < 400; i++) {
      const event = yield* Queue.poll(events)
      if (Option.isSome(event)) return event.value
      if (i % 4 === 3) yield* TestClock.adjust("1 second")
      yield* realPause
    }
    return yield* Effect.dieMessage("no login event")
  })
  return { fiber, next }
})

const tokenRequests = Effect.flatMap(Emulator.Emulator, (e) => e.requests.count({ method: "POST", path: "/oauth/token" }))

layer(Server, { timeout: 60_000 })("NodeLogin", (it) => {
  it.effect("discovers the provider from /1/authinfo.yaml", () =>
    Effect.gen(function*() {
      const { url } = yield* EmulatorServer.EmulatorServer
      const provider = yield* NodeLogin.discover(url)
      expect(provider).toMatchObject({ tokenUrl: `${url}/oauth/token`, codeUrl: `${url}/oauth/device/code`, clientId: "ivcap-emulator-cli", audience: `${url}/` })
    }))

  it.effect("device login: Prompt → pending → slow_down (interval +5 s) → approved, with a verified ID token", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { fiber, next } = yield* startLogin
      const prompt = yield* next
      if (prompt._tag !== "Prompt") return expect.fail(`expected Prompt, got ${prompt._tag}`)
      expect(prompt.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/)
      expect(yield* emulator.oauth.pending).toEqual([prompt.userCode])
      const pending = yield* next
      expect(pending._tag).toBe("Pending")
      // the client's second poll comes (in real time) sooner than the emulator's 1 s interval
      const slow = yield* next
      if (slow._tag !== "SlowDown") return expect.fail(`expected SlowDown, got ${slow._tag}`)
      expect(Duration.toSeconds(slow.interval)).toBe(6)
      const polls = yield* tokenRequests
      expect(yield* emulator.oauth.approve(prompt.userCode)).toBe(true)
      yield* emulator.clock.advance("10 seconds")
      const done = yield* next
      if (done._tag !== "LoggedIn") return expect.fail(`expected LoggedIn, got ${done._tag}`)
      // after slow_down the client waited the longer interval: one more poll brought the tokens
      expect((yield* tokenRequests) - polls).toBe(1)
      const tokens = yield* Fiber.join(fiber)
      expect(tokens.account?.accountId).toMatch(/^urn:ivcap:account:/)
      expect(tokens.account?.email).toBe("user@emulator.invalid")
      expect(tokens.refreshToken).toBeDefined()
      // the events and the tokens' rendering carry no secret
      const shown = JSON.stringify([prompt, pending, slow, done, tokens])
      expect(shown).not.toMatch(/emu-dc-|emu-rt-|eyJhbGci/)
    }))

  it.effect("a denied login is LoginFailed; an unapproved code ends when it expires", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const denied = yield* startLogin
      const prompt = yield* denied.next
      if (prompt._tag !== "Prompt") return expect.fail("expected Prompt")
      yield* emulator.oauth.deny(prompt.userCode)
      yield* TestClock.adjust("10 seconds")
      const error = yield* Effect.flip(Fiber.join(denied.fiber))
      expect(error.message).toContain("denied")

      const expiring = yield* startLogin
      yield* expiring.next
      yield* emulator.clock.advance("31 seconds")
      yield* TestClock.adjust("60 seconds")
      const expired = yield* Effect.flip(Fiber.join(expiring.fiber))
      expect(expired.message).toContain("expired")
    }))

  it.effect("interrupting the login stops the polling", () =>
    Effect.gen(function*() {
      const { fiber, next } = yield* startLogin
      yield* next
      yield* next
      yield* Fiber.interrupt(fiber)
      const polls = yield* tokenRequests
      yield* TestClock.adjust("30 seconds")
      yield* realPause
      expect(yield* tokenRequests).toBe(polls)
    }))

  it.effect("the refresh grant rotates the refresh token; the old one is then refused with LoginRequired", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const provider = yield* NodeLogin.discover(url)
      const first = yield* NodeLogin.deviceLogin({ provider, url, onEvent: (e) => (e._tag === "Prompt" ? Effect.asVoid(emulator.oauth.approve(e.userCode)) : Effect.void) }).pipe(
        Effect.fork,
        Effect.tap(() => Effect.repeatN(Effect.zipRight(TestClock.adjust("1 second"), realPause), 20).pipe(Effect.fork)),
        Effect.flatMap(Fiber.join)
      )
      const second = yield* NodeLogin.refresh(provider, first.refreshToken!, { context: "dev" })
      expect(Redacted.value(second.refreshToken!)).not.toBe(Redacted.value(first.refreshToken!))
      const refused = yield* Effect.flip(NodeLogin.refresh(provider, first.refreshToken!, { context: "dev" }))
      expect(refused._tag).toBe("LoginRequired")
      expect(refused.message).toContain("ivcap context login")
      expect(refused.message).toContain("'dev'")
      expect(refused.message).not.toContain(Redacted.value(first.refreshToken!))
    }))
})
