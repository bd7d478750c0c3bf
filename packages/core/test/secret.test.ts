import { expect, layer } from "@effect/vitest"
import { Secret } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

const value = "pa55-VALUE-3c9d1e-do-not-show"
const inject = (rule: Faults.FaultRule) => Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(rule))
const names = <E, R>(s: Stream.Stream<Secret.SecretSummary, E, R>) =>
  Effect.map(Stream.runCollect(s), (c) => Chunk.toReadonlyArray(c).map((x) => x.name))

/** Every rendering of an exit's failure: none may show the value. */
const expectNoValue = (exit: Exit.Exit<unknown, unknown>) => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isSuccess(exit)) return
  const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
  const text = [Cause.pretty(exit.cause), String(error), JSON.stringify(error), error instanceof Error ? error.stack : ""].join("\n")
  expect(text).not.toContain(value)
}

layer(layerSuite())("Secret", (it) => {
  it.effect("set then get: the value comes back Redacted, and shows as <redacted> however it is printed", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* Secret.set("db-password", Redacted.make(value))
      const secret = yield* Secret.get("db-password")
      expect(secret.name).toBe("db-password")
      expect(Redacted.value(secret.value)).toBe(value)
      expect(secret.expiryTime).toBe(0)
      expect(Option.isNone(secret.expiresAt)).toBe(true)
      expect(`${String(secret)} ${JSON.stringify(secret)} ${String(secret.value)}`).not.toContain(value)
      expect(Redacted.value(yield* Secret.value("db-password"))).toBe(value)
      // a plain string is accepted too; a set overwrites
      yield* Secret.set("db-password", "second")
      expect(Redacted.value((yield* Secret.get("db-password")).value)).toBe("second")
      const log = yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)
      const post = log.find((r) => r.method === "POST")!
      expect(new URL(post.url).pathname).toBe("/1/secrets")
      expect(post.headers["content-type"]).toMatch(/^application\/json/)
    }))

  it.effect("expiry: expiresAt is sent as Unix seconds and read back as a time; an expired secret is not found", () =>
    Effect.gen(function*() {
      yield* fresh
      const at = DateTime.unsafeMake("2099-01-02T03:04:05Z")
      yield* Secret.set("api-key", value, { expiresAt: at, type: "raw" })
      const secret = yield* Secret.get("api-key", { type: "raw" })
      expect(secret.expiryTime).toBe(DateTime.toEpochMillis(at) / 1000)
      expect(Option.map(secret.expiresAt, DateTime.formatIso)).toEqual(Option.some("2099-01-02T03:04:05.000Z"))
      yield* Secret.set("short", value, { expiresIn: "1 minute" })
      expect((yield* Secret.get("short")).name).toBe("short")
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.clock.advance("2 minutes"))
      const gone = yield* expectFailure(Secret.get("short"), "ResourceNotFound")
      expect(gone.message).toBe("secret 'short' not found")
    }).pipe(TestServices.provideLive))

  it.effect("list: a Stream of names and expiry times over every page, with the server's name filter; values never listed", () =>
    Effect.gen(function*() {
      yield* fresh
      const all = Array.from({ length: 23 }, (_, i) => `svc-${String(i).padStart(2, "0")}`)
      yield* Effect.forEach(all, (name) => Secret.set(name, `${value}-${name}`), { concurrency: 4, discard: true })
      yield* Secret.set("zz-other", value)
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.reset)
      expect(yield* names(Secret.list({ pageSize: 5 }))).toEqual([...all, "zz-other"])
      expect(yield* requestCount({ method: "GET", path: "/1/secrets/list" })).toBe(5)
      expect(yield* names(Secret.list({ filter: "svc-1.*" }))).toEqual(all.slice(10, 20))
      expect(yield* names(Secret.list({ offset: 20 }))).toEqual([...all.slice(20), "zz-other"])
      const first = yield* Secret.page({ pageSize: 10 })
      expect(first.items.length).toBe(10)
      expect(yield* names(Secret.list({ cursor: Option.getOrThrow(first.next), pageSize: 10 }))).toEqual([...all.slice(10), "zz-other"])
      expect(JSON.stringify(first)).not.toContain(value)
      // int64 expiry times beyond a double's integers (the spec's own examples) are read, not rejected
      const specExample = '{"items": [{"secret-name": "far", "expiry-time": 564797621531974727}], "links": []}'
      yield* inject(Faults.malformed(specExample, { match: { path: "/1/secrets/list" }, contentType: "application/json" }))
      const [far] = yield* Effect.map(Stream.runCollect(Secret.list()), Chunk.toReadonlyArray)
      expect([far!.name, far!.expiryTime > 5e17, Option.isNone(far!.expiresAt)]).toEqual(["far", true, true])
    }))

  it.effect("bad input is rejected before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      expect((yield* expectFailure(Secret.set("", value), "InvalidArgument")).argument).toBe("name")
      expect((yield* expectFailure(Secret.set("a\nb", value), "InvalidArgument")).argument).toBe("name")
      expect((yield* expectFailure(Secret.get(""), "InvalidArgument")).argument).toBe("name")
      expect((yield* expectFailure(Secret.set("a", value, { expiresAt: new Date(-5000) }), "InvalidArgument")).argument).toBe("expiresAt")
      expect((yield* expectFailure(Secret.set("a", value, { expiresIn: "forever" as never }), "InvalidArgument")).argument).toBe("expiresIn")
      expect((yield* expectFailure(Secret.set("a", value, { expiresAt: new Date(), expiresIn: "1 hour" }), "InvalidArgument")).argument).toBe("expiresAt")
      expect((yield* expectFailure(Secret.list({ pageSize: 0 }).pipe(Stream.runDrain), "InvalidArgument")).argument).toBe("pageSize")
      expect(yield* requestCount()).toBe(0)
    }))

  it.effect("a server that echoes the value in its errors: the value is scrubbed from the typed error", () =>
    Effect.gen(function*() {
      yield* fresh
      const echo = (status: number, body: unknown) =>
        inject(Faults.status(status, { match: { method: "POST", path: "/1/secrets" }, body: JSON.stringify(body), times: status >= 500 ? 10 : 1 }))
      yield* echo(400, { message: `secret-value '${value}' is too weak` })
      const bad = yield* expectFailure(Secret.set("a", value), "BadRequest")
      expect(bad.message).toBe("secret-value '<redacted>' is too weak")
      yield* echo(422, { name: "secret-value", message: "rejected", value })
      const invalid = yield* expectFailure(Secret.set("a", value), "InvalidParameter")
      expect(invalid.value).toBe("<redacted>")
      yield* echo(418, { message: value })
      const odd = yield* expectFailure(Secret.set("a", value), "UnexpectedStatus")
      expect(odd.body).not.toContain(value)
      for (const [status, body] of [[400, { message: value }], [500, { message: value }]] as const) {
        yield* echo(status, body)
        expectNoValue(yield* Effect.exit(Secret.set("a", Redacted.make(value))))
      }
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.faults.reset)
    }).pipe(TestServices.provideLive))

  it.effect("a read answered oddly: decode errors name the field but never show a value; unexpected bodies are withheld", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* Secret.set("k", value)
      const read = { match: { method: "GET", path: "/1/secrets" } }
      yield* inject(Faults.malformed(JSON.stringify({ "secret-name": "k", "secret-value": value }), read))
      const missing = yield* expectFailure(Secret.get("k"), "DecodeError")
      expect(missing.message).toBe("secret: expiry-time: is missing")
      yield* inject(Faults.malformed(JSON.stringify({ "secret-name": "k", "secret-value": [value], "expiry-time": 0 }), read))
      expect((yield* expectFailure(Secret.get("k"), "DecodeError")).message).toBe("secret: secret-value: is not valid")
      yield* inject(Faults.malformed(`not json ${value}`, read))
      yield* inject(Faults.malformed(JSON.stringify({ "secret-value": value }), { ...read, status: 203 }))
      for (let i = 0; i < 2; i++) expectNoValue(yield* Effect.exit(Secret.get("k")))
      yield* inject(Faults.malformed(JSON.stringify({ "secret-value": value }), { ...read, status: 203 }))
      expect((yield* expectFailure(Secret.get("k"), "UnexpectedStatus")).body).toBe("(withheld: the answer to a secret read)")
      // and the client still reads it when the server behaves
      expect(Redacted.value(yield* Secret.value("k"))).toBe(value)
    }))

  it.effect("unknown secret → ResourceNotFound; a deployment without secrets → NotImplemented", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* expectFailure(Secret.get("nope"), "ResourceNotFound")
      yield* inject(Faults.status(501, { match: { path: "/1/secrets" }, times: 3 }))
      yield* expectFailure(Secret.set("a", value), "NotImplemented")
      yield* expectFailure(Secret.get("a"), "NotImplemented")
      yield* expectFailure(Stream.runDrain(Secret.list()), "NotImplemented")
    }))
})
