/**
 * Fault injection rules: make the emulator answer the next matching requests with a status, a delay, a stall, a cut
 * connection or a malformed body. Rules are injected with `Emulator.faults.inject(rule)` (or, except `MapBody`, over
 * HTTP with `POST /_emulator/faults`).
 *
 * Matching: for each request, rules are tried in injection order; a rule matches when its `method` (case-insensitive)
 * and `path` (a string prefix of, or a RegExp tested against, the percent-decoded pathname) match. A matching rule
 * with `skip > 0` lets the request pass (decrementing `skip`) and the next rules are tried; otherwise the rule fires
 * and `times` is decremented (exhausted rules are dropped). CORS preflights and `/_emulator/*` routes are never
 * faulted.
 *
 * @since 0.1.0
 */

/**
 * Which requests a rule applies to (all requests when absent).
 * @since 0.1.0
 */
export interface FaultMatch {
  readonly method?: string
  readonly path?: string | RegExp
}

/**
 * Answer with `status` (the handler does not run). `body` defaults to the §2.1 error body for that status (none for
 * 401/503); `retryAfter` (seconds) sets `Retry-After`.
 * @since 0.1.0
 */
export interface StatusAction {
  readonly _tag: "Status"
  readonly status: number
  readonly retryAfter?: number
  readonly body?: string
  readonly contentType?: string
}

/**
 * Wait `millis` (real time), then handle the request normally.
 * @since 0.1.0
 */
export interface DelayAction {
  readonly _tag: "Delay"
  readonly millis: number
}

/**
 * Never answer; the request hangs until the client gives up (then everything is released).
 * @since 0.1.0
 */
export interface StallAction {
  readonly _tag: "Stall"
}

/**
 * Read `afterBytes` bytes of the request body, then drop the connection without a response. For a tus `PATCH` the
 * bytes read are stored and the upload offset advances, as with a real tus server.
 * @since 0.1.0
 */
export interface CutRequestBodyAction {
  readonly _tag: "CutRequestBody"
  readonly afterBytes: number
}

/**
 * Handle the request, send status, headers (with the full `Content-Length`) and `afterBytes` body bytes, then drop
 * the connection.
 * @since 0.1.0
 */
export interface CutResponseAction {
  readonly _tag: "CutResponse"
  readonly afterBytes: number
}

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
 * `contentType` default to those of the real response.
 * @since 0.1.0
 */
export interface MalformedAction {
  readonly _tag: "Malformed"
  readonly body: string
  readonly contentType?: string
  readonly status?: number
}

/**
 * Handle the request; if its response is a stream (e.g. job events over SSE), pass it on until `afterEvents` SSE
 * events carrying `data` have been sent (the cut happens at the end of the body chunk holding the last of them),
 * then drop the connection. A stream that ends before that ends normally.
 * @since 0.2.0
 */
export interface CutEventsAction {
  readonly _tag: "CutEvents"
  readonly afterEvents: number
}

/**
 * What a fault does.
 * @since 0.1.0
 */
export type FaultAction =
  | StatusAction
  | DelayAction
  | StallAction
  | CutRequestBodyAction
  | CutResponseAction
  | MapBodyAction
  | MalformedAction
  | CutEventsAction

/**
 * A fault rule: `times` (default 1) matching requests get `action`, after `skip` (default 0) matching requests were
 * let through.
 * @since 0.1.0
 */
export interface FaultRule {
  readonly match?: FaultMatch
  readonly times?: number
  readonly skip?: number
  readonly action: FaultAction
}

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
