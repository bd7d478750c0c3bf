/** Route plumbing: the per-request context, bearer auth, and turning `HttpFail` into its response. */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { Emulator, type EmulatorService } from "../Emulator.js"
import { baseUrlOf, type HttpFail, queryOf, unauthorizedResponse } from "./http.js"
import { materialiseJobs } from "./jobs.js"
import type { EmulatorState } from "./state.js"

/** What a handler gets: the emulator, the request, its base URL, query and path parameters. */
export interface Ctx {
  readonly emu: EmulatorService
  readonly state: EmulatorState
  readonly request: HttpServerRequest.HttpServerRequest
  readonly base: string
  readonly q: URLSearchParams
  readonly params: Readonly<Record<string, string | undefined>>
}

/** A route handler; `HttpFail` carries an error response. */
export type Handler = (ctx: Ctx) => Effect.Effect<HttpServerResponse.HttpServerResponse, HttpFail>

/**
 * A route handler; `auth` (default true) answers 401 without a body unless the bearer token is accepted (the fixed
 * token, or a live one of the identity provider).
 */
export const handle = (f: Handler, options?: { readonly auth?: boolean }) =>
  Effect.gen(function*() {
    const emu = yield* Emulator
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    if ((options?.auth ?? true) && !emu.internal.authorized(request.headers["authorization"])) return unauthorizedResponse()
    // records that follow jobs (job.2 aspects, products) are current for whatever this request reads
    yield* Effect.orDie(materialiseJobs(emu.internal.state))
    return yield* f({
      emu,
      state: emu.internal.state,
      request,
      base: baseUrlOf(request),
      q: queryOf(request),
      params
    })
  }).pipe(Effect.catchTag("HttpFail", (e) => Effect.succeed(e.response)))

/** A path parameter (already percent-decoded by the router). */
export const param = (ctx: Ctx, name: string): string => ctx.params[name] ?? ""
