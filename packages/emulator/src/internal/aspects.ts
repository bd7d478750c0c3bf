/**
 * Aspects (wire doc §3.10–§3.14, §10): bitemporal JSON records. Create (POST), update (PUT: retracts the single
 * active record for (entity, schema); 424 when several are active), retract (DELETE → 204; the record gets
 * `valid-to` and `retracter`), read, and list with `entity`, `schema` (LIKE pattern, `%` wildcard), `content-path`
 * (see jsonpath.ts), `at-time`, `include-content`, `order-by`, `order-direction`, `filter`, `limit`, `page`.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as SeedData from "../SeedData.js"
import { compileFilterOr422, type Fields, normaliseField, compareValues, pageRequest, type PageToken } from "./listing.js"
import { listLinks, parseAtTime, parseBool } from "./listing.js"
import { badRequest, bodyJson, goaValidation, HttpFail, invalidParameter, json, mediaType, notFound, notUnique } from "./http.js"
import { compileJsonPath, JsonPathError } from "./jsonpath.js"
import { type FieldValue, likeToRegExp } from "./filter.js"
import type { AspectRec } from "./model.js"
import { type Ctx, type Handler, param } from "./route.js"
import { formatTime, isJsonObject, maxContentDepth, nestsDeeperThan, randomUuid } from "./util.js"
import * as Wire from "./wire.js"

const uriLike = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/

const requiredQuery = (ctx: Ctx, name: string) => {
  const v = ctx.q.get(name)
  return v === null || v === ""
    ? goaValidation("missing_field", `"${name}" is missing from query string`)
    : Effect.succeed(v)
}

/** entity, schema, policy and body of a create/update. */
const assertion = (ctx: Ctx) =>
  Effect.gen(function*() {
    const entity = yield* requiredQuery(ctx, "entity")
    const schema = yield* requiredQuery(ctx, "schema")
    const policy = ctx.q.get("policy") ?? undefined
    const ct = mediaType(ctx.request.headers["content-type"])
    if (ct === undefined) return yield* goaValidation("missing_field", `"Content-Type" is missing from header`)
    if (ct !== "application/json" && !ct.endsWith("+json")) {
      return yield* invalidParameter("Content-Type", "aspect content must be application/json", ct)
    }
    if (!uriLike.test(entity)) return yield* invalidParameter("entity", "entity must be a URI (e.g. urn:...)", entity)
    if (!uriLike.test(schema)) return yield* invalidParameter("schema", "schema must be a URI (e.g. urn:...)", schema)
    if (policy !== undefined && policy !== "" && !policy.startsWith("urn:ivcap:policy:")) {
      return yield* invalidParameter("policy", "policy must be a URN starting with 'urn:ivcap:policy:'", policy)
    }
    const content = yield* bodyJson(ctx.request)
    if (!isJsonObject(content)) return yield* invalidParameter("content", "aspect content must be a JSON object")
    // content the emulator could not serialise again (for the journal, for every listing) is refused up front
    if (nestsDeeperThan(content, maxContentDepth)) {
      return yield* badRequest(`aspect content nests deeper than ${maxContentDepth} levels`)
    }
    return { entity, schema, content, ...(policy !== undefined && policy !== "" ? { policy } : {}) }
  })

const newAspect = (
  ctx: Ctx,
  a: { entity: string; schema: string; content: Record<string, unknown>; policy?: string },
  validFrom: number
): AspectRec => {
  const rec: AspectRec = {
    seq: ctx.state.nextSeq(),
    id: `urn:ivcap:aspect:${randomUuid()}`,
    entity: a.entity,
    schema: a.schema,
    content: a.content,
    ...(a.policy !== undefined ? { policy: a.policy } : {}),
    asserter: SeedData.principal,
    validFrom
  }
  ctx.state.addAspect(rec)
  return rec
}

/** `POST /1/aspects?entity=&schema=[&policy=]` → 200 `{id}`. */
export const createAspect: Handler = (ctx) =>
  Effect.gen(function*() {
    const a = yield* assertion(ctx)
    const rec = newAspect(ctx, a, ctx.state.aspectTime())
    return json({ id: rec.id })
  })

/** `PUT /1/aspects`: retracts the single active record for (entity, schema), creates the new one; 424 when several are active. */
export const updateAspect: Handler = (ctx) =>
  Effect.gen(function*() {
    const a = yield* assertion(ctx)
    const active = (ctx.state.aspectsByEntity.get(a.entity) ?? []).filter((r) =>
      r.schema === a.schema && r.validTo === undefined
    )
    if (active.length > 1) {
      return yield* notUnique(
        `${active.length} active aspects for entity '${a.entity}' and schema '${a.schema}'; update needs exactly one`
      )
    }
    const old = active[0]
    // the retraction instant is strictly after the old record's valid-from, so its validity is never empty
    const t = ctx.state.aspectTime(old === undefined ? 0 : old.validFrom + 1)
    const rec = ctx.state.batch(() => {
      if (old !== undefined) ctx.state.retractAspect(old, t, SeedData.principal)
      return newAspect(ctx, a, t)
    })
    return json({ id: rec.id })
  })

/**
 * `DELETE /1/aspects/{id}` → 204; afterwards `GET` shows `valid-to` and `retracter` (inferred, wire doc §10).
 * Retracting an already retracted aspect changes nothing (still 204).
 */
export const retractAspect: Handler = (ctx) =>
  Effect.gen(function*() {
    const id = param(ctx, "id")
    const a = ctx.state.aspectsById.get(id)
    if (a === undefined) return yield* notFound(id, `aspect '${id}' not found`)
    if (a.validTo === undefined) ctx.state.retractAspect(a, ctx.state.aspectTime(a.validFrom + 1), SeedData.principal)
    return HttpServerResponse.empty({ status: 204 })
  })

/** `GET /1/aspects/{id}` → `AspectRT`. */
export const readAspect: Handler = (ctx) =>
  Effect.gen(function*() {
    const id = param(ctx, "id")
    const a = ctx.state.aspectsById.get(id)
    if (a === undefined) return yield* notFound(id, `aspect '${id}' not found`)
    return json(Wire.aspectWire(a, ctx.base, ctx.state.apiVersion))
  })

/** `order-by` names of the spec (underscore style) and what they sort by. */
const orderFields: Fields<AspectRec> = {
  entity: (a) => a.entity,
  schema: (a) => a.schema,
  content: (a) => JSON.stringify(a.content),
  policy: (a) => a.policy,
  account: () => SeedData.account,
  created_by: (a) => a.asserter,
  retracted_by: (a) => a.retracter,
  replaces: () => undefined,
  valid_from: (a) => a.validFrom,
  valid_to: (a) => a.validTo
}

/** Fields usable in `filter`. */
const filterFields: Fields<AspectRec> = {
  id: (a) => a.id,
  entity: (a) => a.entity,
  schema: (a) => a.schema,
  policy: (a) => a.policy,
  asserter: (a) => a.asserter,
  created_by: (a) => a.asserter,
  retracter: (a) => a.retracter,
  retracted_by: (a) => a.retracter,
  valid_from: (a) => formatTime(a.validFrom),
  valid_to: (a) => (a.validTo !== undefined ? formatTime(a.validTo) : undefined)
}

/** Index of the first record with `seq > s` in a seq-ordered array. */
const upperBound = (arr: ReadonlyArray<AspectRec>, s: number): number => {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid]!.seq <= s) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** `GET /1/aspects` → `AspectListRT` (all list parameters, paging as §5). */
export const listAspects: Handler = (ctx) =>
  Effect.gen(function*() {
    const req = yield* pageRequest(ctx.q, "aspects")
    let token: PageToken
    if (req._tag === "first") {
      const q = req.q
      const atTime = yield* parseAtTime(q, ctx.state.now())
      const includeContent = yield* parseBool(q, "include-content")
      const norm: Record<string, string> = {}
      for (const k of ["entity", "schema", "content-path", "filter", "order-by"]) {
        const v = q.get(k)
        if (v !== null && v !== "") norm[k] = v
      }
      const dir = (q.get("order-direction") ?? "DESC").trim().toUpperCase()
      if (dir !== "ASC" && dir !== "DESC") {
        return yield* invalidParameter("order-direction", "order-direction must be 'ASC' or 'DESC'", q.get("order-direction")!)
      }
      norm["order-direction"] = dir
      if (includeContent === true) norm["include-content"] = "true"
      token = { k: "aspects", q: norm, t: atTime, n: req.limit, s: ctx.state.seq, o: 0 }
    } else {
      token = req.token
    }
    const q = token.q
    const limit = req.limit
    // order-by: a comma list of the spec's names, or of top-level content keys (the Go CLI lists jobs through their
    // job.2 aspects with `order-by=requested-at`). A name that is neither a column nor a key of any aspect's content
    // is a 422. (inferred: the platform's aspect ordering by content keys is not documented)
    const rawOrder = (q["order-by"] ?? "valid_from").split(",").map((f) => f.trim()).filter((f) => f !== "")
    const orderBy = rawOrder.map((f) => normaliseField(f))
    const getters: Record<string, (a: AspectRec) => FieldValue> = { ...orderFields }
    for (const [i, f] of orderBy.entries()) {
      const key = rawOrder[i]!
      if (orderFields[f] === undefined && ctx.state.aspects.some((a) => Object.hasOwn(a.content, key))) {
        getters[f] = (a) => {
          const v = Object.hasOwn(a.content, key) ? a.content[key] : undefined
          return v === undefined || v === null || typeof v === "string" || typeof v === "number" ||
              typeof v === "boolean"
            ? (v ?? undefined)
            : JSON.stringify(v)
        }
      }
      if (getters[f] === undefined) {
        return yield* invalidParameter(
          "order-by",
          `cannot order by '${f}' (supported: ${Object.keys(orderFields).join(", ")})`,
          q["order-by"] ?? ""
        )
      }
    }
    const pred = yield* compileFilterOr422(q["filter"], filterFields)
    let pathPred: ((content: unknown) => boolean) | undefined
    if (q["content-path"] !== undefined) {
      const src = q["content-path"]
      pathPred = yield* Effect.try({ try: () => compileJsonPath(src), catch: (e) => e }).pipe(
        Effect.catchAll((e) =>
          invalidParameter(
            "content-path",
            `${e instanceof JsonPathError ? e.message : "invalid JSONPath"} (supported: $, .key, ["key"], [*], [n], .*, ` +
              `? (@.x == "s" && @.n > 3 || ...), like_regex, starts with, exists(...))`,
            src
          )
        )
      )
    }
    // at-time defaults to now, so only currently valid records are listed; content only with include-content=true
    // (both inferred, wire doc §10)
    const schemaRe = q["schema"] !== undefined ? likeToRegExp(q["schema"]) : undefined
    const entity = q["entity"]
    const t = token.t
    const matches = (a: AspectRec) =>
      a.seq <= token.s && a.validFrom <= t && (a.validTo === undefined || t < a.validTo) &&
      (entity === undefined || a.entity === entity) && (schemaRe === undefined || schemaRe.test(a.schema)) &&
      pred(a) && (pathPred === undefined || pathPred(a.content))
    const desc = q["order-direction"] !== "ASC"
    const source = entity !== undefined ? (ctx.state.aspectsByEntity.get(entity) ?? []) : ctx.state.aspects
    let page: Array<AspectRec>
    let next: PageToken | undefined
    if (orderBy.length === 1 && orderBy[0] === "valid_from") {
      // fast path: records are kept in seq order, which is also valid-from order; scan from the last position
      page = []
      let more = false
      const step = desc ? -1 : 1
      let i = desc
        ? upperBound(source, token.l !== undefined ? token.l - 1 : token.s) - 1
        : upperBound(source, token.l ?? 0)
      for (; i >= 0 && i < source.length; i += step) {
        const a = source[i]!
        if (!matches(a)) continue
        if (page.length === limit) {
          more = true
          break
        }
        page.push(a)
      }
      next = more ? { ...token, n: limit, o: token.o + page.length, l: page[page.length - 1]!.seq } : undefined
    } else {
      const all = source.filter(matches)
      const sign = desc ? -1 : 1
      all.sort((a, b) => {
        for (const f of orderBy) {
          const c = compareValues(getters[f]!(a), getters[f]!(b))
          if (c !== 0) return sign * c
        }
        return sign * (a.seq - b.seq)
      })
      page = all.slice(token.o, token.o + limit)
      next = token.o + limit < all.length ? { ...token, n: limit, o: token.o + limit } : undefined
    }
    const { l: _l, ...firstBase } = token
    const first: PageToken = { ...firstBase, n: limit, o: 0 }
    const includeContent = q["include-content"] === "true"
    const schema = q["schema"]
    return json({
      "at-time": formatTime(t),
      ...(entity !== undefined ? { entity } : {}),
      // a wildcard pattern is not a URI: only an exact schema is echoed (wire doc §14)
      ...(schema !== undefined && !schema.includes("%") ? { schema } : {}),
      ...(q["content-path"] !== undefined ? { "aspect-path": q["content-path"] } : {}),
      items: page.map((a) => Wire.aspectListItem(a, includeContent, ctx.state.apiVersion)),
      links: listLinks(ctx.base, "/1/aspects", ctx.request.url, first, next, "AspectListRT")
    })
  })

export { HttpFail }
