/** `/1/services` (v0.41): list and read. */
import * as Effect from "effect/Effect"
import { json, notFound } from "../http.js"
import { pageRequest, simpleList } from "../listing.js"
import type { ServiceRec } from "../model.js"
import { type Handler, param } from "../route.js"
import { formatTime } from "../util.js"
import * as Wire from "../wire.js"

/** `GET /1/services` → `ServiceListRT`. */
export const listServices: Handler = (ctx) =>
  Effect.gen(function*() {
    const req = yield* pageRequest(ctx.q, "services")
    const { atTime, items, links } = yield* simpleList<ServiceRec>({
      kind: "services",
      path: "/1/services",
      schema: "ServiceListRT",
      records: ctx.state.services,
      seq: (s) => s.seq,
      // tool services (v0.44+) are not in the v0.41 catalogue
      visibleAt: (s, t) => s.publishedAt <= t && s.v2Only !== true,
      fields: () => ({
        id: (s) => s.id,
        name: (s) => s.name,
        description: (s) => s.description,
        account: (s) => s.account,
        status: (s) => s.status,
        policy: (s) => s.policy,
        banner: (s) => s.banner,
        published_at: (s) => formatTime(s.publishedAt)
      }),
      defaultOrder: "published_at",
      render: (s) => Wire.serviceListItem(s, ctx.base)
    }, req, ctx.state.now(), ctx.state.seq, ctx.base, ctx.request.url)
    return json({ "at-time": formatTime(atTime), items, links })
  })

/** `GET /1/services/{id}` → `ServiceStatusRT`. */
export const readService: Handler = (ctx) =>
  Effect.gen(function*() {
    const id = param(ctx, "id")
    const s = ctx.state.servicesById.get(id)
    if (s === undefined || s.v2Only === true) return yield* notFound(id, `service '${id}' not found`)
    return json(Wire.serviceStatus(s, ctx.base))
  })
