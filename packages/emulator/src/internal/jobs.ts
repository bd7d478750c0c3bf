/**
 * Jobs (API v0.44+) on the emulator clock: the plan of a job (decided from its input when requested), its events,
 * waiting for an emulator time (real time passing or `clock.advance`), and keeping the platform records that follow
 * a job up to date — its `urn:ivcap:schema:job.2` aspect (how the Go CLI lists and finds jobs, wire doc §15), its
 * product artifact and its result aspect. Those records are written lazily, when any request observes the state
 * (`materialiseJobs`, called before every handler), so their `valid-from` is the observation time (never earlier
 * than an existing aspect: aspect `seq` order stays `valid-from` order).
 */
import * as Effect from "effect/Effect"
import type * as BlobStore from "../BlobStore.js"
import * as SeedData from "../SeedData.js"
import type { JobRec, JobStatus } from "./model.js"
import { isFinal, jobStatusAt, jobTimes } from "./model.js"
import type { EmulatorState } from "./state.js"
import { formatTime, randomUuid, uuidFrom } from "./util.js"

/** The schema of the aspect recorded for every job (the Go CLI's `JOB_SCHEMA`). */
export const jobAspectSchema = "urn:ivcap:schema:job.2"
/**
 * The schema of the aspect holding a finished job's result; `result-content-urn` names it. **(inferred** from the
 * Python client 0.47.19 docs, which call it `urn:ivcap:schema.job-result.1`; we use the colon form of every other
 * IVCAP schema**)**
 */
export const jobResultSchema = "urn:ivcap:schema:job-result.1"

/** One job event (`JobEvent` on the wire, see `jobEventWire`). */
export interface JobEventRec {
  /** 1, 2, 3, … per job: never repeats, never skips. The SSE `id:` and `SeqID`. */
  readonly seq: number
  /** Emulator time the event happens. */
  readonly at: number
  readonly type: string
  readonly schema: string
  readonly data: Record<string, unknown>
}

/**
 * Event types and schemas the emulator emits. **(inferred)** no public source shows the platform's job event
 * vocabulary; these follow the CLI's field docs (`type` = "a simpler version of schema").
 */
export const eventSchemas = {
  status: "urn:ivcap:schema:job.event.status.1",
  progress: "urn:ivcap:schema:job.event.progress.1"
} as const

/** The events of a job, all of them (those with `at` in the future have not happened yet). */
export const jobEvents = (j: JobRec): ReadonlyArray<JobEventRec> => {
  const { finishedAt, requestedAt, scheduledAt, startedAt } = jobTimes(j)
  const raw: Array<Omit<JobEventRec, "seq">> = []
  const status = (at: number, s: JobStatus, extra: Record<string, unknown> = {}) =>
    raw.push({ at, type: "job.status", schema: eventSchemas.status, data: { "job-id": j.id, status: s, ...extra } })
  status(requestedAt, "pending")
  status(scheduledAt, "scheduled")
  status(startedAt, "executing")
  const steps = j.plan.progressSteps ?? 0
  for (let k = 1; k <= steps; k++) {
    raw.push({
      at: startedAt + Math.floor((k * j.plan.runMillis) / (steps + 1)),
      type: "job.progress",
      schema: eventSchemas.progress,
      data: { "job-id": j.id, step: k, steps: steps + 1, message: `step ${k} of ${steps + 1}` }
    })
  }
  status(
    finishedAt,
    j.plan.outcome,
    j.plan.errorMessage !== undefined ? { "error-message": j.plan.errorMessage } : {}
  )
  return raw.map((e, i) => ({ ...e, seq: i + 1 }))
}

/** `JobEvent` (the v0.48 spec; the CLI's `JobEventsResponseBody`). */
export const jobEventWire = (j: JobRec, e: JobEventRec) => ({
  SeqID: String(e.seq),
  eventID: `urn:ivcap:event:${uuidFrom(`${j.id}#${e.seq}`)}`,
  type: e.type,
  schema: e.schema,
  // (inferred) the job is the source of its events
  source: j.id,
  timestamp: formatTime(e.at),
  data: e.data
})

/**
 * Waits until the emulator time reaches `t`: wakes on real time passing and on `clock.advance`. Interruptible (a
 * client that goes away releases it).
 */
export const untilEmulatorTime = (state: EmulatorState, t: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer)
      state.clockWaiters.delete(wake)
    }
    const check = (): boolean => {
      if (state.now() < t) return false
      cleanup()
      resume(Effect.void)
      return true
    }
    const arm = () => {
      if (timer !== undefined) clearTimeout(timer)
      // re-check at least every 10 s (timers are capped; a long wait stays correct)
      timer = setTimeout(() => {
        if (!check()) arm()
      }, Math.min(Math.max(1, t - state.now()), 10_000))
    }
    function wake() {
      if (!check()) arm()
    }
    state.clockWaiters.add(wake)
    if (!check()) arm()
    return Effect.sync(cleanup)
  })

/** The content of a job's `job.2` aspect at time `t` (the keys the CLI reads, plus times and the error). */
const jobAspectContent = (j: JobRec, status: JobStatus): Record<string, unknown> => {
  const { finishedAt, startedAt } = jobTimes(j)
  const started = status === "executing" || isFinal(status)
  return {
    $schema: jobAspectSchema,
    $entity: j.id,
    id: j.id,
    "service-id": j.service,
    "service-name": j.serviceName,
    order: j.order,
    status,
    "requested-at": formatTime(j.requestedAt),
    ...(started ? { "started-at": formatTime(startedAt) } : {}),
    ...(isFinal(status) ? { "finished-at": formatTime(finishedAt) } : {}),
    ...(status === "failed" && j.plan.errorMessage !== undefined ? { "error-message": j.plan.errorMessage } : {})
  }
}

const addAspect = (state: EmulatorState, entity: string, schema: string, content: Record<string, unknown>, at: number) => {
  const id = `urn:ivcap:aspect:${randomUuid()}`
  state.addAspect({
    seq: state.nextSeq(),
    id,
    entity,
    schema,
    content,
    policy: SeedData.defaultPolicy,
    asserter: SeedData.principal,
    validFrom: at
  })
  return id
}

/**
 * Brings the records that follow live jobs up to date with the emulator time: the `job.2` aspect (a new version when
 * the status changed; the old one gets `valid-to`), the product artifact and the result aspect of a finished job.
 */
export const materialiseJobs = (state: EmulatorState): Effect.Effect<void, BlobStore.BlobStoreError> =>
  Effect.gen(function*() {
    if (state.liveJobs.size === 0) return
    const now = state.now()
    for (const j of [...state.liveJobs]) {
      const status = jobStatusAt(j, now)
      const before = j.observed
      if (before !== undefined && before.status === status && !isFinal(status)) continue
      const at = state.aspectTime()
      const observed = before !== undefined ? { ...before } : { status, aspectId: "" }
      if (before === undefined || before.status !== status) {
        if (before !== undefined) {
          const old = state.aspectsById.get(before.aspectId)
          if (old !== undefined && old.validTo === undefined) state.retractAspect(old, at, SeedData.principal)
        }
        observed.status = status
        observed.aspectId = addAspect(state, j.id, jobAspectSchema, jobAspectContent(j, status), at)
      }
      if (status === "succeeded") {
        if (observed.productDone !== true) {
          if (j.plan.product !== undefined && j.productId !== undefined) {
            yield* state.writeProduct(j.productId, j.account, j.policy, j.plan.product, jobTimes(j).finishedAt)
          }
          observed.productDone = true
        }
        if (observed.resultAspectId === undefined && j.plan.result !== undefined) {
          observed.resultAspectId = addAspect(state, j.id, jobResultSchema, {
            $schema: jobResultSchema,
            $entity: j.id,
            "job-id": j.id,
            "content-type": "application/json",
            content: j.plan.result
          }, at)
        }
      }
      state.observeJob(j, observed)
      if (isFinal(status)) state.liveJobs.delete(j)
    }
  })

/** `retry-later` of a 202: the seconds until the job should be done, 1..30 (an emulator choice; never 0). */
export const retryLaterSeconds = (j: JobRec, now: number): number =>
  Math.min(30, Math.max(1, Math.ceil((jobTimes(j).finishedAt - now) / 1000)))
