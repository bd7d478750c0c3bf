import { describe, expect, it, layer } from "@effect/vitest"
import { Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

const asRecord = (u: unknown) => u as Record<string, unknown>

layer(layerSuite())("Service", (it) => {
  it.effect("list streams every service across pages, in one request per page", () =>
    Effect.gen(function*() {
      yield* Service.apiVersion // the client's one version probe, out of the count
      yield* fresh
      const all = yield* Stream.runCollect(Service.list({ pageSize: 25 }))
      expect(all.length).toBe(SeedData.services2Count)
      expect(new Set(Chunk.toReadonlyArray(all).map((s) => s.id)).size).toBe(SeedData.services2Count)
      expect(yield* requestCount({ method: "GET", path: /^\/1\/services2?$/ })).toBe(Math.ceil(SeedData.services2Count / 25))
    }))

  it.effect("listPages and page expose page structure and the next cursor", () =>
    Effect.gen(function*() {
      yield* fresh
      const first = yield* Service.page({ pageSize: 7 })
      expect(first.items.length).toBe(7)
      expect(Option.isSome(first.next)).toBe(true)
      expect(Option.isSome(first.atTime)).toBe(true)
      const second = yield* Service.page({ pageSize: 7, cursor: Option.getOrThrow(first.next) })
      expect(second.items.length).toBe(7)
      expect(second.items.map((s) => s.id)).not.toContain(first.items[0]!.id)
      const pages = yield* Stream.runCollect(Service.listPages({ pageSize: 50 }))
      expect(Chunk.toReadonlyArray(pages).map((p) => p.items.length)).toEqual([50, SeedData.services2Count - 50])
    }))

  it.effect("filter and ordering reach the server", () =>
    Effect.gen(function*() {
      yield* fresh
      const fire = yield* Stream.runCollect(Service.list({ filter: "name ~= 'fire%'" }))
      expect(Chunk.toReadonlyArray(fire).map((s) => s.name)).toEqual([SeedData.richService.name])
      const asc = yield* Service.page({ orderBy: "name", orderDirection: "ASC", pageSize: 50 })
      const names = asc.items.map((s) => s.name ?? "")
      expect(names).toEqual([...names].sort())
      const desc = yield* Service.page({ orderBy: "name", orderDirection: "DESC", pageSize: 50 })
      const descNames = desc.items.map((s) => s.name ?? "")
      expect(descNames).toEqual([...descNames].sort().reverse())
      expect(descNames).not.toEqual(names)
      // The deprecated option still works, and `orderDirection` wins over it.
      const legacy = yield* Service.page({ orderBy: "name", orderDesc: false, pageSize: 50 })
      expect(legacy.items.map((s) => s.name ?? "")).toEqual(names)
      const both = yield* Service.page({ orderBy: "name", orderDesc: false, orderDirection: "DESC", pageSize: 50 })
      expect(both.items.map((s) => s.name ?? "")).toEqual(descNames)
    }))

  it.effect("get decodes the service with all seven parameter types", () =>
    Effect.gen(function*() {
      const s = yield* Service.get(SeedData.richService.id)
      expect(s.id).toBe(SeedData.richService.id)
      expect(s.status).toBe("active")
      expect(new Set(s.parameters.map((p) => p.type))).toEqual(new Set(["string", "int", "float", "bool", "option", "artifact", "collection"]))
      expect(s.parameters.map((p) => p.name)).toEqual(SeedData.richServiceParameters.map((p) => p.name))
      const model = s.parameters.find((p) => p.name === "model")!
      expect(model.options?.map((o) => o.value)).toEqual(["mcarthur", "afdrs", "grassland"])
    }))

  it.effect("status, parameters and mandatoryParameters", () =>
    Effect.gen(function*() {
      expect(yield* Service.status(SeedData.helloWorld.id)).toBe("active")
      const params = yield* Service.parameters(SeedData.helloWorld.id)
      expect(params.map((p) => p.name)).toEqual([SeedData.helloWorld.parameter])
      // Mandatory = neither optional nor with a non-empty default (the Python client's rule).
      const expected = SeedData.richServiceParameters.filter((p) => p.optional !== true && (p.default ?? "") === "").map((p) => p.name)
      expect(yield* Service.mandatoryParameters(SeedData.richService.id)).toEqual(expected)
      expect(expected).toEqual(["region"])
    }))

  it.effect("get of an unknown service is ResourceNotFound with the server's id and message", () =>
    Effect.gen(function*() {
      const missing = "urn:ivcap:service:00000000-0000-0000-0000-000000000000"
      const e = yield* expectFailure(Service.get(missing), "ResourceNotFound")
      expect(e.id).toBe(missing)
      expect(e.message).toContain("not found")
    }))

  it.effect("a malformed id is InvalidArgument before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      const e = yield* expectFailure(Service.get("urn:ivcap:order:123"), "InvalidArgument")
      expect(e.argument).toBe("id")
      expect(e.message).toContain("urn:ivcap:service:")
      yield* expectFailure(Service.get("not a urn/../x"), "InvalidArgument")
      expect(yield* requestCount()).toBe(0)
    }))

  it.effect("getByName finds the exact name, although the server's filter is a LIKE", () =>
    Effect.gen(function*() {
      const s = yield* Service.getByName(SeedData.helloWorld.name)
      expect(s.id).toBe(SeedData.helloWorld.id)
      // `fire-risk%` matches by LIKE on the server, but no service is called exactly that.
      yield* expectFailure(Service.getByName("fire-risk%"), "ResourceNotFound")
      const none = yield* expectFailure(Service.getByName("no-such-service"), "ResourceNotFound")
      expect(none.message).toContain("no-such-service")
      yield* expectFailure(Service.getByName("  "), "InvalidArgument")
    }))

  it.effect("getByName fails with AmbiguousRequest when two services have the name (seeded with seed.service)", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const copy = Option.getOrThrow(yield* emulator.seed.service(SeedData.helloWorld.id))
      const e = yield* expectFailure(Service.getByName(SeedData.helloWorld.name), "AmbiguousRequest")
      expect([...e.candidates].sort()).toEqual([SeedData.helloWorld.id, copy].sort())
      yield* fresh
      expect((yield* Service.getByName(SeedData.helloWorld.name)).id).toBe(SeedData.helloWorld.id)
    }))

  it.effect("getByName with two services of that name is AmbiguousRequest listing both", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const twin = "urn:ivcap:service:11111111-2222-3333-4444-555555555555"
      yield* emulator.faults.inject(Faults.mapBody((json) => {
        const body = asRecord(json)
        const items = body["items"] as Array<Record<string, unknown>>
        return { ...body, items: [...items, { ...items[0], id: twin }] }
      }, { match: { method: "GET", path: "/1/services" } }))
      const e = yield* expectFailure(Service.getByName(SeedData.helloWorld.name), "AmbiguousRequest")
      expect([...e.candidates].sort()).toEqual([SeedData.helloWorld.id, twin].sort())
    }))

  it.effect("an invalid page size is InvalidArgument with zero requests", () =>
    Effect.gen(function*() {
      yield* fresh
      for (const pageSize of [0, 51, 2.5, -1]) {
        const e = yield* expectFailure(Stream.runDrain(Service.list({ pageSize })), "InvalidArgument")
        expect(e.argument).toBe("pageSize")
      }
      yield* expectFailure(Service.list({ pageSize: Number.NaN }).pipe(Stream.runDrain), "InvalidArgument")
      expect(yield* requestCount()).toBe(0)
    }))
})

describe("Service (module surface)", () => {
  it.effect("ParameterDef.isOptional follows the Python rule", () =>
    Effect.sync(() => {
      const def = (fields: Partial<Service.ParameterDef>) => new Service.ParameterDef({ name: "p", type: "string", description: "d", ...fields })
      expect(def({}).isOptional).toBe(false)
      expect(def({ optional: true }).isOptional).toBe(true)
      expect(def({ default: "x" }).isOptional).toBe(true)
      expect(def({ default: "" }).isOptional).toBe(false)
    }))
})
