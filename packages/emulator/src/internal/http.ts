/** HTTP helpers: JSON responses, the §2.1 error bodies, base URL, request bodies. */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fromUtf8 } from "./util.js"

/** A failure that is already an HTTP answer. */
export class HttpFail extends Data.TaggedError("HttpFail")<{ readonly response: HttpServerResponse.HttpServerResponse }> {}

/** A JSON response (keys as given; callers never put `null`/`undefined` in). */
export const json = (
  body: unknown,
  status = 200,
  headers?: Record<string, string>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(body), {
    status,
    contentType: "application/json",
    ...(headers !== undefined ? { headers } : {})
  })

const fail = (response: HttpServerResponse.HttpServerResponse) => Effect.fail(new HttpFail({ response }))

/** 400 `BadRequestT` `{message}`. */
export const badRequestResponse = (message: string) => json({ message }, 400)

/**
 * 400 as stock goa answers request-validation failures: its `ServiceError` JSON (it has `message`, so it also
 * parses as `BadRequestT`). **(inferred** from goa v3 conventions, wire doc §2.1**)**
 */
export const goaValidation = (name: string, message: string) =>
  fail(json({ name, id: "emulator", message, temporary: false, timeout: false, fault: false }, 400))

/** 400 `{message}`. */
export const badRequest = (message: string) => fail(badRequestResponse(message))

/** 404 `ResourceNotFoundT` `{id, message}`. */
export const notFoundResponse = (id: string, message?: string) =>
  json({ id, message: message ?? `Resource ${id} not found` }, 404)

/** 404 `ResourceNotFoundT`. */
export const notFound = (id: string, message?: string) => fail(notFoundResponse(id, message))

/** 422 `InvalidParameterT` `{name, message, value?}`. */
export const invalidParameter = (name: string, message: string, value?: string) =>
  fail(json(value === undefined ? { name, message } : { name, message, value }, 422))

/** 415 `{message}`. */
export const unsupportedContentType = (message: string) => fail(json({ message }, 415))

/** 424 `{message}` (not-unique). */
export const notUnique = (message: string) => fail(json({ message }, 424))

/** 501 `{message}` for an IVCAP method the emulator does not implement. */
export const notImplementedResponse = (method: string) =>
  json({ message: `Method '${method}' not implemented` }, 501)

/** 401 without a body. */
export const unauthorizedResponse = () => HttpServerResponse.empty({ status: 401 })

/** The default error body of a status, per §2.1 (used by `Status` faults without an explicit body). */
export const defaultErrorBody = (status: number, id: string): unknown | undefined => {
  switch (status) {
    case 401:
    case 503:
      return undefined
    case 404:
      return { id, message: `Resource ${id} not found` }
    case 403:
      return { message: "Not authorized to perform this action" }
    case 422:
      return { name: "request", message: "Request contained semantically wrong parameter value" }
    default:
      return status >= 400 ? { message: defaultMessages[status] ?? `Request failed with status ${status}` } : undefined
  }
}

const defaultMessages: Record<number, string> = {
  400: "Having problem with some of the supplied information",
  408: "Request timeout",
  409: "Conflict",
  415: "Unsupported content type",
  424: "Resource is not unique",
  429: "Too many requests",
  500: "Internal server error",
  501: "Method not implemented",
  502: "Bad gateway",
  504: "Gateway timeout"
}

/**
 * The base URL links are built from: the request's `Host` (and `X-Forwarded-Proto`), so links are right whatever
 * port the server got.
 */
export const baseUrlOf = (request: HttpServerRequest.HttpServerRequest): string => {
  const host = request.headers["x-forwarded-host"] ?? request.headers["host"] ?? "ivcap.emulator.local"
  const proto = (request.headers["x-forwarded-proto"] ?? "http").split(",")[0]!.trim()
  return `${proto}://${host.split(",")[0]!.trim()}`
}

/** The percent-decoded pathname and the query of a request. */
export const splitUrl = (request: HttpServerRequest.HttpServerRequest): { pathname: string; search: string } => {
  const q = request.url.indexOf("?")
  const rawPath = q === -1 ? request.url : request.url.slice(0, q)
  let pathname = rawPath
  try {
    pathname = decodeURIComponent(rawPath)
  } catch {
    // keep raw
  }
  return { pathname, search: q === -1 ? "" : request.url.slice(q + 1) }
}

/** Query parameters (`+` is a space, as `application/x-www-form-urlencoded`). */
export const queryOf = (request: HttpServerRequest.HttpServerRequest): URLSearchParams =>
  new URLSearchParams(splitUrl(request).search)

/**
 * Set by the `CutRequestBody` fault: handlers see only the first `afterBytes` bytes of the request body (which then
 * ends); the connection is dropped after the handler ran.
 */
export class BodyCut extends Context.Tag("@ivcap/emulator/internal/BodyCut")<BodyCut, {
  readonly afterBytes: number
  /** Called when a handler takes the body. */
  readonly markUsed: () => void
}>() {}

/** At most `n` bytes of a byte stream. */
export const takeBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, n: number): Stream.Stream<Uint8Array, E, R> =>
  Stream.suspend(() => {
    let left = n
    return stream.pipe(
      Stream.takeWhile(() => left > 0),
      Stream.map((chunk) => {
        const part = chunk.length <= left ? chunk : chunk.subarray(0, left)
        left -= part.length
        return part
      })
    )
  })

/** The request body as a stream, honouring a `CutRequestBody` fault. */
export const bodyStream = (
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<Stream.Stream<Uint8Array, unknown>> =>
  Effect.map(Effect.serviceOption(BodyCut), (cut) => {
    if (Option.isNone(cut)) return request.stream
    cut.value.markUsed()
    return takeBytes(request.stream, cut.value.afterBytes)
  })

/** The largest JSON request body the emulator reads (16 MiB). */
export const maxJsonBody = 16 * 1024 * 1024

/**
 * How much of an oversized request body is read and dropped after the limit, so that the client — still sending —
 * gets to read the 413 instead of a connection reset. Beyond this the connection is dropped.
 */
export const maxDrainBytes = 1024 * 1024 * 1024

/** Reads and drops what is left of a request body (at most {@link maxDrainBytes}); never fails. */
export const drainBody = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<void> =>
  Effect.flatMap(bodyStream(request), (stream) => Stream.runDrain(takeBytes(stream, maxDrainBytes))).pipe(Effect.ignore)

/** 413 `{message}`. */
export const tooLargeResponse = (message: string, headers?: Record<string, string>) => json({ message }, 413, headers)

/**
 * Reads a (JSON) request body as text; 413 `{message}` beyond 16 MiB (the rest of the body is read and dropped
 * first, so the client sees the answer), 400 when not UTF-8 or the read fails.
 */
export const bodyText = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<string, HttpFail> =>
  Effect.gen(function*() {
    const tooLarge = () =>
      fail(tooLargeResponse(`the request body exceeds ${maxJsonBody} bytes (the emulator's limit for JSON bodies)`))
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxJsonBody) {
      yield* drainBody(request)
      return yield* tooLarge()
    }
    const stream = yield* bodyStream(request)
    let chunks: Array<Uint8Array> = []
    let size = 0
    yield* Stream.runForEach(stream, (c) =>
      Effect.suspend(() => {
        size += c.length
        if (size <= maxJsonBody) chunks.push(c)
        else if (size > maxJsonBody + maxDrainBytes) return tooLarge()
        else chunks = []
        return Effect.void
      })).pipe(
        Effect.catchAll((e) => e instanceof HttpFail ? Effect.fail(e) : badRequest("could not read the request body"))
      )
    if (size > maxJsonBody) return yield* tooLarge()
    const all = new Uint8Array(size)
    let o = 0
    for (const c of chunks) {
      all.set(c, o)
      o += c.length
    }
    const text = fromUtf8(all)
    if (text === undefined) return yield* badRequest("request body is not valid UTF-8")
    return text
  })

/** Parses a JSON request body; malformed JSON → 400 (as goa's decoder **(inferred)**). */
export const bodyJson = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<unknown, HttpFail> =>
  Effect.flatMap(bodyText(request), (text) =>
    Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new HttpFail({ response: badRequestResponse(`request body is not valid JSON`) })
    }))

/** The media type of a `Content-Type` header (lower case, no parameters). */
export const mediaType = (header: string | undefined): string | undefined =>
  header === undefined ? undefined : header.split(";")[0]!.trim().toLowerCase()
