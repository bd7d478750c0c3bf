import { expect, layer } from "@effect/vitest"
import { Paging, Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

type Json = Record<string, unknown>
type LinkJson = { rel: string; type: string; href: string }
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const inject = (f: (json: Json) => unknown, times: number) =>
  Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(Faults.mapBody((json) => f(json as Json), { match: { method: "GET", path: "/1/services" }, times })))
const nextOf = (json: Json) => (json["links"] as Array<LinkJson>).find((l) => l.rel === "next")
const withNext = (json: Json, href: string): Json => ({
  ...json,
  links: [...(json["links"] as Array<LinkJson>).filter((l) => l.rel !== "next"), { rel: "next", type: "application/json", href }]
})

layer(layerSuite())("Paging", (it) => {
  it.effect("page size and Stream.take are independent; no page beyond what is taken is fetched", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const all = (yield* collect(Service.list({ pageSize: 50 }))).map((s) => s.id)
      for (const [take, pageSize, pages] of [[25, 10, 3], [20, 10, 2], [10, 10, 1], [1, 50, 1], [0, 10, 0], [63, 50, 2]] as const) {
        yield* emulator.requests.reset
        const taken = yield* collect(Service.list({ pageSize }).pipe(Stream.take(take)))
        expect(taken.map((s) => s.id)).toEqual(all.slice(0, take))
        expect(yield* requestCount(), `take ${take} with pages of ${pageSize}`).toBe(pages)
      }
      const log = yield* Effect.zipRight(emulator.requests.reset, Effect.zipRight(collect(Service.list({ pageSize: 30 })), emulator.requests.log))
      const queries = log.map((r) => new URL(r.url, "http://x").searchParams)
      expect(queries.map((q) => q.get("limit"))).toEqual(["30", "30", "30"])
      // follow-up pages send only the cursor and the limit
      expect(queries.slice(1).map((q) => [...q.keys()].sort())).toEqual([["limit", "page"], ["limit", "page"]])
    }))

  it.effect("a cursor resumes a listing where a page left off", () =>
    Effect.gen(function*() {
      yield* fresh
      const first = yield* Service.page({ pageSize: 20 })
      const rest = yield* collect(Service.list({ pageSize: 20, cursor: Option.getOrThrow(first.next) }))
      expect(first.items.length + rest.length).toBe(SeedData.services2Count)
      expect(new Set([...first.items, ...rest].map((s) => s.id)).size).toBe(SeedData.services2Count)
    }))

  it.effect("a server that repeats a cursor is a PagingError, not an endless loop", () =>
    Effect.gen(function*() {
      yield* fresh
      let firstNext: string | undefined
      yield* inject((json) => {
        const next = nextOf(json)
        if (firstNext === undefined) {
          firstNext = next?.href
          return json
        }
        return withNext(json, firstNext)
      }, 3)
      const e = yield* expectFailure(Stream.runDrain(Service.list({ pageSize: 10 })), "PagingError")
      expect(e.message).toContain("repeated")
      expect(yield* requestCount()).toBe(2)
    }))

  it.effect("the same items again under a fresh cursor are a PagingError, not an endless loop", () =>
    Effect.gen(function*() {
      yield* fresh
      let firstItems: unknown
      yield* inject((json) => {
        firstItems ??= json["items"]
        return { ...json, items: firstItems }
      }, 5)
      const e = yield* expectFailure(Stream.runDrain(Service.list({ pageSize: 10 })), "PagingError")
      expect(e.message).toContain("same items")
      expect(yield* requestCount()).toBe(2)
    }))

  it.effect("an empty page with a next link is followed", () =>
    Effect.gen(function*() {
      yield* fresh
      const all = (yield* collect(Service.list({ pageSize: 50 }))).map((s) => s.id)
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.reset)
      yield* inject((json) => ({ ...json, items: [] }), 1)
      const pages = yield* collect(Service.listPages({ pageSize: 10 }).pipe(Stream.take(3)))
      expect(pages.map((p) => p.items.length)).toEqual([0, 10, 10])
      yield* inject((json) => ({ ...json, items: [] }), 1)
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.reset)
      const items = yield* collect(Service.list({ pageSize: 10 }).pipe(Stream.take(5)))
      expect(items.map((s) => s.id)).toEqual(all.slice(10, 15))
      expect(yield* requestCount()).toBe(2)
    }))

  it.effect("a run of empty pages that never ends is a PagingError", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject((json) => ({ ...json, items: [] }), 20)
      const e = yield* expectFailure(Stream.runDrain(Service.list({ pageSize: 5 })), "PagingError")
      expect(e.message).toContain("empty pages")
      expect(yield* requestCount()).toBe(10)
    }))

  it.effect("a next link without a page cursor is a PagingError", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* inject((json) => withNext(json, "/1/services?limit=10"), 1)
      const e = yield* expectFailure(Stream.runDrain(Service.list()), "PagingError")
      expect(e.message).toContain("page cursor")
    }))

  it.effect("the last page has no next link, and the listing ends there", () =>
    Effect.gen(function*() {
      yield* fresh
      const pages = yield* collect(Service.listPages({ pageSize: 50 }))
      expect(pages.map((p) => Option.isSome(p.next))).toEqual([true, false])
      expect(yield* requestCount()).toBe(2)
      expect(yield* Paging.validatePageSize(undefined)).toBe(Paging.defaultPageSize)
    }))
})
