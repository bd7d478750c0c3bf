/**
 * What every request of `NodeHttp` shares, whichever way it goes (undici, or a direct connection): the URL (an
 * invalid one fails before anything is sent), one `http.client <METHOD>` span with the method, the URL and the
 * status, trace-context headers when asked for, and an abort signal that fires when the fiber is interrupted or the
 * attempt's signal aborts. The attempt's signal and the tracing choice are arguments (`IvcapClient.AttemptTransport`),
 * or read from the fiber (`IvcapClient.AttemptSignal`, `HttpClient.withTracerPropagation`) by {@link fromFiber}.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as UrlParams from "@effect/platform/UrlParams"
import * as IvcapClient from "@ivcap/core/IvcapClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"

/** How one request goes out: the URL, the headers to send, and the controller whose signal stops it (and its body). */
export type Send = (
  url: URL,
  headers: Readonly<Record<string, string>>,
  controller: AbortController
) => Promise<HttpClientResponse.HttpClientResponse>

/**
 * Sends `request` with `send` (see the module comment), stopped also by `attempt` (the attempt's signal, if any)
 * and with trace-context headers when `propagate`; a rejection is a `RequestError` (`Transport`).
 */
export const sendWith = (
  request: HttpClientRequest.HttpClientRequest,
  send: Send,
  attempt: AbortSignal | undefined,
  propagate: boolean
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Either.match(UrlParams.makeUrl(request.url, request.urlParams, request.hash), {
    onLeft: (cause) => Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause })),
    onRight: (url) =>
      Effect.useSpan(`http.client ${request.method}`, { kind: "client", captureStackTrace: false, attributes: { "http.request.method": request.method, "url.full": url.href } }, (span) =>
        Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
          const controller = new AbortController()
          // The attempt's abort reaches this request through a listener: `AbortSignal.any` (weak references and a
          // registry) cost more than the rest of this function. The listener lives as long as the attempt's signal.
          if (attempt !== undefined) {
            if (attempt.aborted) controller.abort()
            else attempt.addEventListener("abort", () => controller.abort(), { once: true })
          }
          // The body's type and length are in the headers already (`HttpClientRequest.setBody`).
          const headers = propagate ? { ...request.headers, ...HttpTraceContext.toHeaders(span) } : request.headers
          send(url, headers, controller).then(
            (response) => {
              span.attribute("http.response.status_code", response.status)
              resume(Effect.succeed(response))
            },
            (cause: unknown) => resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
          )
          return Effect.sync(() => controller.abort())
        }))
  })

/** Sends one request, stopped also by the attempt's signal (if any), with trace-context headers when `propagate`. */
export type SendRequest = (
  request: HttpClientRequest.HttpClientRequest,
  attempt: AbortSignal | undefined,
  propagate: boolean
) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

/**
 * An `HttpClient` execute over `send`: the attempt's signal (`IvcapClient.AttemptSignal`) and the tracer-propagation
 * choice (`HttpClient.currentTracerPropagation`) read from the fiber.
 */
export const fromFiber = (send: SendRequest) =>
(request: HttpClientRequest.HttpClientRequest): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.flatMap(IvcapClient.AttemptSignal, (attempt) => Effect.flatMap(FiberRef.get(HttpClient.currentTracerPropagation), (propagate) => send(request, attempt, propagate)))
