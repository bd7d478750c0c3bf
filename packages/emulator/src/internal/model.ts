/** The emulator's records (camelCase, times in epoch millis); rendered to the wire by `wire.ts`. */

export type ParameterType = "string" | "int" | "float" | "bool" | "option" | "artifact" | "collection"

/** A service parameter definition (`ParameterDefT`). */
export interface ParameterDef {
  readonly name: string
  readonly type: ParameterType
  readonly description: string
  readonly label?: string
  readonly unit?: string
  readonly default?: string
  readonly optional?: boolean
  readonly constant?: boolean
  readonly unary?: boolean
  readonly options?: ReadonlyArray<{ readonly value: string; readonly description: string }>
}

/** What an order of a service ends in, and what it produces. */
export interface ServiceBehaviour {
  readonly outcome: "succeeded" | "failed"
  readonly product?: (
    parameters: ReadonlyArray<{ readonly name: string; readonly value: string }>,
    orderId: string
  ) => { readonly name: string; readonly mimeType: string; readonly content: string }
}

/** A service. */
export interface ServiceRec {
  readonly seq: number
  readonly id: string
  readonly name: string
  readonly description: string
  readonly account: string
  readonly policy: string
  readonly banner?: string
  readonly tags?: ReadonlyArray<string>
  readonly status: "active" | "inactive" | "error"
  readonly publishedAt: number
  readonly parameters: ReadonlyArray<ParameterDef>
  readonly behaviour: ServiceBehaviour
  /** v0.44+ only: served by `/1/services2` but not by the v0.41 `/1/services` (e.g. tool services). */
  readonly v2Only?: boolean
  /** `controller-schema` of `/1/services2` (a default is derived when absent). */
  readonly controllerSchema?: string
  /** `controller` of `/1/services2`. */
  readonly controller?: Record<string, unknown>
  /** End of availability (`valid-to`); `publishedAt` is `valid-from`. */
  readonly validTo?: number
  /** The tool request schema, also seeded as a `urn:sd-core:schema.ai-tool.1` aspect on the service. */
  readonly tool?: ToolSpec
  /** How a job of this service computes (services without one run their order behaviour as a job). */
  readonly job?: JobBehaviour
  /** A job request to this service is answered 307 with `Location` = the job endpoint of this service. */
  readonly redirectTo?: string
}

/** A tool description (the content of a `urn:sd-core:schema.ai-tool.1` aspect). */
export interface ToolSpec {
  readonly name: string
  readonly description: string
  /** JSON Schema of the job input. */
  readonly fnSchema: Record<string, unknown>
}

/** A product a job (or order) creates as an artifact when it finishes. */
export interface ProductSpec {
  readonly name: string
  readonly mimeType: string
  readonly content: string
}

/** What a job will do, decided (deterministically) when it is requested; JSON-serialisable (journaled). */
export interface JobPlan {
  /** Emulator time the job executes (after the pending and scheduled steps). */
  readonly runMillis: number
  readonly outcome: "succeeded" | "failed"
  /** The result (JSON) of a succeeded job. */
  readonly result?: unknown
  /** Why a failed job failed. */
  readonly errorMessage?: string
  /** An artifact created when the job succeeds (its id is `JobRec.productId`). */
  readonly product?: ProductSpec
  /** Progress events emitted while executing (evenly spread). */
  readonly progressSteps?: number
}

/** Computes a job from its JSON input; `productId` is the id its product artifact will get. */
export type JobBehaviour = (input: unknown, ids: { readonly jobId: string; readonly productId: string }) => JobPlan

/** The job statuses of the wire (`JobStatusRT.status`); the emulator produces all but `unknown` and `error`. */
export type JobStatus = "unknown" | "pending" | "scheduled" | "executing" | "succeeded" | "failed" | "error"

/**
 * A job (v0.44+). Its status follows from `requestedAt`, `stepMillis`, the plan and the emulator time: pending →
 * (one step) scheduled → (one step) executing → (`plan.runMillis`) succeeded | failed.
 */
export interface JobRec {
  readonly seq: number
  readonly id: string
  readonly service: string
  readonly serviceName: string
  /** Every job has an order URN (`JobStatusRT.order` is required). */
  readonly order: string
  readonly account: string
  readonly policy: string
  readonly requestContentType: string
  readonly requestContent: unknown
  readonly requestedAt: number
  readonly stepMillis: number
  readonly plan: JobPlan
  /** Id of the product artifact (created when the job succeeds). */
  readonly productId?: string
  /** Observation state (kept by `materialiseJobs`): the status last recorded in the job's `job.2` aspect. */
  observed?: {
    status: JobStatus
    aspectId: string
    productDone?: boolean
    resultAspectId?: string
  }
}

/** When a job is scheduled, starts and finishes. */
export const jobTimes = (j: JobRec) => {
  const scheduledAt = j.requestedAt + j.stepMillis
  const startedAt = j.requestedAt + 2 * j.stepMillis
  return { requestedAt: j.requestedAt, scheduledAt, startedAt, finishedAt: startedAt + j.plan.runMillis }
}

/** The status of a job at time `t`. */
export const jobStatusAt = (j: JobRec, t: number): JobStatus => {
  const { finishedAt, scheduledAt, startedAt } = jobTimes(j)
  if (t >= finishedAt) return j.plan.outcome
  if (t >= startedAt) return "executing"
  if (t >= scheduledAt) return "scheduled"
  return "pending"
}

/** Whether a status is final. */
export const isFinal = (s: JobStatus): boolean => s === "succeeded" || s === "failed" || s === "error"

/** An order; its status follows from `orderedAt`, `stepMillis` and the emulator time. */
export interface OrderRec {
  readonly seq: number
  readonly id: string
  readonly service: string
  readonly account: string
  readonly name?: string
  readonly policy?: string
  readonly tags?: ReadonlyArray<string>
  readonly parameters: ReadonlyArray<{ readonly name: string; readonly value: string }>
  readonly orderedAt: number
  readonly stepMillis: number
  readonly outcome: "succeeded" | "failed"
  /** Set once the product artifact has been materialised. */
  productId?: string
}

/** An artifact record (its content lives in the BlobStore). */
export interface ArtifactRec {
  readonly seq: number
  readonly id: string
  readonly account: string
  readonly name?: string
  readonly mimeType?: string
  readonly collection?: string
  readonly policy?: string
  readonly createdAt: number
  /** Declared length; `undefined` while deferred. */
  length: number | undefined
  /** Bytes stored. */
  offset: number
  /** Set when the upload completed. */
  completedAt?: number
}

/** An aspect; visible at `t` when `validFrom <= t < validTo`. */
export interface AspectRec {
  readonly seq: number
  readonly id: string
  readonly entity: string
  readonly schema: string
  readonly content: Record<string, unknown>
  readonly policy?: string
  readonly asserter: string
  readonly validFrom: number
  validTo?: number
  retracter?: string
}

/** The order statuses the emulator produces. */
export type OrderStatus = "pending" | "scheduled" | "executing" | "succeeded" | "failed"

/** The lifecycle position of an order at time `t`. */
export const orderStatusAt = (o: OrderRec, t: number): OrderStatus => {
  const steps = Math.floor((t - o.orderedAt) / Math.max(1, o.stepMillis))
  if (steps <= 0) return "pending"
  if (steps === 1) return "scheduled"
  if (steps === 2) return "executing"
  return o.outcome
}

/** When an order starts executing. */
export const orderStartedAt = (o: OrderRec): number => o.orderedAt + 2 * o.stepMillis
/** When an order finishes. */
export const orderFinishedAt = (o: OrderRec): number => o.orderedAt + 3 * o.stepMillis

/** The artifact statuses the emulator produces. */
export type ArtifactStatus = "pending" | "partial" | "ready"

/** An artifact's status: pending → partial → ready. */
export const artifactStatus = (a: ArtifactRec): ArtifactStatus =>
  a.completedAt !== undefined ? "ready" : a.offset > 0 ? "partial" : "pending"

/** A secret (`/1/secrets`, v0.44+); the value is returned only by `GET /1/secrets?secret-name=`. */
export interface SecretRec {
  readonly name: string
  readonly value: string
  readonly type?: string
  /** Unix seconds; 0 = never expires (as the CLI sends and shows it). */
  readonly expiryTime: number
  /** Emulator time (epoch millis) of the last set. */
  readonly updatedAt: number
}

/** A job as seen at time `t` (what `JobStatusRT` shows, as plain fields; e.g. for search predicates). */
export interface JobView extends Pick<JobRec, "id" | "service" | "serviceName" | "order" | "account" | "policy" | "requestedAt"> {
  readonly status: JobStatus
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly errorMessage?: string
}

/** The view of a job at time `t` (jobs requested after `t` are not visible then: check `requestedAt <= t`). */
export const jobView = (j: JobRec, t: number): JobView => {
  const status = jobStatusAt(j, t)
  const { finishedAt, startedAt } = jobTimes(j)
  return {
    id: j.id,
    service: j.service,
    serviceName: j.serviceName,
    order: j.order,
    account: j.account,
    policy: j.policy,
    status,
    requestedAt: j.requestedAt,
    ...(status === "executing" || isFinal(status) ? { startedAt } : {}),
    ...(isFinal(status) ? { finishedAt } : {}),
    ...(status === "failed" && j.plan.errorMessage !== undefined ? { errorMessage: j.plan.errorMessage } : {})
  }
}
