/**
 * Which API a deployment speaks (v0.41: `/1/services` + orders; v0.44 or later: `/1/services2` + jobs): the
 * client's `apiVersion` option, or else one probe per client, remembered once it succeeds.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ApiVersion, IvcapClientService } from "../IvcapClient.js"
import { IvcapClient } from "../IvcapClient.js"
import type { RequestTimeout, TransportError } from "../IvcapError.js"
import * as Http from "./http.js"
import * as Paths from "./paths.js"

const probeStatuses = [400, 403] as const

/** The errors of a detection probe (not remembered: the next operation probes again). */
export type DetectError = Http.StatusError<(typeof probeStatuses)[number]> | TransportError | RequestTimeout

/**
 * `GET /1/services2?limit=1`: 200 → v0.44+; 404 / 405 / 501 → v0.41 (a v0.41 deployment has no such route).
 * Anything else is an error, so a deployment that is down is not mistaken for an old one.
 */
const answer = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<ApiVersion, Http.StatusError<(typeof probeStatuses)[number]>> => {
  switch (response.status) {
    case 200:
      return Effect.succeed("v0.44")
    case 404:
    case 405:
    case 501:
      return Effect.succeed("v0.41")
    default:
      return Http.failStatus(probeStatuses)(response)
  }
}

const detectors = new WeakMap<IvcapClientService, Effect.Effect<ApiVersion, DetectError>>()

/** One detector per client: single-flight, and only a successful answer is kept. */
const detector = (client: IvcapClientService): Effect.Effect<ApiVersion, DetectError> => {
  const existing = detectors.get(client)
  if (existing !== undefined) return existing
  let known: Option.Option<ApiVersion> = Option.none()
  const lock = Effect.unsafeMakeSemaphore(1)
  const probe = client.call(HttpClientRequest.get(Paths.services2).pipe(HttpClientRequest.setUrlParams({ limit: "1" })), answer).pipe(
    Effect.tap((version) =>
      Effect.sync(() => {
        known = Option.some(version)
      })
    ),
    Effect.withSpan("ivcap.apiVersion.detect", { captureStackTrace: false })
  )
  const detect: Effect.Effect<ApiVersion, DetectError> = Effect.suspend(() =>
    Option.isSome(known)
      ? Effect.succeed(known.value)
      : lock.withPermits(1)(Effect.suspend(() => (Option.isSome(known) ? Effect.succeed(known.value) : probe)))
  )
  detectors.set(client, detect)
  return detect
}

/** The API the client's deployment speaks: the explicit option, or the (cached) detection. */
export const apiVersion: Effect.Effect<ApiVersion, DetectError, IvcapClient> = Effect.flatMap(IvcapClient, (client) => {
  const explicit = client.apiVersion ?? Option.none()
  return Option.isSome(explicit) ? Effect.succeed(explicit.value) : detector(client)
})
