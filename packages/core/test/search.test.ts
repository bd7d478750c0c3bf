import { expect, layer } from "@effect/vitest"
import { Search } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

const query = `query(A) :- artifact(A).`
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

/** A search answer as a real server would send it (the emulator has no Datalog engine, so tests supply it). */
const answer = (items: ReadonlyArray<unknown>, next?: string) =>
  Faults.malformed(
    JSON.stringify({
      "at-time": "2024-07-01T00:00:00Z",
      items,
      links: [
        { rel: "self", type: "application/json", href: "/1/search" },
        ...(next === undefined ? [] : [{ rel: "next", type: "application/json", href: `/1/search?page=${next}` }])
      ]
    }),
    { status: 200, contentType: "application/json", match: { method: "POST", path: "/1/search" } }
  )

layer(layerSuite())("Search", (it) => {
  it.effect("the emulator answers 501: NotImplemented with its message", () =>
    Effect.gen(function*() {
      yield* fresh
      const e = yield* expectFailure(Stream.runDrain(Search.search(query)), "NotImplemented")
      expect(e.message).toContain("not implemented")
      expect(e.method).toBe("POST")
      const [request] = yield* Effect.flatMap(Emulator.Emulator, (em) => em.requests.log)
      expect(request!.headers["content-type"]).toBe("application/datalog+mangle")
      expect(new URL(request!.url, "http://x").searchParams.get("limit")).toBe("50")
    }))

  it.effect("415 is UnsupportedContentType", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(415, { match: { path: "/1/search" } }))
      yield* expectFailure(Search.page(query), "UnsupportedContentType")
    }))

  it.effect("results stream across pages; the query is re-sent with the cursor", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(answer([{ a: "urn:ivcap:artifact:1" }, { a: "urn:ivcap:artifact:2" }], "c2"))
      yield* emulator.faults.inject(answer([{ a: "urn:ivcap:artifact:3" }]))
      const atTime = DateTime.unsafeMake("2024-06-30T12:00:00Z")
      const items = yield* collect(Search.search(query, { pageSize: 2, atTime }))
      expect(items).toEqual([{ a: "urn:ivcap:artifact:1" }, { a: "urn:ivcap:artifact:2" }, { a: "urn:ivcap:artifact:3" }])
      const log = yield* emulator.requests.log
      expect(log.map((r) => [r.method, r.headers["content-type"]])).toEqual([
        ["POST", "application/datalog+mangle"],
        ["POST", "application/datalog+mangle"]
      ])
      const queries = log.map((r) => Object.fromEntries(new URL(r.url, "http://x").searchParams))
      expect(queries).toEqual([{ "at-time": "2024-06-30T12:00:00.000Z", limit: "2" }, { page: "c2", limit: "2" }])
    }))

  it.effect("decodeItems decodes results with a Schema and names the item and field that do not fit", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const Row = Schema.Struct({ a: Schema.String })
      yield* emulator.faults.inject(answer([{ a: "x" }, { a: "y" }]))
      expect(yield* collect(Search.search(query).pipe(Search.decodeItems(Row)))).toEqual([{ a: "x" }, { a: "y" }])
      yield* emulator.faults.inject(answer([{ a: "x" }, { b: 1 }]))
      const e = yield* expectFailure(Stream.runDrain(Search.search(query).pipe(Search.decodeItems(Row))), "DecodeError")
      expect(e.message).toContain("#1")
      expect(e.message).toContain("a")
    }))

  it.effect("an empty query is InvalidArgument before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* expectFailure(Stream.runDrain(Search.search("  ")), "InvalidArgument")
      yield* expectFailure(Search.page(query, { pageSize: 99 }), "InvalidArgument")
      expect(yield* requestCount()).toBe(0)
    }))

  it.effect("search only reads, so a 503 is retried", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(503, { match: { path: "/1/search" }, times: 2 }))
      yield* emulator.faults.inject(answer(["ok"]))
      expect(yield* collect(Search.search(query))).toEqual(["ok"])
      expect(yield* requestCount({ path: "/1/search" })).toBe(3)
    }).pipe(TestServices.provideLive))
})
