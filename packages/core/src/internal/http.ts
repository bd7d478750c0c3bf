/**
 * Response handling shared by every operation: status → typed error (decoding the API's error bodies, wire doc
 * §2.1), and JSON bodies → domain values with decode errors that name the field.
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { IvcapClient } from "../IvcapClient.js"
import type { InvalidArgument, LoginRequired, RequestTimeout } from "../IvcapError.js"
import { ResponseTooLarge } from "../IvcapError.js"
import { errorBodyBytes, MaxResponseBytes } from "./body.js"
import * as FastDecode from "./fastDecode.js"
import { pathSegment, validate } from "../Urn.js"
import { parseRetryAfter } from "./retryAfter.js"
import {
  BadRequest,
  DecodeError,
  Forbidden,
  InvalidParameter,
  NotImplemented,
  NotUnique,
  RateLimited,
  RedirectRefused,
  ResourceNotFound,
  ServiceUnavailable,
  TransportError,
  Unauthorized,
  UnexpectedStatus,
  UnsupportedContentType
} from "../IvcapError.js"

/** At most this many characters of one problem, and of the whole message, quote the server's value. */
const maxIssueChars = 400
const maxMessageChars = 2000
/** At most this many characters of a request's URL are quoted in an error. */
const maxUrlChars = 2048

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text)

/** Describes a request for errors and spans: method and URL, nothing else (never the headers). */
export const describe = (request: HttpClientRequest.HttpClientRequest): { readonly method: string; readonly url: string } => ({
  method: request.method,
  // a server's cursor can make a URL of any length: errors (and the logs that print them) quote its start
  url: cut(Option.match(HttpClientRequest.toUrl(request), { onNone: () => request.url, onSome: (u) => u.toString() }), maxUrlChars)
})

/**
 * A platform transport failure as the SDK's `TransportError`: method and URL of the request as sent, and the
 * underlying cause — never the platform error itself, whose request (and response) carry the headers, token
 * included. A body that fails while being read (a connection cut mid-response) is a transport failure too.
 */
export const transportError = (error: HttpClientError.HttpClientError): TransportError => {
  const underlying: unknown = error.cause
  const detail = error.description ?? (underlying instanceof Error ? underlying.message : undefined)
  const what = error._tag === "RequestError"
    ? error.reason === "Transport" ? "connection failed" : error.reason
    : `response body could not be read (${error.reason})`
  return new TransportError({
    ...describe(error.request),
    reason: detail ? `${what}: ${detail}` : what,
    ...(underlying === undefined ? {} : { cause: underlying })
  })
}

/** A header holding a non-negative integer (`Content-Length`, `Upload-Offset`, …); `None` when absent or malformed. */
export const intHeader = (value: string | undefined): Option.Option<number> => {
  const trimmed = value?.trim()
  if (trimmed === undefined || !/^\d+$/.test(trimmed)) return Option.none()
  const n = Number(trimmed)
  return Number.isSafeInteger(n) ? Option.some(n) : Option.none()
}

/** The typed error for each status the API declares. */
export interface ErrorByStatus {
  400: BadRequest
  /** A `401` that renewing the login could not cure is `Unauthorized`; one whose renewal failed, `LoginRequired`. */
  401: Unauthorized | LoginRequired
  403: Forbidden
  404: ResourceNotFound
  415: UnsupportedContentType
  422: InvalidParameter
  424: NotUnique
  429: RateLimited
  501: NotImplemented
  503: ServiceUnavailable
}

/** A status with a typed error. */
export type DeclaredStatus = keyof ErrorByStatus

/** Statuses any endpoint may answer whatever the spec declares (auth, gateways). */
type Always = 401 | 429 | 503

/** The error union of an operation that declares `S`. */
export type StatusError<S extends DeclaredStatus> = ErrorByStatus[S | Always] | UnexpectedStatus | DecodeError | ResponseTooLarge

const MessageBody = /*#__PURE__*/ Schema.Struct({ message: Schema.String })
const NotFoundBody = /*#__PURE__*/ Schema.Struct({ id: Schema.String, message: Schema.String })
const ForbiddenBody = /*#__PURE__*/ Schema.Struct({ id: Schema.optional(Schema.String), message: Schema.String })
const InvalidParameterBody = /*#__PURE__*/ Schema.Struct({ name: Schema.String, message: Schema.String, value: Schema.optional(Schema.String) })

const excerpt = (text: string) => (text.length > 1024 ? `${text.slice(0, 1024)}…` : text)

/** `Retry-After` as seconds or an HTTP date. */
export { parseRetryAfter }

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(size)
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.length
  }
  return out
}

const decoder = new TextDecoder()

/**
 * A response body, read as a stream and never past the cap in force: a declared `Content-Length` over it
 * fails at once, an undeclared or lying one as soon as the count passes it (the rest is not read).
 */
export const boundedBytes = (
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<Uint8Array, ResponseTooLarge | TransportError> =>
  Effect.flatMap(MaxResponseBytes, (limit) => {
    const tooLarge = () => new ResponseTooLarge({ ...describe(response.request), limit })
    const declared = intHeader(response.headers["content-length"])
    if (Option.isSome(declared)) {
      if (declared.value > limit) return Effect.fail(tooLarge())
      const encoding = response.headers["content-encoding"]
      if (encoding === undefined || encoding === "identity") {
        // Read at once: HTTP framing delivers exactly the declared length, so it cannot pass the cap (a stream read
        // costs ~0.5 ms of CPU per response, the bulk of a small request's client cost). A fetch that decoded a
        // compressed body behind a hidden `Content-Encoding` (cross-origin in a browser) is still refused after.
        return Effect.flatMap(Effect.mapError(response.arrayBuffer, transportError), (buffer) =>
          buffer.byteLength > limit ? Effect.fail(tooLarge()) : Effect.succeed(new Uint8Array(buffer)))
      }
    }
    const chunks: Array<Uint8Array> = []
    let size = 0
    return Stream.runForEach(Stream.mapError(response.stream, transportError), (chunk) => {
      size += chunk.length
      if (size > limit) return Effect.fail(tooLarge())
      chunks.push(chunk)
      return Effect.void
    }).pipe(Effect.map(() => concat(chunks, size)))
  })

/** The first `max` bytes of a body as text (`""` when it cannot be read); the rest is never read. */
const prefixText = (response: HttpClientResponse.HttpClientResponse, max: number = errorBodyBytes): Effect.Effect<string> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return response.stream.pipe(
      Stream.takeUntil((chunk) => {
        const part = chunk.length > max - size ? chunk.subarray(0, max - size) : chunk
        chunks.push(part)
        size += part.length
        return size >= max
      }),
      Stream.runDrain,
      Effect.map(() => decoder.decode(concat(chunks, size))),
      Effect.orElseSucceed(() => decoder.decode(concat(chunks, size)))
    )
  })

/**
 * Turns a non-success response into the operation's typed error. Statuses the operation does not declare, and
 * declared ones whose body is not the documented shape (an HTML page from a proxy, say), become
 * `UnexpectedStatus` with an excerpt of the body.
 */
export const failStatus = <S extends DeclaredStatus>(declared: ReadonlyArray<S>) =>
(response: HttpClientResponse.HttpClientResponse): Effect.Effect<never, StatusError<S>> =>
  // The union is narrowed by `declared` at run time; the cast states it at the type level.
  Effect.gen(function*() {
    const request = response.request
    const info = describe(request)
    const status = response.status
    const retry = () => parseRetryAfter(response.headers["retry-after"])
    if (status === 401) return yield* new Unauthorized(info)
    if (status === 429) return yield* new RateLimited({ ...info, retryAfter: retry() })
    if (status === 503) return yield* new ServiceUnavailable({ ...info, retryAfter: retry() })
    // only what the excerpt and the error's JSON need is read
    const text = yield* prefixText(response)
    const unexpected = new UnexpectedStatus({ ...info, status, body: excerpt(text) })
    if (!(declared as ReadonlyArray<number>).includes(status)) return yield* unexpected
    const json = parseJson(text)
    const decode = <A, I>(schema: Schema.Schema<A, I>) => Schema.decodeUnknownOption(schema)(json)
    const error: Option.Option<StatusError<DeclaredStatus>> = (() => {
      switch (status) {
        case 400:
          return Option.map(decode(MessageBody), (b) => new BadRequest({ ...info, message: b.message }))
        case 403:
          return Option.map(decode(ForbiddenBody), (b) => new Forbidden({ ...info, ...b }))
        case 404:
          return Option.map(decode(NotFoundBody), (b) => new ResourceNotFound(b))
        case 415:
          return Option.map(decode(MessageBody), (b) => new UnsupportedContentType({ ...info, message: b.message }))
        case 422:
          return Option.map(decode(InvalidParameterBody), (b) => new InvalidParameter(b))
        case 424:
          return Option.map(decode(MessageBody), (b) => new NotUnique({ ...info, message: b.message }))
        case 501:
          return Option.map(decode(MessageBody), (b) => new NotImplemented({ ...info, message: b.message }))
        default:
          return Option.none()
      }
    })()
    return yield* Option.getOrElse(error, () => unexpected)
  }) as Effect.Effect<never, StatusError<S>>

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}


/**
 * A parse error as `path: problem` lines, naming the wire field; each problem and the whole are cut short (a wrong
 * value megabytes long is quoted by its start). A value nested too deep for Effect's formatter is named by its path
 * alone. `whole` says nothing was cut or left out: only then is the error safe to keep as a cause (printing a cause
 * formats the offending value again, all of it).
 */
export const formatParseError = (error: ParseResult.ParseError): { readonly message: string; readonly whole: boolean } => {
  let issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>
  try {
    issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  } catch {
    return { message: `${pathOf(error.issue).join(".") || "(root)"}: does not match (a value nested too deep to describe)`, whole: false }
  }
  let whole = true
  const lines = issues.map((issue) => {
    if (issue.message.length > maxIssueChars) whole = false
    return `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${cut(issue.message, maxIssueChars)}`
  }).join("; ")
  return { message: cut(lines, maxMessageChars), whole: whole && lines.length <= maxMessageChars }
}

/** The path of the first problem of a parse issue, without formatting any value. */
const pathOf = (issue: ParseResult.ParseIssue): Array<PropertyKey> => {
  const path: Array<PropertyKey> = []
  let current: ParseResult.ParseIssue | undefined = issue
  for (let depth = 0; current !== undefined && depth < 100; depth++) {
    switch (current._tag) {
      case "Pointer":
        if (Array.isArray(current.path)) path.push(...(current.path as ReadonlyArray<PropertyKey>))
        else path.push(current.path as PropertyKey)
        current = current.issue
        break
      case "Composite":
        current = Array.isArray(current.issues) ? (current.issues as ReadonlyArray<ParseResult.ParseIssue>)[0] : current.issues as ParseResult.ParseIssue
        break
      case "Refinement":
      case "Transformation":
        current = current.issue
        break
      default:
        current = undefined
    }
  }
  return path
}

/**
 * Decodes a JSON body with a schema; a non-JSON body or a schema mismatch is a `DecodeError` naming the field, a
 * body that cannot be read to its end a (retryable) `TransportError`, a body over the cap `ResponseTooLarge`.
 */
export const decodeJson = <A, I, R>(schema: Schema.Schema<A, I, R>) => {
  // Built once per schema, not per response.
  const decode = decodeValue(schema, { what: "unexpected response" })
  return (response: HttpClientResponse.HttpClientResponse): Effect.Effect<A, DecodeError | TransportError | ResponseTooLarge, R> =>
    Effect.flatMap(boundedBytes(response), (bytes) => {
      const text = decoder.decode(bytes)
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (cause) {
        return Effect.fail(new DecodeError({ ...describe(response.request), message: `response is not JSON: ${excerpt(text).slice(0, 120)}`, cause }))
      }
      return decode(json, response.request)
    })
}

/**
 * Decodes a value (a body, an aspect's content, a search item) with a schema; a mismatch is a `DecodeError`
 * whose message starts with `what` and names the field. The decoder is built once; `request`, when given, names
 * the method and URL (none are invented when the value is decoded without a request).
 */
export const decodeValue = <A, I, R>(schema: Schema.Schema<A, I, R>, context: { readonly what: string }) => {
  const decode = Schema.decodeUnknown(schema, { onExcessProperty: "ignore" })
  // The compiled decoder first (internal/fastDecode); whatever it cannot vouch for — every failure among it — goes
  // through the schema's own decoder, whose error names the field.
  return FastDecode.withFallback(schema, (value: unknown, request?: HttpClientRequest.HttpClientRequest): Effect.Effect<A, DecodeError, R> =>
    Effect.mapError(decode(value), (cause) => {
      const { message, whole } = formatParseError(cause)
      return new DecodeError({ ...(request === undefined ? {} : describe(request)), message: `${context.what}: ${message}`, ...(whole ? { cause } : {}) })
    }))
}

/** A query without its `undefined` entries. */
export const definedOnly = (query: Record<string, string | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(query)) if (v !== undefined) out[k] = v
  return out
}

/**
 * The usual handler: `expected` status → decode the body with `schema` (or return nothing for 204-style
 * answers), anything else → the operation's typed error.
 */
export const expect = <S extends DeclaredStatus>(expected: number, declared: ReadonlyArray<S>) => ({
  json: <A, I, R>(schema: Schema.Schema<A, I, R>) => {
    // The decoder is built here, once per handler, not per response.
    const decode = decodeJson(schema)
    const fail = failStatus(declared)
    return (response: HttpClientResponse.HttpClientResponse): Effect.Effect<A, StatusError<S> | TransportError, R> =>
      response.status === expected ? decode(response) : fail(response)
  },
  empty: (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void, StatusError<S>> =>
    response.status === expected ? Effect.void : failStatus(declared)(response)
})

/** The successes of an operation whose answer carries nothing to read: the spec's `204`, or `200` / `202`. */
const bodilessSuccesses: ReadonlySet<number> = new Set([200, 202, 204])

/**
 * The handler of an operation that answers nothing to read (a retraction, a secret set): `204`, `200` or `202`
 * succeed (a body is not read), anything else is the operation's typed error.
 */
export const expectDone = <S extends DeclaredStatus>(declared: ReadonlyArray<S>) => {
  const fail = failStatus(declared)
  return (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void, StatusError<S>> =>
    bodilessSuccesses.has(response.status) ? Effect.void : fail(response)
}

/**
 * Where a redirect answer leads: its `Location` resolved against the URL that was asked, or the `RedirectRefused`
 * saying why it is not followed — no `Location`, a malformed one, a target that is not `http(s)`, `https` to
 * `http`, or `hops` already at `maxHops`. The caller adds its own rule (an origin) on top.
 */
export const redirectTarget = (response: HttpClientResponse.HttpClientResponse, hops: number, maxHops: number): Effect.Effect<string, RedirectRefused> => {
  const info = describe(response.request)
  const location = response.headers["location"]?.trim()
  const refuse = (message: string) => Effect.fail(new RedirectRefused({ ...info, status: response.status, location: location ?? "", message }))
  if (location === undefined || location === "") return refuse("redirect without a Location header")
  let target: URL
  try {
    target = new URL(location, info.url)
  } catch {
    return refuse(`redirect to a malformed Location ${JSON.stringify(location.slice(0, 200))}`)
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") return refuse(`redirect to a ${target.protocol} URL is not followed`)
  if (target.protocol === "http:" && info.url.startsWith("https:")) return refuse("redirect from https to http is not followed")
  if (hops >= maxHops) return refuse(`more than ${maxHops} redirects`)
  return Effect.succeed(target.toString())
}

/** `GET <path>/<id>` of a record, with the id validated first and the standard read errors. */
export const readById = <A, I, U, UI>(options: {
  readonly path: string
  readonly urn: Schema.Schema<U, UI>
  readonly schema: Schema.Schema<A, I>
  readonly span: string
}) => {
  const handle = expect(200, readStatuses).json(options.schema)
  return (id: U | string): Effect.Effect<A, ReadError, IvcapClient> =>
    Effect.gen(function*() {
      const urn = yield* validate(options.urn, "id")(id)
      const client = yield* IvcapClient
      return yield* client.call(HttpClientRequest.get(`${options.path}/${pathSegment(String(urn))}`), handle)
    }).pipe(Effect.withSpan(options.span, { attributes: { "ivcap.id": String(id) } }))
}

const readStatuses = [400, 403, 404, 501] as const

/** The errors of reading one record by id. */
export type ReadError = StatusError<(typeof readStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout
