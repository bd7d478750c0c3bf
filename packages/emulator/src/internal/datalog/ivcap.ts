/**
 * The facts IVCAP search queries see, from the emulator's state as of one instant (`at-time`) and one record
 * sequence number (the first page's, so later pages see the same records):
 *
 * | predicate | facts |
 * |---|---|
 * | `ivcap_artifact(Id, Name, MimeType)` | artifacts created by then (`""` for a missing name or type) |
 * | `ivcap_service(Id, Name)` | services published by then |
 * | `ivcap_aspect(Entity, Schema, Content)` | aspects valid then (`valid-from <= t < valid-to`); Content is the JSON object |
 * | `ivcap_aspect_ref(Entity, Schema, Urn)` | every `urn:` string anywhere in the content of those aspects (the graph's edges), except the top-level `$schema` and `$entity` |
 * | `ivcap_job(Id, Status, ServiceId)` | jobs requested by then, with their status then |
 * | `ivcap_order(Id, Status, ServiceId)` | orders placed by then, with their status then |
 * | `ivcap_artifact_produced_by(ArtifactId, JobId)` | products of jobs (and of orders: OrderId) created by then |
 *
 * `ivcap_artifact`, `ivcap_job`, `ivcap_service`, `ivcap_aspect` and `ivcap_artifact_produced_by` are the Python
 * client's documented predicates (guides/search.md, whose columns are the only definition there is); the other two
 * are this emulator's.
 */
import { likeToRegExp } from "../filter.js"
import type { AspectRec } from "../model.js"
import { jobStatusAt, orderStatusAt } from "../model.js"
import type { EmulatorState } from "../state.js"
import type { Value } from "./ast.js"
import type { BuiltinPredicate, Facts } from "./evaluator.js"

/** The instant a query sees. */
export interface Snapshot {
  /** `at-time` (epoch millis). */
  readonly t: number
  /** The newest record sequence number visible. */
  readonly seq: number
}

const visibleAspect = (a: AspectRec, s: Snapshot) =>
  a.seq <= s.seq && a.validFrom <= s.t && (a.validTo === undefined || a.validTo > s.t)

function* urnsIn(v: unknown, seen: Set<string>): Generator<string> {
  if (typeof v === "string") {
    if (v.startsWith("urn:") && !seen.has(v)) {
      seen.add(v)
      yield v
    }
  } else if (Array.isArray(v)) {
    for (const e of v) yield* urnsIn(e, seen)
  } else if (v !== null && typeof v === "object") {
    for (const e of Object.values(v)) yield* urnsIn(e, seen)
  }
}

/** The built-in predicates over a state at a snapshot. */
export const predicates = (state: EmulatorState, s: Snapshot): Record<string, BuiltinPredicate> => ({
  ivcap_artifact: {
    columns: ["Id", "Name", "MimeType"],
    *facts() {
      for (const a of state.artifacts) {
        if (a.seq <= s.seq && a.createdAt <= s.t) yield [a.id, a.name ?? "", a.mimeType ?? ""]
      }
    }
  },
  ivcap_service: {
    columns: ["Id", "Name"],
    *facts() {
      for (const v of state.services) if (v.seq <= s.seq && v.publishedAt <= s.t) yield [v.id, v.name]
    }
  },
  ivcap_aspect: {
    columns: ["Entity", "Schema", "Content"],
    *facts() {
      for (const a of state.aspects) if (visibleAspect(a, s)) yield [a.entity, a.schema, a.content as Value]
    }
  },
  ivcap_aspect_ref: {
    columns: ["Entity", "Schema", "Urn"],
    *facts() {
      for (const a of state.aspects) {
        if (!visibleAspect(a, s)) continue
        // `$schema` and `$entity` are the envelope the clients add, not references
        const seen = new Set<string>()
        for (const [k, v] of Object.entries(a.content)) {
          if (k === "$schema" || k === "$entity") continue
          for (const urn of urnsIn(v, seen)) yield [a.entity, a.schema, urn]
        }
      }
    }
  },
  ivcap_job: {
    columns: ["Id", "Status", "ServiceId"],
    *facts() {
      for (const j of state.jobs) if (j.seq <= s.seq && j.requestedAt <= s.t) yield [j.id, jobStatusAt(j, s.t), j.service]
    }
  },
  ivcap_order: {
    columns: ["Id", "Status", "ServiceId"],
    *facts() {
      for (const o of state.orders) if (o.seq <= s.seq && o.orderedAt <= s.t) yield [o.id, orderStatusAt(o, s.t), o.service]
    }
  },
  ivcap_artifact_produced_by: {
    columns: ["ArtifactId", "JobId"],
    *facts() {
      for (const producer of [...state.jobs, ...state.orders]) {
        if (producer.productId === undefined) continue
        const a = state.artifactsById.get(producer.productId)
        if (a !== undefined && a.seq <= s.seq && a.createdAt <= s.t) yield [a.id, producer.id]
      }
    }
  }
})

/** Everything a query over the state at `s` can see. */
export const facts = (state: EmulatorState, s: Snapshot): Facts => ({
  predicates: predicates(state, s),
  *aspects(schema) {
    // a `%` in the schema is a wildcard, as in the aspect listing's `schema` parameter
    const like = schema.includes("%") ? likeToRegExp(schema) : undefined
    for (const a of state.aspects) {
      if ((like === undefined ? a.schema === schema : like.test(a.schema)) && visibleAspect(a, s)) yield a
    }
  }
})
