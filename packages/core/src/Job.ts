/**
 * Jobs: running a service on API v0.44 and later (`/1/services2/{service}/jobs`, wire doc §12, §15). A job takes
 * one JSON input (the service's tool request), checked against the service's request schema before it is sent;
 * the server may hold the request until the job finishes (`Timeout`), and the job can be read, listed, waited
 * for, and followed live as a Stream of events (Server-Sent Events, resumed with `Last-Event-ID`).
 *
 * Covers the Python client 0.47.19's `Service.request_job` / `request_job_async` and `Job.refresh` / `status` /
 * `finished` / `succeeded` / `result` / `wait_for_finished_async`, and the Go CLI's `job create --watch --stream`
 * and `job get`. Orders (`Order`) remain the way to run a service on a v0.41 deployment.
 *
 * @since 0.2.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Aspect from "./Aspect.js"
import * as ApiVersion from "./internal/apiVersion.js"
import * as Http from "./internal/http.js"
import { makeChecker } from "./internal/jsonSchema.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import { makeWaiter } from "./internal/retry.js"
import * as Sse from "./internal/sse.js"
import { IvcapClient, withRequestOptions } from "./IvcapClient.js"
import type { InvalidParameter, PagingError, ResponseTooLarge, TransportError } from "./IvcapError.js"
import {
  AmbiguousRequest,
  DecodeError,
  InvalidArgument,
  isTransient,
  JobFailed,
  JobNotFinished,
  NotImplemented,
  RedirectRefused,
  RequestTimeout,
  ResourceNotFound
} from "./IvcapError.js"
import * as Paging from "./Paging.js"
import * as Service from "./Service.js"
import * as Urn from "./Urn.js"

// ---------------------------------------------------------------------------------------------------------------
// Records

/** Job status: `pending → scheduled → executing → succeeded | failed | error` (and `unknown`). @since 0.2.0 */
export const JobStatus = Schema.Literal("unknown", "pending", "scheduled", "executing", "succeeded", "failed", "error")
/** @since 0.2.0 */
export type JobStatus = typeof JobStatus.Type

const isJobStatus = Schema.is(JobStatus)

/** The statuses a job never leaves: `succeeded`, `failed` (by the service) and `error` (by the platform). @since 0.2.0 */
export const terminalStatuses: ReadonlySet<JobStatus> = new Set<JobStatus>(["succeeded", "failed", "error"])

/**
 * A wire status as a {@link JobStatus}: a value this SDK does not know (from a newer server) reads as `unknown` —
 * records keep the wire value in `rawStatus`. @since 0.2.0
 */
export const statusOf = (raw: string): JobStatus => (isJobStatus(raw) ? raw : "unknown")

/** Whether a job in this status is finished. @since 0.2.0 */
export const isFinished = (status: JobStatus): boolean => terminalStatuses.has(status)

/** A product of a job: an artifact it produced (`ProductListItem2T`, every key optional on the wire). @since 0.2.0 */
export class JobProduct extends Schema.Class<JobProduct>("JobProduct")({
  id: Schema.optional(Schema.String),
  href: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  status: Schema.optional(Schema.String),
  mimeType: Schema.optional(Schema.String).pipe(Schema.fromKey("mime-type")),
  size: Schema.optional(Schema.Number),
  /** Absolute URL of the content. */
  dataHref: Schema.optional(Schema.String).pipe(Schema.fromKey("data-href"))
}) {}

/** The (first page of the) products embedded in a job record (`PartialProductList2T`). @since 0.2.0 */
export const JobProducts = Schema.Struct({ items: Schema.Array(JobProduct), links: Schema.optional(Schema.Array(Paging.Link)) })

/** A job as listed (`JobListItem`). @since 0.2.0 */
export class JobSummary extends Schema.Class<JobSummary>("JobSummary")({
  id: Urn.JobUrn,
  href: Schema.String,
  service: Schema.String,
  /** The status exactly as sent; {@link JobSummary.status} is its known reading. */
  rawStatus: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("status")),
  name: Schema.optional(Schema.String),
  order: Schema.optional(Schema.String),
  startedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("started-at")),
  finishedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("finished-at"))
}) {
  /** The status, `unknown` for a value this SDK does not know (see `rawStatus`). */
  get status(): JobStatus {
    return statusOf(this.rawStatus)
  }
}

/**
 * A job record (`JobStatusRT`). `requestContent` / `resultContent` are there when asked for (and when the server can);
 * a failed job carries its `errorMessage`. Of the keys the spec requires, `order`, `account`, `policy`,
 * `request-content-type` and `links` are not needed here and are tolerated absent. @since 0.2.0
 */
export class JobDetails extends Schema.Class<JobDetails>("JobDetails")({
  id: Urn.JobUrn,
  service: Schema.String,
  /** The status exactly as sent; {@link JobDetails.status} is its known reading. */
  rawStatus: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("status")),
  requestedAt: Schema.propertySignature(Schema.DateTimeUtc).pipe(Schema.fromKey("requested-at")),
  startedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("started-at")),
  finishedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("finished-at")),
  name: Schema.optional(Schema.String),
  order: Schema.optional(Schema.String),
  account: Schema.optional(Schema.String),
  policy: Schema.optional(Schema.String),
  errorMessage: Schema.optional(Schema.String).pipe(Schema.fromKey("error-message")),
  requestContentType: Schema.optional(Schema.String).pipe(Schema.fromKey("request-content-type")),
  requestContent: Schema.optional(Schema.Unknown).pipe(Schema.fromKey("request-content")),
  resultContentType: Schema.optional(Schema.String).pipe(Schema.fromKey("result-content-type")),
  resultContent: Schema.optional(Schema.Unknown).pipe(Schema.fromKey("result-content")),
  /** The aspect the result is stored in. */
  resultContentUrn: Schema.optional(Schema.String).pipe(Schema.fromKey("result-content-urn")),
  products: Schema.optional(JobProducts),
  tags: Schema.optional(Schema.Array(Schema.String)),
  links: Schema.optional(Schema.Array(Paging.Link))
}) {
  /** The status, `unknown` for a value this SDK does not know (see `rawStatus`). */
  get status(): JobStatus {
    return statusOf(this.rawStatus)
  }

  /** Whether the job is finished (succeeded, failed or error). */
  get isFinished(): boolean {
    return isFinished(this.status)
  }
}

/** One event of a job (the Go CLI's `JobEventsResponseBody`, the spec's `JobEvent`). @since 0.2.0 */
export class JobEvent extends Schema.Class<JobEvent>("JobEvent")({
  /** The stream sequence id: where a resumed stream continues from (`Last-Event-ID`). */
  seqId: Schema.String,
  eventId: Schema.optional(Schema.String),
  /** The kind of event, usually a simpler form of `schema`. */
  type: Schema.optional(Schema.String),
  /** The schema of `data`. */
  schema: Schema.optional(Schema.String),
  source: Schema.optional(Schema.String),
  timestamp: Schema.optional(Schema.DateTimeUtc),
  /** The event's content (any JSON). */
  data: Schema.optional(Schema.Unknown)
}) {}

const JobEventWire = Schema.Struct({
  SeqID: Schema.optional(Schema.String),
  eventID: Schema.optional(Schema.String),
  type: Schema.optional(Schema.String),
  schema: Schema.optional(Schema.String),
  source: Schema.optional(Schema.String),
  timestamp: Schema.optional(Schema.DateTimeUtc),
  data: Schema.optional(Schema.Unknown)
})

/** A job's result: its content type and content — parsed JSON for JSON types, the bytes for any other. @since 0.2.0 */
export class JobResult extends Data.Class<{
  readonly contentType: string
  readonly content: unknown
}> {}

/** A job request that finished within the server-side wait: 200 with the result. @since 0.2.0 */
export class Finished extends Data.TaggedClass("Finished")<{
  readonly job: Urn.JobUrn
  readonly service: Urn.ServiceUrn
  /** `IVCAP-Job-URL`, when sent. */
  readonly url: Option.Option<string>
  /** `IVCAP-Order-Id`, when sent. */
  readonly order: Option.Option<string>
  readonly result: JobResult
}> {}

/** A job request the server accepted but had not finished within the wait: 202 (or a 307 to the job). @since 0.2.0 */
export class Accepted extends Data.TaggedClass("Accepted")<{
  readonly job: Urn.JobUrn
  readonly service: Urn.ServiceUrn
  /** Where the job can be read. */
  readonly location: string
  /** The server's hint for when to look again (`retry-later`). */
  readonly retryLater: Duration.Duration
}> {}

/** What {@link request} returns. @since 0.2.0 */
export type Ticket = Finished | Accepted

// ---------------------------------------------------------------------------------------------------------------
// Paths and shared pieces

const jobsPath = (service: string) => `${Paths.services2}/${Urn.pathSegment(service)}/jobs`
const jobPath = (service: string, job: string) => `${jobsPath(service)}/${Urn.pathSegment(job)}`

const validateIds = (serviceId: Urn.ServiceUrn | string, jobId: Urn.JobUrn | string) =>
  Effect.all([Urn.validate(Urn.ServiceUrn, "serviceId")(serviceId), Urn.validate(Urn.JobUrn, "jobId")(jobId)])

/** Jobs exist from API v0.44 on: on a v0.41 deployment (as configured or detected) every job call is `NotImplemented`. */
const requireJobs = (method: string, url: string) =>
  Effect.flatMap(ApiVersion.apiVersion, (version) =>
    version === "v0.41"
      ? Effect.fail(new NotImplemented({ method, url, message: "this deployment speaks IVCAP API v0.41, which has no jobs: run the service with Order.place" }))
      : Effect.void)

const isJsonType = (contentType: string) => {
  const type = contentType.split(";")[0]!.trim().toLowerCase()
  return type === "" || type === "application/json" || type.endsWith("+json")
}

/** A result body: JSON parsed for JSON content types, the bytes for any other. */
const readResult = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<JobResult, DecodeError | TransportError | ResponseTooLarge> =>
  Effect.gen(function*() {
    const contentType = response.headers["content-type"] ?? "application/json"
    // read up to the client's maxResponseBytes, as every JSON body
    const bytes = yield* Http.boundedBytes(response)
    if (!isJsonType(contentType)) return new JobResult({ contentType, content: bytes })
    const text = new TextDecoder().decode(bytes)
    try {
      return new JobResult({ contentType, content: text === "" ? undefined : JSON.parse(text) })
    } catch (cause) {
      return yield* new DecodeError({ ...Http.describe(response.request), message: `job result is ${contentType} but not JSON: ${text.slice(0, 120)}`, cause })
    }
  })

/** The job id at the end of a job URL (`…/jobs/{id}` or `…/jobs/{id}/output`), if it is one. */
const jobIdIn = (url: string): Option.Option<string> => {
  try {
    const segments = new URL(url, "http://relative.invalid").pathname.split("/").map((s) => decodeURIComponent(s))
    const at = segments.lastIndexOf("jobs")
    return at >= 0 && at + 1 < segments.length && segments[at + 1] !== "" ? Option.some(segments[at + 1]!) : Option.none()
  } catch {
    return Option.none()
  }
}

/** Whether a URL is a job record (`/1/services2/{service}/jobs/{job}`, nothing after it). */
const isJobRecordUrl = (url: string): boolean => {
  try {
    return /\/1\/services2\/[^/]+\/jobs\/[^/]+\/?$/.test(new URL(url, "http://relative.invalid").pathname)
  } catch {
    return false
  }
}

const decodeJobId = (response: HttpClientResponse.HttpClientResponse, value: string | undefined, what: string) =>
  Option.match(Option.filter(Option.fromNullable(value), Schema.is(Urn.JobUrn)), {
    onNone: () => Effect.fail(new DecodeError({ ...Http.describe(response.request), message: `${what}: expected a job URN (urn:ivcap:job:…), got ${JSON.stringify(value)}` })),
    onSome: (id) => Effect.succeed(id)
  })

const RetryLaterWire = Schema.Struct({
  jobId: Schema.optional(Schema.String).pipe(Schema.fromKey("job-id")),
  location: Schema.optional(Schema.String),
  retryLater: Schema.optional(Schema.Number).pipe(Schema.fromKey("retry-later"))
})
const decodeRetryLater = Http.decodeJson(RetryLaterWire)

// ---------------------------------------------------------------------------------------------------------------
// Request

/** Options of {@link request}. @since 0.2.0 */
export interface RequestOptions {
  /**
   * How long the server may hold the request until the job finishes (the `Timeout` header, whole seconds);
   * default 0: answer at once. The client's timeout for the request is this plus its usual one.
   */
  readonly wait?: Duration.DurationInput | undefined
  /**
   * What the input is checked against before it is sent: a `Service.ToolSchema` or a JSON Schema (no request to
   * read it), `false` (no check), or — by default — the service's tool schema, read first (when the service has
   * none, the input is sent unchecked).
   */
  readonly schema?: Service.ToolSchema | Service.JsonSchema | false | undefined
  /** An order id to run the job under (the `IVCAP-Order-Id` header). */
  readonly orderId?: string | undefined
}

const requestStatuses = [400, 403, 404, 422, 501] as const

/** The errors of {@link request}. @since 0.2.0 */
export type RequestError =
  | Http.StatusError<(typeof requestStatuses)[number]>
  | Service.ToolSchemaError
  | ApiVersion.DetectError
  | InvalidParameter
  | InvalidArgument
  | RedirectRefused
  | JobFailed
  | NotImplemented
  | TransportError
  | RequestTimeout

/** At most this many redirects are followed for one job request. */
const maxRedirects = 5

/** The input checker of a request: none, a given schema, or the service's own. */
const checkerFor = (service: Urn.ServiceUrn, schema: RequestOptions["schema"]) => {
  if (schema === false) return Effect.succeed(Option.none<(input: unknown) => Effect.Effect<void, InvalidParameter>>())
  if (schema instanceof Service.ToolSchema) return Effect.succeed(Option.some(makeChecker(schema.requestSchema)))
  if (schema !== undefined) return Effect.succeed(Option.some(makeChecker(schema)))
  return Service.toolSchema(service).pipe(
    Effect.map((tool) => Option.some(makeChecker(tool.requestSchema))),
    // a service without a tool description takes any input: the server decides
    Effect.catchTag("ResourceNotFound", () => Effect.succeed(Option.none()))
  )
}

/**
 * Checks `input` against a service's request schema (or the given one) without sending anything: an
 * `InvalidParameter` naming the offending field (`name`: its dotted path) or nothing. No schema is a success.
 *
 * @since 0.2.0
 */
export const validateInput = (
  serviceId: Urn.ServiceUrn | string,
  input: unknown,
  schema?: Service.ToolSchema | Service.JsonSchema
): Effect.Effect<void, InvalidParameter | Service.ToolSchemaError, IvcapClient> =>
  Effect.gen(function*() {
    const service = yield* Urn.validate(Urn.ServiceUrn, "serviceId")(serviceId)
    const checker = yield* checkerFor(service, schema)
    if (Option.isSome(checker)) yield* checker.value(input)
  })

/**
 * Requests a job: `POST /1/services2/{service}/jobs` with `input` as JSON, after checking it against the service's
 * request schema (see {@link RequestOptions.schema}) — a bad input is an `InvalidParameter` naming the field and
 * nothing is posted. The POST is sent once: never retried, whatever the client's retry policy.
 *
 * The answer is a {@link Ticket}: `Finished` (200: the job finished within `wait`; its result, `IVCAP-Job-Id`,
 * `IVCAP-Job-URL`) or `Accepted` (202 `{job-id, location, retry-later}`; wait for it with {@link wait}). A job that
 * failed within the wait is `JobFailed` with its message. A 307 (the server did not take the request) is followed
 * by sending the same POST to `Location` — only on the configured origin: any other is `RedirectRefused`, and
 * receives nothing, the token least of all.
 *
 * @example
 * const ticket = yield* Job.request(serviceId, { msg: "hello" }, { wait: "30 seconds" })
 * if (ticket._tag === "Finished") console.log(ticket.result.content)
 * @since 0.2.0
 */
export const request = (
  serviceId: Urn.ServiceUrn | string,
  input: unknown,
  options?: RequestOptions
): Effect.Effect<Ticket, RequestError, IvcapClient> =>
  Effect.gen(function*() {
    const service = yield* Urn.validate(Urn.ServiceUrn, "serviceId")(serviceId)
    const waitSeconds = yield* waitHeader(options?.wait)
    const client = yield* IvcapClient
    const path = jobsPath(service)
    // the input first: with the schema at hand, a bad input is rejected before any request at all
    const checker = yield* checkerFor(service, options?.schema)
    if (Option.isSome(checker)) yield* checker.value(input)
    yield* requireJobs("POST", client.resolve(path))
    const post = yield* HttpClientRequest.post(path).pipe(
      HttpClientRequest.setHeaders({
        Timeout: String(waitSeconds),
        ...(options?.orderId === undefined ? {} : { "IVCAP-Order-Id": options.orderId })
      }),
      HttpClientRequest.bodyJson(input),
      Effect.mapError((e) => new InvalidArgument({ argument: "input", message: `input cannot be sent as JSON: ${String(e.reason._tag === "JsonError" ? e.reason.error : e.reason)}` }))
    )
    const { timeout } = yield* client.requestOptions
    const held = Duration.sum(timeout, Duration.seconds(waitSeconds))
    const ticket = yield* client.call(post, answer(service, post, 0)).pipe(withRequestOptions({ timeout: held }))
    yield* Effect.annotateCurrentSpan("ivcap.job", ticket.job)
    return ticket
  }).pipe(Effect.withSpan("ivcap.Job.request", { attributes: { "ivcap.service": String(serviceId) } }))

/**
 * The schema of a job request that names an aspect holding its input instead of carrying the input.
 * @since 0.2.0
 */
export const aspectInputSchema = "urn:ivcap:schema:job.input.1"

/** The body of a job request whose input is an aspect's content. */
const AspectInput = Schema.Struct({
  $schema: Schema.Literal(aspectInputSchema),
  requestAspect: Schema.propertySignature(Urn.AspectUrn).pipe(Schema.fromKey("request-aspect")),
  service: Urn.ServiceUrn
})

/**
 * Requests a job whose input is the content of an aspect (the Go CLI's `job create -a`): the body is
 * `{"$schema": "urn:ivcap:schema:job.input.1", "request-aspect": aspectId, "service": serviceId}` and the server
 * reads the aspect. Both ids are checked before any request; the input itself is not (it is on the server), so an
 * unknown aspect or an input the service refuses is the server's `InvalidParameter`. Otherwise as {@link request}
 * (`wait`, `orderId`, the answer and its errors).
 *
 * @example
 * const ticket = yield* Job.requestFromAspect(serviceId, "urn:ivcap:aspect:…", { wait: "30 seconds" })
 * @since 0.2.0
 */
export const requestFromAspect = (
  serviceId: Urn.ServiceUrn | string,
  aspectId: Urn.AspectUrn | string,
  options?: Omit<RequestOptions, "schema">
): Effect.Effect<Ticket, RequestError, IvcapClient> =>
  Effect.gen(function*() {
    const service = yield* Urn.validate(Urn.ServiceUrn, "serviceId")(serviceId)
    const requestAspect = yield* Urn.validate(Urn.AspectUrn, "aspectId")(aspectId)
    const body = Schema.encodeSync(AspectInput)({ $schema: aspectInputSchema, requestAspect, service })
    return yield* request(service, body, { ...options, schema: false })
  }).pipe(Effect.withSpan("ivcap.Job.requestFromAspect", { attributes: { "ivcap.service": String(serviceId) } }))

const waitHeader = (wait: Duration.DurationInput | undefined): Effect.Effect<number, InvalidArgument> => {
  if (wait === undefined) return Effect.succeed(0)
  const d = Duration.decodeUnknown(wait)
  if (Option.isNone(d) || !Duration.isFinite(d.value)) {
    return Effect.fail(new InvalidArgument({ argument: "wait", message: `wait must be a finite duration, got ${String(wait)}` }))
  }
  return Effect.succeed(Math.ceil(Duration.toSeconds(d.value)))
}

/** The service a job URL (`…/services2/{service}/jobs/…`) belongs to, if it names a valid one. */
const serviceIn = (url: string | undefined): Option.Option<Urn.ServiceUrn> => {
  if (url === undefined) return Option.none()
  try {
    const m = /\/services2\/([^/]+)\/jobs(\/|$)/.exec(new URL(url, "http://relative.invalid").pathname)
    return m === null ? Option.none() : Option.filter(Option.some(decodeURIComponent(m[1]!)), Schema.is(Urn.ServiceUrn))
  } catch {
    return Option.none()
  }
}

const MessageBody = Schema.Struct({ message: Schema.String })
const decodeMessage = Http.decodeJson(MessageBody)

/** `{message}` of a failed job's answer, if it has one. */
const errorMessage = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(Effect.option(decodeMessage(response)), Option.match({ onNone: () => ({}), onSome: (b) => ({ errorMessage: b.message }) }))

/**
 * The answer to a job request (or to the same request re-sent after a 307): 200 finished, 202 accepted, 400 with
 * `IVCAP-Job-Id` a job that failed within the wait, 307/308 followed.
 */
const answer = (service: Urn.ServiceUrn, post: HttpClientRequest.HttpClientRequest, hops: number) =>
(response: HttpClientResponse.HttpClientResponse): Effect.Effect<Ticket, RequestError, IvcapClient> =>
  Effect.gen(function*() {
    const jobUrl = response.headers["ivcap-job-url"]
    // the job may run under another service than the one asked (after a redirect): its URL says which
    const owner = Option.getOrElse(serviceIn(jobUrl), () => service)
    switch (response.status) {
      case 200: {
        const job = yield* decodeJobId(response, response.headers["ivcap-job-id"] ?? Option.getOrUndefined(Option.flatMap(Option.fromNullable(jobUrl), jobIdIn)), "IVCAP-Job-Id header")
        const result = yield* readResult(response)
        return new Finished({ job, service: owner, url: Option.fromNullable(jobUrl), order: Option.fromNullable(response.headers["ivcap-order-id"]), result })
      }
      case 202: {
        const body = yield* decodeRetryLater(response)
        const client = yield* IvcapClient
        const location = body.location ?? response.headers["location"]
        // `job-id` is optional in `JobRetryLaterT`; the location names the job too.
        const job = yield* decodeJobId(response, body.jobId ?? Option.getOrUndefined(Option.flatMap(Option.fromNullable(location), jobIdIn)), "202 job-id")
        const at = Option.getOrElse(serviceIn(location), () => owner)
        // The server's hint is capped like a Retry-After (the client's `maxRetryAfter`): reading a job early is
        // harmless, and a hint of years would park the wait.
        const { maxRetryAfter } = yield* client.requestOptions
        return new Accepted({
          job,
          service: at,
          location: client.resolve(location ?? jobPath(at, job)),
          retryLater: Duration.min(Duration.seconds(Math.max(0, body.retryLater ?? 0)), maxRetryAfter)
        })
      }
      case 400: {
        // (inferred) a job that failed while the request was held: 400 `{message}` with the job's headers (the
        // spec's "job-request-error"); without `IVCAP-Job-Id` it is a plain bad request.
        const id = response.headers["ivcap-job-id"]
        if (id === undefined) return yield* Http.failStatus(requestStatuses)(response)
        const job = yield* decodeJobId(response, id, "IVCAP-Job-Id header")
        return yield* new JobFailed({ job, service: owner, status: "failed", ...(yield* errorMessage(response)) })
      }
      case 307:
      case 308:
        return yield* follow(service, post, hops, response)
      default:
        return yield* Http.failStatus(requestStatuses)(response)
    }
  })

/**
 * Follows a 307/308 of a job request. A redirect means the server did not take the request, so the same POST (same
 * body and headers) is sent to `Location` — but only on the configured origin: another origin is `RedirectRefused`
 * and receives nothing (neither the input nor the token). A `Location` that is a job's record (the spec calls it
 * "the URL for the job") is not posted to: it becomes `Accepted` (wait for it with {@link wait}). The Python client
 * 0.47.19 treats 307 as an error; the Go CLI lets Go's client follow it (re-POST, headers kept on the same host).
 */
const follow = (
  service: Urn.ServiceUrn,
  post: HttpClientRequest.HttpClientRequest,
  hops: number,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<Ticket, RequestError, IvcapClient> =>
  Effect.gen(function*() {
    const client = yield* IvcapClient
    const target = yield* Http.redirectTarget(response, hops, maxRedirects)
    if (!client.isOwnOrigin(target)) {
      return yield* new RedirectRefused({
        ...Http.describe(response.request),
        status: response.status,
        location: response.headers["location"] ?? "",
        message: `redirect to another origin (${new URL(target).origin}) is not followed`
      })
    }
    const at = Option.getOrElse(serviceIn(target), () => service)
    if (isJobRecordUrl(target)) {
      const job = yield* decodeJobId(response, Option.getOrUndefined(jobIdIn(target)), "redirect Location")
      return new Accepted({ job, service: at, location: target, retryLater: Duration.zero })
    }
    const again = HttpClientRequest.setUrl(post, target)
    return yield* client.call(again, answer(at, again, hops + 1))
  })

// ---------------------------------------------------------------------------------------------------------------
// Read, list, output

/** Options of {@link get}. @since 0.2.0 */
export interface GetOptions {
  /** Include the request's content (`with-request-content`; the server's default: no). */
  readonly withRequestContent?: boolean | undefined
  /** Include the result's content (`with-result-content`; the server's default: yes). */
  readonly withResultContent?: boolean | undefined
}

const readStatuses = [400, 403, 404, 501] as const
const readHandle = Http.expect(200, readStatuses).json(JobDetails)

/** The errors of reading a job. @since 0.2.0 */
export type GetError = Http.StatusError<(typeof readStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

/**
 * Reads a job record (the Python `Job.refresh`), with or without the request and result content.
 *
 * @since 0.2.0
 */
export const get = (serviceId: Urn.ServiceUrn | string, jobId: Urn.JobUrn | string, options?: GetOptions): Effect.Effect<JobDetails, GetError, IvcapClient> =>
  Effect.gen(function*() {
    const [service, job] = yield* validateIds(serviceId, jobId)
    const client = yield* IvcapClient
    const query = Http.definedOnly({
      "with-request-content": options?.withRequestContent === undefined ? undefined : String(options.withRequestContent),
      "with-result-content": options?.withResultContent === undefined ? undefined : String(options.withResultContent)
    })
    return yield* client.call(HttpClientRequest.get(jobPath(service, job)).pipe(HttpClientRequest.setUrlParams(query)), readHandle)
  }).pipe(Effect.withSpan("ivcap.Job.get", { attributes: { "ivcap.service": String(serviceId), "ivcap.job": String(jobId) } }))

/** The job's status, read fresh. @since 0.2.0 */
export const status = (serviceId: Urn.ServiceUrn | string, jobId: Urn.JobUrn | string): Effect.Effect<JobStatus, GetError, IvcapClient> =>
  Effect.map(get(serviceId, jobId, { withResultContent: false }), (j) => j.status)

/** Options of {@link list}. @since 0.2.0 */
export type ListOptions = Paging.ListOptions

/** A service's jobs, page by page (`GET /1/services2/{service}/jobs`). @since 0.2.0 */
export const listPages = (serviceId: Urn.ServiceUrn | string, options?: ListOptions): Stream.Stream<Paging.Page<JobSummary>, Paging.ListError, IvcapClient> =>
  Stream.unwrap(Effect.map(Urn.validate(Urn.ServiceUrn, "serviceId")(serviceId), (service) =>
    Listings.makeListing(jobsPath(service), JobSummary, "ivcap.Job.list").listPages(options)))

/**
 * A service's jobs as a Stream of items, with the paging rules of every listing (take what you need).
 *
 * @example
 * Job.list(serviceId, { orderBy: "requested-at" }).pipe(Stream.take(10), Stream.runCollect)
 * @since 0.2.0
 */
export const list = (serviceId: Urn.ServiceUrn | string, options?: ListOptions): Stream.Stream<JobSummary, Paging.ListError, IvcapClient> =>
  Paging.items(listPages(serviceId, options))

/** One page of a service's jobs. @since 0.2.0 */
export const page = (serviceId: Urn.ServiceUrn | string, options?: ListOptions): Effect.Effect<Paging.Page<JobSummary>, Paging.ListError, IvcapClient> =>
  Listings.single(listPages(serviceId, options))

const outputStatuses = [403, 404, 422, 501] as const

/** The errors of {@link output}. @since 0.2.0 */
export type OutputError = Http.StatusError<(typeof outputStatuses)[number]> | GetError | JobFailed | JobNotFinished | InvalidArgument | TransportError | RequestTimeout

/**
 * A job's output (`GET …/jobs/{job}/output`): its result, or `None` when the finished job produced none. The API
 * answers 204 both for that and for a job still running, so a 204 reads the job: one still running is
 * `JobNotFinished` with its status. A job that failed answers 400 (`job-request-error`) or 500
 * (`job-internal-error`): both are `JobFailed` with the message.
 *
 * @since 0.2.0
 */
export const output = (serviceId: Urn.ServiceUrn | string, jobId: Urn.JobUrn | string): Effect.Effect<Option.Option<JobResult>, OutputError, IvcapClient> =>
  Effect.gen(function*() {
    const [service, job] = yield* validateIds(serviceId, jobId)
    const client = yield* IvcapClient
    const failed = (status: string) => (response: HttpClientResponse.HttpClientResponse) =>
      Effect.flatMap(errorMessage(response), (message) => new JobFailed({ job, service, status, ...message }))
    return yield* client.call(HttpClientRequest.get(`${jobPath(service, job)}/output`), (response): Effect.Effect<Option.Option<JobResult>, OutputError> => {
      switch (response.status) {
        case 200:
          return Effect.map(readResult(response), Option.some) as Effect.Effect<Option.Option<JobResult>, OutputError>
        case 204:
          return Effect.flatMap(Effect.provideService(get(service, job, { withResultContent: false }), IvcapClient, client), (record) =>
            record.isFinished
              ? Effect.succeed(Option.none())
              : Effect.fail(new JobNotFinished({ job, service, status: record.rawStatus })))
        case 202:
          return Effect.fail(new JobNotFinished({ job, service, status: "unknown" }))
        case 400:
          return failed("failed")(response)
        case 500:
          return failed("error")(response)
        default:
          return Http.failStatus(outputStatuses)(response)
      }
    })
  }).pipe(Effect.withSpan("ivcap.Job.output", { attributes: { "ivcap.service": String(serviceId), "ivcap.job": String(jobId) } }))

// ---------------------------------------------------------------------------------------------------------------
// Waiting

/**
 * The default polling of {@link wait}/{@link watch}: after 0.5 s, growing ×1.5 up to every 10 s, for at most 24
 * hours (then `JobNotFinished`). @since 0.2.0
 */
export const defaultPollSchedule: Schedule.Schedule<unknown> = Schedule.exponential("500 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.upTo("24 hours")
)

/** Options of {@link wait} and {@link watch}. @since 0.2.0 */
export interface WaitOptions {
  /** When to read the job again; when it ends first, the wait fails with `JobNotFinished`. Default {@link defaultPollSchedule}. */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** Wait this long before the first read (the server's `retry-later`; `Accepted.retryLater`). */
  readonly retryLater?: Duration.DurationInput | undefined
}

/** The errors of {@link wait}. @since 0.2.0 */
export type WaitError = GetError | JobFailed | JobNotFinished

/**
 * Follows a job, reading it on `schedule`: emits the record each time its status changes and ends with the first
 * finished one (a failed job is emitted too, not an error). The stream fails with `JobNotFinished` if the
 * schedule ends first.
 *
 * @since 0.2.0
 */
export const watch = (serviceId: Urn.ServiceUrn | string, jobId: Urn.JobUrn | string, options?: WaitOptions): Stream.Stream<JobDetails, GetError | JobNotFinished, IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const [service, job] = yield* validateIds(serviceId, jobId)
    const driver = yield* Schedule.driver(options?.schedule ?? defaultPollSchedule)
    const first = options?.retryLater === undefined ? Effect.void : Effect.sleep(options.retryLater)
    let previous: JobDetails | undefined
    const poll: Effect.Effect<JobDetails, Option.Option<GetError | JobNotFinished>, IvcapClient> = Effect.gen(function*() {
      if (previous === undefined) yield* first
      else if (previous.isFinished) return yield* Effect.fail(Option.none())
      else {
        const last = previous
        yield* Effect.mapError(driver.next(last), () => Option.some(new JobNotFinished({ job, service, status: last.rawStatus })))
      }
      const record = yield* Effect.mapError(get(service, job), Option.some)
      previous = record
      return record
    })
    return Stream.repeatEffectOption(poll).pipe(Stream.changesWith((a, b) => a.rawStatus === b.rawStatus))
  }))

/**
 * Waits for a job to finish and returns its record (with the result content) once it has succeeded. `failed` and
 * `error` are a `JobFailed` carrying the job's `error-message`; the schedule ending first is `JobNotFinished`.
 * Interrupting the wait stops it at once (no further reads).
 *
 * @example
 * const done = yield* Job.wait(ticket.service, ticket.job, { retryLater: ticket.retryLater })
 * @since 0.2.0
 */
export const wait = (serviceId: Urn.ServiceUrn | string, jobId: Urn.JobUrn | string, options?: WaitOptions): Effect.Effect<JobDetails, WaitError, IvcapClient> =>
  Stream.runLast(watch(serviceId, jobId, options)).pipe(
    Effect.flatMap(Option.match({
      onNone: () => get(serviceId, jobId),
      onSome: Effect.succeed
    })),
    Effect.flatMap((job) =>
      job.status === "succeeded"
        ? Effect.succeed(job)
        : Effect.fail(new JobFailed({ job: job.id, service: job.service, status: job.rawStatus, ...(job.errorMessage === undefined ? {} : { errorMessage: job.errorMessage }) }))
    ),
    Effect.withSpan("ivcap.Job.wait", { attributes: { "ivcap.service": String(serviceId), "ivcap.job": String(jobId) } })
  )

// ---------------------------------------------------------------------------------------------------------------
// Run

/** Options of {@link run}. @since 0.2.0 */
export interface RunOptions extends RequestOptions, WaitOptions {}

/** The errors of {@link run}. @since 0.2.0 */
export type RunError = RequestError | WaitError | OutputError | DecodeError

const decodeResult = <A, I, R>(schema: Schema.Schema<A, I, R>, job: Urn.JobUrn) =>
  Http.decodeValue(schema, { what: `result of job ${job}` })

/**
 * Runs a service as a job and returns its result decoded with `schema`: {@link request} (input checked first,
 * server-side `wait` of 10 s by default), then — if the job was not finished by then — {@link wait}, then the
 * result (the record's `result-content`, else the job's output). A failed job is `JobFailed` with its message; a
 * result that does not match `schema` is a `DecodeError` naming the field.
 *
 * @example
 * const Echo = Schema.Struct({ msg: Schema.String })
 * const result = yield* Job.run(serviceId, { msg: "hi" }, Echo)
 * @since 0.2.0
 */
export const run = <A, I, R>(
  serviceId: Urn.ServiceUrn | string,
  input: unknown,
  schema: Schema.Schema<A, I, R>,
  options?: RunOptions
): Effect.Effect<A, RunError, IvcapClient | R> =>
  Effect.gen(function*() {
    const ticket = yield* request(serviceId, input, { ...options, wait: options?.wait ?? "10 seconds" })
    const decode = decodeResult(schema, ticket.job)
    if (ticket._tag === "Finished") return yield* decode(ticket.result.content)
    const done = yield* wait(ticket.service, ticket.job, { ...options, retryLater: options?.retryLater ?? ticket.retryLater })
    if (done.resultContent !== undefined) return yield* decode(done.resultContent)
    const out = yield* output(ticket.service, ticket.job)
    return yield* decode(Option.getOrUndefined(Option.map(out, (r) => r.content)))
  }).pipe(Effect.withSpan("ivcap.Job.run", { attributes: { "ivcap.service": String(serviceId) } }))

// ---------------------------------------------------------------------------------------------------------------
// Finding a job's service

/** The schema of the aspect the platform records each job as (the Go CLI lists and finds jobs through it). @since 0.2.0 */
export const jobAspectSchema = "urn:ivcap:schema:job.2"

const JobAspectContent = Schema.Struct({ "service-id": Urn.ServiceUrn })

/** The errors of {@link serviceOf}. @since 0.2.0 */
export type ServiceOfError = Paging.ListError | ResourceNotFound | AmbiguousRequest | DecodeError

/**
 * The service a job belongs to, from the job's `urn:ivcap:schema:job.2` aspect (as the Go CLI's `job get` finds
 * it): for a job id known without its service.
 *
 * @since 0.2.0
 */
export const serviceOf = (jobId: Urn.JobUrn | string): Effect.Effect<Urn.ServiceUrn, ServiceOfError, IvcapClient> =>
  Effect.gen(function*() {
    const job = yield* Urn.validate(Urn.JobUrn, "jobId")(jobId)
    const found = Chunk.toReadonlyArray(yield* Aspect.list({ entity: job, schema: `${jobAspectSchema}%`, includeContent: true, pageSize: 2 }).pipe(Stream.take(2), Stream.runCollect))
    if (found.length === 0) return yield* new ResourceNotFound({ id: job, message: `job ${job} not found (no ${jobAspectSchema} aspect)` })
    if (found.length > 1) return yield* new AmbiguousRequest({ message: `job ${job} has more than one ${jobAspectSchema} aspect`, candidates: found.map((a) => a.id) })
    const content = yield* decodeJobAspect(found[0]!.content)
    return content["service-id"]
  }).pipe(Effect.withSpan("ivcap.Job.serviceOf", { attributes: { "ivcap.job": String(jobId) } }))

const decodeJobAspect = Http.decodeValue(JobAspectContent, { what: "job aspect content" })

// ---------------------------------------------------------------------------------------------------------------
// Events

/**
 * The default reconnection policy of {@link events}: after a failure, 0.5 s growing ×2 (jittered) up to 10 s, at
 * most 10 times in a row; any progress (an event, or the job read fine) starts it over. @since 0.2.0
 */
export const defaultReconnectSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("500 millis", 2).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.intersect(Schedule.recurs(10))
)

/** Options of {@link events}. @since 0.2.0 */
export interface EventsOptions {
  /** Start after this event (a `seqId` from an earlier stream), instead of at the first. */
  readonly lastEventId?: string | undefined
  /** When to reconnect after a failure; default {@link defaultReconnectSchedule}. When it ends, the stream fails with the last error. */
  readonly reconnect?: Schedule.Schedule<unknown, unknown> | undefined
  /** A connection silent for this long is dropped and opened again, on `reconnect` (default 60 s). */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** The server's `max-wait-time` (seconds it waits for new events before it ends a response); its default is 30 s. */
  readonly maxWaitTime?: Duration.DurationInput | undefined
}

/** The errors of {@link events}. @since 0.2.0 */
export type EventsError = GetError | ApiVersion.DetectError | NotImplemented | DecodeError | PagingError

const eventStatuses = [400, 403, 404, 422, 501] as const

/** How the last connection ended. */
type Outcome =
  | { readonly _tag: "Start" }
  | { readonly _tag: "Closed"; readonly events: number; readonly millis: number }
  | { readonly _tag: "Failed"; readonly error: unknown }

const integer = /^\d+$/

/** The bounds of the reconnection time (the server's SSE `retry:`, default the lower one). */
const reconnectFloor = 1000
const reconnectCeiling = 30_000

/**
 * A job's events as a Stream (`GET …/jobs/{job}/events`, Server-Sent Events), live as they happen, ending when
 * the job has finished and every event was delivered.
 *
 * A dropped connection (or a failed reconnect) is retried on `reconnect` with `Last-Event-ID` set to the last
 * event delivered, so nothing is skipped; an event the server sends again (same sequence id, or a numeric id not
 * above the last) is dropped, so nothing is delivered twice. When a response ends normally the job is read: still
 * running → reconnect; finished → one last connection collects what is left, then the stream ends. A reconnect
 * waits until the reconnection time (the server's `retry:`, bounded to 1–30 s; default 1 s) has passed since the
 * last connection opened, doubling it (up to 30 s) while connections keep ending without an event. A `200` that
 * is not `text/event-stream` is a `DecodeError`.
 *
 * @example
 * Job.events(serviceId, jobId).pipe(Stream.runForEach((e) => Console.log(e.type, e.data)))
 * @since 0.2.0
 */
export const events = (serviceId: Urn.ServiceUrn | string, jobId: Urn.JobUrn | string, options?: EventsOptions): Stream.Stream<JobEvent, EventsError, IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const [service, job] = yield* validateIds(serviceId, jobId)
    const client = yield* IvcapClient
    const path = `${jobPath(service, job)}/events`
    const url = client.resolve(path)
    yield* requireJobs("GET", url)
    const idle = Duration.decode(options?.idleTimeout ?? "60 seconds")
    const maxWait = options?.maxWaitTime === undefined ? undefined : String(Math.ceil(Duration.toSeconds(Duration.decode(options.maxWaitTime))))
    const waiter = yield* makeWaiter(options?.reconnect ?? defaultReconnectSchedule)
    const decodeEventValue = Http.decodeValue(JobEventWire, { what: "job event" })
    const decodeEvent = (json: unknown) => Effect.mapError(decodeEventValue(json), (e) => new DecodeError({ method: "GET", url, message: e.message, cause: e.cause }))

    // State of this run of the stream (Stream.unwrap runs this once per run).
    let lastId: string | undefined = options?.lastEventId
    const seen = new Set<string>(lastId === undefined ? [] : [lastId])
    let outcome: Outcome = { _tag: "Start" }
    let draining = false
    let retryHint = reconnectFloor
    /** How many connections in a row ended without an event. */
    let quiet = 0

    const isRepeat = (id: string) =>
      seen.has(id) || (lastId !== undefined && integer.test(id) && integer.test(lastId) && BigInt(id) <= BigInt(lastId))

    const toEvent = (message: Sse.SseMessage): Effect.Effect<Option.Option<JobEvent>, DecodeError> =>
      Effect.gen(function*() {
        let json: unknown
        try {
          json = JSON.parse(message.data)
        } catch (cause) {
          return yield* new DecodeError({ method: "GET", url, message: `job event is not JSON: ${message.data.slice(0, 120)}`, cause })
        }
        const wire = yield* decodeEvent(json)
        // The SSE `id:` is what a reconnect sends back as Last-Event-ID; `SeqID` in the data is the same value
        // (the CLI's doc: "Stream sequence ID. Used in Last-Event-Id") — (inferred) that they agree; either serves.
        const id = message.id ?? wire.SeqID
        if (id !== undefined) {
          if (isRepeat(id)) return Option.none()
          seen.add(id)
          lastId = id
        }
        return Option.some(new JobEvent({
          seqId: wire.SeqID ?? id ?? "",
          ...(wire.eventID === undefined ? {} : { eventId: wire.eventID }),
          ...(wire.type === undefined ? {} : { type: wire.type }),
          ...(wire.schema === undefined ? {} : { schema: wire.schema }),
          ...(wire.source === undefined ? {} : { source: wire.source }),
          ...(wire.timestamp === undefined ? {} : { timestamp: wire.timestamp }),
          ...(wire.data === undefined ? {} : { data: wire.data })
        }))
      })

    /** One connection: its events, until the response ends (→ Closed) or fails transiently (→ Failed). */
    const connection = (): Stream.Stream<JobEvent, EventsError, IvcapClient> =>
      Stream.suspend(() => {
        const started = Date.now()
        let count = 0
        const req = HttpClientRequest.get(path).pipe(
          HttpClientRequest.setUrlParams(Http.definedOnly({ "max-wait-time": maxWait })),
          HttpClientRequest.setHeaders({
            Accept: "text/event-stream",
            "Cache-Control": "no-cache",
            ...(lastId === undefined ? {} : { "Last-Event-ID": lastId })
          })
        )
        const open = client.call(req, (response) => {
          if (response.status === 204) return Effect.succeed(Stream.empty)
          if (response.status !== 200) return Http.failStatus(eventStatuses)(response)
          const contentType = response.headers["content-type"]
          if (contentType !== undefined && !/^\s*text\/event-stream\b/i.test(contentType)) {
            return Effect.fail(new DecodeError({ method: "GET", url, message: `job events answered as ${contentType.slice(0, 80)}, not text/event-stream` }))
          }
          const bytes = response.stream.pipe(
            Stream.mapError(Http.transportError),
            Stream.timeoutFail(() => new RequestTimeout({ method: "GET", url, timeout: idle }), idle)
          )
          return Effect.succeed(Sse.messages(bytes, { method: "GET", url }, (millis) => {
            retryHint = Math.min(reconnectCeiling, Math.max(reconnectFloor, millis))
          }))
        }, { idempotent: false })
        return Stream.unwrap(open).pipe(
          Stream.mapEffect(toEvent),
          Stream.filterMap((e) => e),
          Stream.tap(() =>
            Effect.zipRight(waiter.reset, Effect.sync(() => {
              count++
            }))
          ),
          Stream.concat(Stream.execute(Effect.sync(() => {
            outcome = { _tag: "Closed", events: count, millis: Date.now() - started }
          }))),
          Stream.catchAll((error) => {
            if (!isTransient(error)) return Stream.fail(error as EventsError)
            outcome = { _tag: "Failed", error }
            return Stream.empty
          })
        )
      })

    /** What comes after the last connection: another one, or the end. */
    const next: Effect.Effect<Stream.Stream<JobEvent, EventsError, IvcapClient>, Option.Option<EventsError>, IvcapClient> = Effect.suspend(() => {
      const current = outcome
      switch (current._tag) {
        case "Start":
          return Effect.succeed(connection())
        case "Failed":
          return Effect.as(Effect.mapError(waiter.wait(current.error), (e) => Option.some(e as EventsError)), connection())
        case "Closed": {
          if (draining) return Effect.fail(Option.none())
          return Effect.gen(function*() {
            // A normal end: is the job still running?
            const checked = yield* Effect.either(get(service, job, { withResultContent: false }))
            if (Either.isLeft(checked)) {
              if (!isTransient(checked.left)) return yield* Effect.fail(Option.some<EventsError>(checked.left))
              outcome = { _tag: "Failed", error: checked.left }
              return Stream.empty
            }
            yield* waiter.reset
            if (checked.right.isFinished) draining = true
            else {
              // A connection shorter than the reconnection time waits out the rest of it, so a server (or a proxy)
              // that ends every response at once is not hammered; connections that keep ending without an event
              // back off, doubling up to the ceiling. A long one (the server's max-wait-time) reconnects at once.
              quiet = current.events === 0 ? quiet + 1 : 0
              const wait = quiet === 0 ? retryHint : Math.min(reconnectCeiling, retryHint * 2 ** (quiet - 1))
              if (current.millis < wait) yield* Effect.sleep(Duration.millis(wait - current.millis))
            }
            return connection()
          })
        }
      }
    })

    return Stream.flatten(Stream.repeatEffectOption(next))
  }))

/** Whether a value is a {@link JobEvent}. @since 0.2.0 */
export const isJobEvent = (u: unknown): u is JobEvent => Predicate.isObject(u) && u instanceof JobEvent
