/**
 * The emulator's in-memory state: services, orders, artifacts (metadata; content lives in a BlobStore) and aspects,
 * plus the emulator clock. Mutations are plain synchronous methods; every durable mutation is also written to an
 * optional journal (replayed at start by the Node server when a data directory is used).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BlobStore from "../BlobStore.js"
import * as SeedData from "../SeedData.js"
import type { ArtifactRec, AspectRec, JobRec, OrderRec, ProductSpec, SecretRec, ServiceRec } from "./model.js"
import { orderFinishedAt } from "./model.js"
import { randomUuid, utf8 } from "./util.js"

/** One durable mutation. */
export type JournalEvent =
  | { readonly e: "order"; readonly r: Omit<OrderRec, "productId"> }
  | { readonly e: "artifact"; readonly r: ArtifactRec }
  | {
    readonly e: "upload"
    readonly id: string
    readonly offset: number
    readonly length?: number
    readonly completedAt?: number
  }
  | { readonly e: "product"; readonly order: string; readonly artifact: string }
  | { readonly e: "aspect"; readonly r: AspectRec }
  | { readonly e: "retract"; readonly id: string; readonly validTo: number; readonly retracter: string }
  | { readonly e: "clock"; readonly offset: number }
  | { readonly e: "job"; readonly r: Omit<JobRec, "observed"> }
  | { readonly e: "jobObserved"; readonly id: string; readonly observed: NonNullable<JobRec["observed"]> }
  | { readonly e: "secret"; readonly r: SecretRec }

/**
 * Durable storage of journal events (synchronous: small appends). `append` gets complete JSONL lines (each ends with
 * a newline) and either stores all of them or throws.
 */
export interface Journal {
  readonly load: () => ReadonlyArray<JournalEvent>
  readonly append: (lines: string) => void
  readonly clear: () => void
}

/** Journal events as JSONL; throws (before anything is written or changed) when one cannot be serialised. */
export const journalLines = (events: ReadonlyArray<JournalEvent>): string => {
  let text = ""
  for (const e of events) text += JSON.stringify(e) + "\n"
  return text
}

/** The default of the largest artifact the emulator accepts: 16 GiB. */
export const defaultMaxUploadBytes = 16 * 1024 * 1024 * 1024

/** The mutable state of one emulator. */
export class EmulatorState {
  seq = 0
  clockOffset = 0
  /** Timestamps of aspects never go backwards, so `seq` order is also `valid-from` order. */
  lastAspectTime = 0
  services: Array<ServiceRec> = []
  servicesById = new Map<string, ServiceRec>()
  orders: Array<OrderRec> = []
  ordersById = new Map<string, OrderRec>()
  artifacts: Array<ArtifactRec> = []
  artifactsById = new Map<string, ArtifactRec>()
  aspects: Array<AspectRec> = []
  aspectsById = new Map<string, AspectRec>()
  aspectsByEntity = new Map<string, Array<AspectRec>>()
  /** Jobs (v0.44+), in creation order; status and times follow from the record and the clock (`jobStatusAt`). */
  jobs: Array<JobRec> = []
  jobsById = new Map<string, JobRec>()
  /** Jobs whose `job.2` aspect or product may still change (see `jobs.ts` `materialiseJobs`). */
  readonly liveJobs = new Set<JobRec>()
  /** Which API the emulator speaks: "0.41" hides `/1/services2` and jobs (404, as a v0.41 server). */
  apiVersion: "0.41" | "0.48" = "0.48"
  /** Emulator time each job lifecycle step (pending → scheduled → executing) takes. */
  jobStepMillis = 100
  /** Called after every clock advance (held job requests and event streams re-check their deadlines). */
  readonly clockWaiters = new Set<() => void>()
  /** Secrets by name (one account). */
  secrets = new Map<string, SecretRec>()
  /** Per-artifact upload locks (one PATCH at a time). */
  readonly uploading = new Set<string>()
  private replaying = false

  constructor(
    readonly blobs: BlobStore.BlobStore,
    readonly orderStepMillis: number,
    readonly journal: Journal | undefined,
    /** The largest artifact accepted (declared or deferred length). */
    readonly maxUploadBytes: number = defaultMaxUploadBytes
  ) {}

  now(): number {
    return Date.now() + this.clockOffset
  }

  nextSeq(): number {
    return ++this.seq
  }

  /** The journal lines and undo steps of the running `batch`. */
  private pending: { lines: string; undo: Array<() => void> } | undefined

  /**
   * Journals `events`, then runs `apply` — so a write that cannot be journaled (content the serialiser refuses, a
   * full disk) leaves memory as it was. Inside a `batch` the lines are serialised now (same guarantee) and written
   * with the batch; `undo` reverts `apply` if that final write fails.
   */
  commit(events: ReadonlyArray<JournalEvent>, apply: () => void, undo: () => void): void {
    if (this.replaying || this.journal === undefined) return apply()
    const lines = journalLines(events)
    if (this.pending !== undefined) {
      this.pending.lines += lines
      apply()
      this.pending.undo.push(undo)
      return
    }
    this.journal.append(lines)
    apply()
  }

  /** Runs `f`, writing its journal events in one append; if that append fails, `f`'s changes are undone. */
  batch<A>(f: () => A): A {
    if (this.pending !== undefined || this.journal === undefined || this.replaying) return f()
    const pending: { lines: string; undo: Array<() => void> } = { lines: "", undo: [] }
    this.pending = pending
    const rollback = () => {
      for (let i = pending.undo.length - 1; i >= 0; i--) pending.undo[i]!()
    }
    let result: A
    try {
      result = f()
    } catch (e) {
      this.pending = undefined
      rollback()
      throw e
    }
    this.pending = undefined
    if (pending.lines !== "") {
      try {
        this.journal.append(pending.lines)
      } catch (e) {
        rollback()
        throw e
      }
    }
    return result
  }

  /** Clears everything and (unless `withData` is false) loads the seed data. */
  seed(withData: boolean, clearBlobs: boolean): Effect.Effect<void, BlobStore.BlobStoreError> {
    return Effect.gen(this, function*() {
      this.seq = 0
      this.clockOffset = 0
      this.lastAspectTime = 0
      this.services = []
      this.servicesById.clear()
      this.orders = []
      this.ordersById.clear()
      this.artifacts = []
      this.artifactsById.clear()
      this.aspects = []
      this.aspectsById.clear()
      this.aspectsByEntity.clear()
      this.jobs = []
      this.jobsById.clear()
      this.liveJobs.clear()
      this.secrets.clear()
      if (clearBlobs) yield* this.blobs.clear
      if (!withData) return
      const replaying = this.replaying
      // seed data is not journaled: it is re-created at every start
      this.replaying = true
      yield* Effect.ensuring(this.loadSeed(), Effect.sync(() => {
        this.replaying = replaying
      }))
    })
  }

  private loadSeed(): Effect.Effect<void, BlobStore.BlobStoreError> {
    return Effect.gen(this, function*() {
      for (const s of [...SeedData.services(), ...SeedData.toolServices()]) {
        const rec: ServiceRec = { ...s, seq: this.nextSeq() }
        this.services.push(rec)
        this.servicesById.set(rec.id, rec)
      }
      for (const a of [SeedData.readmeArtifact, SeedData.boundaryArtifact]) {
        const bytes = utf8(a.content)
        const rec: ArtifactRec = {
          seq: this.nextSeq(),
          id: a.id,
          account: SeedData.account,
          name: a.name,
          mimeType: a.mimeType,
          policy: SeedData.defaultPolicy,
          createdAt: SeedData.seededAt,
          length: bytes.length,
          offset: bytes.length,
          completedAt: SeedData.seededAt
        }
        this.addArtifact(rec)
        yield* this.blobs.write(rec.id, 0, Stream.succeed(bytes), () => {})
      }
      for (const a of [SeedData.readmeAspect, SeedData.boundaryAspect, ...SeedData.toolAspects()]) {
        this.addAspect({
          seq: this.nextSeq(),
          id: a.id,
          entity: a.entity,
          schema: a.schema,
          content: { ...a.content },
          asserter: SeedData.principal,
          validFrom: SeedData.seededAt
        })
      }
    })
  }

  /** Replays the journal (after `seed`). Blob content of unfinished uploads is cut to the journaled offset. */
  replay(): Effect.Effect<void, BlobStore.BlobStoreError> {
    return Effect.gen(this, function*() {
      if (this.journal === undefined) return
      const events = this.journal.load()
      this.replaying = true
      try {
        for (const ev of events) this.apply(ev)
      } finally {
        this.replaying = false
      }
      for (const a of this.artifacts) {
        const size = yield* this.blobs.size(a.id)
        if (size > a.offset) yield* this.blobs.truncate(a.id, a.offset)
        if (size < a.offset) {
          // the blob lost bytes (e.g. removed by hand): resume from what is there
          a.offset = size
          if (a.completedAt !== undefined && (a.length === undefined || size < a.length)) delete a.completedAt
        }
      }
    })
  }

  private apply(ev: JournalEvent): void {
    switch (ev.e) {
      case "order":
        this.addOrder({ ...ev.r })
        break
      case "artifact":
        this.addArtifact({ ...ev.r })
        break
      case "upload": {
        const a = this.artifactsById.get(ev.id)
        if (a === undefined) break
        a.offset = ev.offset
        if (ev.length !== undefined) a.length = ev.length
        if (ev.completedAt !== undefined) a.completedAt = ev.completedAt
        break
      }
      case "product": {
        const o = this.ordersById.get(ev.order)
        if (o !== undefined) o.productId = ev.artifact
        break
      }
      case "aspect":
        this.addAspect({ ...ev.r })
        break
      case "retract": {
        const a = this.aspectsById.get(ev.id)
        if (a !== undefined) {
          a.validTo = ev.validTo
          a.retracter = ev.retracter
        }
        break
      }
      case "clock":
        this.clockOffset = ev.offset
        break
      case "job":
        this.addJob({ ...ev.r })
        break
      case "jobObserved": {
        const j = this.jobsById.get(ev.id)
        if (j !== undefined) this.observeJob(j, { ...ev.observed })
        break
      }
      case "secret":
        this.secrets.set(ev.r.name, { ...ev.r })
        break
    }
  }

  private bumpSeq(seq: number): void {
    if (seq > this.seq) this.seq = seq
  }

  /**
   * Journals a new record, then appends it to its list and index (and `also`, e.g. the live jobs); all of it undone
   * when the journal cannot be written.
   */
  private addRecord<R extends { readonly seq: number; readonly id: string }>(
    event: JournalEvent,
    rec: R,
    list: Array<R>,
    byId: Map<string, R>,
    also?: Set<R>
  ): void {
    const seq = this.seq
    this.commit([event], () => {
      this.bumpSeq(rec.seq)
      list.push(rec)
      byId.set(rec.id, rec)
      also?.add(rec)
    }, () => {
      this.seq = seq
      list.pop()
      byId.delete(rec.id)
      also?.delete(rec)
    })
  }

  addOrder(rec: OrderRec): void {
    this.addRecord({ e: "order", r: rec }, rec, this.orders, this.ordersById)
  }

  addArtifact(rec: ArtifactRec): void {
    this.addRecord({ e: "artifact", r: { ...rec } }, rec, this.artifacts, this.artifactsById)
  }

  addAspect(rec: AspectRec): void {
    const seq = this.seq
    const last = this.lastAspectTime
    this.commit([{ e: "aspect", r: rec }], () => {
      this.bumpSeq(rec.seq)
      if (rec.validFrom > this.lastAspectTime) this.lastAspectTime = rec.validFrom
      this.aspects.push(rec)
      this.aspectsById.set(rec.id, rec)
      let list = this.aspectsByEntity.get(rec.entity)
      if (list === undefined) {
        list = []
        this.aspectsByEntity.set(rec.entity, list)
      }
      list.push(rec)
    }, () => {
      this.seq = seq
      this.lastAspectTime = last
      this.aspects.pop()
      this.aspectsById.delete(rec.id)
      const list = this.aspectsByEntity.get(rec.entity)
      list?.pop()
      if (list?.length === 0) this.aspectsByEntity.delete(rec.entity)
    })
  }

  /** A timestamp for a new aspect: now, but never before the last one (keeps `seq` order = time order). */
  aspectTime(atLeast = 0): number {
    return Math.max(this.now(), this.lastAspectTime, atLeast)
  }

  retractAspect(a: AspectRec, validTo: number, retracter: string): void {
    const before = { validTo: a.validTo, retracter: a.retracter }
    this.commit([{ e: "retract", id: a.id, validTo, retracter }], () => {
      a.validTo = validTo
      a.retracter = retracter
    }, () => {
      if (before.validTo === undefined) delete a.validTo
      else a.validTo = before.validTo
      if (before.retracter === undefined) delete a.retracter
      else a.retracter = before.retracter
    })
  }

  /** Sets (or overwrites) a secret. */
  setSecret(rec: SecretRec): void {
    const before = this.secrets.get(rec.name)
    this.commit([{ e: "secret", r: rec }], () => {
      this.secrets.set(rec.name, rec)
    }, () => {
      if (before === undefined) this.secrets.delete(rec.name)
      else this.secrets.set(rec.name, before)
    })
  }

  advanceClock(millis: number): void {
    const offset = this.clockOffset + millis
    const before = this.clockOffset
    this.commit([{ e: "clock", offset }], () => {
      this.clockOffset = offset
    }, () => {
      this.clockOffset = before
    })
    for (const wake of [...this.clockWaiters]) wake()
  }

  addJob(rec: JobRec): void {
    const { observed: _o, ...r } = rec
    this.addRecord({ e: "job", r }, rec, this.jobs, this.jobsById, this.liveJobs)
  }


  /** Records what `materialiseJobs` has written for a job (its `job.2` aspect, product, result aspect). */
  observeJob(j: JobRec, observed: NonNullable<JobRec["observed"]>): void {
    const before = j.observed
    this.commit([{ e: "jobObserved", id: j.id, observed: { ...observed } }], () => {
      j.observed = observed
    }, () => {
      if (before === undefined) delete j.observed
      else j.observed = before
    })
  }

  uploadProgress(a: ArtifactRec): void {
    // the bytes are in the blob store already; a failed append is a 500 and replay cuts the blob back
    this.commit([{
      e: "upload",
      id: a.id,
      offset: a.offset,
      ...(a.length !== undefined ? { length: a.length } : {}),
      ...(a.completedAt !== undefined ? { completedAt: a.completedAt } : {})
    }], () => {}, () => {})
  }

  /** Creates the product artifacts of orders that have succeeded by now (lazily, on observation). */
  materialiseProducts(): Effect.Effect<void, BlobStore.BlobStoreError> {
    return Effect.gen(this, function*() {
      const now = this.now()
      for (const o of this.orders) {
        if (o.productId !== undefined || o.outcome !== "succeeded" || orderFinishedAt(o) > now) continue
        const service = this.servicesById.get(o.service)
        const product = service?.behaviour.product?.(o.parameters, o.id)
        if (product === undefined) continue
        const id = `urn:ivcap:artifact:${randomUuid()}`
        // claimed first: a concurrent request must not materialise the same product while the blob is written
        o.productId = id
        yield* this.writeProduct(id, o.account, o.policy ?? SeedData.defaultPolicy, product, orderFinishedAt(o)).pipe(
          Effect.onError(() => Effect.sync(() => delete o.productId))
        )
        this.commit([{ e: "product", order: o.id, artifact: id }], () => {}, () => {})
      }
    })
  }

  /** Creates a ready artifact `id` holding a product (of an order or a job) that was finished at `at`. */
  writeProduct(
    id: string,
    account: string,
    policy: string,
    product: ProductSpec,
    at: number
  ): Effect.Effect<void, BlobStore.BlobStoreError> {
    return Effect.gen(this, function*() {
      const bytes = utf8(product.content)
      const rec: ArtifactRec = {
        seq: this.nextSeq(),
        id,
        account,
        name: product.name,
        mimeType: product.mimeType,
        policy,
        createdAt: at,
        length: bytes.length,
        offset: 0
      }
      this.addArtifact(rec)
      yield* this.blobs.write(rec.id, 0, Stream.succeed(bytes), () => {})
      rec.offset = bytes.length
      rec.completedAt = at
      this.uploadProgress(rec)
    })
  }
}
