/** `/1/orders` (v0.41): place (parameters checked as the API does), list, read, products. */
import * as Effect from "effect/Effect"
import * as SeedData from "../../SeedData.js"
import type { HttpFail} from "../http.js";
import { badRequest, bodyJson, goaValidation, invalidParameter, json, notFound } from "../http.js"
import { pageRequest, parseLimit, simpleList } from "../listing.js"
import type { ArtifactRec, OrderRec, ParameterDef } from "../model.js"
import { orderFinishedAt, orderStartedAt, orderStatusAt } from "../model.js"
import { type Ctx, type Handler, param } from "../route.js"
import { formatTime, isJsonObject, randomUuid } from "../util.js"
import * as Wire from "../wire.js"

const isIntString = (v: string) => /^[+-]?\d+$/.test(v.trim())
const isFloatString = (v: string) => v.trim() !== "" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())
const artifactRef = /^(urn:ivcap:artifact:|https?:\/\/|urn:https?:\/\/)/

/** Checks one value against its definition; returns the problem, if any. */
const checkValue = (def: ParameterDef, value: string): string | undefined => {
  switch (def.type) {
    case "string":
      return undefined
    case "int":
      return isIntString(value) ? undefined : "must be an integer"
    case "float":
      return isFloatString(value) ? undefined : "must be a number"
    case "bool":
      return /^(true|false)$/i.test(value.trim()) ? undefined : "must be 'true' or 'false'"
    case "option": {
      const values = (def.options ?? []).map((o) => o.value)
      return values.includes(value) ? undefined : `must be one of ${values.map((v) => `'${v}'`).join(", ")}`
    }
    case "artifact":
      return artifactRef.test(value) ? undefined : "must be an artifact URN (urn:ivcap:artifact:...) or an http(s) URL"
    case "collection":
      return value.startsWith("urn:") ? undefined : "must be a collection URN (urn:...)"
  }
}

/** Validates order (or v0.41-service job) parameters against the service's definitions (422 `InvalidParameterT` on the first problem). */
export const validateParameters = (
  defs: ReadonlyArray<ParameterDef>,
  given: ReadonlyArray<{ name: string; value: string }>
): Effect.Effect<Array<{ name: string; value: string }>, HttpFail> =>
  Effect.gen(function*() {
    const byName = new Map(defs.map((d) => [d.name, d]))
    const seen = new Set<string>()
    for (const p of given) {
      const def = byName.get(p.name)
      if (def === undefined) {
        return yield* invalidParameter(
          p.name,
          `unknown parameter '${p.name}' (known: ${defs.map((d) => d.name).join(", ")})`,
          p.value
        )
      }
      if (seen.has(p.name)) return yield* invalidParameter(p.name, `parameter '${p.name}' given more than once`, p.value)
      seen.add(p.name)
      if (def.constant === true && def.default !== undefined && p.value !== def.default) {
        return yield* invalidParameter(p.name, `parameter '${p.name}' is constant ('${def.default}')`, p.value)
      }
      const problem = checkValue(def, p.value)
      if (problem !== undefined) {
        return yield* invalidParameter(p.name, `parameter '${p.name}' of type ${def.type} ${problem}`, p.value)
      }
    }
    const out = given.map((p) => ({ name: p.name, value: p.value }))
    for (const def of defs) {
      if (seen.has(def.name)) continue
      const hasDefault = def.default !== undefined && def.default !== ""
      if (hasDefault) out.push({ name: def.name, value: def.default! })
      else if (def.optional !== true) {
        return yield* invalidParameter(def.name, `missing mandatory parameter '${def.name}'`)
      }
    }
    return out
  })

const missing = (field: string) => goaValidation("missing_field", `"${field}" is missing from request body`)
const wrongType = (field: string, type: string) =>
  goaValidation("invalid_field_type", `invalid value for "${field}", must be a ${type}`)

/** `POST /1/orders` → 200 `OrderStatusRT`, after validating the parameters against the service. */
export const createOrder: Handler = (ctx) =>
  Effect.gen(function*() {
    const body = yield* bodyJson(ctx.request)
    if (!isJsonObject(body)) return yield* badRequest("request body must be a JSON object (OrderRequestT)")
    // shape errors are goa decoding/validation errors: 400 (inferred)
    const service = body["service"]
    const parameters = body["parameters"]
    if (service === undefined) return yield* missing("service")
    if (typeof service !== "string") return yield* wrongType("service", "string")
    if (parameters === undefined) return yield* missing("parameters")
    if (!Array.isArray(parameters)) return yield* wrongType("parameters", "array")
    const given: Array<{ name: string; value: string }> = []
    for (const [i, p] of parameters.entries()) {
      if (!isJsonObject(p) || typeof p["name"] !== "string") return yield* wrongType(`parameters[${i}].name`, "string")
      if (typeof p["value"] !== "string") return yield* wrongType(`parameters[${i}].value`, "string")
      given.push({ name: p["name"], value: p["value"] })
    }
    const name = body["name"]
    if (name !== undefined && typeof name !== "string") return yield* wrongType("name", "string")
    const policy = body["policy"]
    if (policy !== undefined && typeof policy !== "string") return yield* wrongType("policy", "string")
    const tags = body["tags"]
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) {
      return yield* wrongType("tags", "array of strings")
    }
    const svc = ctx.state.servicesById.get(service)
    // an unknown service is a 404 (inferred: declared by the spec for order#create)
    // tool services (v0.44+ only) run as jobs, not orders
    if (svc === undefined || svc.v2Only === true) return yield* notFound(service, `service '${service}' not found`)
    if (svc.status !== "active") {
      return yield* invalidParameter("service", `service '${svc.name}' is ${svc.status}`, service)
    }
    if (policy !== undefined && !policy.startsWith("urn:ivcap:policy:")) {
      return yield* invalidParameter("policy", "policy must be a URN starting with 'urn:ivcap:policy:'", policy)
    }
    const params = yield* validateParameters(svc.parameters, given)
    const order: OrderRec = {
      seq: ctx.state.nextSeq(),
      id: `urn:ivcap:order:${randomUuid()}`,
      service: svc.id,
      account: SeedData.account,
      ...(name !== undefined ? { name } : {}),
      ...(policy !== undefined ? { policy } : {}),
      ...(tags !== undefined ? { tags: tags as Array<string> } : {}),
      parameters: params,
      orderedAt: ctx.state.now(),
      stepMillis: ctx.state.orderStepMillis,
      outcome: svc.behaviour.outcome
    }
    ctx.state.addOrder(order)
    return json(Wire.orderStatus(order, ctx.base, ctx.state.now(), []))
  })

const productsOf = (ctx: Ctx, o: OrderRec): Array<ArtifactRec> => {
  if (o.productId === undefined) return []
  const a = ctx.state.artifactsById.get(o.productId)
  return a === undefined ? [] : [a]
}

export const materialise = (ctx: Ctx) => Effect.orDie(ctx.state.materialiseProducts())

/** `GET /1/orders` → `OrderListRT` (status as of `at-time`). */
export const listOrders: Handler = (ctx) =>
  Effect.gen(function*() {
    yield* materialise(ctx)
    const req = yield* pageRequest(ctx.q, "orders")
    const { atTime, items, links } = yield* simpleList<OrderRec>({
      kind: "orders",
      path: "/1/orders",
      schema: "OrderListRT",
      records: ctx.state.orders,
      seq: (o) => o.seq,
      visibleAt: (o, t) => o.orderedAt <= t,
      fields: (t) => ({
        id: (o) => o.id,
        name: (o) => o.name,
        status: (o) => orderStatusAt(o, t),
        service: (o) => o.service,
        account: (o) => o.account,
        policy: (o) => o.policy,
        ordered_at: (o) => formatTime(o.orderedAt),
        started_at: (o) => (t >= orderStartedAt(o) ? formatTime(orderStartedAt(o)) : undefined),
        finished_at: (o) => (t >= orderFinishedAt(o) ? formatTime(orderFinishedAt(o)) : undefined)
      }),
      defaultOrder: "ordered_at",
      render: (o, t) => Wire.orderListItem(o, ctx.base, t)
    }, req, ctx.state.now(), ctx.state.seq, ctx.base, ctx.request.url)
    return json({ "at-time": formatTime(atTime), items, links })
  })

const findOrder = (ctx: Ctx, id: string) =>
  Effect.gen(function*() {
    yield* materialise(ctx)
    const o = ctx.state.ordersById.get(id)
    if (o === undefined) return yield* notFound(id, `order '${id}' not found`)
    return o
  })

/** `GET /1/orders/{id}` → `OrderStatusRT` (with its product once succeeded). */
export const readOrder: Handler = (ctx) =>
  Effect.gen(function*() {
    const o = yield* findOrder(ctx, param(ctx, "id"))
    return json(Wire.orderStatus(o, ctx.base, ctx.state.now(), productsOf(ctx, o)))
  })

/** `GET /1/orders/{orderID}/products` → `PartialProductListT`. */
export const orderProducts: Handler = (ctx) =>
  Effect.gen(function*() {
    const o = yield* findOrder(ctx, param(ctx, "orderID"))
    yield* parseLimit(ctx.q)
    const products = productsOf(ctx, o)
    return json({
      items: products.map((a) => Wire.productItem(a, ctx.base)),
      links: [Wire.link("self", `${Wire.orderHref(ctx.base, o.id)}/products`)]
    })
  })
