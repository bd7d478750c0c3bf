/**
 * Rendering records to the v0.41 wire shapes: kebab-case keys, required keys always present, optional keys omitted
 * (never `null`), times RFC 3339 with milliseconds and `Z`, every link with `rel`, `type` and `href`.
 */
import type { ArtifactRec, AspectRec, JobRec, OrderRec, ParameterDef, ServiceRec } from "./model.js"
import { artifactStatus, isFinal, jobStatusAt, jobTimes, orderFinishedAt, orderStartedAt, orderStatusAt } from "./model.js"
import * as SeedData from "../SeedData.js"
import { formatTime } from "./util.js"

/** A wire object (kebab-case keys). */
export type Wire = Record<string, unknown>

/** `LinkT`: all three keys are required by the official client. */
export interface Link {
  readonly rel: string
  readonly type: string
  readonly href: string
}

/** A link. */
export const link = (rel: string, href: string, type = "application/json"): Link => ({ rel, type, href })

/** The `describedBy` link to a schema of the spec. */
export const describedBy = (base: string, schema: string): Link =>
  link("describedBy", `${base}/1/openapi/openapi3.json#/components/schemas/${schema}`, "application/openapi3+json")

/** Copies the defined entries only. */
const compact = (o: Record<string, unknown>): Wire => {
  const out: Wire = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v
  return out
}

/** Absolute URL of a service record. */
export const serviceHref = (base: string, id: string) => `${base}/1/services/${id}`
/** Absolute URL of an order record. */
export const orderHref = (base: string, id: string) => `${base}/1/orders/${id}`
/** Absolute URL of an artifact record. */
export const artifactHref = (base: string, id: string) => `${base}/1/artifacts/${id}`
/** Absolute URL of an artifact's content (tus upload, download): `data-href`. */
export const dataHref = (base: string, id: string) => `${base}/1/artifacts/${id}/blob`
/** Absolute URL of an aspect record. */
export const aspectHref = (base: string, id: string) => `${base}/1/aspects/${id}`

/** `ServiceListItem`. */
export const serviceListItem = (s: ServiceRec, base: string): Wire =>
  compact({
    id: s.id,
    name: s.name,
    description: s.description,
    banner: s.banner,
    "published-at": formatTime(s.publishedAt),
    policy: s.policy,
    account: s.account,
    href: serviceHref(base, s.id)
  })

const parameterDef = (p: ParameterDef): Wire =>
  compact({
    name: p.name,
    label: p.label,
    type: p.type,
    description: p.description,
    unit: p.unit,
    constant: p.constant,
    optional: p.optional,
    default: p.default,
    // Always an array (inferred): the Python client 0.47.19 iterates `options` of every parameter
    // (`ServiceParameter.__init__`), so the platform it was written against sends the key.
    options: (p.options ?? []).map((o) => ({ value: o.value, description: o.description })),
    unary: p.unary
  })

/** `ServiceStatusRT`. */
export const serviceStatus = (s: ServiceRec, base: string): Wire =>
  compact({
    id: s.id,
    name: s.name,
    description: s.description,
    tags: s.tags !== undefined ? [...s.tags] : undefined,
    parameters: s.parameters.map(parameterDef),
    account: s.account,
    status: s.status,
    links: [link("self", serviceHref(base, s.id)), describedBy(base, "ServiceStatusRT")]
  })

const orderTimes = (o: OrderRec, t: number) => {
  const status = orderStatusAt(o, t)
  const started = status === "executing" || status === "succeeded" || status === "failed"
  const finished = status === "succeeded" || status === "failed"
  return {
    status,
    "ordered-at": formatTime(o.orderedAt),
    "started-at": started ? formatTime(orderStartedAt(o)) : undefined,
    "finished-at": finished ? formatTime(orderFinishedAt(o)) : undefined
  }
}

/** `OrderListItem` as of time `t`. */
export const orderListItem = (o: OrderRec, base: string, t: number): Wire =>
  compact({
    id: o.id,
    name: o.name,
    ...orderTimes(o, t),
    service: o.service,
    account: o.account,
    href: orderHref(base, o.id)
  })

/** Fields shared by artifact list items and order products. */
const artifactSummary = (a: ArtifactRec, base: string) => ({
  id: a.id,
  name: a.name,
  status: artifactStatus(a),
  "mime-type": a.mimeType,
  size: a.completedAt !== undefined ? a.offset : undefined,
  href: artifactHref(base, a.id)
})

/** `ProductListItemT`. */
export const productItem = (a: ArtifactRec, base: string): Wire =>
  compact({
    ...artifactSummary(a, base),
    // the spec names it `data-href`; the real server's Go struct says `dataRef` (wire doc §3.4, inferred) — we
    // follow the spec
    "data-href": dataHref(base, a.id)
  })

/** `OrderStatusRT` as of time `t`. */
export const orderStatus = (
  o: OrderRec,
  base: string,
  t: number,
  products: ReadonlyArray<ArtifactRec>
): Wire =>
  compact({
    id: o.id,
    name: o.name,
    ...orderTimes(o, t),
    products: {
      items: products.map((a) => productItem(a, base)),
      links: [link("self", `${orderHref(base, o.id)}/products`)]
    },
    service: o.service,
    account: o.account,
    parameters: o.parameters.map((p) => ({ name: p.name, value: p.value })),
    tags: o.tags !== undefined ? [...o.tags] : undefined,
    links: [link("self", orderHref(base, o.id)), describedBy(base, "OrderStatusRT")]
  })

/** The `ETag` of a complete artifact (content is immutable once ready, so id + size identify it). */
export const etagOf = (a: ArtifactRec): string => `"${a.id.slice(a.id.lastIndexOf(":") + 1)}-${a.offset}"`

/** `ArtifactListItem`. */
export const artifactListItem = (a: ArtifactRec, base: string): Wire =>
  compact({ ...artifactSummary(a, base), "created-at": formatTime(a.createdAt) })

/** `ArtifactStatusRT` (`size`, `etag`, `last-modified-at` once ready). */
export const artifactStatusWire = (a: ArtifactRec, base: string): Wire =>
  compact({
    id: a.id,
    name: a.name,
    status: artifactStatus(a),
    size: a.completedAt !== undefined ? a.offset : undefined,
    "mime-type": a.mimeType,
    "created-at": formatTime(a.createdAt),
    "last-modified-at": a.completedAt !== undefined ? formatTime(a.completedAt) : undefined,
    etag: a.completedAt !== undefined ? etagOf(a) : undefined,
    "data-href": dataHref(base, a.id),
    account: a.account,
    policy: a.policy,
    links: [
      link("self", artifactHref(base, a.id)),
      describedBy(base, "ArtifactStatusRT"),
      link("data", dataHref(base, a.id), a.mimeType ?? "application/octet-stream")
    ]
  })

/** `AspectListItemRT` (content only when asked for). */
/**
 * `AspectListItemRT`. From v0.44 on, items also carry `asserter` **(inferred:** the spec does not declare it, but the
 * Python client 0.47.19 reads it from list items for `Collection.asserter`**)**.
 */
export const aspectListItem = (a: AspectRec, includeContent: boolean, apiVersion: "0.41" | "0.48"): Wire =>
  compact({
    id: a.id,
    entity: a.entity,
    schema: a.schema,
    content: includeContent ? a.content : undefined,
    "content-type": "application/json",
    "valid-from": formatTime(a.validFrom),
    "valid-to": a.validTo !== undefined ? formatTime(a.validTo) : undefined,
    asserter: apiVersion === "0.41" ? undefined : a.asserter
  })

/**
 * `AspectRT`. v0.44+ requires `account` and `policy` too; an aspect created without a policy shows the records'
 * `SeedData.defaultPolicy` **(inferred:** the platform's default policy for metadata is not documented**)**.
 */
export const aspectWire = (a: AspectRec, base: string, apiVersion: "0.41" | "0.48"): Wire =>
  compact({
    id: a.id,
    entity: a.entity,
    schema: a.schema,
    content: a.content,
    "content-type": "application/json",
    "valid-from": formatTime(a.validFrom),
    "valid-to": a.validTo !== undefined ? formatTime(a.validTo) : undefined,
    asserter: a.asserter,
    retracter: a.retracter,
    account: apiVersion === "0.41" ? undefined : SeedData.account,
    policy: apiVersion === "0.41" ? undefined : a.policy ?? SeedData.defaultPolicy,
    links: [link("self", aspectHref(base, a.id)), describedBy(base, "AspectRT")]
  })

/** Absolute URL of a service record of API v0.44+. */
export const service2Href = (base: string, id: string) => `${base}/1/services2/${id}`
/** Absolute URL of a job's list (`/1/services2/{service_id}/jobs`): where jobs are requested and listed. */
export const jobsHref = (base: string, service: string) => `${service2Href(base, service)}/jobs`
/** Absolute URL of a job record (`IVCAP-Job-URL`, `location` of a 202). */
export const jobHref = (base: string, service: string, id: string) => `${jobsHref(base, service)}/${id}`

/**
 * `controller-schema` and `controller` of a service. v0.41 services (which have none) get a batch controller
 * **(inferred:** the spec's only example names `urn:ivcap:schema.service.argo.1` and `…service.rest.1`**)**.
 */
const controllerOf = (s: ServiceRec) => {
  const schema = s.controllerSchema ?? "urn:ivcap:schema.service.argo.1"
  return {
    schema,
    controller: s.controller ?? {
      $schema: schema,
      image: `ghcr.io/ivcap-works/emulator-${s.name}:latest`,
      command: ["python", "/app/main.py"]
    }
  }
}

/** `ServiceListItemT` (v0.44+; `score` only for a `search`). */
export const service2ListItem = (s: ServiceRec, base: string, score?: number): Wire =>
  compact({
    id: s.id,
    name: s.name,
    description: s.description,
    tags: s.tags !== undefined ? [...s.tags] : undefined,
    "controller-schema": controllerOf(s).schema,
    "valid-from": formatTime(s.publishedAt),
    "valid-to": s.validTo !== undefined ? formatTime(s.validTo) : undefined,
    score,
    href: service2Href(base, s.id)
  })

/** `ServiceStatusRT` (v0.44+). */
export const service2Status = (s: ServiceRec, base: string): Wire => {
  const c = controllerOf(s)
  return compact({
    id: s.id,
    name: s.name,
    description: s.description,
    tags: s.tags !== undefined ? [...s.tags] : undefined,
    parameters: s.parameters.map(parameterDef),
    "controller-schema": c.schema,
    controller: c.controller,
    account: s.account,
    policy: s.policy,
    status: s.status,
    "valid-from": formatTime(s.publishedAt),
    "valid-to": s.validTo !== undefined ? formatTime(s.validTo) : undefined,
    links: [
      link("self", service2Href(base, s.id)),
      describedBy(base, "ServiceStatusRT"),
      link("jobs", jobsHref(base, s.id))
    ]
  })
}

const jobTimesAt = (j: JobRec, t: number) => {
  const status = jobStatusAt(j, t)
  const times = jobTimes(j)
  return {
    status,
    "started-at": status === "executing" || isFinal(status) ? formatTime(times.startedAt) : undefined,
    "finished-at": isFinal(status) ? formatTime(times.finishedAt) : undefined
  }
}

/** `JobListItem` as of time `t`. */
export const jobListItem = (j: JobRec, base: string, t: number): Wire =>
  compact({
    id: j.id,
    ...jobTimesAt(j, t),
    service: j.service,
    order: j.order,
    href: jobHref(base, j.service, j.id)
  })

/** `JobStatusRT` as of time `t`; request/result content only when asked for. */
export const jobStatusWire = (
  j: JobRec,
  base: string,
  t: number,
  options: {
    readonly withRequest: boolean
    readonly withResult: boolean
    readonly product: ArtifactRec | undefined
    readonly resultAspectId: string | undefined
  }
): Wire => {
  const at = jobTimesAt(j, t)
  const succeeded = at.status === "succeeded"
  const self = jobHref(base, j.service, j.id)
  return compact({
    id: j.id,
    ...at,
    "requested-at": formatTime(j.requestedAt),
    service: j.service,
    order: j.order,
    account: j.account,
    policy: j.policy,
    "request-content-type": j.requestContentType,
    "request-content": options.withRequest ? j.requestContent : undefined,
    "result-content-type": succeeded && j.plan.result !== undefined ? "application/json" : undefined,
    "result-content": succeeded && options.withResult ? j.plan.result : undefined,
    "result-content-urn": succeeded ? options.resultAspectId : undefined,
    "error-message": at.status === "failed" ? j.plan.errorMessage : undefined,
    products: {
      items: options.product !== undefined && succeeded ? [productItem(options.product, base)] : [],
      links: [link("self", self)]
    },
    links: [
      link("self", self),
      describedBy(base, "JobStatusRT"),
      link("events", `${self}/events`, "text/event-stream"),
      link("output", `${self}/output`, succeeded ? "application/json" : "application/octet-stream")
    ]
  })
}
