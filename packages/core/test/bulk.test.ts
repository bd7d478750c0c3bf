/**
 * Bulk pipelines against the emulator over HTTP: every item of a paged listing processed once at bounded
 * concurrency; typed failure reports and re-running just the failures; resuming after an interruption and after a
 * "crash" (a store that stopped being written to) without redoing or skipping an item; a listing that fails
 * part-way resumes from its checkpoint; progress as data.
 */
import { expect, layer } from "@effect/vitest"
import { Aspect, Bulk, IvcapError } from "@ivcap/core"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { layerHttp } from "./utils/emulator.js"

const input = "urn:example:schema:bulk-in.1"
const output = "urn:example:schema:bulk-out.1"
const count = 120

/** A fresh emulator with `count` input aspects; returns nothing. */
const seed = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  yield* emulator.reset
  yield* emulator.seed.aspects(count, { schema: input, entity: "urn:example:entity:bulk-source" })
})

const source = Bulk.fromPages((cursor) => Aspect.listPages({ schema: input, cursor, pageSize: 20 }))

/** The output aspects' entities (one per processed input), in a multiset. */
const written = Effect.map(Stream.runCollect(Aspect.list({ schema: output, pageSize: 50 })), (c) => {
  const counts = new Map<string, number>()
  for (const a of Chunk.toReadonlyArray(c)) counts.set(a.entity, (counts.get(a.entity) ?? 0) + 1)
  return counts
})

/** X: one output aspect about the input aspect. */
const annotate = (aspect: Aspect.AspectSummary) => Aspect.add(aspect.id, { $schema: output, index: aspect.content?.["index"] })

/** Whether X already happened for this input (the output aspect keyed by it exists). */
const annotated = (aspect: Aspect.AspectSummary) =>
  Effect.map(Aspect.page({ entity: aspect.id, schema: output, includeContent: false, pageSize: 1 }), (p) => p.items.length > 0)

const options = (name: string) => ({ name, key: (a: Aspect.AspectSummary) => a.id, process: annotate, alreadyDone: annotated, concurrency: 8 })

const expectExactlyOnce = (counts: Map<string, number>) => {
  expect(counts.size).toBe(count)
  expect([...counts.values()].every((n) => n === 1)).toBe(true)
}

layer(layerHttp().pipe(Layer.provideMerge(Bulk.layerMemoryStore)))("Bulk", (it) => {
  it.effect("processes every item of a paged listing once, at the given concurrency", () =>
    Effect.gen(function*() {
      yield* seed
      let active = 0
      let peak = 0
      const report = yield* Bulk.run(source, {
        ...options("all-once"),
        process: (a) =>
          Effect.acquireUseRelease(Effect.sync(() => (peak = Math.max(peak, ++active))), () => annotate(a), () => Effect.sync(() => active--))
      })
      expect(report).toMatchObject({ complete: true, resumed: false, succeeded: count, processed: count, skipped: 0, failed: [] })
      expect(peak).toBe(8)
      expectExactlyOnce(yield* written)
      // Finished: nothing saved, the next run with this name starts over.
      expect(Option.isNone(yield* Bulk.checkpoint("all-once"))).toBe(true)
    }))

  it.effect("fromPages refuses a one-page function (X.page, an Effect) with InvalidArgument instead of stopping after a page", () =>
    Effect.gen(function*() {
      yield* seed
      const onePage = Bulk.fromPages((cursor) => Aspect.page({ schema: input, cursor, pageSize: 20 }))
      const error = yield* Effect.flip(Bulk.run(onePage, options("one-page")))
      expect(error._tag).toBe("InvalidArgument")
      expect(error.message).toContain("X.listPages")
      expect((yield* written).size).toBe(0)
    }))

  it.effect("a failing item is reported with its typed error and the others go on; the failures re-run alone", () =>
    Effect.gen(function*() {
      yield* seed
      const bad = (a: Aspect.AspectSummary) => (a.content?.["index"] as number) % 10 === 3
      const report = yield* Bulk.run(source, {
        ...options("partial"),
        process: (a) => (bad(a) ? Aspect.add("not a urn", {}, { schema: output }) : annotate(a))
      })
      expect(report.complete).toBe(true)
      expect(report.failed).toHaveLength(12)
      expect(report.succeeded).toBe(count - 12)
      for (const f of report.failed) {
        expect(f.error).toBeInstanceOf(IvcapError.InvalidArgument)
        expect(f.key).toBe(f.item.id)
        expect(bad(f.item)).toBe(true)
      }
      const again = yield* Bulk.run(Bulk.fromIterable(Bulk.failedItems(report)), options("partial-retry"))
      expect(again).toMatchObject({ complete: true, succeeded: 12, failed: [] })
      expectExactlyOnce(yield* written)
    }).pipe(TestServices.provideLive))

  it.effect("interrupted half-way, it resumes from its checkpoint without redoing or skipping an item", () =>
    Effect.gen(function*() {
      yield* seed
      let writes = 0
      const counted = (a: Aspect.AspectSummary) => Effect.tap(annotate(a), () => Effect.sync(() => writes++))
      const first = yield* Effect.fork(Bulk.run(source, { ...options("interrupted"), process: counted }))
      while (writes < count / 2) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(first)
      const saved = yield* Bulk.checkpoint("interrupted")
      expect(Option.isSome(saved)).toBe(true)
      const report = yield* Bulk.run(source, { ...options("interrupted"), process: counted })
      expect(report.resumed).toBe(true)
      expect(report.complete).toBe(true)
      expect(report.succeeded).toBe(count)
      expect(report.processed + report.recovered + report.skipped).toBeLessThan(count)
      // Items interrupted after the server stored their aspect are found done (recovered), not written twice.
      expect(writes + report.recovered).toBeGreaterThanOrEqual(count)
      expectExactlyOnce(yield* written)
    }).pipe(TestServices.provideLive))

  it.effect("after a crash (the last checkpoints never written) the items in flight are checked, not redone", () =>
    Effect.gen(function*() {
      yield* seed
      // A store that a "crash" freezes: from then on nothing reaches it, as when a process is killed.
      const strings = new Map<string, string>()
      let frozen = false
      const crashable = Bulk.layerStore({
        get: (key) => Effect.sync(() => Option.fromNullable(strings.get(key))),
        set: (key, value) => Effect.sync(() => void (frozen || strings.set(key, value))),
        remove: (key) => Effect.sync(() => void (frozen || strings.delete(key)))
      })
      let started = 0
      const counted = (a: Aspect.AspectSummary) => Effect.zipRight(Effect.sync(() => started++), annotate(a))
      // Finished items are written every second only: the crash loses the last ones.
      const first = yield* Effect.fork(Bulk.run(source, { ...options("crashed"), process: counted, checkpointInterval: "1 second" }).pipe(Effect.provide(crashable)))
      while (started < count / 2) yield* Effect.sleep("5 millis")
      frozen = true
      yield* Fiber.interrupt(first)
      frozen = false
      const report = yield* Bulk.run(source, options("crashed")).pipe(Effect.provide(crashable))
      expect(report.resumed).toBe(true)
      expect(report.complete).toBe(true)
      expect(report.recovered).toBeGreaterThan(0) // done by the first run, not known to its last checkpoint
      expect(report.succeeded).toBe(count)
      expectExactlyOnce(yield* written)
    }).pipe(TestServices.provideLive))

  it.effect("a listing that fails part-way ends the run with its error; the next run resumes from the checkpoint", () =>
    Effect.gen(function*() {
      yield* seed
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(400, { match: { method: "GET", path: "/1/aspects" }, skip: 5 }))
      const error = yield* Effect.flip(Bulk.run(source, options("listing-fails")))
      expect(error._tag).toBe("BadRequest")
      const saved = Option.getOrThrow(yield* Bulk.checkpoint("listing-fails"))
      expect(saved.succeeded).toBeGreaterThanOrEqual(3 * 20)
      expect(saved.from).not.toBeNull()
      const report = yield* Bulk.run(source, options("listing-fails"))
      expect(report).toMatchObject({ resumed: true, complete: true, succeeded: count })
      expect(report.processed + report.recovered).toBe(count - saved.succeeded)
      expectExactlyOnce(yield* written)
    }).pipe(TestServices.provideLive))

  it.effect("stops taking items after stopAfterFailures failures, and says it is not complete", () =>
    Effect.gen(function*() {
      yield* seed
      const report = yield* Bulk.run(source, { ...options("stops"), concurrency: 1, process: () => Aspect.add("bad", {}), stopAfterFailures: 5 })
      expect(report.complete).toBe(false)
      expect(report.failed).toHaveLength(5)
    }))

  it.effect("reports progress as data: counts, rate and an ETA when the total is known", () =>
    Effect.gen(function*() {
      yield* seed
      const seen: Array<Bulk.Progress> = []
      yield* Bulk.run(source, { ...options("progress"), total: count, progressInterval: "20 millis", onProgress: (p) => Effect.sync(() => seen.push(p)) })
      const last = seen[seen.length - 1]!
      expect(last).toMatchObject({ name: "progress", done: count, succeeded: count, failed: 0, inFlight: 0, total: Option.some(count) })
      expect(seen.length).toBeGreaterThan(1)
      const mid = seen.find((p) => p.done > 0 && p.done < count && p.rate > 0)
      expect(mid, "a progress report part-way with a rate").toBeDefined()
      expect(Option.isSome(mid!.eta)).toBe(true)
      expect(seen.map((p) => p.done)).toEqual([...seen.map((p) => p.done)].sort((a, b) => a - b))
    }).pipe(TestServices.provideLive))

  it.effect("a plain array is a source too; its checkpoint is a position", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const report = yield* Bulk.run(Bulk.fromIterable([1, 2, 3, 4, 5, 6, 7], { chunkSize: 3 }), {
        name: "numbers",
        key: String,
        process: (n) => Effect.sync(() => seen.push(n))
      })
      expect(report).toMatchObject({ complete: true, succeeded: 7 })
      expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7])
    }))
})
