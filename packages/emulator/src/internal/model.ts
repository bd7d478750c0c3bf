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
}

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
