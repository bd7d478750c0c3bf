import { expect, layer } from "@effect/vitest"
import { Artifact, Aspect, Order, Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { expectFailure, fresh, layerSuite } from "./utils/suite.js"

type Json = Record<string, unknown>
const hello = SeedData.helloWorld.id
const rewrite = (path: string | RegExp, f: (json: Json) => unknown) =>
  Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(Faults.mapBody((json) => f(json as Json), { match: { method: "GET", path } })))
const without = (json: Json, key: string): Json => Object.fromEntries(Object.entries(json).filter(([k]) => k !== key))
const firstItem = (json: Json, f: (item: Json) => Json): Json => {
  const [first, ...rest] = json["items"] as Array<Json>
  return { ...json, items: [f(first!), ...rest] }
}

layer(layerSuite())("malformed responses are DecodeErrors naming the field", (it) => {
  it.effect("a missing required key", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* rewrite(`/1/services2/${hello}`, (json) => without(json, "status"))
      const e = yield* expectFailure(Service.get(hello), "DecodeError")
      expect(e.message).toMatch(/\bstatus\b.*missing/i)
      expect(e.method).toBe("GET")
      expect(e.url).toContain("/1/services2/")
    }))

  it.effect("a wrong value nested thousands deep, or megabytes long, is a DecodeError of bounded size (no defect)", () =>
    Effect.gen(function*() {
      yield* fresh
      let deep: unknown = []
      for (let i = 0; i < 3000; i++) deep = [deep]
      yield* rewrite(`/1/services2/${hello}`, (json) => ({ ...json, name: deep }))
      const nested = yield* expectFailure(Service.get(hello), "DecodeError")
      expect(nested.message).toMatch(/\bname\b/)
      expect(nested.message.length).toBeLessThan(4096)
      yield* rewrite(`/1/services2/${hello}`, (json) => ({ ...json, name: { huge: "x".repeat(4 * 1024 * 1024) } }))
      const huge = yield* expectFailure(Service.get(hello), "DecodeError")
      expect(huge.message).toMatch(/\bname\b/)
      expect(huge.message.length).toBeLessThan(4096)
    }))

  it.effect("a cursor of any length is quoted by its start in the error of the page it asked for", () =>
    Effect.gen(function*() {
      yield* fresh
      const cursor = "c".repeat(200_000)
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.mapBody((json) => ({
        ...(json as Json),
        links: [{ rel: "next", type: "application/json", href: `/1/services2?page=${cursor}` }]
      }), { match: { method: "GET", path: /^\/1\/services2$/ }, times: 5 }))
      const e = yield* Effect.flip(Stream.runDrain(Service.list({ pageSize: 5 })))
      expect(String(e)).toContain("cccc")
      expect(String(e).length).toBeLessThan(8192)
      expect(JSON.stringify(e).length).toBeLessThan(8192)
    }))

  it.effect("a missing kebab-case key is named as on the wire", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* rewrite("/1/artifacts", (json) => firstItem(json, (item) => without(item, "created-at")))
      const e = yield* expectFailure(Stream.runDrain(Artifact.list()), "DecodeError")
      expect(e.message).toContain("items.0.created-at")
    }))

  it.effect("a null where a string is expected", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* rewrite("/1/services", (json) => firstItem(json, (item) => ({ ...item, name: null })))
      const e = yield* expectFailure(Stream.runDrain(Service.list()), "DecodeError")
      expect(e.message).toContain("items.0.name")
      expect(e.message).toContain("null")
    }))

  it.effect("an unknown enum value", () =>
    Effect.gen(function*() {
      yield* fresh
      const order = yield* Order.place(hello, { msg: "enum" })
      yield* rewrite(`/1/orders/${order.id}`, (json) => ({ ...json, status: "paused" }))
      const e = yield* expectFailure(Order.status(order.id), "DecodeError")
      expect(e.message).toContain("status")
      expect(e.message).toContain("paused")
    }))

  it.effect("a nested product without its id", () =>
    Effect.gen(function*() {
      yield* fresh
      const order = yield* Order.place(hello, { msg: "nested" })
      yield* rewrite(`/1/orders/${order.id}`, (json) => ({
        ...json,
        products: { links: [], items: [{ href: "/1/artifacts/x", status: "ready" }] }
      }))
      const e = yield* expectFailure(Order.get(order.id), "DecodeError")
      expect(e.message).toContain("products.items.0.id")
    }))

  it.effect("a listed aspect is checked once, as strictly as the class: each wire field named", () =>
    Effect.gen(function*() {
      yield* fresh
      const listed = Stream.runCollect(Aspect.list({ entity: SeedData.readmeArtifact.id }))
      const cases: ReadonlyArray<readonly [(item: Json) => Json, string]> = [
        [(item) => ({ ...item, "valid-from": "yesterday" }), "items.0.valid-from"],
        [(item) => ({ ...item, "valid-to": 7 }), "items.0.valid-to"],
        [(item) => ({ ...item, id: hello }), "items.0.id"],
        [(item) => ({ ...item, content: ["not", "an", "object"] }), "items.0.content"],
        [(item) => without(item, "content-type"), "items.0.content-type"]
      ]
      for (const [f, field] of cases) {
        yield* rewrite("/1/aspects", (json) => firstItem(json, f))
        expect((yield* expectFailure(listed, "DecodeError")).message).toContain(field)
      }
      // And a well-formed item decodes to the class, optional keys absent rather than undefined.
      const [first] = yield* listed
      expect(first).toBeInstanceOf(Aspect.AspectSummary)
      expect(first?.isRetracted).toBe(false)
      expect("validTo" in (first ?? {})).toBe(false)
      expect(first?.content).toEqual(expect.objectContaining({ $schema: first?.schema }))
    }))

  it.effect("a malformed date and an id of the wrong kind", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* rewrite(`/1/aspects/${SeedData.readmeAspect.id}`, (json) => ({ ...json, "valid-from": "yesterday" }))
      expect((yield* expectFailure(Aspect.get(SeedData.readmeAspect.id), "DecodeError")).message).toContain("valid-from")
      yield* rewrite("/1/orders", (json) => ({ ...json, items: [{ id: hello, href: "/x", account: "a", service: hello, status: "pending" }] }))
      const e = yield* expectFailure(Stream.runDrain(Order.list()), "DecodeError")
      expect(e.message).toContain("items.0.id")
      expect(e.message).toContain("urn:ivcap:order:")
    }))

  it.effect("a body that is not JSON", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.malformed("<html>oops</html>", { contentType: "text/html", match: { path: "/1/services2/" } }))
      const e = yield* expectFailure(Service.get(hello), "DecodeError")
      expect(e.message).toContain("not JSON")
      expect(e.message).toContain("<html>")
    }))

  it.effect("an error status with an undocumented body is UnexpectedStatus with an excerpt", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(404, { body: "<h1>proxy says no</h1>", contentType: "text/html", match: { path: "/1/services2/" } }))
      const e = yield* expectFailure(Service.get(hello), "UnexpectedStatus")
      expect(e.status).toBe(404)
      expect(e.body).toContain("proxy says no")
      expect(e.message).toContain("404")
      yield* emulator.faults.inject(Faults.status(418, { match: { path: "/1/services2/" } }))
      expect((yield* expectFailure(Service.get(hello), "UnexpectedStatus")).status).toBe(418)
    }))
})
