/**
 * Collections against a server that ignores its listing filters (`content-path`, `entity`, `schema`): the emulator
 * over HTTP, with its aspect listings answered with a fixed set of records whatever the query asked for. Nothing of
 * another item or another collection may be retracted, taken for a member, or shown.
 */
import { expect, layer } from "@effect/vitest"
import { Aspect, Collection } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { expectFailure, fresh, layerSuite } from "./utils/suite.js"

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const artifact = (n: number) => `urn:ivcap:artifact:00000000-0000-4000-8000-${String(n).padStart(12, "0")}`
const log = Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)
const forget = Effect.flatMap(Emulator.Emulator, (e) => e.requests.reset)
const heal = Effect.flatMap(Emulator.Emulator, (e) => e.faults.reset)
const members = (id: string) => Effect.map(collect(Collection.items(id)), (items) => items.map((i) => i.item))
const encode = Schema.encodeSync(Aspect.AspectSummary)

/** The active aspects of these schemas, of every entity, as the wire's list items. */
const wireAspects = (...schemas: ReadonlyArray<string>) =>
  Effect.map(
    Effect.forEach(schemas, (schema) => collect(Aspect.list({ schema }))),
    (lists) => lists.flat().map((a) => encode(a))
  )

/** From now on, every aspect listing is answered with `items` (one page), whatever its query. */
const ignoreFilters = (items: ReadonlyArray<unknown>) =>
  Effect.flatMap(Emulator.Emulator, (e) =>
    e.faults.inject(Faults.mapBody((json) => ({ ...(json as object), items }), { match: { method: "GET", path: /^\/1\/aspects$/ }, times: 1000 })))

/** Collection `a` with members 1, 2, 3 and collection `b` with members 1, 3. */
const twoCollections = Effect.gen(function*() {
  const a = yield* Collection.newUrn
  const b = yield* Collection.newUrn
  yield* Collection.create(a, { name: "mine" })
  yield* Collection.create(b, { name: "someone else's" })
  for (const n of [1, 2, 3]) yield* Collection.add(a, artifact(n))
  for (const n of [1, 3]) yield* Collection.add(b, artifact(n))
  return { a, b }
})

const deleted = Effect.map(log, (requests) =>
  requests.filter((r) => r.method === "DELETE").map((r) => decodeURIComponent(new URL(r.url).pathname).replace("/1/aspects/", "")).sort())

layer(layerSuite())("Collection against a server that ignores its filters", (it) => {
  it.effect("remove with content-path ignored retracts the item's membership only", () =>
    Effect.gen(function*() {
      yield* fresh
      const { a } = yield* twoCollections
      const all = yield* collect(Aspect.list({ entity: a, schema: Collection.itemSchema }))
      const ofTwo = all.filter((m) => m.content?.["item"] === artifact(2)).map((m) => m.id)
      expect(ofTwo.length).toBe(1)
      // the memberships of `a` (entity honoured), whatever item was asked for
      yield* ignoreFilters(all.map((m) => encode(m)))
      yield* forget
      expect(yield* Collection.remove(a, artifact(2))).toBe(true)
      expect(yield* deleted).toEqual(ofTwo)
      yield* heal
      expect([...(yield* members(a))].sort()).toEqual([artifact(1), artifact(3)])
    }))

  it.effect("add with content-path ignored adds a non-member (and still sees a member)", () =>
    Effect.gen(function*() {
      yield* fresh
      const { a } = yield* twoCollections
      yield* ignoreFilters(yield* wireAspects(Collection.itemSchema))
      expect(Option.isNone(yield* Collection.add(a, artifact(3)))).toBe(true)
      const added = yield* Collection.add(a, artifact(4))
      expect(Option.map(added, (m) => [m.collection, m.item])).toEqual(Option.some([a, artifact(4)]))
      yield* heal
      expect([...(yield* members(a))].sort()).toEqual([1, 2, 3, 4].map(artifact))
    }))

  it.effect("retract with entity and schema ignored retracts the collection's own aspects only", () =>
    Effect.gen(function*() {
      yield* fresh
      const { a, b } = yield* twoCollections
      const own = (yield* collect(Aspect.list({ entity: a }))).map((x) => x.id)
      expect(own.length).toBe(4)
      yield* ignoreFilters(yield* wireAspects(Collection.definitionSchema, Collection.itemSchema))
      yield* forget
      expect(yield* Collection.retract(a)).toBe(4)
      expect(yield* deleted).toEqual([...own].sort())
      yield* heal
      expect((yield* Collection.get(b)).name).toBe("someone else's")
      expect(yield* members(b)).toEqual([artifact(1), artifact(3)])
      yield* expectFailure(Collection.get(a), "ResourceNotFound")
    }))

  it.effect("items with the entity ignored lists the collection's own members only; with the schema ignored too, members only", () =>
    Effect.gen(function*() {
      yield* fresh
      const { a, b } = yield* twoCollections
      yield* ignoreFilters(yield* wireAspects(Collection.itemSchema))
      const items = yield* collect(Collection.items(a, { includeLegacy: false }))
      expect(items.map((i) => [i.collection, i.item]).sort()).toEqual([1, 2, 3].map((n) => [a, artifact(n)]))
      yield* heal
      yield* ignoreFilters(yield* wireAspects(Collection.definitionSchema, Collection.itemSchema, Collection.legacySchema))
      expect([...(yield* members(b))].sort()).toEqual([artifact(1), artifact(3)])
    }))

  it.effect("get answered with another collection's definition: not that collection (its own, when in the page; else ResourceNotFound)", () =>
    Effect.gen(function*() {
      yield* fresh
      const { a, b } = yield* twoCollections
      const definitions = yield* wireAspects(Collection.definitionSchema)
      const ofB = definitions.filter((d) => d.entity === b)
      yield* ignoreFilters(ofB)
      const missing = yield* expectFailure(Collection.get(a), "ResourceNotFound")
      expect(missing.id).toBe(a)
      yield* heal
      yield* ignoreFilters([...ofB, ...definitions.filter((d) => d.entity === a)])
      const read = yield* Collection.get(a)
      expect([read.id, read.name]).toEqual([a, "mine"])
    }))

  it.effect("list by name with the name filter and the schema ignored: the named collections only", () =>
    Effect.gen(function*() {
      yield* fresh
      const { a } = yield* twoCollections
      yield* ignoreFilters(yield* wireAspects(Collection.definitionSchema))
      const listed = yield* collect(Collection.list({ name: "mine" }))
      expect(listed.map((c) => [c.id, c.name])).toEqual([[a, "mine"]])
      yield* heal
      yield* ignoreFilters(yield* wireAspects(Collection.definitionSchema, Collection.itemSchema))
      expect((yield* collect(Collection.list())).map((c) => c.name).sort()).toEqual(["mine", "someone else's"])
    }))

  it.effect("create with the entity ignored: another collection's definition is no reason to replace (POST, not PUT)", () =>
    Effect.gen(function*() {
      yield* fresh
      const { b } = yield* twoCollections
      const definitions = yield* wireAspects(Collection.definitionSchema)
      yield* ignoreFilters(definitions.filter((d) => d.entity === b))
      const id = yield* Collection.newUrn
      yield* forget
      const created = yield* Collection.create(id, { name: "new one" })
      expect([created.id, created.name]).toEqual([id, "new one"])
      expect((yield* log).filter((r) => r.method !== "GET").map((r) => r.method)).toEqual(["POST"])
    }))
})
