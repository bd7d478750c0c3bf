/**
 * `/1/services2` (API v0.44–v0.48): list and read, in the v0.44/v0.48 shapes (`controller`, `controller-schema`,
 * tags, `valid-from`/`valid-to`). Create, update and delete answer 501 `{message}`: the emulator's catalogue is its
 * seed data (the spec declares 501 for all three).
 *
 * Every route here (and the job routes) is wrapped in `v2`: an emulator running as a v0.41 deployment answers them
 * 404 `ResourceNotFoundT`, exactly as for a path it does not know.
 */
import * as Effect from "effect/Effect"
import { json, notFound, notFoundResponse, splitUrl } from "../http.js"
import { pageRequest, simpleList } from "../listing.js"
import type { ServiceRec } from "../model.js"
import { type Handler, param } from "../route.js"
import { formatTime } from "../util.js"
import * as Wire from "../wire.js"

/** A v0.44+ route: 404 (no such resource) when the emulator runs as a v0.41 deployment. */
export const v2 = (handler: Handler): Handler => (ctx) => {
  if (ctx.state.apiVersion !== "0.41") return handler(ctx)
  const { pathname } = splitUrl(ctx.request)
  return Effect.succeed(notFoundResponse(`${ctx.base}${pathname}`, `no resource at ${pathname}`))
}

/** Whether a service is in the v0.44+ catalogue at time `t` (`valid-from <= t < valid-to`). */
const availableAt = (s: ServiceRec, t: number) => s.publishedAt <= t && (s.validTo === undefined || t < s.validTo)

/**
 * `search` (v0.48: "Search for services described by given string"): the share of the query's words found in the
 * name, description and tags. **(inferred)** the platform ranks semantically; this keeps services with a score > 0,
 * best first, and reports `score`.
 */
const scoreOf = (s: ServiceRec, words: ReadonlyArray<string>): number => {
  const text = `${s.name} ${s.description} ${(s.tags ?? []).join(" ")}`.toLowerCase()
  return words.length === 0 ? 0 : words.filter((w) => text.includes(w)).length / words.length
}

/** Services by id, or undefined when it is not served by `/1/services2` (unknown). */
export const service2 = (state: { servicesById: Map<string, ServiceRec> }, id: string) => state.servicesById.get(id)

/** `GET /1/services2` → `ServiceListRT` (v0.44+). */
export const listServices2: Handler = v2((ctx) =>
  Effect.gen(function*() {
    const req = yield* pageRequest(ctx.q, "services2")
    // `search` is a first-page parameter; the page token carries it (`keep`)
    const search = req._tag === "first" ? ctx.q.get("search") : req.token.q["search"]
    const words = (search ?? "").toLowerCase().split(/\W+/).filter((w) => w.length > 1)
    const scored = search !== null && search !== undefined && search.trim() !== ""
    const { atTime, items, links } = yield* simpleList<ServiceRec>({
      kind: "services2",
      path: "/1/services2",
      schema: "ServiceListRT",
      records: ctx.state.services,
      seq: (s) => s.seq,
      visibleAt: (s, t) => availableAt(s, t) && (!scored || scoreOf(s, words) > 0),
      fields: () => ({
        id: (s) => s.id,
        name: (s) => s.name,
        description: (s) => s.description,
        account: (s) => s.account,
        status: (s) => s.status,
        policy: (s) => s.policy,
        controller_schema: (s) => s.controllerSchema ?? "urn:ivcap:schema.service.argo.1",
        valid_from: (s) => formatTime(s.publishedAt),
        valid_to: (s) => (s.validTo !== undefined ? formatTime(s.validTo) : undefined),
        published_at: (s) => formatTime(s.publishedAt),
        score: (s) => scoreOf(s, words)
      }),
      // a search ranks by score (best first) unless `order-by` says otherwise
      defaultOrder: scored ? "score" : "valid_from",
      keep: ["search"],
      render: (s) => Wire.service2ListItem(s, ctx.base, scored ? scoreOf(s, words) : undefined)
    }, req, ctx.state.now(), ctx.state.seq, ctx.base, ctx.request.url)
    return json({ "at-time": formatTime(atTime), items, links })
  })
)

/** `GET /1/services2/{id}` → `ServiceStatusRT` (v0.44+). */
export const readService2: Handler = v2((ctx) =>
  Effect.gen(function*() {
    const id = param(ctx, "id")
    const s = service2(ctx.state, id)
    if (s === undefined) return yield* notFound(id, `service '${id}' not found`)
    return json(Wire.service2Status(s, ctx.base))
  })
)

const notImplemented = (what: string): Handler =>
  v2(() =>
    Effect.succeed(json({
      message: `Method '${what}' not implemented: the emulator's service catalogue is its seed data`
    }, 501))
  )

/** `POST /1/services2` → 501. */
export const createService2 = notImplemented("service#service-create")
/** `PUT /1/services2/{id}` → 501. */
export const updateService2 = notImplemented("service#service-update")
/** `DELETE /1/services2/{id}` → 501. */
export const deleteService2 = notImplemented("service#service-delete")
