/**
 * The errors of the IVCAP SDK: every operation fails with a closed union of these `Schema.TaggedError`s.
 *
 * Server errors are decoded from the bodies of API v0.41 (wire doc §2.1); transport failures, timeouts and
 * undecodable responses are wrapped into the SDK's own errors with the cause kept. No error ever carries the
 * bearer token: requests are described by method and URL only.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/** What every request-related error records about the request (never its headers). @since 0.1.0 */
const RequestInfo = {
  method: Schema.String,
  url: Schema.String
}

const retryAfterField = Schema.optionalWith(Schema.DurationFromMillis, { as: "Option", exact: true })

const describeRetryAfter = (retryAfter: Option.Option<Duration.Duration>) =>
  Option.match(retryAfter, { onNone: () => "", onSome: (d) => ` (retry after ${Duration.format(d)})` })

/** 404 from the API, or a lookup (such as a service by name) that found nothing. @since 0.1.0 */
export class ResourceNotFound extends Schema.TaggedError<ResourceNotFound>()("ResourceNotFound", {
  id: Schema.String,
  message: Schema.String
}) {}

/** A lookup that should find one thing found several. @since 0.1.0 */
export class AmbiguousRequest extends Schema.TaggedError<AmbiguousRequest>()("AmbiguousRequest", {
  message: Schema.String,
  candidates: Schema.Array(Schema.String)
}) {}

/** 400: the server could not accept the request. @since 0.1.0 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  ...RequestInfo,
  message: Schema.String
}) {}

/** 401: the token is missing, expired or not accepted. @since 0.1.0 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", RequestInfo) {
  override get message() {
    return `${this.method} ${this.url}: not authorized (401) — check IVCAP_JWT or renew the login with \`ivcap context login\``
  }
}

/** 403: authenticated, but not allowed to do this. @since 0.1.0 */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  ...RequestInfo,
  id: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/** 415: the server does not accept the request's content type. @since 0.1.0 */
export class UnsupportedContentType extends Schema.TaggedError<UnsupportedContentType>()("UnsupportedContentType", {
  ...RequestInfo,
  message: Schema.String
}) {}

/** 422: a parameter was rejected; `name` says which one. @since 0.1.0 */
export class InvalidParameter extends Schema.TaggedError<InvalidParameter>()("InvalidParameter", {
  name: Schema.String,
  message: Schema.String,
  value: Schema.optional(Schema.String)
}) {}

/** 424: more than one active aspect for the entity/schema pair of an update. @since 0.1.0 */
export class NotUnique extends Schema.TaggedError<NotUnique>()("NotUnique", {
  ...RequestInfo,
  message: Schema.String
}) {}

/** 429: too many requests; `retryAfter` comes from the `Retry-After` header. @since 0.1.0 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...RequestInfo,
  retryAfter: retryAfterField
}) {
  override get message() {
    return `${this.method} ${this.url}: rate limited (429)${describeRetryAfter(this.retryAfter)}`
  }
}

/** 503: the service is not available right now. @since 0.1.0 */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  ...RequestInfo,
  retryAfter: retryAfterField
}) {
  override get message() {
    return `${this.method} ${this.url}: service unavailable (503)${describeRetryAfter(this.retryAfter)}`
  }
}

/** 501: the deployment does not implement this operation. @since 0.1.0 */
export class NotImplemented extends Schema.TaggedError<NotImplemented>()("NotImplemented", {
  ...RequestInfo,
  message: Schema.String
}) {}

/** Any other status, or a declared one whose body is not what the API documents. @since 0.1.0 */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>()("UnexpectedStatus", {
  ...RequestInfo,
  status: Schema.Number,
  /** The first 1 KiB of the response body. */
  body: Schema.String
}) {
  override get message() {
    return `${this.method} ${this.url}: unexpected status ${this.status}${this.body ? ` — ${this.body.slice(0, 200)}` : ""}`
  }
}

/** The request never got a response: connection refused or reset, DNS, TLS, a body that failed to send. @since 0.1.0 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  ...RequestInfo,
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message() {
    return `${this.method} ${this.url}: ${this.reason}`
  }
}

/** No complete answer within the timeout. @since 0.1.0 */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", {
  ...RequestInfo,
  timeout: Schema.DurationFromMillis,
  /** What timed out when it is not the whole answer (e.g. a download slower than its minimum rate). */
  reason: Schema.optional(Schema.String)
}) {
  override get message() {
    return `${this.method} ${this.url}: ${this.reason ?? `no response within ${Duration.format(this.timeout)}`}`
  }
}

/**
 * A response — or a value that came with one, such as an aspect's content decoded with your Schema — that does
 * not match its schema; `message` names the offending field. `method` and `url` name the request when there was
 * one (absent when decoding a value already at hand).
 *
 * @since 0.1.0
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  method: Schema.optional(Schema.String),
  url: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** Bad input from the caller, rejected before any request (a malformed URN, a bad page size, …). @since 0.1.0 */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  argument: Schema.String,
  message: Schema.String
}) {}

/** A paged listing that would never end (a `next` link repeating a cursor) or is otherwise broken. @since 0.1.0 */
export class PagingError extends Schema.TaggedError<PagingError>()("PagingError", {
  url: Schema.String,
  message: Schema.String
}) {}

/**
 * The token could not be renewed (the refresh token was revoked or has expired, the login was withdrawn, the
 * application's token provider failed): `login` says how to log in again. Once this happened, nothing more is
 * sent with the old token. Never carries a token.
 * @since 0.1.0
 */
export class LoginRequired extends Schema.TaggedError<LoginRequired>()("LoginRequired", {
  /** Why the token could not be renewed (the identity provider's error code and description, if any). */
  reason: Schema.String,
  /** How to log in again, e.g. "run `ivcap context login`". */
  login: Schema.String
}) {
  override get message() {
    return `IVCAP login required: ${this.reason}. Log in again: ${this.login}`
  }
}

/**
 * A JSON response body larger than the client's `maxResponseBytes` (default 64 MiB): reading stopped there (a
 * declared `Content-Length` above it is refused before reading). Not retried: the same request would get the same
 * body. @since 0.1.0
 */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>()("ResponseTooLarge", {
  ...RequestInfo,
  /** The cap, in bytes. */
  limit: Schema.Number
}) {
  override get message() {
    return `${this.method} ${this.url}: the response body exceeds ${this.limit} bytes (IvcapClient option maxResponseBytes)`
  }
}

/**
 * A job that ended without succeeding: `failed` (reported by the service) or `error` (by the platform), with the
 * job's `error-message` when the server gives one. @since 0.2.0
 */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  job: Schema.String,
  service: Schema.String,
  status: Schema.String,
  errorMessage: Schema.optional(Schema.String)
}) {
  override get message() {
    return `job ${this.job} ${this.status}${this.errorMessage === undefined ? "" : `: ${this.errorMessage}`}`
  }
}

/** A wait for a job that its schedule ended before the job finished; `status` is the last one read. @since 0.2.0 */
export class JobNotFinished extends Schema.TaggedError<JobNotFinished>()("JobNotFinished", {
  job: Schema.String,
  service: Schema.String,
  status: Schema.String
}) {
  override get message() {
    return `job ${this.job} still ${this.status} when the wait's schedule ended`
  }
}

/**
 * A redirect the SDK will not follow: to another origin than the configured deployment (which would receive the
 * request, token excepted) or without a usable `Location`. @since 0.2.0
 */
export class RedirectRefused extends Schema.TaggedError<RedirectRefused>()("RedirectRefused", {
  ...RequestInfo,
  status: Schema.Number,
  location: Schema.String,
  message: Schema.String
}) {}

/** Errors of a request that reached (or tried to reach) the server, whatever the operation. @since 0.1.0 */
export type CallError = TransportError | RequestTimeout | DecodeError | UnexpectedStatus | Unauthorized | Forbidden | ResponseTooLarge

/**
 * Every error the SDK can fail with, as one Schema: decode or encode them (across a worker or process boundary),
 * or match on them. The tags and {@link isIvcapError} are derived from it.
 *
 * @since 0.1.0
 */
export const IvcapError = /*#__PURE__*/ Schema.Union(
  ResourceNotFound,
  AmbiguousRequest,
  BadRequest,
  Unauthorized,
  Forbidden,
  UnsupportedContentType,
  InvalidParameter,
  NotUnique,
  RateLimited,
  ServiceUnavailable,
  NotImplemented,
  UnexpectedStatus,
  TransportError,
  RequestTimeout,
  DecodeError,
  InvalidArgument,
  PagingError,
  LoginRequired,
  ResponseTooLarge,
  JobFailed,
  JobNotFinished,
  RedirectRefused
)

/** Every error the SDK can fail with. @since 0.1.0 */
export type IvcapError = Schema.Schema.Type<typeof IvcapError>

/** The `_tag`s of {@link IvcapError}. @since 0.1.0 */
export const tags: ReadonlySet<IvcapError["_tag"]> = /*#__PURE__*/ new Set(IvcapError.members.map((member) => member._tag))

/** Whether a value is one of the SDK's errors. @since 0.1.0 */
export const isIvcapError = (u: unknown): u is IvcapError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && (tags as ReadonlySet<string>).has(u._tag) && u instanceof Error

/**
 * Whether retrying the same idempotent request may succeed: transport errors, timeouts, 429, 503 and
 * 408/500/502/504. @since 0.1.0
 */
export const isTransient = (e: unknown): boolean => {
  if (!isIvcapError(e)) return false
  switch (e._tag) {
    case "TransportError":
    case "RequestTimeout":
    case "RateLimited":
    case "ServiceUnavailable":
      return true
    case "UnexpectedStatus":
      return e.status === 408 || e.status === 500 || e.status === 502 || e.status === 504
    default:
      return false
  }
}

/** The server's `Retry-After`, for the errors that carry one. @since 0.1.0 */
export const retryAfter = (e: unknown): Option.Option<Duration.Duration> =>
  e instanceof RateLimited || e instanceof ServiceUnavailable ? e.retryAfter : Option.none()
