/**
 * The emulator as an `HttpApp`: an `HttpRouter` with every IVCAP v0.41 endpoint (the ones the emulator does not
 * implement answer 501), the v0.44–v0.48 services2 and job endpoints (job events over SSE), the tus/download endpoint behind `data-href`, the `/_emulator/*` admin routes, CORS, fault
 * injection and request recording. It needs the `Emulator` service. Absolute links (`href`, `data-href`, `next`)
 * are built from the request's `Host` (and `X-Forwarded-Proto`).
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Emulator from "./Emulator.js"
import * as Admin from "./internal/admin.js"
import * as Artifacts from "./internal/api/artifacts.js"
import * as JobEvents from "./internal/api/jobEvents.js"
import * as Jobs from "./internal/api/jobs.js"
import * as Orders from "./internal/api/orders.js"
import * as Search from "./internal/api/search.js"
import * as Secrets from "./internal/api/secrets.js"
import * as Services from "./internal/api/services.js"
import * as Services2 from "./internal/api/services2.js"
import * as Aspects from "./internal/aspects.js"
import { baseUrlOf, json, notFoundResponse, splitUrl } from "./internal/http.js"
import * as Middleware from "./internal/middleware.js"
import * as OAuth from "./internal/oauth.js"
import { type Handler, handle } from "./internal/route.js"
import * as Tus from "./internal/tus.js"

/**
 * The transport under a request, so cut faults can drop it (provided by `EmulatorServer` and
 * `EmulatorHttpClient`; provide it yourself when serving `app` with another server).
 * @since 0.1.0
 */
export const Connection = Middleware.Connection

type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS"

const ni = (op: string): Handler => Search.notImplemented(op)

/** [method, path, handler, auth] */
const table: ReadonlyArray<readonly [Method, HttpRouter.PathInput, Handler, boolean?]> = [
  ["GET", "/1/services", Services.listServices],
  ["POST", "/1/services", ni("service#create_service")],
  ["GET", "/1/services/:id", Services.readService],
  ["PUT", "/1/services/:id", ni("service#update")],
  ["DELETE", "/1/services/:id", ni("service#delete")],
  ["GET", "/1/orders", Orders.listOrders],
  ["POST", "/1/orders", Orders.createOrder],
  ["GET", "/1/orders/:id", Orders.readOrder],
  ["GET", "/1/orders/:orderID/products", Orders.orderProducts],
  ["GET", "/1/orders/:orderID/logs", ni("order#logs")],
  ["GET", "/1/orders/:orderID/metadata", ni("order#metadata")],
  ["GET", "/1/orders/:orderID/top", ni("order#top")],
  ["GET", "/1/artifacts", Artifacts.listArtifacts],
  ["POST", "/1/artifacts", Artifacts.createArtifact],
  ["GET", "/1/artifacts/:id", Artifacts.readArtifact],
  ["OPTIONS", "/1/artifacts/:id/blob", Tus.optionsBlob, false],
  ["HEAD", "/1/artifacts/:id/blob", Tus.headBlob],
  ["PATCH", "/1/artifacts/:id/blob", Tus.patchBlob],
  ["GET", "/1/artifacts/:id/blob", Tus.getBlob],
  ["GET", "/1/aspects", Aspects.listAspects],
  ["POST", "/1/aspects", Aspects.createAspect],
  ["PUT", "/1/aspects", Aspects.updateAspect],
  ["GET", "/1/aspects/:id", Aspects.readAspect],
  ["DELETE", "/1/aspects/:id", Aspects.retractAspect],
  ["POST", "/1/search", Search.search],
  ["GET", "/1/secrets", Secrets.getSecret],
  ["POST", "/1/secrets", Secrets.setSecret],
  ["GET", "/1/secrets/list", Secrets.listSecrets],
  ["GET", "/1/metadata", ni("metadata#list")],
  ["POST", "/1/metadata", ni("metadata#add")],
  ["GET", "/1/metadata/:id", ni("metadata#read")],
  ["PUT", "/1/metadata/:id", ni("metadata#update_record")],
  ["DELETE", "/1/metadata/:id", ni("metadata#revoke")],
  ["GET", "/1/openapi/openapi3.json", ni("openapi#/1/openapi/openapi3.json")],
  ["GET", "/1/packages/list", ni("package#list")],
  ["GET", "/1/packages/pull", ni("package#pull")],
  ["POST", "/1/packages/push", ni("package#push")],
  ["DELETE", "/1/packages/remove", ni("package#remove")],
  ["GET", "/1/packages/status", ni("package#status")],
  ["GET", "/1/queues", ni("queue#list")],
  ["POST", "/1/queues", ni("queue#create")],
  ["GET", "/1/queues/:id", ni("queue#read")],
  ["DELETE", "/1/queues/:id", ni("queue#delete")],
  ["GET", "/1/queues/:id/messages", ni("queue#dequeue")],
  ["POST", "/1/queues/:id/messages", ni("queue#enqueue")],
  // API v0.44–v0.48 (404 when the emulator runs as a v0.41 deployment)
  ["GET", "/1/services2", Services2.listServices2],
  ["POST", "/1/services2", Services2.createService2],
  ["GET", "/1/services2/:id", Services2.readService2],
  ["PUT", "/1/services2/:id", Services2.updateService2],
  ["DELETE", "/1/services2/:id", Services2.deleteService2],
  ["GET", "/1/services2/:service_id/jobs", Jobs.listJobs],
  ["POST", "/1/services2/:service_id/jobs", Jobs.createJob],
  ["GET", "/1/services2/:service_id/jobs/:id", Jobs.readJob],
  ["GET", "/1/services2/:service_id/jobs/:job_id/events", JobEvents.jobEventStream],
  ["GET", "/1/services2/:service_id/jobs/:job_id/output", Jobs.jobOutput],
  ["GET", "/_emulator/health", Admin.health, false],
  ["POST", "/_emulator/faults", Admin.injectFault],
  ["DELETE", "/_emulator/faults", Admin.resetFaults],
  ["POST", "/_emulator/reset", Admin.reset],
  ["GET", "/_emulator/clock", Admin.readClock],
  ["POST", "/_emulator/clock/advance", Admin.advanceClock],
  ["POST", "/_emulator/seed/aspects", Admin.seedAspects],
  ["POST", "/_emulator/seed/services", Admin.seedService],
  ["GET", "/_emulator/requests", Admin.countRequests],
  ["DELETE", "/_emulator/requests", Admin.resetRequests],
  ["GET", "/1/authinfo.yaml", OAuth.authInfo, false],
  ["POST", "/oauth/device/code", OAuth.deviceCode, false],
  ["POST", "/oauth/token", OAuth.token, false],
  ["POST", "/oauth/revoke", OAuth.revoke, false],
  ["GET", "/.well-known/jwks.json", OAuth.jwks, false],
  ["GET", "/activate", OAuth.activatePage, false],
  ["POST", "/activate", OAuth.activate, false],
  ["GET", "/_emulator/oauth", OAuth.adminStats],
  ["POST", "/_emulator/oauth/approve", OAuth.adminDecide],
  ["POST", "/_emulator/oauth/expire", OAuth.adminExpire],
  ["POST", "/_emulator/oauth/revoke", OAuth.adminRevoke]
]

/**
 * The routes alone (no CORS, faults or recording).
 * @since 0.1.0
 */
export const router: HttpRouter.HttpRouter<never, Emulator.Emulator> = table.reduce(
  (r, [method, path, handler, auth]) =>
    HttpRouter.route(method)(path, handle(handler, { auth: auth ?? true }))(r),
  HttpRouter.empty as HttpRouter.HttpRouter<never, Emulator.Emulator>
)

const patterns = table.map(([method, path, , auth]) => ({
  method,
  re: new RegExp(`^${path.replace(/:[A-Za-z_]+/g, "[^/]+")}$`),
  public: auth === false,
  v2: path.startsWith("/1/services2")
}))

/** Whether a request is for a route that needs no token (tus `OPTIONS`, `/_emulator/health`, …). */
const isPublic = (method: string, request: HttpServerRequest.HttpServerRequest): boolean => {
  const raw = request.url.split("?")[0]!
  const { pathname } = splitUrl(request)
  return patterns.some((p) => p.public && p.method === method && (p.re.test(raw) || p.re.test(pathname)))
}

/** Unknown path → 404 `ResourceNotFoundT`; known path, other method → 405 with `Allow`. */
const noRoute = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { pathname } = splitUrl(request)
  const raw = request.url.split("?")[0]!
  // a v0.41 deployment has no /1/services2 routes at all: 404, never 405
  const v041 = (yield* Emulator.Emulator).internal.state.apiVersion === "0.41"
  const known = patterns.filter((p) => !(v041 && p.v2) && (p.re.test(raw) || p.re.test(pathname)))
  const methods = [...new Set(known.map((p) => p.method))]
  if (methods.length > 0) {
    if (methods.includes("GET")) methods.push("HEAD")
    return json({ message: `method ${request.method} not allowed on ${pathname}` }, 405, { allow: methods.join(", ") })
  }
  return notFoundResponse(`${baseUrlOf(request)}${pathname}`, `no resource at ${pathname}`)
})

const routed: HttpApp.Default<never, Emulator.Emulator | HttpServerRequest.HttpServerRequest> = router.pipe(
  Effect.catchTag("RouteNotFound", () => noRoute),
  Effect.catchAllDefect((defect) =>
    Effect.succeed(json({ message: `internal emulator error: ${Cause.pretty(Cause.die(defect))}` }, 500))
  ),
  Effect.catchAll((e) => Effect.succeed(json({ message: `internal emulator error: ${String(e)}` }, 500)))
) as HttpApp.Default<never, Emulator.Emulator | HttpServerRequest.HttpServerRequest>

/**
 * The whole emulator app: guard (CORS origin and token, before anything else) → recording → CORS → faults → routes.
 * @since 0.1.0
 */
export const app: HttpApp.Default<never, Emulator.Emulator | HttpServerRequest.HttpServerRequest> = Effect
  // servers run apps uninterruptibly (HttpApp.toHandled); stalls and delays must end when the client goes away
  .interruptible(Middleware.guard(isPublic)(Middleware.recorder(Middleware.cors(Middleware.faults(routed)))))
