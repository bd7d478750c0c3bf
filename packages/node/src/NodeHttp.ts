/**
 * The `HttpClient` of `@ivcap/node`'s layers: undici (a lean `Effect.async` around its `Dispatcher.request`, see
 * below) for every request, except the requests of transfers, which go each on an HTTP/1.1 connection of its own
 * (`node:net`, `node:tls` for https):
 * - a download's `GET`s (sent while `Download.IterableBodies` is set): the socket reads straight into 1 MiB slabs
 *   and the body goes to the download engine as views of them (`Download.IterableBodyKey`), with no Node or Web
 *   stream and no allocation per read: about a third of the client CPU per GiB of undici's body stream here
 *   (BENCHMARKS.md, "Download");
 * - an upload's requests (sent while `Upload.TransferRequests` is set: the record's creation, the tus `PATCH`es and
 *   `HEAD`s, the record read after it), with a body in memory or a file source's buffers
 *   (`UploadSource.IterableBody`, each written to the socket before the next is read).
 *
 * Neither loads undici's WebAssembly HTTP parser, whose optimising compile at a process's first undici request
 * costs ~35 MiB of peak RSS (BENCHMARKS.md, "HTTP client"): a program that only uploads or downloads never pays it.
 * A new connection per request costs a TCP (and TLS) handshake, small next to a chunk of 8 MiB or more; and as no
 * connection is reused, a request never meets one its server has just closed (for a `POST`, that is a failure no
 * client can safely retry).
 *
 * Such a response is a complete `HttpClientResponse` too (`json`, `text`, `stream`, … for error bodies): the
 * request passes the client's credentials, gate and retries like any other, the token goes only where the request
 * sends it, and interruption closes the connection. Not used: proxies (undici's `Agent` uses none either). A body
 * of another kind (a `Stream`, `FormData`) goes through undici.
 *
 * The client is `IvcapClient.SignalAware`: every request, direct or through undici, and the reading of its body,
 * stops when the attempt's `IvcapClient.AttemptSignal` aborts, so `IvcapClient.call` times attempts out with one
 * host timer instead of a timer fiber. It offers the same sending as an `IvcapClient.AttemptTransport` (the
 * attempt's signal and the tracer-propagation choice as arguments), which `call` uses directly. Through undici,
 * requests go without the platform client's per-request registry, response wrapper and header attributes (about a
 * quarter of a listed page's client CPU together with the timer fiber: BENCHMARKS.md, "Listing"). Every request, either way, has one span (`http.client <METHOD>`: method,
 * URL, status) and carries trace-context headers when `HttpClient.withTracerPropagation` asks for them.
 *
 * @since 0.2.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Undici from "@effect/platform-node/Undici"
import * as Download from "@ivcap/core/Download"
import * as IvcapClient from "@ivcap/core/IvcapClient"
import * as Upload from "@ivcap/core/Upload"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CurrentSlabs, direct, type DirectRequestBody, type DirectResponse, type Slabs } from "./internal/direct.js"
import { fromFiber, type SendRequest, sendWith } from "./internal/send.js"
import * as UndiciRequest from "./internal/undici.js"

/** Statuses whose responses have no body (a Web `Response` refuses one). */
const nullBodyStatuses: ReadonlySet<number> = new Set([204, 205, 304])

/** A direct response as a platform response, with its body also under `Download.IterableBodyKey`. */
const toResponse = (request: HttpClientRequest.HttpClientRequest, direct: DirectResponse): HttpClientResponse.HttpClientResponse => {
  const headers = new Headers()
  for (const [name, value] of direct.headers) headers.append(name, value)
  const { body } = direct
  // The Web stream exists for the platform's readers (error bodies as JSON, `stream` for other consumers); it pulls
  // only when read, so a body read through the iterable is never read twice.
  const web = nullBodyStatuses.has(direct.status) ? null : new ReadableStream<Uint8Array>({
    pull: (controller) =>
      body.next().then((r) => {
        if (r.done === true) controller.close()
        else controller.enqueue(r.value)
      }),
    cancel: () => body.close()
  }, { highWaterMark: 0 })
  if (web === null) body.close()
  const response = HttpClientResponse.fromWeb(request, new Response(web, { status: direct.status, headers }))
  return Object.assign(response, { [Download.IterableBodyKey]: body })
}

/** The body of a request as the direct path sends it; `null` for a body it does not send (a `Stream`, `FormData`). */
const directBody = (body: HttpClientRequest.HttpClientRequest["body"]): DirectRequestBody | undefined | null => {
  switch (body._tag) {
    case "Empty":
      return undefined
    case "Uint8Array":
      return { length: body.body.length, bytes: body.body }
    case "Raw": {
      const bytes = body.body as Partial<AsyncIterable<Uint8Array>> | null
      return body.contentLength !== undefined && typeof bytes?.[Symbol.asyncIterator] === "function"
        ? { length: body.contentLength, bytes: bytes as AsyncIterable<Uint8Array> }
        : null
    }
    default:
      return null
  }
}

/** Sends a request directly (see the module comment); interruption closes the connection. */
const sendDirect = (
  request: HttpClientRequest.HttpClientRequest,
  body: DirectRequestBody | undefined,
  slabs: Slabs | undefined,
  attempt: AbortSignal | undefined,
  propagate: boolean
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  sendWith(request, (url, headers, controller) =>
    direct({ method: request.method, url, headers, body }, controller.signal, slabs).then((response) => {
      try {
        return toResponse(request, response)
      } catch (cause) {
        // Headers or a status a Web `Response` refuses.
        response.body.close()
        throw cause
      }
    }), attempt, propagate)

/** Sends one request the way its kind goes (see the module comment). */
const route = (dispatcher: Undici.Dispatcher): SendRequest => (req, attempt, propagate) =>
  // The flags read from one look at the context rather than one effect each: this runs per request.
  Effect.contextWithEffect((context: Context.Context<never>) => {
    if (Context.get(context, Download.IterableBodies) && req.method === "GET" && req.body._tag === "Empty") {
      return sendDirect(req, undefined, Context.get(context, CurrentSlabs), attempt, propagate)
    }
    const body = Context.get(context, Upload.TransferRequests) ? directBody(req.body) : null
    return body === null ? UndiciRequest.send(dispatcher, req, attempt, propagate) : sendDirect(req, body, undefined, attempt, propagate)
  })

/**
 * An `HttpClient` that sends the requests of transfers directly and everything else with `dispatcher` (undici; see
 * the module comment). It is `IvcapClient.SignalAware` and offers an `IvcapClient.AttemptTransport`.
 *
 * @since 0.2.0
 */
export const make = (dispatcher: Undici.Dispatcher): HttpClient.HttpClient => {
  const send = route(dispatcher)
  return Object.assign(
    HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>((request) => Effect.flatMap(request, fromFiber(send)), Effect.succeed),
    { [IvcapClient.SignalAware]: true, [IvcapClient.AttemptTransport]: send satisfies IvcapClient.AttemptSend }
  )
}

/**
 * The client of {@link make} over a new undici `Agent` (`NodeHttpClient.dispatcherLayer`, closed with the layer):
 * what `IvcapNode.layer` and `IvcapNode.layerPlatform` provide as `HttpClient`.
 *
 * @since 0.2.0
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.effect(HttpClient.HttpClient, Effect.map(NodeHttpClient.Dispatcher, make)).pipe(
  Layer.provide(NodeHttpClient.dispatcherLayer)
)
