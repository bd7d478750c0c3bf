/** Services, orders, artifact records, search and the 501 stubs. */
import * as Effect from "effect/Effect"
import * as SeedData from "../SeedData.js"
import {
  badRequest,
  bodyJson,
  goaValidation,
  HttpFail,
  invalidParameter,
  json,
  mediaType,
  notFound,
  notImplementedResponse,
  unsupportedContentType
} from "./http.js"
import { pageRequest, parseAtTime, parseLimit, simpleList } from "./listing.js"
import type { ArtifactRec, OrderRec, ParameterDef, ServiceRec } from "./model.js"
import { artifactStatus, orderFinishedAt, orderStartedAt, orderStatusAt } from "./model.js"
import { type Ctx, type Handler, param } from "./route.js"
import { startUpload } from "./tus.js"
import { base64ToBytes, formatTime, fromUtf8, isJsonObject, randomUuid } from "./util.js"
import * as Wire from "./wire.js"

// ---------------------------------------------------------------------------------------------------------------
// services

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
      visibleAt: (s, t) => s.publishedAt <= t,
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
    if (s === undefined) return yield* notFound(id, `service '${id}' not found`)
    return json(Wire.serviceStatus(s, ctx.base))
  })

// ---------------------------------------------------------------------------------------------------------------
// orders

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

/** Validates order parameters against the service's definitions (422 `InvalidParameterT` on the first problem). */
const validateParameters = (
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
    if (svc === undefined) return yield* notFound(service, `service '${service}' not found`)
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

const materialise = (ctx: Ctx) => Effect.orDie(ctx.state.materialiseProducts())

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

// ---------------------------------------------------------------------------------------------------------------
// artifacts

/** `GET /1/artifacts` → `ArtifactListRT`. */
export const listArtifacts: Handler = (ctx) =>
  Effect.gen(function*() {
    yield* materialise(ctx)
    const req = yield* pageRequest(ctx.q, "artifacts")
    const { atTime, items, links } = yield* simpleList<ArtifactRec>({
      kind: "artifacts",
      path: "/1/artifacts",
      schema: "ArtifactListRT",
      records: ctx.state.artifacts,
      seq: (a) => a.seq,
      visibleAt: (a, t) => a.createdAt <= t,
      fields: () => ({
        id: (a) => a.id,
        name: (a) => a.name,
        status: (a) => artifactStatus(a),
        mime_type: (a) => a.mimeType,
        size: (a) => (a.completedAt !== undefined ? a.offset : undefined),
        collection: (a) => a.collection,
        policy: (a) => a.policy,
        created_at: (a) => formatTime(a.createdAt)
      }),
      defaultOrder: "created_at",
      render: (a) => Wire.artifactListItem(a, ctx.base)
    }, req, ctx.state.now(), ctx.state.seq, ctx.base, ctx.request.url)
    return json({ "at-time": formatTime(atTime), items, links })
  })

/** `GET /1/artifacts/{id}` → `ArtifactStatusRT`. */
export const readArtifact: Handler = (ctx) =>
  Effect.gen(function*() {
    yield* materialise(ctx)
    const id = param(ctx, "id")
    const a = ctx.state.artifactsById.get(id)
    if (a === undefined) return yield* notFound(id, `artifact '${id}' not found`)
    return json(Wire.artifactStatusWire(a, ctx.base))
  })

/** An integer header (`-1` allowed where `allowMinusOne`); 400 otherwise. */
const intHeader = (ctx: Ctx, name: string, allowMinusOne: boolean) =>
  Effect.gen(function*() {
    const raw = ctx.request.headers[name.toLowerCase()]
    if (raw === undefined || raw.trim() === "") return undefined
    if (!/^[+-]?\d+$/.test(raw.trim())) return yield* badRequest(`header ${name} must be an integer, got '${raw}'`)
    const n = Number(raw)
    if (n < (allowMinusOne ? -1 : 0) || !Number.isSafeInteger(n)) {
      return yield* badRequest(`header ${name} must be ${allowMinusOne ? ">= -1" : ">= 0"}, got '${raw}'`)
    }
    return n
  })

/**
 * `POST /1/artifacts`: creates the record from `X-Content-Type`, `X-Content-Length` (−1 = length deferred),
 * base64 `X-Name`, `X-Collection`, `X-Policy` (or `Upload-Length` / `Content-Type`); a request body, if any, is
 * stored as the first bytes (one-shot upload). 201 + `ArtifactStatusRT`, `Location` (the record **(inferred)**),
 * `Tus-Resumable: 1.0.0`, `Upload-Offset`.
 */
export const createArtifact: Handler = (ctx) =>
  Effect.gen(function*() {
    const h = ctx.request.headers
    const xLength = yield* intHeader(ctx, "X-Content-Length", true)
    const uploadLength = yield* intHeader(ctx, "Upload-Length", false)
    const length = xLength !== undefined && xLength >= 0 ? xLength : xLength === -1 ? undefined : uploadLength
    let name: string | undefined
    if (h["x-name"] !== undefined && h["x-name"] !== "") {
      const bytes = base64ToBytes(h["x-name"])
      name = bytes === undefined ? undefined : fromUtf8(bytes)
      if (name === undefined) return yield* badRequest("header X-Name must be base64-encoded UTF-8")
    }
    const collection = h["x-collection"]
    if (collection !== undefined && !collection.startsWith("urn:")) {
      return yield* badRequest("header X-Collection must be a URN (urn:...)")
    }
    const policy = h["x-policy"]
    if (policy !== undefined && !policy.startsWith("urn:ivcap:policy:")) {
      return yield* badRequest("header X-Policy must be a policy URN (urn:ivcap:policy:...)")
    }
    const contentType = mediaType(h["content-type"])
    const hasBody = (h["content-length"] !== undefined && h["content-length"] !== "0") ||
      h["transfer-encoding"] !== undefined
    const mimeType = h["x-content-type"] ??
      (contentType !== undefined && contentType !== "application/offset+octet-stream" ? h["content-type"] : undefined)
    const now = ctx.state.now()
    // an empty record starts `pending` (inferred, wire doc §6.5)
    const rec: ArtifactRec = {
      seq: ctx.state.nextSeq(),
      id: `urn:ivcap:artifact:${randomUuid()}`,
      account: SeedData.account,
      ...(name !== undefined ? { name } : {}),
      ...(mimeType !== undefined && mimeType !== "" ? { mimeType } : {}),
      ...(collection !== undefined ? { collection } : {}),
      policy: policy ?? SeedData.defaultPolicy,
      createdAt: now,
      length,
      offset: 0,
      // a zero-length upload is complete at creation (tus: offset == length)
      ...(length === 0 ? { completedAt: now } : {})
    }
    ctx.state.addArtifact(rec)
    if (hasBody && length !== 0) {
      const r = yield* startUpload(ctx, rec, 0)
      if (r !== undefined) return r
    }
    return json(Wire.artifactStatusWire(rec, ctx.base), 201, {
      location: Wire.artifactHref(ctx.base, rec.id),
      "tus-resumable": "1.0.0",
      "upload-offset": String(rec.offset)
    })
  })

// ---------------------------------------------------------------------------------------------------------------
// search

/** `POST /1/search`: 415 unless `application/datalog+mangle`; otherwise 501 (the emulator has no Datalog engine). */
export const search: Handler = (ctx) =>
  Effect.gen(function*() {
    const ct = mediaType(ctx.request.headers["content-type"])
    if (ct !== "application/datalog+mangle") {
      return yield* unsupportedContentType(`cannot handle '${ct ?? ""}' (expected application/datalog+mangle)`)
    }
    yield* parseLimit(ctx.q)
    yield* parseAtTime(ctx.q, 0)
    return json({ message: "Method 'search' not implemented (the IVCAP emulator has no Datalog engine)" }, 501)
  })

/** A declared IVCAP endpoint the emulator does not implement: 501 `{message}`. */
export const notImplemented = (method: string): Handler => () => Effect.succeed(notImplementedResponse(method))

export { HttpFail }
