/**
 * Fault injection rules: make the emulator answer the next matching requests with a status, a delay, a stall, a cut
 * connection or a malformed body. Rules are injected with `Emulator.faults.inject(rule)` (or, except `MapBody`, over
 * HTTP with `POST /_emulator/faults`, decoded by {@link JsonFaultRule}).
 *
 * Matching: for each request, rules are tried in injection order; a rule matches when its `method` (case-insensitive)
 * and `path` (a string prefix of, or a RegExp tested against, the percent-decoded pathname) match. A matching rule
 * with `skip > 0` lets the request pass (decrementing `skip`) and the next rules are tried; otherwise the rule fires
 * and `times` is decremented (exhausted rules are dropped). CORS preflights and `/_emulator/*` routes are never
 * faulted.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * Which requests a rule applies to (all requests when absent).
 * @since 0.1.0
 */
export interface FaultMatch {
  readonly method?: string
  readonly path?: string | RegExp
}

const NonNegative = /*#__PURE__*/ Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const NonNegativeInt = /*#__PURE__*/ Schema.Int.pipe(Schema.nonNegative())

/**
 * Answer with `status` (the handler does not run). `body` defaults to the §2.1 error body for that status (none for
 * 401/503); `retryAfter` (seconds) sets `Retry-After`. JSON: `{"_tag":"Status","status":503,"retryAfter"?:2,"body"?:"…","contentType"?:"…"}`.
 * @since 0.1.0
 */
export const StatusAction = /*#__PURE__*/ Schema.TaggedStruct("Status", {
  status: Schema.Int.pipe(Schema.between(100, 599)),
  retryAfter: Schema.optionalWith(NonNegative, { exact: true }),
  body: Schema.optionalWith(Schema.String, { exact: true }),
  contentType: Schema.optionalWith(Schema.String, { exact: true })
})
/** @since 0.1.0 */
export type StatusAction = typeof StatusAction.Type

/**
 * Wait `millis` (real time), then handle the request normally. JSON: `{"_tag":"Delay","millis":1500}`.
 * @since 0.1.0
 */
export const DelayAction = /*#__PURE__*/ Schema.TaggedStruct("Delay", { millis: NonNegative })
/** @since 0.1.0 */
export type DelayAction = typeof DelayAction.Type

/**
 * Never answer; the request hangs until the client gives up (then everything is released). JSON: `{"_tag":"Stall"}`.
 * @since 0.1.0
 */
export const StallAction = /*#__PURE__*/ Schema.TaggedStruct("Stall", {})
/** @since 0.1.0 */
export type StallAction = typeof StallAction.Type

/**
 * Read `afterBytes` bytes of the request body, then drop the connection without a response. For a tus `PATCH` the
 * bytes read are stored and the upload offset advances, as with a real tus server. JSON:
 * `{"_tag":"CutRequestBody","afterBytes":65536}`.
 * @since 0.1.0
 */
export const CutRequestBodyAction = /*#__PURE__*/ Schema.TaggedStruct("CutRequestBody", { afterBytes: NonNegative })
/** @since 0.1.0 */
export type CutRequestBodyAction = typeof CutRequestBodyAction.Type

/**
 * Handle the request, send status, headers (with the full `Content-Length`) and `afterBytes` body bytes, then drop
 * the connection. JSON: `{"_tag":"CutResponse","afterBytes":1024}`.
 * @since 0.1.0
 */
export const CutResponseAction = /*#__PURE__*/ Schema.TaggedStruct("CutResponse", { afterBytes: NonNegative })
/** @since 0.1.0 */
export type CutResponseAction = typeof CutResponseAction.Type

/**
 * Rewrite the JSON body of a successful (2xx JSON) response. In-process only (a function cannot travel over HTTP).
 * @since 0.1.0
 */
export interface MapBodyAction {
  readonly _tag: "MapBody"
  readonly f: (json: unknown) => unknown
}

/**
 * Handle the request, then replace its body verbatim (e.g. truncated JSON, an HTML error page); `status` and
 * `contentType` default to those of the real response. JSON:
 * `{"_tag":"Malformed","body":"{\"items\":[","contentType"?:"application/json","status"?:200}`.
 * @since 0.1.0
 */
export const MalformedAction = /*#__PURE__*/ Schema.TaggedStruct("Malformed", {
  body: Schema.String,
  contentType: Schema.optionalWith(Schema.String, { exact: true }),
  status: Schema.optionalWith(Schema.Int.pipe(Schema.between(100, 599)), { exact: true })
})
/** @since 0.1.0 */
export type MalformedAction = typeof MalformedAction.Type

/**
 * Handle the request; if its response is a stream (e.g. job events over SSE), pass it on until `afterEvents` SSE
 * events carrying `data` have been sent (the cut happens at the end of the body chunk holding the last of them),
 * then drop the connection. A stream that ends before that ends normally. JSON: `{"_tag":"CutEvents","afterEvents":3}`.
 * @since 0.2.0
 */
export const CutEventsAction = /*#__PURE__*/ Schema.TaggedStruct("CutEvents", { afterEvents: NonNegativeInt })
/** @since 0.2.0 */
export type CutEventsAction = typeof CutEventsAction.Type

/**
 * The fault actions that can travel as JSON (every one but `MapBody`), as one Schema.
 * @since 0.2.0
 */
export const JsonFaultAction = /*#__PURE__*/ Schema.Union(
  StatusAction,
  DelayAction,
  StallAction,
  CutRequestBodyAction,
  CutResponseAction,
  MalformedAction,
  CutEventsAction
)

/**
 * What a fault does.
 * @since 0.1.0
 */
export type FaultAction = typeof JsonFaultAction.Type | MapBodyAction

/**
 * A fault rule: `times` (default 1) matching requests get `action`, after `skip` (default 0) matching requests were
 * let through. A listing read page by page needs `times` ≥ its number of pages for every page to be faulted.
 * @since 0.1.0
 */
export interface FaultRule {
  readonly match?: FaultMatch
  readonly times?: number
  readonly skip?: number
  readonly action: FaultAction
}

/** `match.path` over JSON: a string prefix, or `{"regex": "...", "flags"?: "i"}`. */
const PathMatch = /*#__PURE__*/ Schema.Union(
  Schema.String,
  Schema.transformOrFail(
    Schema.Struct({ regex: Schema.String, flags: Schema.optionalWith(Schema.String, { exact: true }) }),
    Schema.instanceOf(RegExp),
    {
      strict: true,
      decode: (input, _, ast) => {
        try {
          return ParseResult.succeed(new RegExp(input.regex, input.flags ?? ""))
        } catch (e) {
          return ParseResult.fail(new ParseResult.Type(ast, input, `not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`))
        }
      },
      encode: (re) => ParseResult.succeed(re.flags === "" ? { regex: re.source } : { regex: re.source, flags: re.flags })
    }
  )
)

/**
 * A fault rule as JSON (the body of `POST /_emulator/faults`), e.g.
 * `{"match":{"method":"GET","path":{"regex":"^/1/services$"}},"times":2,"skip":0,"action":{"_tag":"Status","status":503,"retryAfter":1}}`.
 * @since 0.2.0
 */
export const JsonFaultRule = /*#__PURE__*/ Schema.Struct({
  match: Schema.optionalWith(
    Schema.Struct({
      method: Schema.optionalWith(Schema.String, { exact: true }),
      path: Schema.optionalWith(PathMatch, { exact: true })
    }),
    { exact: true }
  ),
  times: Schema.optionalWith(NonNegativeInt, { exact: true }),
  skip: Schema.optionalWith(NonNegativeInt, { exact: true }),
  action: JsonFaultAction
})

/**
 * Decodes a fault rule sent as JSON; the error says what is wrong (`MapBody` is refused: a function cannot travel).
 * @since 0.2.0
 */
export const decodeRule = (json: unknown): Effect.Effect<FaultRule, string> =>
  Schema.decodeUnknown(JsonFaultRule)(json, { onExcessProperty: "error" }).pipe(
    Effect.mapError((error) => {
      const action = typeof json === "object" && json !== null ? (json as { readonly action?: { readonly _tag?: unknown } }).action : undefined
      return action?._tag === "MapBody"
        ? "MapBody is available in-process only (a function cannot be sent over HTTP)"
        : ParseResult.ArrayFormatter.formatErrorSync(error)
          .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(rule)"}: ${issue.message}`)
          .join("; ")
    })
  )

type RuleOptions = { readonly match?: FaultMatch; readonly times?: number; readonly skip?: number }

const rule = (action: FaultAction, options?: RuleOptions): FaultRule => ({ ...options, action })

/**
 * A rule answering `status` (optionally with `Retry-After: retryAfter` seconds).
 * @since 0.1.0
 */
export const status = (
  statusCode: number,
  options?: RuleOptions & { readonly retryAfter?: number; readonly body?: string; readonly contentType?: string }
): FaultRule => {
  const { body, contentType, retryAfter, ...rest } = options ?? {}
  return rule({
    _tag: "Status",
    status: statusCode,
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(contentType !== undefined ? { contentType } : {})
  }, rest)
}

/**
 * A rule delaying matching requests by `millis` (real time).
 * @since 0.1.0
 */
export const delay = (millis: number, options?: RuleOptions): FaultRule => rule({ _tag: "Delay", millis }, options)

/**
 * A rule that never answers.
 * @since 0.1.0
 */
export const stall = (options?: RuleOptions): FaultRule => rule({ _tag: "Stall" }, options)

/**
 * A rule dropping the connection after `afterBytes` request-body bytes.
 * @since 0.1.0
 */
export const cutRequestBody = (afterBytes: number, options?: RuleOptions): FaultRule =>
  rule({ _tag: "CutRequestBody", afterBytes }, options)

/**
 * A rule dropping the connection after `afterBytes` response-body bytes.
 * @since 0.1.0
 */
export const cutResponse = (afterBytes: number, options?: RuleOptions): FaultRule =>
  rule({ _tag: "CutResponse", afterBytes }, options)

/**
 * A rule dropping the connection of an event stream after `afterEvents` events (e.g. job events over SSE).
 * @since 0.2.0
 */
export const cutEvents = (afterEvents: number, options?: RuleOptions): FaultRule =>
  rule({ _tag: "CutEvents", afterEvents }, options)

/**
 * A rule rewriting the JSON body of successful responses (in-process only).
 * @since 0.1.0
 */
export const mapBody = (f: (json: unknown) => unknown, options?: RuleOptions): FaultRule =>
  rule({ _tag: "MapBody", f }, options)

/**
 * A rule replacing the response body verbatim.
 * @since 0.1.0
 */
export const malformed = (
  body: string,
  options?: RuleOptions & { readonly contentType?: string; readonly status?: number }
): FaultRule => {
  const { contentType, status: statusCode, ...rest } = options ?? {}
  return rule({
    _tag: "Malformed",
    body,
    ...(contentType !== undefined ? { contentType } : {}),
    ...(statusCode !== undefined ? { status: statusCode } : {})
  }, rest)
}

/**
 * Whether a rule's match applies to a request (`pathname` is percent-decoded).
 * @since 0.1.0
 */
export const matches = (match: FaultMatch | undefined, method: string, pathname: string): boolean => {
  if (match === undefined) return true
  if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false
  if (match.path === undefined) return true
  if (typeof match.path === "string") return pathname.startsWith(match.path)
  match.path.lastIndex = 0
  return match.path.test(pathname)
}
