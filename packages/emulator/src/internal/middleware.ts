/** The middleware around the routes: request recording, CORS, fault injection. */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Emulator, type RequestRecord, tokenTag } from "../Emulator.js"
import type * as Faults from "../Faults.js"
import { baseUrlOf, BodyCut, defaultErrorBody, json, splitUrl, takeBytes, unauthorizedResponse } from "./http.js"
import { fromUtf8, realSleep, utf8 } from "./util.js"

/**
 * The transport under a request, so faults can drop it. `EmulatorServer` (Node sockets) and `EmulatorHttpClient`
 * (in-process) provide it; without it, cut faults fail the request instead.
 */
export class Connection extends Context.Tag("@ivcap/emulator/Connection")<Connection, {
  /** Drops the connection after flushing what was written (no further response). */
  readonly destroy: Effect.Effect<void>
}>() {}

const isAdmin = (pathname: string) => pathname === "/_emulator" || pathname.startsWith("/_emulator/")

const isPreflight = (request: HttpServerRequest.HttpServerRequest) =>
  request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined

/** The longest header value the request log keeps (longer ones are cut). */
const maxLoggedHeader = 1024

/** A request as the log keeps it: no `Authorization` value, long header values cut. */
const recordOf = (
  request: HttpServerRequest.HttpServerRequest,
  authorized: (authorization: string | undefined) => boolean,
  at: number
): RequestRecord => {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(request.headers)) {
    if (k === "authorization" || k === "proxy-authorization") continue
    headers[k] = v.length > maxLoggedHeader ? `${v.slice(0, maxLoggedHeader)}…` : v
  }
  const header = request.headers["authorization"]
  const auth = header === undefined ? "none" : authorized(header) ? "token" : "other"
  const bearer = header === undefined ? null : /^\s*bearer\s+(\S+)\s*$/i.exec(header)
  return {
    method: request.method,
    url: `${baseUrlOf(request)}${request.url}`,
    headers,
    auth,
    ...(bearer !== null ? { tokenTag: tokenTag(bearer[1]!) } : {}),
    at
  }
}

/** Records every request (except `/_emulator/*`) that got past the guard, and counts it in flight. */
export const recorder = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    const emu = yield* Emulator
    const request = yield* HttpServerRequest.HttpServerRequest
    const { pathname } = splitUrl(request)
    if (isAdmin(pathname)) return yield* app
    emu.internal.record(recordOf(request, emu.internal.authorized, emu.internal.state.now()))
    emu.internal.inFlight(1)
    return yield* Effect.ensuring(app, Effect.sync(() => emu.internal.inFlight(-1)))
  })

/**
 * The first thing a request meets: an `Origin` CORS does not allow gets 403, and a request needing the token
 * (every route but the public ones, e.g. tus `OPTIONS` and `/_emulator/health`) without it gets 401 — before it is
 * recorded or can match (and use up) a fault rule. CORS preflights pass (they carry no token).
 */
export const guard = (isPublic: (method: string, request: HttpServerRequest.HttpServerRequest) => boolean) =>
<E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    const emu = yield* Emulator
    const request = yield* HttpServerRequest.HttpServerRequest
    const origin = request.headers["origin"]
    if (origin !== undefined && !emu.internal.allowsOrigin(origin)) {
      emu.internal.rejected("badOrigin")
      return json({ message: `origin '${origin}' is not allowed (the emulator allows loopback origins; see its CORS option)` }, 403)
    }
    if (isPreflight(request) || isPublic(request.method, request) || emu.internal.authorized(request.headers["authorization"])) {
      return yield* app
    }
    emu.internal.rejected(request.headers["authorization"] === undefined ? "withoutToken" : "withOtherToken")
    return HttpServerResponse.setHeaders(unauthorizedResponse(), corsHeaders(origin))
  })

const exposed = [
  "Location",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Defer-Length",
  "Tus-Resumable",
  "Tus-Version",
  "Tus-Extension",
  "Tus-Max-Size",
  "Retry-After",
  "Content-Range",
  "Content-Length",
  "Accept-Ranges",
  "ETag",
  "Last-Modified"
].join(", ")

const allowed = [
  "Authorization",
  "Content-Type",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Defer-Length",
  "Upload-Metadata",
  "Tus-Resumable",
  "X-Name",
  "X-Content-Type",
  "X-Content-Length",
  "X-Collection",
  "X-Policy",
  "Range",
  "If-Range",
  "If-None-Match",
  "Cache-Control",
  "X-Requested-With"
]

/** The CORS headers of a response to a request from `origin` (already allowed by the guard). */
const corsHeaders = (origin: string | undefined): Record<string, string> => ({
  "access-control-allow-origin": origin ?? "*",
  ...(origin !== undefined ? { vary: "Origin" } : {}),
  "access-control-expose-headers": exposed
})

/**
 * CORS on everything (the guard has already refused origins that are not allowed): preflights (`OPTIONS` with
 * `Access-Control-Request-Method`) are answered here (204); other
 * responses get `Access-Control-Allow-Origin` (the request's origin, or `*`) and the exposed headers. Requested
 * headers beyond the list (e.g. `traceparent`, `b3`) are allowed too.
 */
export const cors = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const base = corsHeaders(request.headers["origin"])
    if (isPreflight(request)) {
      const requested = (request.headers["access-control-request-headers"] ?? "")
        .split(",").map((h) => h.trim()).filter((h) => h !== "")
      const extra = requested.filter((h) => !allowed.some((a) => a.toLowerCase() === h.toLowerCase()))
      return HttpServerResponse.empty({
        status: 204,
        headers: {
          ...base,
          "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
          "access-control-allow-headers": [...allowed, ...extra].join(", "),
          "access-control-max-age": "600"
        }
      })
    }
    return HttpServerResponse.setHeaders(yield* app, base)
  })

/** The body of a response as bytes (for MapBody / Malformed), when it is a buffered body. */
const bodyBytes = (response: HttpServerResponse.HttpServerResponse): Uint8Array | undefined =>
  response.body._tag === "Uint8Array" ? response.body.body : response.body._tag === "Empty" ? new Uint8Array(0) : undefined

/**
 * How to drop this request's connection. Resolved while the app runs: a response body stream runs later, outside
 * the app's context.
 */
const connectionDestroyer = Effect.map(
  Effect.serviceOption(Connection),
  Option.match({
    onNone: () => Effect.dieMessage("cut faults need a Connection (EmulatorServer or EmulatorHttpClient)"),
    onSome: (c) => c.destroy
  })
)

/** A response with a new buffered body (headers describing the old body are dropped). */
const replaceBody = (response: HttpServerResponse.HttpServerResponse, bytes: Uint8Array, contentType: string) => {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(response.headers)) {
    if (k !== "content-length" && k !== "content-range" && k !== "content-type") headers[k] = v
  }
  return HttpServerResponse.uint8Array(bytes, { status: response.status, headers, contentType })
}

const applyFault = <E, R>(
  app: HttpApp.Default<E, R>,
  action: Faults.FaultAction,
  request: HttpServerRequest.HttpServerRequest,
  pathname: string
) =>
  Effect.gen(function*() {
    switch (action._tag) {
      case "Status": {
        const fallback = defaultErrorBody(action.status, `${baseUrlOf(request)}${pathname}`)
        const text = action.body ?? (fallback === undefined ? undefined : JSON.stringify(fallback))
        const headers = action.retryAfter !== undefined ? { "retry-after": String(action.retryAfter) } : undefined
        return text === undefined
          ? HttpServerResponse.empty({ status: action.status, ...(headers ? { headers } : {}) })
          : HttpServerResponse.text(text, {
            status: action.status,
            contentType: action.contentType ?? "application/json",
            ...(headers ? { headers } : {})
          })
      }
      case "Delay": {
        yield* realSleep(action.millis)
        return yield* app
      }
      case "Stall":
        // Read (and drop) the request body first: a server that stops reading never notices the client giving up
        // on a large PATCH, and its shutdown would then wait for that connection forever.
        yield* Stream.runDrain(request.stream).pipe(Effect.ignore)
        return yield* Effect.never
      case "CutRequestBody": {
        let used = false
        // the handler sees only the first `afterBytes` bytes (a tus PATCH stores them), then the connection drops
        yield* app.pipe(
          Effect.provideService(BodyCut, {
            afterBytes: action.afterBytes,
            markUsed: () => {
              used = true
            }
          }),
          Effect.catchAllCause(() => Effect.void)
        )
        if (!used && request.method !== "GET" && request.method !== "HEAD") {
          yield* Stream.runDrain(takeBytes(request.stream, action.afterBytes)).pipe(Effect.ignore)
        }
        yield* Effect.flatten(connectionDestroyer)
        return yield* Effect.never
      }
      case "CutResponse": {
        const destroy = yield* connectionDestroyer
        const response = yield* app
        const body = response.body
        let stream: Stream.Stream<Uint8Array, unknown>
        let length: number | undefined
        if (body._tag === "Stream") {
          stream = body.stream
          length = body.contentLength
        } else {
          const bytes = bodyBytes(response) ?? new Uint8Array(0)
          stream = Stream.succeed(bytes)
          length = bytes.length
        }
        const cut = takeBytes(stream, action.afterBytes).pipe(
          Stream.concat(Stream.fromEffect(destroy).pipe(Stream.drain)),
          Stream.concat(Stream.never)
        )
        return HttpServerResponse.setBody(
          length !== undefined ? HttpServerResponse.setHeader(response, "content-length", String(length)) : response,
          HttpBody.stream(cut, body._tag === "Empty" ? undefined : body.contentType, length)
        )
      }
      case "CutEvents": {
        const destroy = yield* connectionDestroyer
        const response = yield* app
        if (response.body._tag !== "Stream") return response
        const body = response.body
        let seen = 0
        let carry = ""
        const decoder = new TextDecoder()
        const counted = body.stream.pipe(
          Stream.takeUntil((chunk) => {
            const blocks = (carry + decoder.decode(chunk, { stream: true })).replace(/\r\n?/g, "\n").split("\n\n")
            carry = blocks.pop() ?? ""
            seen += blocks.filter((b) => /^data:/m.test(b)).length
            return seen >= action.afterEvents
          })
        )
        const cut = Stream.concat(
          action.afterEvents === 0 ? Stream.empty : counted,
          Stream.suspend(() =>
            seen >= action.afterEvents
              ? Stream.fromEffect(destroy).pipe(Stream.drain, Stream.concat(Stream.never))
              : Stream.empty
          )
        )
        return HttpServerResponse.setBody(response, HttpBody.stream(cut, body.contentType, body.contentLength))
      }
      case "MapBody": {
        const response = yield* app
        const bytes = bodyBytes(response)
        const text = bytes === undefined ? undefined : fromUtf8(bytes)
        const isJson = response.body._tag === "Uint8Array" && (response.body.contentType ?? "").includes("json")
        if (response.status < 200 || response.status >= 300 || text === undefined || !isJson || text === "") {
          return response
        }
        // The test's function, or the serialisation of what it returns (a value nested too deep, a cycle), may
        // throw: a 500 saying so, rather than a request that never gets an answer.
        try {
          const mapped = action.f(JSON.parse(text) as unknown)
          return replaceBody(response, utf8(JSON.stringify(mapped) ?? "null"), "application/json")
        } catch (e) {
          return json({ message: `the MapBody fault's function failed: ${e instanceof Error ? e.message : String(e)}` }, 500)
        }
      }
      case "Malformed": {
        const response = yield* app
        const contentType = action.contentType ??
          (response.body._tag === "Empty" ? "application/json" : response.body.contentType ?? "application/json")
        const withBody = replaceBody(response, utf8(action.body), contentType)
        return action.status !== undefined ? HttpServerResponse.setStatus(withBody, action.status) : withBody
      }
    }
  })

/** Applies the first matching fault rule (never to CORS preflights or `/_emulator/*`). */
export const faults = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    const emu = yield* Emulator
    const request = yield* HttpServerRequest.HttpServerRequest
    const { pathname } = splitUrl(request)
    if (isAdmin(pathname) || isPreflight(request)) return yield* app
    const action = emu.internal.takeFault(request.method, pathname)
    if (action === undefined) return yield* app
    return yield* applyFault(app, action, request, pathname)
  })
