/**
 * Resumable bulk pipelines: "for each item of a listing, do X" at bounded concurrency, with progress recorded
 * in a store so that a killed process resumes where it stopped — without redoing or skipping items — and a typed
 * report of the items that failed instead of dying on the first.
 *
 * A pipeline reads its items from a {@link Source} in segments (the pages of a listing, or chunks of a Stream or
 * array), each with a token to read it again (a page cursor, a position). Its checkpoint, written to the
 * {@link ProgressStore} under the pipeline's `name`, holds the token of the first segment that is not finished
 * plus the keys of the items of that segment and later ones that are finished ("done") or were started
 * ("pending"). A segment's keys are written as pending *before* any of its items is started, so after a crash:
 * done items are skipped, pending ones are checked with `alreadyDone` (when given) and redone otherwise, and
 * everything else was never started. The record is removed when the pipeline has seen every item.
 *
 * See docs/bulk.md for the guide: concurrency, backpressure, shared back-off, resume, failures, memory.
 *
 * @since 0.1.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { digestKey } from "./internal/digest.js"
import { InvalidArgument } from "./IvcapError.js"
import type * as Paging from "./Paging.js"
import type { StringStore } from "./UploadStore.js"
import { memoryStrings } from "./UploadStore.js"

/** The marker that tells a worker of {@link run} that the source has ended. */
const end: unique symbol = Symbol("@ivcap/core/Bulk/end")

// ---------------------------------------------------------------------------------------------------------------
// Sources

/**
 * A run of items read together, with the tokens to read it again (`from`) and to read what follows (`next`;
 * `undefined` at the end).
 *
 * @since 0.1.0
 */
export interface Segment<A> {
  readonly from: string | undefined
  readonly next: string | undefined
  readonly items: ReadonlyArray<A>
}

/**
 * Where a pipeline's items come from: its segments, starting at a token (`undefined`: the beginning). Reading
 * again from a segment's `from` must give the same items in the same order (list a snapshot: `atTime`).
 *
 * @since 0.1.0
 */
export interface Source<A, E, R> {
  readonly segments: (from: string | undefined) => Stream.Stream<Segment<A>, E, R>
}

/**
 * A paged listing as a source: `pages(cursor)` lists from a page cursor (`undefined`: the first page), e.g.
 * `(cursor) => Aspect.listPages({ schema, cursor })` or `(cursor) => Search.searchPages(query, { cursor })`. The
 * cursor of the first unfinished page is what the checkpoint records. A function giving one page (`X.page`, an
 * `Effect`, which TypeScript also takes for a one-element Stream) would make the run end after that page: it is
 * refused with `InvalidArgument`.
 *
 * @example
 * Bulk.fromPages((cursor) => Artifact.listPages({ cursor }))
 * @since 0.1.0
 */
export const fromPages = <A, E, R>(
  pages: (cursor: string | undefined) => Stream.Stream<Paging.Page<A>, E, R>
): Source<A, E | InvalidArgument, R> => ({
  segments: (from) => {
    const listing = pages(from)
    if (Effect.isEffect(listing)) {
      return Stream.fail(new InvalidArgument({ argument: "pages", message: "Bulk.fromPages needs a Stream of pages (X.listPages), not one page (X.page)" }))
    }
    return Stream.mapAccum(listing, from, (cursor, page) => {
      const next = Option.getOrUndefined(page.next)
      return [next, { from: cursor, next, items: page.items }]
    })
  }
})

const positionOf = (from: string | undefined): number => {
  const n = from === undefined ? 0 : Number(from)
  return Number.isSafeInteger(n) && n >= 0 ? n : 0
}

/**
 * A Stream as a source, in chunks of `chunkSize` (default 50): the checkpoint records a position, and a resumed
 * run reads the stream again from the start and drops the items before it. The stream must give the same items
 * in the same order each time (a file, a sorted query).
 *
 * @since 0.1.0
 */
export const fromStream = <A, E, R>(stream: Stream.Stream<A, E, R>, options?: { readonly chunkSize?: number | undefined }): Source<A, E, R> => {
  const size = Math.max(1, Math.floor(options?.chunkSize ?? 50))
  return {
    segments: (from) => {
      const start = positionOf(from)
      return Stream.drop(stream, start).pipe(
        Stream.grouped(size),
        Stream.mapAccum(start, (at, chunk) => {
          const items = Array.from(chunk)
          return [at + items.length, { from: String(at), next: String(at + items.length), items }]
        })
      )
    }
  }
}

/**
 * An array (or any iterable) as a source, in chunks of `chunkSize` (default 50); the checkpoint records a
 * position. Also how to re-run the failed items of a report: `Bulk.fromIterable(Bulk.failedItems(report))`.
 *
 * @since 0.1.0
 */
export const fromIterable = <A>(items: Iterable<A>, options?: { readonly chunkSize?: number | undefined }): Source<A, never, never> =>
  fromStream(Stream.fromIterable(items), options)

// ---------------------------------------------------------------------------------------------------------------
// The store

/**
 * Where pipelines keep their checkpoints: strings by key. {@link layerMemoryStore} (this process only),
 * {@link layerKeyValueStore}, `@ivcap/node` (files) and `@ivcap/browser` (Web Storage) provide one. Failures to
 * read or write are logged as warnings and the pipeline goes on (without being resumable from that point).
 *
 * @since 0.1.0
 */
export class ProgressStore extends Context.Tag("@ivcap/core/Bulk/ProgressStore")<ProgressStore, StringStore>() {}

/** A store in memory: resumes within one process only. @since 0.1.0 */
export const layerMemoryStore: Layer.Layer<ProgressStore> = Layer.sync(ProgressStore, memoryStrings)

/** The store on any store of strings (Web Storage, a database, …). @since 0.1.0 */
export const layerStore = (strings: StringStore): Layer.Layer<ProgressStore> => Layer.succeed(ProgressStore, strings)

/** The store on the `KeyValueStore` in context. @since 0.1.0 */
export const layerKeyValueStore: Layer.Layer<ProgressStore, never, KeyValueStore.KeyValueStore> = Layer.effect(
  ProgressStore,
  Effect.map(KeyValueStore.KeyValueStore, (kv): StringStore => ({ get: kv.get, set: kv.set, remove: kv.remove }))
)

/** The key a pipeline's checkpoint is stored under. @since 0.1.0 */
export const keyOf = (name: string): string => digestKey("bulk-", name)

/** One failure as kept in a checkpoint (and reported for items that failed in an earlier run). @since 0.1.0 */
export class FailureRecord extends Schema.Class<FailureRecord>("FailureRecord")({
  key: Schema.String,
  /** The error's `_tag`, or `Error` / `unknown`. */
  tag: Schema.String,
  message: Schema.String
}) {}

/** A pipeline's checkpoint, as stored (JSON). @since 0.1.0 */
export class Checkpoint extends Schema.Class<Checkpoint>("Checkpoint")({
  version: Schema.Literal(1),
  name: Schema.String,
  /** The token of the first segment not finished (`null`: the beginning). */
  from: Schema.NullOr(Schema.String),
  /** Keys finished (succeeded or failed) in that segment or later ones. */
  done: Schema.Array(Schema.String),
  /** Keys started but not known to be finished. */
  pending: Schema.Array(Schema.String),
  /** Items that succeeded / failed / were found done, over all runs so far. */
  succeeded: Schema.NonNegativeInt,
  failed: Schema.Array(FailureRecord),
  /** Epoch ms of the first run's start. */
  startedAt: Schema.Number
}) {}

const CheckpointJson = Schema.parseJson(Checkpoint)
const decodeCheckpoint = Schema.decodeUnknownEither(CheckpointJson)
const encodeCheckpoint = Schema.encodeSync(CheckpointJson)

/** The saved checkpoint of the pipeline `name`, if any (from the store in context, else none). @since 0.1.0 */
export const checkpoint = (name: string): Effect.Effect<Option.Option<Checkpoint>> =>
  Effect.flatMap(Effect.serviceOption(ProgressStore), Option.match({ onNone: () => Effect.succeedNone, onSome: (store) => load(store, name) }))

/** Forgets the saved progress of the pipeline `name` (its next run starts from the beginning). @since 0.1.0 */
export const forget = (name: string): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(ProgressStore), Option.match({ onNone: () => Effect.void, onSome: (store) => store.remove(keyOf(name)).pipe(Effect.catchAll(warn(name, "remove its checkpoint"))) }))

const warn = (name: string, action: string) => (error: unknown) =>
  Effect.logWarning(`bulk pipeline ${JSON.stringify(name)}: could not ${action}; it goes on, but may redo work if it is restarted`, error)

const load = (store: StringStore, name: string): Effect.Effect<Option.Option<Checkpoint>> =>
  store.get(keyOf(name)).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeedNone,
      // An unreadable checkpoint is said out loud: starting over redoes the work done so far.
      onSome: (text) => Either.match(decodeCheckpoint(text), { onLeft: Effect.fail, onRight: Effect.succeedSome })
    })),
    Effect.map(Option.filter((c) => c.name === name)),
    Effect.catchAll((e) => Effect.as(warn(name, "read its checkpoint")(e), Option.none()))
  )

// ---------------------------------------------------------------------------------------------------------------
// Running

/**
 * Progress of a pipeline, as data: counts over all runs of the pipeline so far (a resumed run starts from the
 * saved counts), the rate of this run and, when the `total` is known, an ETA.
 *
 * @since 0.1.0
 */
export interface Progress {
  readonly name: string
  /** Items finished over all runs: succeeded + failed. */
  readonly done: number
  readonly succeeded: number
  readonly failed: number
  /** Items of this run skipped as finished by an earlier run. */
  readonly skipped: number
  /** Items being processed now. */
  readonly inFlight: number
  /** The `total` given in the options. */
  readonly total: Option.Option<number>
  /** Time since this run started. */
  readonly elapsed: Duration.Duration
  /** Items per second over the last 10 s or so of this run. */
  readonly rate: number
  /** Time left at the current rate, when `total` is known and the rate is not zero. */
  readonly eta: Option.Option<Duration.Duration>
}

/** An item that failed in this run, with its typed error. @since 0.1.0 */
export interface Failure<A, E> {
  readonly key: string
  readonly item: A
  readonly error: E
}

/**
 * How a pipeline ended: it saw every item (`complete`) or stopped after `stopAfterFailures` failures. Items are
 * counted once over all runs; `failed` has this run's failures with their items and typed errors,
 * `failedEarlier` those of earlier runs (key, tag and message only).
 *
 * @since 0.1.0
 */
export interface Report<A, E> {
  readonly name: string
  readonly complete: boolean
  /** Whether this run resumed saved progress. */
  readonly resumed: boolean
  /** Items that succeeded over all runs (including those `alreadyDone` found done). */
  readonly succeeded: number
  /** This run's failures. */
  readonly failed: ReadonlyArray<Failure<A, E>>
  /** Failures of earlier runs of this pipeline. */
  readonly failedEarlier: ReadonlyArray<FailureRecord>
  /** Items skipped as finished by an earlier run. */
  readonly skipped: number
  /** Items that were in flight when an earlier run stopped and that `alreadyDone` found done. */
  readonly recovered: number
  /** Items this run processed (succeeded or failed, not skipped). */
  readonly processed: number
  readonly elapsed: Duration.Duration
}

/** The items of a report's failures (this run's), to re-run with {@link fromIterable}. @since 0.1.0 */
export const failedItems = <A, E>(report: Report<A, E>): ReadonlyArray<A> => report.failed.map((f) => f.item)

/** Options of {@link run}. @since 0.1.0 */
export interface Options<A, B, E, R, EC = never, RC = never> {
  /** The pipeline's identity: its checkpoint is kept under this name. Use one per job (e.g. with a date). */
  readonly name: string
  /** The item's identity, unique in the source (an id, a URN, a line number). */
  readonly key: (item: A) => string
  /** The work on one item. Make it idempotent where you can (see docs/bulk.md). */
  readonly process: (item: A) => Effect.Effect<B, E, R>
  /**
   * For items that were in flight when a previous run stopped: whether their work already happened (e.g. the
   * aspect keyed by the item exists). Without it they are processed again (at-least-once). Its failure is the
   * item's failure.
   */
  readonly alreadyDone?: ((item: A) => Effect.Effect<boolean, EC, RC>) | undefined
  /** How many items are processed at once; default 16. */
  readonly concurrency?: number | undefined
  /** How many items there are in all, when known: progress then has an ETA. */
  readonly total?: number | undefined
  /** Called with the progress every `progressInterval` (default 1 s) and once at the end. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  readonly progressInterval?: Duration.DurationInput | undefined
  /** How often finished items are written to the checkpoint; default 250 ms. Started ones are written first. */
  readonly checkpointInterval?: Duration.DurationInput | undefined
  /** Ignore saved progress and start from the beginning. */
  readonly fresh?: boolean | undefined
  /**
   * How many segments (pages) may be open at once — started, not all finished — default 16. An item that takes
   * very long holds up new pages beyond that; this bounds the checkpoint and the memory.
   */
  readonly maxOpenSegments?: number | undefined
  /** Stop taking new items after this many failures in this run (default: never stop). */
  readonly stopAfterFailures?: number | undefined
}

/** A segment in the window: claimed (its keys written as pending), not yet finished. */
interface Window {
  readonly from: string | undefined
  readonly next: string | undefined
  readonly open: Set<string>
  readonly done: Array<string>
}

const describeError = (key: string, error: unknown): FailureRecord => {
  const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : error instanceof Error ? error.name : "unknown"
  const message = Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)
  return new FailureRecord({ key, tag, message })
}

/**
 * Runs `options.process` on every item of `source` at bounded concurrency, recording progress under
 * `options.name` in the {@link ProgressStore} in context (in memory when there is none), and returns the
 * {@link Report}. An item's typed failure is recorded and the pipeline goes on; a failure of the source (the
 * listing) ends the run with that error, resumable from the last checkpoint. Interrupting it (Ctrl-C) writes a
 * last checkpoint.
 *
 * @example
 * Bulk.run(Bulk.fromPages((cursor) => Aspect.listPages({ schema: "urn:example:schema:in.1", cursor })), {
 *   name: "copy-in-to-out",
 *   key: (aspect) => aspect.id,
 *   process: (aspect) => Aspect.add(aspect.id, { ...aspect.content, $schema: "urn:example:schema:out.1" }),
 *   concurrency: 16
 * })
 * @since 0.1.0
 */
export const run = <A, B, E, R, SE, SR, EC = never, RC = never>(
  source: Source<A, SE, SR>,
  options: Options<A, B, E, R, EC, RC>
): Effect.Effect<Report<A, E | EC>, SE, R | SR | RC> =>
  Effect.scoped(Effect.gen(function*() {
    const name = options.name
    const store = yield* Effect.map(Effect.serviceOption(ProgressStore), Option.getOrElse(memoryStrings))
    const storeKey = keyOf(name)
    if (options.fresh === true) yield* store.remove(storeKey).pipe(Effect.catchAll(warn(name, "remove its checkpoint")))
    const saved = Option.getOrUndefined(yield* load(store, name))
    const startedAt = Date.now()
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 16))
    const stopAfter = options.stopAfterFailures ?? Number.POSITIVE_INFINITY

    // State, changed only by synchronous code between effects.
    const skipDone = new Set(saved?.done ?? [])
    const verify = new Set(saved?.pending ?? [])
    const window: Array<Window> = []
    let from = saved === undefined ? undefined : (saved.from ?? undefined)
    let succeeded = saved?.succeeded ?? 0
    const failedEarlier = saved?.failed ?? []
    const failed: Array<Failure<A, E | EC>> = []
    const failedRecords: Array<FailureRecord> = [...failedEarlier]
    let skipped = 0
    let recovered = 0
    let processed = 0
    let inFlight = 0
    let complete = false
    let dirty = false
    let stopped = false

    const snapshot = (): Checkpoint => {
      const done = [...skipDone]
      const pending = [...verify]
      for (const w of window) {
        done.push(...w.done)
        pending.push(...w.open)
      }
      return new Checkpoint({ version: 1, name, from: from ?? null, done, pending, succeeded, failed: failedRecords, startedAt: saved?.startedAt ?? startedAt })
    }
    const lock = yield* Effect.makeSemaphore(1)
    const flush = lock.withPermits(1)(Effect.suspend(() => {
      if (!dirty) return Effect.void
      dirty = false
      if (complete) return store.remove(storeKey).pipe(Effect.catchAll(warn(name, "remove its checkpoint")))
      return Effect.suspend(() => store.set(storeKey, encodeCheckpoint(snapshot()))).pipe(Effect.catchAll(warn(name, "write its checkpoint")))
    }))

    // At most `maxOpenSegments` segments are open at once: a straggler at the head holds up new pages after that,
    // which bounds the checkpoint (and the memory) whatever the listing's size.
    const maxOpenSegments = Math.max(4, Math.floor(options.maxOpenSegments ?? 16))
    let room: Deferred.Deferred<void> | undefined

    /** Pops finished segments off the front of the window, moving `from` past them. */
    const advance = () => {
      while (window.length > 0 && window[0]!.open.size === 0) {
        const head = window.shift()!
        from = head.next
      }
      dirty = true
      if (room !== undefined && window.length < maxOpenSegments) {
        Deferred.unsafeDone(room, Exit.void)
        room = undefined
      }
    }

    const settle = (w: Window, key: string) => {
      w.open.delete(key)
      w.done.push(key)
      if (w === window[0] && w.open.size === 0) advance()
      else dirty = true
    }

    // Progress: samples of (time, finished) for the rate.
    const samples: Array<readonly [number, number]> = []
    const finishedThisRun = () => processed + recovered
    const progress = (): Progress => {
      const now = Date.now()
      samples.push([now, finishedThisRun()])
      while (samples.length > 2 && now - samples[0]![0] > 10_000) samples.shift()
      const [t0, n0] = samples[0]!
      const rate = now > t0 ? ((finishedThisRun() - n0) * 1000) / (now - t0) : 0
      const done = succeeded + failedRecords.length
      const total = Option.fromNullable(options.total)
      return {
        name,
        done,
        succeeded,
        failed: failedRecords.length,
        skipped,
        inFlight,
        total,
        elapsed: Duration.millis(now - startedAt),
        rate,
        eta: Option.flatMap(total, (t) => (rate > 0 ? Option.some(Duration.millis((Math.max(0, t - done) / rate) * 1000)) : Option.none()))
      }
    }
    const report = Effect.suspend(() => (options.onProgress === undefined ? Effect.void : options.onProgress(progress())))

    const handle = (w: Window, item: A): Effect.Effect<void, never, R | RC> =>
      Effect.suspend(() => {
        const key = options.key(item)
        if (skipDone.delete(key)) {
          skipped++
          settle(w, key)
          return Effect.void
        }
        // Stopping: the item is left as it is (pending), for the next run.
        if (failed.length >= stopAfter) {
          stopped = true
          return Effect.void
        }
        const wasPending = verify.delete(key)
        inFlight++
        const check: Effect.Effect<boolean, EC, RC> = wasPending && options.alreadyDone !== undefined ? options.alreadyDone(item) : Effect.succeed(false)
        // Each outcome is counted and its key settled in one synchronous step, so no checkpoint can see one
        // without the other (a success counted while its key is still pending would be counted again on resume).
        const work: Effect.Effect<void, E | EC, R | RC> = Effect.flatMap(check, (done) => {
          if (done) {
            recovered++
            succeeded++
            settle(w, key)
            return Effect.void
          }
          return Effect.map(options.process(item), () => {
            processed++
            succeeded++
            settle(w, key)
          })
        })
        return work.pipe(
          Effect.catchAll((error) =>
            Effect.sync(() => {
              processed++
              failed.push({ key, item, error })
              failedRecords.push(describeError(key, error))
              settle(w, key)
            })
          ),
          Effect.ensuring(Effect.sync(() => {
            inFlight--
          }))
        )
      })

    /** Registers a segment and writes its keys as pending before any of its items starts. */
    const claim = (segment: Segment<A>): Effect.Effect<ReadonlyArray<readonly [Window, A]>> =>
      Effect.suspend(() => {
        if (window.length >= maxOpenSegments) {
          room ??= Deferred.unsafeMake<void>(FiberId.none)
          return Effect.zipRight(Deferred.await(room), claim(segment))
        }
        const w: Window = { from: segment.from, next: segment.next, open: new Set(), done: [] }
        for (const item of segment.items) w.open.add(options.key(item))
        window.push(w)
        advance()
        return Effect.as(flush, segment.items.map((item) => [w, item] as const))
      })

    yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced(options.checkpointInterval ?? "250 millis")))
    if (options.onProgress !== undefined) {
      yield* Effect.forkScoped(Effect.repeat(report, Schedule.spaced(options.progressInterval ?? "1 second")))
    }

    // A fixed pool of `concurrency` workers takes the items from a queue the source fills (the queue's bound is the
    // backpressure). `Stream.mapEffect` with concurrency would cost 150–300 µs of CPU per item in its merge
    // machinery, more than an IVCAP request itself; the queue and the pool cost a few µs.
    const queue = yield* Queue.bounded<readonly [Window, A] | typeof end>(concurrency)
    const fill = source.segments(from).pipe(
      // The next page is read while this one is processed.
      Stream.buffer({ capacity: 1 }),
      Stream.mapEffect(claim),
      Stream.flattenIterables,
      Stream.takeWhile(() => failed.length < stopAfter),
      Stream.runForEach((entry) => Queue.offer(queue, entry)),
      // One end marker per worker: each stops at its own, after the items before it.
      Effect.zipRight(Effect.forEach(Array.from({ length: concurrency }), () => Queue.offer(queue, end), { discard: true }))
    )
    const worker: Effect.Effect<void, never, R | RC> = Effect.flatMap(Queue.take(queue), (entry) =>
      entry === end ? Effect.void : Effect.zipRight(handle(entry[0], entry[1]), worker))
    yield* Effect.all([fill, Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })], {
      concurrency: "unbounded",
      discard: true
    }).pipe(
      // Whatever happens — the end, a failure of the source, an interruption — the last state is written.
      Effect.ensuring(Effect.suspend(() => {
        dirty = true
        return flush
      })),
      Effect.tap(() =>
        Effect.suspend(() => {
          complete = !stopped && failed.length < stopAfter && window.length === 0
          dirty = true
          return flush
        })
      )
    )
    yield* report
    return {
      name,
      complete,
      resumed: saved !== undefined,
      succeeded,
      failed,
      failedEarlier,
      skipped,
      recovered,
      processed,
      elapsed: Duration.millis(Date.now() - startedAt)
    }
  }))
