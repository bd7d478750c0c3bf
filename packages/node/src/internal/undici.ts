/**
 * `NodeHttp`'s requests outside transfers: one `Effect.async` around undici's `Dispatcher.request`, and a response
 * whose body readers are plain promises of undici's body mixins. It exists for what it leaves out of the platform's
 * undici client: a per-request abort controller registry, the response wrapper that re-checks interruption on every
 * read, and a span with every request and response header as attributes — together about a quarter of a listed
 * page's client CPU (BENCHMARKS.md, "Listing") — and for what it adds: the request and the reading of its body stop
 * when the attempt's `IvcapClient.AttemptSignal` aborts, so `IvcapClient.call` times an attempt out without a fiber.
 *
 * Kept: a span per request and trace-context headers when asked for (`send.ts`, shared with the direct path),
 * interruption aborting the request or the body being read, and a response dropped unread freeing its connection
 * once it is garbage-collected.
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type * as Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import { sendWith } from "./send.js"

type ResponseData = Undici.Dispatcher.ResponseData

/** Aborts the request of a response that was dropped without its body being read (its connection is then freed). */
const unread = new FinalizationRegistry<AbortController>((controller) => controller.abort())

/** A response over undici's `ResponseData`; each body reader reads once and keeps its result. */
class UndiciResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  private cachedHeaders: Headers.Headers | undefined
  private cachedCookies: Cookies.Cookies | undefined
  private textBody: Promise<string> | undefined
  private bytesBody: Promise<ArrayBuffer> | undefined
  private formBody: Promise<FormData> | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    private readonly source: ResponseData,
    private readonly controller: AbortController
  ) {
    super()
    source.body.on("error", () => undefined)
    unread.register(this, controller, this)
  }

  get status(): number {
    return this.source.statusCode
  }

  get statusText(): string | undefined {
    return undefined
  }

  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(this.source.headers as Headers.Input)
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.source.headers["set-cookie"]
    return this.cachedCookies = header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private failure(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  /** Reads the body with `read` (once); interruption aborts the request, which ends the read. */
  private read<A>(read: () => Promise<A>): Effect.Effect<A, HttpClientError.ResponseError> {
    return Effect.async<A, HttpClientError.ResponseError>((resume) => {
      // Read (or about to be): no longer a dropped response.
      unread.unregister(this)
      read().then((a) => resume(Effect.succeed(a)), (cause) => resume(Effect.fail(this.failure(cause))))
      return Effect.sync(() => this.controller.abort())
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    unread.unregister(this)
    return NodeStream.fromReadable(() => this.source.body, (cause) => this.failure(cause))
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.read(() => this.textBody ??= this.source.body.text())
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => (text === "" ? null : JSON.parse(text) as unknown), catch: (cause) => this.failure(cause) }))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return this.read(() => this.bytesBody ??= this.source.body.arrayBuffer())
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return this.read(() => this.formBody ??= this.source.body.formData() as Promise<FormData>)
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: (cause) => this.failure(cause) }))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, { _id: "@effect/platform/HttpClientResponse", request: this.request.toJSON(), status: this.status })
  }
}

/** The body as undici takes it. */
type Body = Exclude<Undici.Dispatcher.DispatchOptions["body"], undefined>

const bodyOf = (body: HttpBody.HttpBody): Body => {
  switch (body._tag) {
    case "Empty":
      return null
    case "Uint8Array":
    case "Raw":
      return body.body as Uint8Array
    case "FormData":
      return body.formData as unknown as Body
    case "Stream":
      return NodeStream.toReadableNever(body.stream)
  }
}

/**
 * Sends `request` with `dispatcher` (see the module comment). The request stops when the fiber is interrupted or
 * the attempt's signal aborts; so does the reading of the response's body.
 */
export const send = (
  dispatcher: Undici.Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  attempt: AbortSignal | undefined,
  propagate: boolean
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  sendWith(request, (url, headers, controller) =>
    dispatcher.request({
      method: request.method as Undici.Dispatcher.HttpMethod,
      origin: url.origin,
      path: url.pathname + url.search,
      headers,
      body: bodyOf(request.body),
      signal: controller.signal,
      // Timeouts are the attempt's (IvcapClient.call), not undici's.
      headersTimeout: 60 * 60 * 1000,
      bodyTimeout: 0
    }).then((data) => new UndiciResponse(request, data, controller)), attempt, propagate)
