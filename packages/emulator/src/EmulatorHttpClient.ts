/**
 * An `HttpClient` that calls the emulator app in-process — no socket, no port: the client request becomes a server
 * request (its body streamed straight into the app), the app runs, and its response becomes the client response
 * (streamed back). Configure clients with {@link baseUrl}. Faults that cut connections surface as a
 * `RequestError` with reason `"Transport"` (before the response) or as a failing body stream (mid-response).
 * Platform-free: works in browsers too.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as HttpBodyModule from "@effect/platform/HttpBody"
import * as Cookies from "@effect/platform/Cookies"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ReadonlyRecord } from "effect/Record"
import * as Stream from "effect/Stream"
import { Emulator } from "./Emulator.js"
import * as EmulatorApp from "./EmulatorApp.js"

/**
 * The base URL clients must be configured with when using {@link layer}.
 * @since 0.1.0
 */
export const baseUrl = "http://ivcap.emulator.local"

/** A server request backed by an in-process client request (the body is the client's stream, read once). */
class InProcessRequest extends Inspectable.Class implements HttpServerRequest.HttpServerRequest {
  readonly [HttpServerRequest.TypeId]: HttpServerRequest.TypeId = HttpServerRequest.TypeId
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId

  constructor(
    readonly source: HttpClientRequest.HttpClientRequest,
    readonly method: HttpMethod,
    readonly url: string,
    readonly originalUrl: string,
    readonly headers: Headers.Headers,
    private readonly body: Stream.Stream<Uint8Array, unknown>
  ) {
    super()
  }

  toJSON(): unknown {
    return { _id: "@ivcap/emulator/InProcessRequest", method: this.method, url: this.originalUrl }
  }

  get remoteAddress(): Option.Option<string> {
    return Option.some("127.0.0.1")
  }

  get cookies(): ReadonlyRecord<string, string> {
    return Cookies.parseHeader(this.headers["cookie"] ?? "")
  }

  private decodeError(cause: unknown) {
    return new HttpServerError.RequestError({ request: this, reason: "Decode", cause })
  }

  get stream(): Stream.Stream<Uint8Array, HttpServerError.RequestError> {
    return Stream.mapError(this.body, (cause) => this.decodeError(cause))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpServerError.RequestError> {
    return Effect.map(Stream.runCollect(this.stream), (chunks) => {
      let size = 0
      for (const c of chunks) size += c.length
      const out = new Uint8Array(size)
      let o = 0
      for (const c of chunks) {
        out.set(c, o)
        o += c.length
      }
      return out.buffer
    })
  }

  get text(): Effect.Effect<string, HttpServerError.RequestError> {
    return Effect.map(this.arrayBuffer, (b) => new TextDecoder().decode(b))
  }

  get json(): Effect.Effect<unknown, HttpServerError.RequestError> {
    return Effect.flatMap(this.text, (t) =>
      Effect.try({ try: () => (t === "" ? null : JSON.parse(t)) as unknown, catch: (e) => this.decodeError(e) }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpServerError.RequestError> {
    return Effect.map(this.text, (t) => UrlParams.fromInput(new URLSearchParams(t)))
  }

  get multipart(): HttpServerRequest.HttpServerRequest["multipart"] {
    return Effect.dieMessage("multipart bodies are not supported by the in-process emulator client")
  }

  get multipartStream(): HttpServerRequest.HttpServerRequest["multipartStream"] {
    return Stream.dieMessage("multipart bodies are not supported by the in-process emulator client")
  }

  get upgrade(): HttpServerRequest.HttpServerRequest["upgrade"] {
    return Effect.fail(new HttpServerError.RequestError({ request: this, reason: "Decode", description: "no upgrade" }))
  }

  modify(options: { readonly url?: string; readonly headers?: Headers.Headers; readonly remoteAddress?: string }) {
    return new InProcessRequest(
      this.source,
      this.method,
      options.url ?? this.url,
      this.originalUrl,
      options.headers ?? this.headers,
      this.body
    )
  }
}

/** The client body as a byte stream, plus the headers a transport would derive from it. */
const bodyOf = (
  body: HttpBody.HttpBody
): { stream: Stream.Stream<Uint8Array, unknown>; contentType?: string; contentLength?: number } => {
  switch (body._tag) {
    case "Empty":
      return { stream: Stream.empty }
    case "Uint8Array":
      return { stream: Stream.succeed(body.body), contentType: body.contentType, contentLength: body.body.length }
    case "Stream":
      return {
        stream: body.stream,
        ...(body.contentType !== undefined ? { contentType: body.contentType } : {}),
        ...(body.contentLength !== undefined ? { contentLength: body.contentLength } : {})
      }
    case "FormData":
    case "Raw": {
      const response = new Response(body._tag === "FormData" ? body.formData : (body.body as BodyInit))
      const contentType = body._tag === "Raw" ? body.contentType : response.headers.get("content-type") ?? undefined
      return {
        stream: response.body === null ? Stream.empty : Stream.fromReadableStream(() => response.body!, (e) => e),
        ...(contentType !== undefined ? { contentType } : {}),
        ...(body._tag === "Raw" && body.contentLength !== undefined ? { contentLength: body.contentLength } : {})
      }
    }
  }
}

class ConnectionCut extends Error {
  constructor() {
    super("connection reset by the emulator (injected fault)")
  }
}

/**
 * An `HttpClient` running the emulator app in-process (requires the `Emulator` service).
 * @since 0.1.0
 */
export const layer: Layer.Layer<HttpClient.HttpClient, never, Emulator> = Layer.effect(
  HttpClient.HttpClient,
  Effect.gen(function*() {
    const emulator = yield* Emulator
    const runtime = yield* Effect.runtime<never>()
    return HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const cut = yield* Deferred.make<void>()
        const responded = yield* Deferred.make<HttpServerResponse.HttpServerResponse>()
        const body = bodyOf(request.body)
        const headers: Record<string, string> = { ...request.headers, host: url.host }
        if (body.contentType !== undefined && headers["content-type"] === undefined) {
          headers["content-type"] = body.contentType
        }
        if (body.contentLength !== undefined) headers["content-length"] = String(body.contentLength)
        const path = `${url.pathname}${url.search}`
        const serverRequest = new InProcessRequest(
          request,
          request.method,
          path,
          path,
          Headers.fromInput(headers),
          body.stream
        )
        const handled = HttpApp.toHandled(EmulatorApp.app, (_req, response) =>
          Effect.flatMap(
            Effect.sync(() => HttpApp.unsafeEjectStreamScope(response)),
            (r) => Deferred.succeed(responded, r)
          ))
        const server = yield* handled.pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, serverRequest),
          Effect.provideService(Emulator, emulator),
          Effect.provideService(EmulatorApp.Connection, { destroy: Deferred.succeed(cut, undefined) }),
          Effect.forkDaemon
        )
        const outcome = yield* Effect.raceFirst(
          Effect.map(Deferred.await(responded), (r) => Option.some(r)),
          Effect.as(Deferred.await(cut), Option.none<HttpServerResponse.HttpServerResponse>())
        ).pipe(Effect.onInterrupt(() => Fiber.interruptFork(server)))
        if (Option.isNone(outcome)) {
          yield* Fiber.interruptFork(server)
          return yield* Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              cause: new ConnectionCut(),
              description: "connection reset by the emulator (injected fault)"
            })
          )
        }
        let response = outcome.value
        const rb = response.body
        if (rb._tag === "Stream") {
          // a cut mid-body fails the body stream, as a reset socket would
          const failOnCut = Effect.zipRight(Deferred.await(cut), Effect.fail(new ConnectionCut()))
          response = HttpServerResponse.setBody(
            response,
            HttpBodyModule.stream(Stream.interruptWhen(rb.stream, failOnCut), rb.contentType, rb.contentLength)
          )
        } else if (rb._tag === "Uint8Array") {
          response = HttpServerResponse.setHeader(response, "content-length", String(rb.body.length))
        }
        const web = HttpServerResponse.toWeb(response, {
          withoutBody: request.method === "HEAD",
          runtime
        })
        return HttpClientResponse.fromWeb(request, web)
      })
    )
  })
)
