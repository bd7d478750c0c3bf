import { expect, layer } from "@effect/vitest"
import { Aspect, Collection, UploadSource } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const members = (id: string, options?: Collection.ItemsOptions) =>
  Effect.map(collect(Collection.items(id, options)), (items) => items.map((i) => i.item))
const log = Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)
const forget = Effect.flatMap(Emulator.Emulator, (e) => e.requests.reset)
const inject = (rule: Faults.FaultRule) => Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(rule))
const artifact = (n: number) => `urn:ivcap:artifact:00000000-0000-4000-8000-${String(n).padStart(12, "0")}`
const now = Effect.flatMap(Emulator.Emulator, (e) => Effect.map(e.clock.now, (t) => DateTime.unsafeMake(t)))

layer(layerSuite())("Collection", (it) => {
  it.effect("newUrn: urn:ivcap:collection:<v4 uuid>, a new one each time", () =>
    Effect.gen(function*() {
      const a = yield* Collection.newUrn
      const b = yield* Collection.newUrn
      expect(a).toMatch(/^urn:ivcap:collection:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(a).not.toBe(b)
    }))

  it.effect("create: POST for a new collection, PUT to replace its definition; get reads it back", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Collection.newUrn
      const created = yield* Collection.create(id, { name: "Ocean CTD Survey", description: "V2025-03" })
      expect(created).toMatchObject({ id, name: "Ocean CTD Survey", description: "V2025-03", format: "collection.1" })
      expect(created.validFrom).toBeDefined()
      const writes = (yield* log).filter((r) => r.method !== "GET").map((r) => r.method)
      expect(writes).toEqual(["POST"])
      const check = new URL((yield* log).find((r) => r.method === "GET")!.url).searchParams
      expect([check.get("entity"), check.get("schema"), check.get("include-content"), check.get("limit")]).toEqual([id, Collection.definitionSchema, "false", "1"])
      const record = yield* Aspect.get(created.aspect)
      expect(record.schema).toBe(Collection.definitionSchema)
      expect(record.content).toEqual({ $schema: Collection.definitionSchema, $entity: id, name: "Ocean CTD Survey", description: "V2025-03" })
      yield* forget
      const renamed = yield* Collection.create(id, { name: "CTD casts" })
      expect((yield* log).filter((r) => r.method !== "GET").map((r) => r.method)).toEqual(["PUT"])
      expect(renamed.description).toBeUndefined()
      const read = yield* Collection.get(id)
      expect([read.name, read.aspect]).toEqual(["CTD casts", renamed.aspect])
      // the old definition is still there in the past
      const before = yield* Collection.get(id, { atTime: created.validFrom! })
      expect(before.name).toBe("Ocean CTD Survey")
    }))

  it.effect("add, items, remove: de-duplicated adds, members over pages, removal that keeps the history", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Collection.newUrn
      yield* Collection.create(id, { name: "survey" })
      const added = yield* Collection.add(id, artifact(1))
      expect(Option.map(added, (i) => [i.collection, i.item, i.format])).toEqual(Option.some([id, artifact(1), "collection.1"]))
      const record = yield* Aspect.get(Option.getOrThrow(added).id)
      expect(record.content).toMatchObject({ collection: id, item: artifact(1) })
      expect(record.schema).toBe(Collection.itemSchema)
      yield* forget
      expect(Option.isNone(yield* Collection.add(id, artifact(1)))).toBe(true)
      const dedup = (yield* log).map((r) => [r.method, new URL(r.url).searchParams.get("content-path")])
      expect(dedup).toEqual([["GET", `$.item ? (@ == "${artifact(1)}")`]])
      for (let n = 2; n <= 12; n++) yield* Collection.add(id, artifact(n))
      yield* forget
      const all = yield* members(id, { pageSize: 5 })
      expect(all).toEqual(Array.from({ length: 12 }, (_, i) => artifact(i + 1))) // in the order they were added
      expect(yield* requestCount({ method: "GET", path: "/1/aspects" })).toBe(3 + 1) // 3 pages, then the CLI-format check
      const before = yield* now
      yield* forget
      expect(yield* Collection.remove(id, artifact(5))).toBe(true)
      expect(yield* requestCount({ method: "DELETE" })).toBe(1)
      expect(yield* Collection.remove(id, artifact(5))).toBe(false)
      expect(yield* Collection.remove(id, "urn:ivcap:artifact:never-added")).toBe(false)
      expect(yield* requestCount({ method: "DELETE" })).toBe(1)
      expect(yield* members(id)).not.toContain(artifact(5))
      expect(yield* members(id, { atTime: before })).toContain(artifact(5))
    }))

  it.effect("a deployment without content-path queries: add and remove fall back to reading the members", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Collection.newUrn
      yield* Collection.add(id, artifact(1))
      yield* Collection.add(id, artifact(2))
      const rejectQuery = inject(Faults.status(422, { match: { method: "GET", path: "/1/aspects" } }))
      yield* rejectQuery
      expect(Option.isNone(yield* Collection.add(id, artifact(2)))).toBe(true)
      yield* rejectQuery
      expect(Option.isSome(yield* Collection.add(id, artifact(3)))).toBe(true)
      yield* rejectQuery
      expect(yield* Collection.remove(id, artifact(1))).toBe(true)
      expect([...(yield* members(id))].sort()).toEqual([artifact(2), artifact(3)])
    }))

  it.effect("remove retracts every active membership of the item (duplicates from a failed check included)", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Collection.newUrn
      // two membership records for the same item, as a racing or check-less writer leaves them
      for (let i = 0; i < 2; i++) yield* Aspect.add(id, { collection: id, item: artifact(7) }, { schema: Collection.itemSchema })
      expect(yield* members(id)).toEqual([artifact(7), artifact(7)])
      expect(yield* Collection.remove(id, artifact(7))).toBe(true)
      expect(yield* members(id)).toEqual([])
    }))

  it.effect("list: newest first, by exact name or a JSONPath name filter, in the past, and the CLI's collections on request", () =>
    Effect.gen(function*() {
      yield* fresh
      const made: Array<string> = []
      for (const name of ["Ocean CTD Survey", "CTD casts 2024", "Reef imagery"]) {
        const id = yield* Collection.newUrn
        made.push(id)
        yield* Collection.create(id, { name })
      }
      const cli = "urn:ivcap:collection:made-by-the-cli"
      yield* Aspect.update(cli, { collection: cli, artifacts: [artifact(1), artifact(2)] }, { schema: Collection.legacySchema })
      const names = (options?: Collection.ListOptions) => Effect.map(collect(Collection.list(options)), (cs) => cs.map((c) => c.name))
      expect(yield* names()).toEqual(["Reef imagery", "CTD casts 2024", "Ocean CTD Survey"])
      expect(yield* names({ name: "Reef imagery" })).toEqual(["Reef imagery"])
      expect(yield* names({ nameFilter: "starts with \"CTD\"" })).toEqual(["CTD casts 2024"])
      expect(yield* names({ nameFilter: "like_regex \".*ctd.*\" flag \"i\"", pageSize: 1 })).toEqual(["CTD casts 2024", "Ocean CTD Survey"])
      const withCli = yield* collect(Collection.list({ includeLegacy: true }))
      expect(withCli.map((c) => [c.id, c.format])).toEqual([
        [made[2], "collection.1"],
        [made[1], "collection.1"],
        [made[0], "collection.1"],
        [cli, "artifact-collection.1"]
      ])
      yield* expectFailure(Stream.runDrain(Collection.list({ name: "a", nameFilter: "== \"b\"" })), "InvalidArgument")
    }))

  it.effect("the CLI's artifact-collection.1 format is read: get, items, retract", () =>
    Effect.gen(function*() {
      yield* fresh
      const cli = "urn:ivcap:collection:cli-made"
      yield* Aspect.update(cli, { collection: cli, artifacts: [artifact(1), artifact(2), artifact(3)] }, { schema: Collection.legacySchema })
      const read = yield* Collection.get(cli)
      expect([read.id, read.name, read.format]).toEqual([cli, cli, "artifact-collection.1"])
      const items = yield* collect(Collection.items(cli))
      expect(items.map((i) => [i.item, i.format, i.id])).toEqual([1, 2, 3].map((n) => [artifact(n), "artifact-collection.1", read.aspect]))
      expect(yield* members(cli, { includeLegacy: false })).toEqual([])
      // members added with this SDK come first, the CLI's list after
      yield* Collection.add(cli, artifact(9))
      expect(yield* members(cli)).toEqual([artifact(9), artifact(1), artifact(2), artifact(3)])
      expect(yield* Collection.retract(cli)).toBe(2)
      yield* expectFailure(Collection.get(cli), "ResourceNotFound")
    }))

  it.effect("retract: members first, then the definition; the count; ResourceNotFound before anything for an unknown URN", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Collection.newUrn
      const created = yield* Collection.create(id, { name: "to go" })
      for (let n = 1; n <= 4; n++) yield* Collection.add(id, artifact(n))
      yield* forget
      expect(yield* Collection.retract(id)).toBe(5)
      const deletes = (yield* log).filter((r) => r.method === "DELETE").map((r) => decodeURIComponent(new URL(r.url).pathname))
      expect(deletes.length).toBe(5)
      expect(deletes[4]).toBe(`/1/aspects/${created.aspect}`)
      yield* expectFailure(Collection.get(id), "ResourceNotFound")
      expect(yield* members(id)).toEqual([])
      expect((yield* Collection.get(id, { atTime: created.validFrom! })).name).toBe("to go")
      yield* forget
      const missing = yield* expectFailure(Collection.retract("urn:ivcap:collection:nothing-here"), "ResourceNotFound")
      expect(missing.id).toBe("urn:ivcap:collection:nothing-here")
      expect(yield* requestCount({ method: "DELETE" })).toBe(0)
    }))

  it.effect("upload: an artifact goes straight into a collection (X-Collection sent, membership recorded)", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = yield* Collection.newUrn
      yield* Collection.create(id, { name: "uploads" })
      const bytes = new TextEncoder().encode("depth,temp\n1,14.2\n")
      const uploaded = yield* Collection.upload(id, UploadSource.fromBytes(bytes, { name: "cast-001.csv", contentType: "text/csv" }))
      expect([uploaded.status, uploaded.size, uploaded.name]).toEqual(["ready", bytes.length, "cast-001.csv"])
      const create = (yield* log).find((r) => r.method === "POST" && new URL(r.url).pathname === "/1/artifacts")!
      expect(create.headers["x-collection"]).toBe(id)
      expect(yield* members(id)).toEqual([uploaded.id])
    }))

  it.effect("bad input is rejected before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      expect((yield* expectFailure(Collection.create("not a urn", { name: "x" }), "InvalidArgument")).argument).toBe("urn")
      expect((yield* expectFailure(Collection.create("urn:ivcap:collection:x", { name: " " }), "InvalidArgument")).argument).toBe("name")
      expect((yield* expectFailure(Collection.add("urn:ivcap:collection:x", "artifact-1"), "InvalidArgument")).argument).toBe("item")
      expect((yield* expectFailure(Collection.remove("x", artifact(1)), "InvalidArgument")).argument).toBe("collection")
      expect((yield* expectFailure(Collection.get("urn:x"), "InvalidArgument")).argument).toBe("urn")
      expect((yield* expectFailure(Stream.runDrain(Collection.items("nope")), "InvalidArgument")).argument).toBe("collection")
      expect(yield* requestCount()).toBe(0)
    }))

  it.effect("a definition whose content is not a collection's: a DecodeError naming the field", () =>
    Effect.gen(function*() {
      yield* fresh
      const id = "urn:ivcap:collection:broken"
      yield* Aspect.add(id, { title: "no name here" }, { schema: Collection.definitionSchema })
      const error = yield* expectFailure(Collection.get(id), "DecodeError")
      expect(error.message).toContain("name")
    }))
})
