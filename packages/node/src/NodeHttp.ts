/**
 * The `HttpClient` of `@ivcap/node`'s layers: undici (`NodeHttpClient.layerUndici`) for every request, except the
 * content `GET`s of downloads (sent while `Download.IterableBodies` is set), which go on their own HTTP/1.1
 * connection (`node:net`, `node:tls` for https) that reads the socket straight into 1 MiB slabs and hands the body
 * to the download engine as views of them (`Download.IterableBodyKey`): no Node or Web stream and no allocation
 * per read, and no WebAssembly HTTP parser (whose optimising compile costs undici ~30 MiB of RSS). About a third of
 * the client CPU per GiB of undici's body stream here (BENCHMARKS.md, "Download").
 *
 * Such a response is a complete `HttpClientResponse` too (`json`, `text`, `stream`, … for error bodies): the
 * request passes the client's credentials, gate and retries like any other, the token goes only where the request
 * sends it, and interruption closes the connection. Not used: proxies (undici's `Agent` uses none either) and
 * connection reuse (one connection per content request, closed at the end of the body).
 *
 * @since 0.3.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Download from "@ivcap/core/Download"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { CurrentSlabs, directGet, type DirectResponse, type Slabs } from "./internal/directGet.js"

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

/** Sends a `GET` directly (see the module comment); interruption closes the connection. */
const sendDirect = (
  request: HttpClientRequest.HttpClientRequest,
  slabs: Slabs | undefined
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Either.match(UrlParams.makeUrl(request.url, request.urlParams, request.hash), {
    onLeft: (cause) => Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause })),
    onRight: (url) =>
      Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
        const controller = new AbortController()
        directGet(url, request.headers, controller.signal, slabs).then(
          (direct) => {
            try {
              resume(Effect.succeed(toResponse(request, direct)))
            } catch (cause) {
              // Headers or a status a Web `Response` refuses.
              direct.body.close()
              resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
            }
          },
          (cause: unknown) => resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
        )
        return Effect.sync(() => controller.abort())
      }).pipe(Effect.withSpan(`http.client ${request.method}`, { kind: "client", captureStackTrace: false, attributes: { "http.request.method": "GET" } }))
  })

/**
 * An `HttpClient` that sends the content `GET`s of downloads directly (see the module comment) and everything else
 * through `undici`.
 *
 * @since 0.3.0
 */
export const make = (undici: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (request) =>
      Effect.flatMap(request, (req) =>
        req.method === "GET" && req.body._tag === "Empty"
          ? Effect.flatMap(Download.IterableBodies, (direct) => (direct ? Effect.flatMap(CurrentSlabs, (slabs) => sendDirect(req, slabs)) : undici.execute(req)))
          : undici.execute(req)),
    Effect.succeed
  )

/**
 * The client of {@link make} over `NodeHttpClient.layerUndici`: what `IvcapNode.layer` and `IvcapNode.layerPlatform`
 * provide as `HttpClient`.
 *
 * @since 0.3.0
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, make)).pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)
