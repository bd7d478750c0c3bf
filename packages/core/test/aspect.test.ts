import { expect, layer } from "@effect/vitest"
import { Aspect, type IvcapClient, type Paging } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

const entity = "urn:example:entity:transect-7"
const schema = "urn:example:schema:survey.1"
type Failure = Aspect.AddError | Aspect.UpdateError | Aspect.GetError | Aspect.RetractError | Paging.ListError
const argumentOf = (effect: Effect.Effect<unknown, Failure, IvcapClient.IvcapClient>) =>
  Effect.map(expectFailure(effect, "InvalidArgument"), (e) => e.argument)
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

layer(layerSuite())("Aspect", (it) => {
  it.effect("add takes the schema from content[\"$schema\"], injects $entity, and get reads the record", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Aspect.add(entity, { $schema: schema, depth: 12, species: ["kelp"] })
      expect(id).toMatch(/^urn:ivcap:aspect:/)
      const record = yield* Aspect.get(id)
      expect(record.entity).toBe(entity)
      expect(record.schema).toBe(schema)
      expect(record.content).toEqual({ $schema: schema, $entity: entity, depth: 12, species: ["kelp"] })
      expect(record.contentType).toBe("application/json")
      expect(record.asserter).toBe(SeedData.principal)
      expect(record.isRetracted).toBe(false)
      expect(DateTime.toEpochMillis(record.validFrom)).toBeGreaterThan(SeedData.seededAt)
      const log = yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)
      const post = log.find((r) => r.method === "POST")!
      const query = new URL(post.url, "http://x").searchParams
      expect([query.get("entity"), query.get("schema"), query.get("policy")]).toEqual([entity, schema, null])
      expect(post.headers["content-type"]).toMatch(/^application\/json/)
    }))

  it.effect("add with options.schema injects $schema; a policy is passed on", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Aspect.add(entity, { depth: 3 }, { schema, policy: SeedData.defaultPolicy })
      expect((yield* Aspect.get(id)).content).toEqual({ $schema: schema, $entity: entity, depth: 3 })
      const log = yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)
      expect(new URL(log[0]!.url, "http://x").searchParams.get("policy")).toBe(SeedData.defaultPolicy)
    }))

  it.effect("bad input is InvalidArgument before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      expect(yield* argumentOf(Aspect.add(entity, { depth: 1 }))).toBe("schema")
      expect(yield* argumentOf(Aspect.update(entity, { depth: 1 }))).toBe("schema")
      expect(yield* argumentOf(Aspect.add(entity, { $schema: 7 }))).toBe("content")
      expect(yield* argumentOf(Aspect.add(entity, [1, 2], { schema }))).toBe("content")
      expect(yield* argumentOf(Aspect.add(entity, "text", { schema }))).toBe("content")
      expect(yield* argumentOf(Aspect.add("transect-7", { $schema: schema }))).toBe("entity")
      expect(yield* argumentOf(Aspect.add(entity, { $schema: "survey.1" }))).toBe("schema")
      expect(yield* argumentOf(Aspect.add(entity, { $schema: schema }, { schema: "urn:example:schema:other.1" }))).toBe("schema")
      expect(yield* argumentOf(Aspect.add(entity, { $schema: schema, $entity: "urn:example:entity:other" }))).toBe("entity")
      expect(yield* argumentOf(Aspect.add(entity, { $schema: schema }, { policy: "urn:ivcap:account:1" }))).toBe("policy")
      expect(yield* argumentOf(Aspect.get("urn:ivcap:artifact:1"))).toBe("id")
      yield* expectFailure(Aspect.retract("aspect-1"), "InvalidArgument")
      yield* expectFailure(Stream.runDrain(Aspect.list({ entity: "no urn" })), "InvalidArgument")
      yield* expectFailure(Stream.runDrain(Aspect.list({ schema: " " })), "InvalidArgument")
      expect(yield* requestCount()).toBe(0)
    }))

  it.effect("update asserts a new record and retracts the active one", () =>
    Effect.gen(function*() {
      yield* fresh
      const first = yield* Aspect.add(entity, { $schema: schema, depth: 1 })
      const second = yield* Aspect.update(entity, { $schema: schema, depth: 2 })
      expect(second).not.toBe(first)
      const old = yield* Aspect.get(first)
      expect(old.isRetracted).toBe(true)
      expect(old.retracter).toBe(SeedData.principal)
      const active = yield* collect(Aspect.list({ entity }))
      expect(active.map((a) => [a.id, a.content?.["depth"]])).toEqual([[second, 2]])
      // The past is still there: at the first record's valid-from, the first record was the active one.
      const past = yield* collect(Aspect.list({ entity, atTime: old.validFrom }))
      expect(past.map((a) => a.id)).toEqual([first])
    }))

  it.effect("update with two active records is NotUnique (424), sent once", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* Aspect.add(entity, { $schema: schema, n: 1 })
      yield* Aspect.add(entity, { $schema: schema, n: 2 })
      const e = yield* expectFailure(Aspect.update(entity, { $schema: schema, n: 3 }), "NotUnique")
      expect(e.method).toBe("PUT")
      expect(e.message).toContain("active")
      expect(yield* requestCount({ method: "PUT" })).toBe(1)
    }))

  it.effect("retract sets valid-to; retracted records leave the current listing", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Aspect.add(entity, { $schema: schema, v: 1 })
      yield* Aspect.retract(id)
      const record = yield* Aspect.get(id)
      expect(record.isRetracted).toBe(true)
      expect(record.validTo).toBeDefined()
      expect(yield* collect(Aspect.list({ entity }))).toEqual([])
      // retracting again is harmless (204 again)
      yield* Aspect.retract(id)
      expect(yield* requestCount({ method: "DELETE" })).toBe(2)
    }))

  it.effect("unknown ids are ResourceNotFound for get and retract", () =>
    Effect.gen(function*() {
      const unknown = "urn:ivcap:aspect:00000000-0000-0000-0000-000000000000"
      expect((yield* expectFailure(Aspect.get(unknown), "ResourceNotFound")).id).toBe(unknown)
      yield* expectFailure(Aspect.retract(unknown), "ResourceNotFound")
    }))

  it.effect("list: entity, schema prefix with %, content path, filter, ordering", () =>
    Effect.gen(function*() {
      yield* fresh
      const a = yield* Aspect.add(entity, { $schema: "urn:example:schema:survey.1", depth: 5 })
      const b = yield* Aspect.add(entity, { $schema: "urn:example:schema:survey.2", depth: 50 })
      const c = yield* Aspect.add(entity, { $schema: "urn:example:schema:photo.1", depth: 500 })
      const ids = (s: Stream.Stream<Aspect.AspectSummary, Paging.ListError, IvcapClient.IvcapClient>) =>
        Effect.map(collect(s), (xs) => xs.map((x) => x.id))
      expect(yield* ids(Aspect.list({ entity }))).toEqual([c, b, a])
      expect(yield* ids(Aspect.list({ entity, orderDirection: "ASC" }))).toEqual([a, b, c])
      expect(yield* ids(Aspect.list({ entity, schema: "urn:example:schema:survey%", orderDirection: "ASC" }))).toEqual([a, b])
      expect(yield* ids(Aspect.list({ entity, contentPath: "$.depth ? (@ > 10)", orderDirection: "ASC" }))).toEqual([b, c])
      expect(yield* ids(Aspect.list({ entity, filter: "schema ~= '%photo%'" }))).toEqual([c])
      expect(yield* ids(Aspect.list({ entity, orderBy: "schema", orderDirection: "ASC" }))).toEqual([c, a, b])
      expect(yield* ids(Aspect.list({ schema: "urn:ivcap:schema:artifact.1", orderDirection: "ASC" }))).toEqual([
        SeedData.readmeAspect.id,
        SeedData.boundaryAspect.id
      ])
    }))

  it.effect("list includes content by default; without it, Aspect.content reads the record", () =>
    Effect.gen(function*() {
      yield* fresh
      const withContent = yield* collect(Aspect.list({ entity: SeedData.readmeArtifact.id }))
      expect(withContent[0]!.content).toEqual(SeedData.readmeAspect.content)
      const bare = yield* collect(Aspect.list({ entity: SeedData.readmeArtifact.id, includeContent: false }))
      expect(bare[0]!.content).toBeUndefined()
      const log = yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)
      expect(log.map((r) => new URL(r.url, "http://x").searchParams.get("include-content"))).toEqual(["true", "false"])
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.reset)
      expect(yield* Aspect.content(bare[0]!)).toEqual(SeedData.readmeAspect.content)
      expect(yield* requestCount({ method: "GET", path: "/1/aspects/" })).toBe(1)
      expect(yield* Aspect.content(withContent[0]!)).toEqual(SeedData.readmeAspect.content)
      expect(yield* requestCount()).toBe(1)
    }))

  it.effect("decodeContent decodes with a user Schema and names the field that does not fit", () =>
    Effect.gen(function*() {
      yield* fresh
      const Doc = Schema.Struct({ title: Schema.String, keywords: Schema.Array(Schema.String) })
      const aspect = yield* Aspect.get(SeedData.readmeAspect.id)
      expect(yield* Aspect.decodeContent(Doc)(aspect)).toEqual({ title: "Sample artifact", keywords: ["sample", "readme"] })
      const Wrong = Schema.Struct({ title: Schema.Number })
      const e = yield* expectFailure(Aspect.decodeContent(Wrong)(aspect), "DecodeError")
      expect(e.message).toContain("title")
      expect(e.message).toContain(SeedData.readmeAspect.id)
      // Decoding a value at hand makes no request: no invented method or URL.
      expect(e.url).toBeUndefined()
      const [bare] = yield* collect(Aspect.list({ entity: SeedData.readmeArtifact.id, includeContent: false }))
      const missing = yield* expectFailure(Aspect.decodeContent(Doc)(bare!), "DecodeError")
      expect(missing.message).toContain("includeContent")
    }))

  it.effect("taking N items fetches only the pages N needs", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const bulk = "urn:example:entity:bulk"
      const ids = yield* emulator.seed.aspects(120, { entity: bulk, schema, content: (i) => ({ i }) })
      yield* emulator.requests.reset
      const taken = yield* collect(Aspect.list({ entity: bulk, pageSize: 10 }).pipe(Stream.take(25)))
      expect(taken.map((a) => a.id)).toEqual([...ids].reverse().slice(0, 25))
      expect(yield* requestCount({ path: "/1/aspects" })).toBe(3)
      yield* emulator.requests.reset
      expect((yield* collect(Aspect.list({ entity: bulk, pageSize: 10 }).pipe(Stream.take(20)))).length).toBe(20)
      expect(yield* requestCount()).toBe(2)
      yield* emulator.requests.reset
      expect((yield* collect(Aspect.list({ entity: bulk, pageSize: 50 }))).length).toBe(120)
      expect(yield* requestCount()).toBe(3)
      const page = yield* Aspect.page({ entity: bulk, pageSize: 5 })
      expect(page.items.length).toBe(5)
    }))

  it.effect("server-side rejections: 422 names the parameter; 415 is UnsupportedContentType", () =>
    Effect.gen(function*() {
      yield* fresh
      const bad = yield* expectFailure(Stream.runDrain(Aspect.list({ contentPath: "$.[[[" })), "InvalidParameter")
      expect(bad.name).toBe("content-path")
      expect(bad.value).toBe("$.[[[")
      const order = yield* expectFailure(Stream.runDrain(Aspect.list({ orderBy: "colour" })), "InvalidParameter")
      expect(order.name).toBe("order-by")
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(415, { match: { path: "/1/aspects" } }))
      const e = yield* expectFailure(Stream.runDrain(Aspect.list()), "UnsupportedContentType")
      expect(e.url).toContain("/1/aspects")
    }))

  it.effect("POST is never retried; PUT and DELETE are", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(503, { match: { method: "POST" }, times: 3 }))
      yield* expectFailure(Aspect.add(entity, { $schema: schema }), "ServiceUnavailable")
      expect(yield* requestCount({ method: "POST" })).toBe(1)
      yield* emulator.faults.reset
      yield* emulator.faults.inject(Faults.status(503, { match: { method: "PUT" }, times: 2 }))
      const id = yield* Aspect.update(entity, { $schema: schema, x: 1 })
      expect(yield* requestCount({ method: "PUT" })).toBe(3)
      yield* emulator.faults.inject(Faults.status(502, { match: { method: "DELETE" }, times: 1 }))
      yield* Aspect.retract(id)
      expect(yield* requestCount({ method: "DELETE" })).toBe(2)
      expect((yield* Aspect.get(id)).isRetracted).toBe(true)
    }).pipe(TestServices.provideLive))
})
