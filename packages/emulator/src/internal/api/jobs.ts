/**
 * Jobs (API v0.44–v0.48, wire doc §12, §15): request a job of a service (`POST /1/services2/{service_id}/jobs` with
 * the `Timeout` header), list a service's jobs, read one, read its output. Job status follows the emulator clock
 * (`jobStatusAt`).
 *
 * Job request answers:
 * - **200** — the job finished (succeeded) within `Timeout` seconds: body = the result (JSON), headers
 *   `IVCAP-Job-Id`, `IVCAP-Job-URL`, `IVCAP-Order-Id`.
 * - **202** `JobRetryLaterT` `{job-id, location, retry-later}` (+ `service-id`) — not finished within `Timeout`;
 *   always for `Timeout: 0` (or none), even for a job that is already done: "submit and return immediately with 202
 *   Accepted" (Python client 0.47.19 docs), and the Go CLI (which sends `Timeout: 0`) reads `job-id` from the body.
 * - **400** `{message}` with the same `IVCAP-Job-*` headers — the job finished within `Timeout` but failed; the
 *   message is its `error-message`. **(inferred)** the platform's answer to a failed job under a held request is not
 *   documented; 400 is what the spec calls "job-request-error: Job failed …" for the output and events of a job.
 * - **307** with `Location` — the service moved (seeded `echo-moved`): re-send the same request there.
 * - **422** `InvalidParameterT` — the input does not match the service's tool request schema (`name` = the field
 *   path) or, for a v0.41 service, its parameter definitions. No job is created. **(inferred)** tool servers check
 *   their input (pydantic) and answer 422.
 *
 * The input is JSON, or YAML (`application/yaml`: the Go CLI's `job create -f x.yaml` labels its input so), or a
 * `urn:ivcap:schema:job.input.1` body naming a request aspect whose content is the input (the Go CLI's
 * `job create -a`). **(inferred)** both: the spec does not restrict the content type, and names no such schema.
 */
import { Validator } from "@cfworker/json-schema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Yaml from "yaml"
import * as SeedData from "../../SeedData.js"
import { badRequest, badRequestResponse, bodyJson, bodyText, goaValidation, HttpFail, invalidParameter, json, mediaType, notFound } from "../http.js"
import { materialiseJobs, retryLaterSeconds, untilEmulatorTime } from "../jobs.js"
import { pageRequest, parseBool, simpleList } from "../listing.js"
import type { JobPlan, JobRec, ServiceRec } from "../model.js"
import { isFinal, jobStatusAt, jobTimes } from "../model.js"
import { type Ctx, type Handler, param } from "../route.js"
import { formatTime, isJsonObject, randomUuid } from "../util.js"
import * as Wire from "../wire.js"
import { validateParameters } from "./orders.js"
import { service2, v2 } from "./services2.js"

const findService = (ctx: Ctx, name = "service_id") =>
  Effect.gen(function*() {
    const id = param(ctx, name)
    const s = service2(ctx.state, id)
    if (s === undefined) return yield* notFound(id, `service '${id}' not found`)
    return s
  })

/** A job of the service in the path (404 when unknown, or when it belongs to another service). */
export const findJob = (ctx: Ctx, name: string) =>
  Effect.gen(function*() {
    const s = yield* findService(ctx)
    const id = param(ctx, name)
    const j = ctx.state.jobsById.get(id)
    if (j === undefined || j.service !== s.id) return yield* notFound(id, `job '${id}' not found for service '${s.id}'`)
    return j
  })

/** `Timeout` (seconds, int64 ≥ 0); absent = 0 **(inferred:** optional in the spec; both clients always send it**)**. */
const parseTimeout = (ctx: Ctx): Effect.Effect<number, HttpFail> => {
  const raw = ctx.request.headers["timeout"]
  if (raw === undefined || raw.trim() === "") return Effect.succeed(0)
  if (!/^\d+$/.test(raw.trim())) {
    return goaValidation("invalid_field_type", `invalid value for "Timeout", must be a integer but got ${raw}`)
  }
  return Effect.succeed(Number(raw.trim()))
}

const validators = new WeakMap<object, Validator>()

/** The most specific problem of a JSON Schema validation, as a 422 `{name: field path, message, value?}`. */
const checkToolInput = (s: ServiceRec, input: unknown): Effect.Effect<void, HttpFail> => {
  const schema = s.tool?.fnSchema
  if (schema === undefined) return Effect.void
  let v = validators.get(schema)
  if (v === undefined) {
    v = new Validator(schema as never, "7", false)
    validators.set(schema, v)
  }
  const result = v.validate(input)
  if (result.valid) return Effect.void
  // deepest location first; among equals, leaf keywords (type, required, minimum …) before the composite ones
  const composite = new Set(["properties", "items", "allOf", "anyOf", "oneOf", "$ref", "additionalProperties"])
  const best = [...result.errors].sort((a, b) =>
    b.instanceLocation.length - a.instanceLocation.length ||
    Number(composite.has(a.keyword)) - Number(composite.has(b.keyword))
  )[0]!
  const path = best.instanceLocation.replace(/^#\/?/, "").split("/").filter((p) => p !== "")
    .map((p) => decodeURIComponent(p.replace(/~1/g, "/").replace(/~0/g, "~")))
  const missing = best.keyword === "required" ? /"([^"]+)"/.exec(best.error)?.[1] : undefined
  if (missing !== undefined) path.push(missing)
  const name = path.length === 0 ? "body" : path.join(".")
  let value: unknown = input
  for (const p of path) value = isJsonObject(value) || Array.isArray(value) ? (value as Record<string, unknown>)[p] : undefined
  const shown = value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value)
  return invalidParameter(name, `${name}: ${best.error} (service '${s.name}' request schema)`, shown)
}

/** A v0.41 service run as a job: the input is an object of its parameters; the job does what its order does. */
const legacyPlan = (s: ServiceRec, input: unknown, productId: string): Effect.Effect<JobPlan, HttpFail> =>
  Effect.gen(function*() {
    if (!isJsonObject(input)) {
      return yield* invalidParameter("body", `service '${s.name}' takes an object of its parameters`)
    }
    const given = Object.entries(input).map(([name, v]) => ({
      name,
      value: typeof v === "string" ? v : JSON.stringify(v)
    }))
    const params = yield* validateParameters(s.parameters, given)
    if (s.behaviour.outcome === "failed") {
      const reason = params.find((p) => p.name === "reason")?.value
      return { runMillis: 1000, outcome: "failed", errorMessage: reason ?? "the service failed" } as const
    }
    const product = s.behaviour.product?.(params, productId)
    return {
      runMillis: 1000,
      outcome: "succeeded",
      ...(product !== undefined ? { product } : {}),
      result: product !== undefined ? { artifact: productId, name: product.name, "mime-type": product.mimeType } : {}
    } as const
  })

/** The `IVCAP-Job-*` headers of a job (200 of a request, 200 of `output`). */
const jobHeaders = (ctx: Ctx, j: JobRec) => ({
  "ivcap-job-id": j.id,
  "ivcap-job-url": Wire.jobHref(ctx.base, j.service, j.id),
  "ivcap-order-id": j.order
})

/** The answer for a job that has finished: 200 result, or 400 `{message}` for a failed one. */
const finishedAnswer = (ctx: Ctx, j: JobRec) =>
  j.plan.outcome === "succeeded"
    ? json(j.plan.result ?? null, 200, jobHeaders(ctx, j))
    : json({ message: j.plan.errorMessage ?? "job failed" }, 400, jobHeaders(ctx, j))

const yamlTypes = new Set(["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"])

/** A YAML request body (JSON is YAML too). */
const bodyYaml = (ctx: Ctx): Effect.Effect<unknown, HttpFail> =>
  Effect.flatMap(bodyText(ctx.request), (text) =>
    Effect.try({
      try: () => Yaml.parse(text) as unknown,
      catch: (e) => new HttpFail({ response: badRequestResponse(`request body is not valid YAML: ${e instanceof Error ? e.message : String(e)}`) })
    }))

/** The schema of a job input that names a request aspect instead of carrying the input. */
const jobInputSchema = "urn:ivcap:schema:job.input.1"

/**
 * The job's input: the body itself, or — for a `job.input.1` body `{$schema, request-aspect, service}` — the content
 * of the named aspect, without the `$schema`/`$entity` its creator may have put in (they describe the record).
 */
const requestInput = (ctx: Ctx, s: ServiceRec, body: unknown): Effect.Effect<unknown, HttpFail> =>
  Effect.gen(function*() {
    if (!isJsonObject(body) || body["$schema"] !== jobInputSchema) return body
    const ref = body["request-aspect"]
    if (typeof ref !== "string") {
      return yield* invalidParameter("request-aspect", "a job.input.1 request names its aspect in 'request-aspect'", String(ref))
    }
    const named = body["service"]
    if (named !== undefined && named !== s.id) {
      return yield* invalidParameter("service", `the request names service '${String(named)}', not '${s.id}'`, String(named))
    }
    const aspect = ctx.state.aspectsById.get(ref)
    if (aspect === undefined || aspect.validTo !== undefined) {
      return yield* invalidParameter("request-aspect", `aspect '${ref}' not found (or retracted)`, ref)
    }
    const { $entity: _entity, $schema: _schema, ...content } = aspect.content
    return content
  })

/** `POST /1/services2/{service_id}/jobs` → 200 result | 202 `JobRetryLaterT` | 400 failed | 307 | 422. */
export const createJob: Handler = v2((ctx) =>
  Effect.gen(function*() {
    const s = yield* findService(ctx)
    if (s.redirectTo !== undefined) {
      return HttpServerResponse.empty({ status: 307, headers: { location: Wire.jobsHref(ctx.base, s.redirectTo) } })
    }
    if (s.status !== "active") return yield* invalidParameter("service_id", `service '${s.name}' is ${s.status}`, s.id)
    const timeout = yield* parseTimeout(ctx)
    const ct = mediaType(ctx.request.headers["content-type"])
    if (ct === undefined) return yield* goaValidation("missing_field", `"Content-Type" is missing from header`)
    const isJson = ct === "application/json" || ct.endsWith("+json")
    if (!isJson && !yamlTypes.has(ct)) {
      return yield* badRequest(`service '${s.name}' takes application/json (or application/yaml) requests, not ${ct}`)
    }
    const input = yield* requestInput(ctx, s, yield* (isJson ? bodyJson(ctx.request) : bodyYaml(ctx)))
    yield* checkToolInput(s, input)
    const uuid = randomUuid()
    const id = `urn:ivcap:job:${uuid}`
    const productId = `urn:ivcap:artifact:${randomUuid()}`
    const plan = s.job !== undefined ? s.job(input, { jobId: id, productId }) : yield* legacyPlan(s, input, productId)
    const orderHeader = ctx.request.headers["ivcap-order-id"]
    const job: JobRec = {
      seq: ctx.state.nextSeq(),
      id,
      service: s.id,
      serviceName: s.name,
      // (inferred) a job runs under an order; without `IVCAP-Order-Id` it gets one of the same UUID
      order: orderHeader !== undefined && orderHeader.trim() !== "" ? orderHeader.trim() : `urn:ivcap:order:${uuid}`,
      account: SeedData.account,
      policy: s.policy,
      requestContentType: ctx.request.headers["content-type"] ?? "application/json",
      requestContent: input,
      requestedAt: ctx.state.now(),
      stepMillis: ctx.state.jobStepMillis,
      plan,
      ...(plan.product !== undefined ? { productId } : {})
    }
    ctx.state.addJob(job)
    yield* Effect.orDie(materialiseJobs(ctx.state))
    // hold until the job finishes or `Timeout` seconds (emulator time) have passed
    const deadline = Math.min(jobTimes(job).finishedAt, job.requestedAt + timeout * 1000)
    if (timeout > 0) yield* untilEmulatorTime(ctx.state, deadline)
    yield* Effect.orDie(materialiseJobs(ctx.state))
    const now = ctx.state.now()
    if (timeout > 0 && isFinal(jobStatusAt(job, now))) return finishedAnswer(ctx, job)
    return json({
      "job-id": job.id,
      location: Wire.jobHref(ctx.base, job.service, job.id),
      "retry-later": retryLaterSeconds(job, now),
      // not in JobRetryLaterT, but the Go CLI reads `service-id` from a 202 to open the job's event stream
      "service-id": job.service
    }, 202)
  })
)

/**
 * `GET /1/services2/{service_id}/jobs` → `JobListRT` (status as of `at-time`; same paging as every list). An unknown
 * service is a 422 `service_id` (the spec declares no 404 for this operation).
 */
export const listJobs: Handler = v2((ctx) =>
  Effect.gen(function*() {
    const sid = param(ctx, "service_id")
    const s = service2(ctx.state, sid)
    if (s === undefined) return yield* invalidParameter("service_id", `service '${sid}' not found`, sid)
    const req = yield* pageRequest(ctx.q, `jobs ${s.id}`)
    const { atTime, items, links } = yield* simpleList<JobRec>({
      kind: `jobs ${s.id}`,
      path: `/1/services2/${s.id}/jobs`,
      schema: "JobListRT",
      records: ctx.state.jobs.filter((j) => j.service === s.id),
      seq: (j) => j.seq,
      visibleAt: (j, t) => j.requestedAt <= t,
      fields: (t) => ({
        id: (j) => j.id,
        status: (j) => jobStatusAt(j, t),
        service: (j) => j.service,
        order: (j) => j.order,
        account: (j) => j.account,
        policy: (j) => j.policy,
        requested_at: (j) => formatTime(j.requestedAt),
        started_at: (j) => (t >= jobTimes(j).startedAt ? formatTime(jobTimes(j).startedAt) : undefined),
        finished_at: (j) => (t >= jobTimes(j).finishedAt ? formatTime(jobTimes(j).finishedAt) : undefined)
      }),
      defaultOrder: "requested_at",
      render: (j, t) => Wire.jobListItem(j, ctx.base, t)
    }, req, ctx.state.now(), ctx.state.seq, ctx.base, ctx.request.url)
    return json({ "at-time": formatTime(atTime), items, links })
  })
)

/** `GET /1/services2/{service_id}/jobs/{id}` → `JobStatusRT` (`with-request-content` default false, result true). */
export const readJob: Handler = v2((ctx) =>
  Effect.gen(function*() {
    const j = yield* findJob(ctx, "id")
    const withRequest = (yield* parseBool(ctx.q, "with-request-content")) ?? false
    const withResult = (yield* parseBool(ctx.q, "with-result-content")) ?? true
    const product = j.productId !== undefined ? ctx.state.artifactsById.get(j.productId) : undefined
    return json(Wire.jobStatusWire(j, ctx.base, ctx.state.now(), {
      withRequest,
      withResult,
      product,
      resultAspectId: j.observed?.resultAspectId
    }))
  })
)

/**
 * `GET …/jobs/{job_id}/output` → 200 the result (with the `IVCAP-Job-*` headers), 400 `{message}` for a failed job,
 * 204 (+ `Retry-After`) while the job has not finished **(inferred:** the spec's 204 is "job did not produce any
 * result"**)**.
 */
export const jobOutput: Handler = v2((ctx) =>
  Effect.gen(function*() {
    const j = yield* findJob(ctx, "job_id")
    const now = ctx.state.now()
    if (isFinal(jobStatusAt(j, now))) return finishedAnswer(ctx, j)
    return HttpServerResponse.empty({ status: 204, headers: { "retry-after": String(retryLaterSeconds(j, now)) } })
  })
)
