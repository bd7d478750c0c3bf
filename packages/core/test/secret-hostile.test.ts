/**
 * Secrets against the emulator (over HTTP) made to answer as the spec does not declare but a server may: a set
 * answered `200` or `202` rather than `204`, a read answered with a secret of another name.
 */
import { expect, layer } from "@effect/vitest"
import { Secret } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { expectFailure, fresh, layerSuite } from "./utils/suite.js"

const value = "pa55-VALUE-77aa01-do-not-show"
const inject = (rule: Faults.FaultRule) => Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(rule))
const set = { match: { method: "POST", path: "/1/secrets" } }
const read = { match: { method: "GET", path: /^\/1\/secrets$/ } }

layer(layerSuite())("Secret against an odd server", (it) => {
  it.effect("a set answered 200 (with a body) or 202 succeeds, and the secret is there", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject(Faults.malformed(JSON.stringify({ ok: true }), { ...set, status: 200 }))
      yield* Secret.set("db", value)
      expect(Redacted.value(yield* Secret.value("db"))).toBe(value)
      yield* inject(Faults.malformed("", { ...set, status: 202 }))
      yield* Secret.set("db", `${value}-2`)
      expect(Redacted.value(yield* Secret.value("db"))).toBe(`${value}-2`)
      // still an error for a status no set answers with
      yield* inject(Faults.malformed("", { ...set, status: 201 }))
      yield* expectFailure(Secret.set("db", value), "UnexpectedStatus")
    }))

  it.effect("a read answered with a secret of another name is a DecodeError naming both names, never the value", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* Secret.set("db", value)
      yield* inject(Faults.malformed(JSON.stringify({ "secret-name": "OTHER", "secret-value": value, "expiry-time": 0 }), read))
      const error = yield* expectFailure(Secret.get("db"), "DecodeError")
      expect(error.message).toBe("secret: asked for \"db\", the server answered for \"OTHER\"")
      expect([String(error), JSON.stringify(error), error.stack].join("\n")).not.toContain(value)
      expect((yield* Secret.get("db")).name).toBe("db")
    }))
})
