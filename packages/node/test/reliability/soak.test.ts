/**
 * Soak: seeded random combinations of transient faults (503/500/502 bursts, 429 with Retry-After, connections reset
 * mid-response or mid-request-body, stalls past the timeout, delays), one to three at a time and aimed at random
 * requests, over random operations. Whatever the combination, an operation ends either with the right result (a
 * complete list in order, the same bytes) or with a typed transient error from its closed union — never a defect, a
 * decode error or a wrong result — and never writes twice. 40 rounds by default, 400 with IVCAP_RELIABILITY_LONG=1;
 * IVCAP_RELIABILITY_SEED replays a run. Figures go to `build/reliability/soak[-long].json`.
 */
import { expect, layer } from "@effect/vitest"
import type { IvcapClient } from "@ivcap/core"
import { Artifact, Aspect, Download, Order, Service, Upload, UploadSource } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as H from "./harness.js"

const long = process.env["IVCAP_RELIABILITY_LONG"] === "1"
const rounds = long ? 400 : 40

const random = H.prng(H.seed)
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1))
const pick = <A>(as: ReadonlyArray<A>): A => as[Math.floor(random() * as.length)]!

type Env = IvcapClient.IvcapClient | Emulator.Emulator

/** Whether a result is right (run after the faults are removed). */
type Check = Effect.Effect<boolean, unknown, Env>
const is = (ok: boolean): Check => Effect.succeed(ok)

/** The typed errors transient faults may legitimately end in (when the retries or the POST's single try run out). */
const transient = new Set(["ServiceUnavailable", "RateLimited", "TransportError", "RequestTimeout", "UnexpectedStatus"])

interface Operation {
  readonly name: string
  /** The methods of its requests (faults are aimed at one of them, or at any request). */
  readonly methods: ReadonlyArray<string>
  /**
   * Builds the operation's data (no fault yet). `run` runs it under the faults and returns the check of its result,
   * which runs once the faults are gone.
   */
  readonly prepare: Effect.Effect<{ readonly run: Effect.Effect<Check, unknown, Env>; readonly records?: Effect.Effect<number, unknown, Env> }, unknown, Env>
}

const KiB = 1024
const resume = { retry: H.quickResume }
const noteSchema = "urn:reliability:schema:soak.1"

const operations: ReadonlyArray<Operation> = [
  {
    name: "Service.list",
    methods: ["GET"],
    prepare: Effect.gen(function*() {
      const pageSize = int(3, 25)
      const ids = (s: Stream.Stream<{ readonly id: string }, unknown, Env>) => Effect.map(Stream.runCollect(s), (c) => Chunk.toReadonlyArray(c).map((x) => x.id))
      const clean = yield* ids(Service.list({ pageSize }))
      return { run: Effect.map(ids(Service.list({ pageSize })), (got) => is(got.length === clean.length && got.every((id, i) => id === clean[i]))) }
    })
  },
  { name: "Service.get", methods: ["GET"], prepare: Effect.succeed({ run: Effect.map(Service.get(SeedData.richService.id), (s) => is(s.parameters.length === 9)) }) },
  { name: "Artifact.get", methods: ["GET"], prepare: Effect.succeed({ run: Effect.map(Artifact.get(SeedData.boundaryArtifact.id), (a) => is(a.status === "ready")) }) },
  {
    name: "Order.place",
    methods: ["GET", "POST"],
    prepare: Effect.succeed({ run: Effect.map(Order.place(SeedData.helloWorld.id, { msg: "soak" }), (o) => is(o.service === SeedData.helloWorld.id)), records: Stream.runCount(Order.list()) })
  },
  {
    name: "Aspect.add",
    methods: ["POST"],
    prepare: Effect.succeed({
      run: Effect.map(Aspect.add(SeedData.boundaryArtifact.id, { $schema: noteSchema, n: 1 }), (id) => is(id.startsWith("urn:ivcap:aspect:"))),
      records: Stream.runCount(Aspect.list({ entity: SeedData.boundaryArtifact.id, schema: noteSchema }))
    })
  },
  {
    name: "Upload.upload",
    methods: ["POST", "PATCH", "HEAD", "GET"],
    prepare: Effect.sync(() => {
      const bytes = H.randomBytes(int(0, 1536) * KiB + int(0, 1000), int(1, 1e6))
      return {
        run: Effect.map(
          Upload.upload(UploadSource.fromBytes(bytes), { chunkSize: int(64, 512) * KiB, ...resume }),
          (artifact) => Effect.map(H.storedContent(artifact.dataHref), (stored) => H.sha256(stored) === H.sha256(bytes))
        ),
        records: Stream.runCount(Artifact.list())
      }
    })
  },
  {
    name: "Download.stream",
    methods: ["GET"],
    prepare: Effect.gen(function*() {
      const bytes = H.randomBytes(int(1, 1536) * KiB, int(1, 1e6))
      const record = yield* Upload.upload(UploadSource.fromBytes(bytes), resume)
      return { run: Effect.map(Stream.runCollect(Download.stream(record.id, resume)), (c) => is(H.sha256(Chunk.toReadonlyArray(c)) === H.sha256(bytes))) }
    })
  }
]

/** A random transient fault aimed at `method` (or at any request), after letting `skip` matching requests through. */
const randomFault = (methods: ReadonlyArray<string>): Faults.FaultRule => {
  const method = random() < 0.2 ? undefined : pick(methods)
  const options = { ...(method === undefined ? {} : { match: { method } }), skip: int(0, 3) }
  switch (int(0, 7)) {
    case 0:
      return Faults.status(503, { ...options, times: int(1, 3) })
    case 1:
      return Faults.status(429, { ...options, retryAfter: int(0, 1) })
    case 2:
      return Faults.status(pick([500, 502, 504]), { ...options, times: int(1, 2) })
    case 3:
      return Faults.cutResponse(int(0, 64 * KiB), options)
    case 4:
      return Faults.cutRequestBody(int(0, 256 * KiB), options)
    case 5:
      return Faults.stall(options)
    case 6:
      return Faults.delay(int(50, 300), options)
    default:
      return Faults.status(503, { ...options, retryAfter: 0 })
  }
}

interface Round {
  readonly round: number
  readonly operation: string
  readonly faults: ReadonlyArray<string>
  readonly outcome: string
  readonly correct: boolean | undefined
  readonly requests: number
  readonly maxPosts: number
  readonly created?: number
  readonly millis: number
}

const describeRule = (rule: Faults.FaultRule) =>
  `${rule.action._tag}${"status" in rule.action ? ` ${rule.action.status}` : ""} on ${rule.match?.method ?? "any"}${rule.skip ? ` after ${rule.skip}` : ""}${(rule.times ?? 1) > 1 ? ` ×${rule.times}` : ""}`

layer(H.layer({ timeout: "400 millis" }))("soak", (it) => {
  it.effect(`${rounds} rounds of random combined faults (seed from IVCAP_RELIABILITY_SEED or random)`, () =>
    H.observed(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const results: Array<Round> = []
      for (let round = 1; round <= rounds; round++) {
        const operation = pick(operations)
        yield* H.fresh
        const prepared = yield* operation.prepare
        const before = prepared.records ? yield* prepared.records : 0
        yield* H.forget
        const rules = Array.from({ length: int(1, 3) }, () => randomFault(operation.methods))
        for (const rule of rules) yield* emulator.faults.inject(rule)
        const started = Date.now()
        const exit = yield* H.exitOf(prepared.run)
        const millis = Date.now() - started
        const requests = yield* H.count()
        const maxPosts = Math.max(...(yield* Effect.all(["/1/orders", "/1/aspects", "/1/artifacts"].map((p) => H.count({ method: "POST", path: new RegExp(`^${p}$`) })))))
        yield* emulator.faults.reset
        const created = prepared.records ? (yield* prepared.records) - before : undefined
        const correct = Exit.isSuccess(exit) ? yield* exit.value : undefined
        const result: Round = {
          round,
          operation: operation.name,
          faults: rules.map(describeRule),
          outcome: H.outcomeOf(exit),
          correct,
          requests,
          maxPosts,
          ...(created !== undefined ? { created } : {}),
          millis
        }
        results.push(result)
        const label = `seed ${H.seed} round ${round}: ${operation.name} with ${result.faults.join(" + ")} → ${result.outcome}`
        if (result.outcome === "ok") expect(result.correct, label).toBe(true)
        else expect(transient.has(result.outcome), label).toBe(true)
        expect(maxPosts, label).toBeLessThanOrEqual(1)
        if (created !== undefined) expect(created, label).toBeLessThanOrEqual(1)
        if (created !== undefined && result.outcome === "ok") expect(created, label).toBe(1)
      }
      const leaks = H.leaks()
      yield* H.writeSummary(long ? "soak-long" : "soak", {
        seed: H.seed,
        rounds,
        results,
        totals: {
          faultsInjected: results.reduce((n, r) => n + r.faults.length, 0),
          ok: results.filter((r) => r.outcome === "ok").length,
          typedErrors: results.filter((r) => r.outcome !== "ok").length,
          wrongResults: results.filter((r) => r.correct === false).length,
          duplicatePosts: results.filter((r) => r.maxPosts > 1).length,
          duplicateRecords: results.reduce((n, r) => n + Math.max(0, (r.created ?? 0) - 1), 0),
          leaks: leaks.length
        }
      })
      expect(leaks).toEqual([])
    })), long ? 900_000 : 180_000)
})
