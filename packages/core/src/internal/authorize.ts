/**
 * The credentials' hook into the request path: the bearer token of the `Credentials` service on every request to
 * the client's own origin (none elsewhere), and after a `401` one shared renewal and, where that is safe, the same
 * request again with the new token.
 *
 * Re-sent after a `401`: requests whose body can be sent again (not a one-pass stream) and that did nothing on
 * the server. GET/HEAD/PUT/DELETE/OPTIONS are safe to repeat anyway. A POST is re-sent because IVCAP checks the
 * bearer token before it runs an operation, so its `401` proves nothing was created (wire doc §8.1: a missing or
 * invalid token is answered `401` without a body — that the check precedes the operation is **inferred** from the
 * goa security middleware). A PATCH (tus) is never re-sent here: a `401` may come after part of its body was
 * stored, so the upload engine asks the server for its offset (with the new token) and goes on from there.
 *
 * Every answer other than `401` is reported to the credentials (`accepted`): a renewed token the server refuses
 * before it ever accepted one request with it is not renewed again at once (see `Credentials`).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CredentialsService, RefreshError, Stamp } from "../Credentials.js"

const repeatable: ReadonlySet<string> = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST"])

/** Whether `request` may be sent again after the `401` it got. */
const mayResend = (request: HttpClientRequest.HttpClientRequest, response: HttpClientResponse.HttpClientResponse): boolean =>
  repeatable.has(request.method) && request.body._tag !== "Stream" && response.headers["upload-offset"] === undefined

/** A function that sends one request. */
export type Execute<E> = (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<HttpClientResponse.HttpClientResponse, E>

/**
 * `execute` with the credentials applied to requests for which `isOwnOrigin` holds (the others go as they are):
 * what {@link authorize} does to a client, for a caller that sends without one (`IvcapClient.call` over an
 * `IvcapClient.AttemptTransport`).
 */
export const authorized = (credentials: CredentialsService, isOwnOrigin: (url: string) => boolean) =>
<E>(execute: Execute<E>): Execute<E | RefreshError> =>
(request) => {
  if (!isOwnOrigin(request.url)) return execute(request)
  /** Sends the request with `stamp`'s token, telling the credentials when the server accepted it. */
  const sendWith = (stamp: Stamp) =>
    Effect.tap(execute(HttpClientRequest.bearerToken(request, stamp.token)), (response) => {
      if (response.status !== 401) credentials.accepted?.(stamp)
    })
  return Effect.flatMap(credentials.current, (stamp) => {
    if (Option.isNone(stamp)) return execute(request)
    return Effect.flatMap(sendWith(stamp.value), (response) =>
      response.status !== 401
        ? Effect.succeed(response)
        : Effect.flatMap(credentials.renew(stamp.value), (next) =>
          Option.isSome(next) && mayResend(request, response) ? sendWith(next.value) : Effect.succeed(response)))
  })
}

/** `client` with the credentials applied to requests for which `isOwnOrigin` holds. */
export const authorize = (
  credentials: CredentialsService,
  client: HttpClient.HttpClient,
  isOwnOrigin: (url: string) => boolean
): HttpClient.HttpClient.With<HttpClientError.HttpClientError | RefreshError> => {
  const send = authorized(credentials, isOwnOrigin)((request) => client.execute(request))
  return HttpClient.makeWith((request: Effect.Effect<HttpClientRequest.HttpClientRequest>) => Effect.flatMap(request, send), Effect.succeed)
}
