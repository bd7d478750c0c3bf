/**
 * Listing and paging (wire doc §5, §14): `limit` 1..50 (default 10); the `next` link is
 * `<base>/1/<collection>?page=<base64url token>` and nothing else; the token carries everything (filters, order,
 * the `at-time` of the first page, page size, position, and the newest record at the first page so records
 * created later never shift the pages); when `page` is given only `limit` is honoured.
 */
import * as Effect from "effect/Effect"
import type { FieldValue } from "./filter.js"
import { compileFilter, FilterError } from "./filter.js"
import { goaValidation, type HttpFail, invalidParameter } from "./http.js"
import { describedBy, link, type Link } from "./wire.js"
import { base64UrlDecode, base64UrlEncode, isJsonObject, parseTime } from "./util.js"

/** What a `page` token carries (JSON, base64url). */
export interface PageToken {
  /** collection */
  readonly k: string
  /** normalised query parameters of the first page */
  readonly q: Record<string, string>
  /** at-time (millis) */
  readonly t: number
  /** page size */
  readonly n: number
  /** newest seq visible to the listing */
  readonly s: number
  /** offset into the ordered result */
  readonly o: number
  /** seq of the last item returned (fast path of aspects in `valid_from` order) */
  readonly l?: number
}

/** A URL-safe page token. */
export const encodeToken = (t: PageToken): string => base64UrlEncode(JSON.stringify(t))

const decodeToken = (kind: string, raw: string): PageToken | undefined => {
  const text = base64UrlDecode(raw)
  if (text === undefined) return undefined
  try {
    const t = JSON.parse(text) as unknown
    if (
      !isJsonObject(t) || t["k"] !== kind || !isJsonObject(t["q"]) || typeof t["t"] !== "number" ||
      typeof t["n"] !== "number" || typeof t["s"] !== "number" || typeof t["o"] !== "number" ||
      (t["l"] !== undefined && typeof t["l"] !== "number")
    ) return undefined
    return t as unknown as PageToken
  } catch {
    return undefined
  }
}

/** `limit`: integer 1..50; goa rejects violations with 400 **(inferred: goa validation errors)**. */
export const parseLimit = (q: URLSearchParams): Effect.Effect<number | undefined, HttpFail> => {
  const raw = q.get("limit")
  if (raw === null) return Effect.succeed(undefined)
  if (!/^[+-]?\d+$/.test(raw.trim())) {
    return goaValidation("invalid_field_type", `invalid value for "limit", must be a integer but got ${raw}`)
  }
  const n = Number(raw)
  if (n < 1) return goaValidation("invalid_range", `limit must be greater or equal than 1 but got value ${n}`)
  if (n > 50) return goaValidation("invalid_range", `limit must be lower or equal than 50 but got value ${n}`)
  return Effect.succeed(n)
}

/** A boolean query parameter (`true`/`false`); goa answers 400 otherwise **(inferred)**. */
export const parseBool = (q: URLSearchParams, name: string): Effect.Effect<boolean | undefined, HttpFail> => {
  const raw = q.get(name)
  if (raw === null || raw === "") return Effect.succeed(undefined)
  const v = raw.toLowerCase()
  if (v === "true" || v === "1") return Effect.succeed(true)
  if (v === "false" || v === "0") return Effect.succeed(false)
  return goaValidation("invalid_field_type", `invalid value for "${name}", must be a boolean but got ${raw}`)
}

/** `at-time`: RFC 3339 date-time; goa answers 400 on a bad format **(inferred)**. */
export const parseAtTime = (q: URLSearchParams, now: number): Effect.Effect<number, HttpFail> => {
  const raw = q.get("at-time")
  if (raw === null || raw === "") return Effect.succeed(now)
  const t = parseTime(raw)
  if (t === undefined) {
    return goaValidation("invalid_format", `"at-time" must be formatted as a date-time (RFC 3339) but got value ${raw}`)
  }
  return Effect.succeed(t)
}

/** Either the first page's parameters, or a decoded page token (+ a `limit` override). */
export type PageRequest =
  | { readonly _tag: "first"; readonly limit: number; readonly q: URLSearchParams }
  | { readonly _tag: "next"; readonly limit: number; readonly token: PageToken }

/** Reads `limit` and `page` (an undecodable token → 422 `page`). */
export const pageRequest = (q: URLSearchParams, kind: string): Effect.Effect<PageRequest, HttpFail> =>
  Effect.gen(function*() {
    const limit = yield* parseLimit(q)
    const page = q.get("page")
    if (page !== null && page !== "") {
      const token = decodeToken(kind, page)
      if (token === undefined) return yield* invalidParameter("page", "invalid or expired page token", page)
      return { _tag: "next", limit: limit ?? token.n, token } as const
    }
    return { _tag: "first", limit: limit ?? 10, q } as const
  })

/** `self`, `first`, `next` (when more), `describedBy`. */
export const listLinks = (
  base: string,
  path: string,
  selfUrl: string,
  first: PageToken,
  next: PageToken | undefined,
  schema: string
): Array<Link> => [
  link("self", `${base}${selfUrl}`),
  link("first", `${base}${path}?page=${encodeToken(first)}`),
  ...(next !== undefined ? [link("next", `${base}${path}?page=${encodeToken(next)}`)] : []),
  describedBy(base, schema)
]

/** Field accessors used by `filter` and `order-by`. */
export type Fields<R> = Record<string, (rec: R) => FieldValue>

/** Compiles `filter`, answering 422 `filter` with the parser's message. */
export const compileFilterOr422 = <R>(src: string | undefined, fields: Fields<R>) =>
  Effect.try({
    try: () => (src === undefined || src.trim() === "" ? () => true : compileFilter(src, fields)),
    catch: (e) => e
  }).pipe(Effect.catchAll((e) =>
    invalidParameter("filter", e instanceof FilterError ? e.message : "invalid filter", src ?? "")
  ))

/** Compares two field values (undefined sorts first). */
export const compareValues = (a: FieldValue, b: FieldValue): number => {
  if (a === b) return 0
  if (a === undefined) return -1
  if (b === undefined) return 1
  if (typeof a === "number" && typeof b === "number") return a - b
  const x = String(a)
  const y = String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Normalises a field name (`published-at`, `PublishedAt` → `published_at`). */
export const normaliseField = (name: string): string =>
  name.trim().replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_").toLowerCase()

/** How to list services, orders or artifacts. */
export interface SimpleListSpec<R> {
  readonly kind: string
  readonly path: string
  readonly schema: string
  readonly records: ReadonlyArray<R>
  readonly seq: (r: R) => number
  readonly visibleAt: (r: R, t: number) => boolean
  /** Field accessors for `filter` and `order-by`, given the listing's at-time. */
  readonly fields: (t: number) => Fields<R>
  readonly defaultOrder: string
  readonly render: (r: R, t: number) => unknown
  /** Further first-page query parameters the page token carries (e.g. `search` of `/1/services2`). */
  readonly keep?: ReadonlyArray<string>
}

/**
 * Services, orders and artifacts: `filter`, `order-by` (one field), `order-desc` (default true), `at-time`.
 * Returns the items, links and the at-time of the listing.
 */
export const simpleList = <R>(
  spec: SimpleListSpec<R>,
  req: PageRequest,
  now: number,
  currentSeq: number,
  base: string,
  selfUrl: string
): Effect.Effect<{ items: Array<unknown>; links: Array<Link>; atTime: number }, HttpFail> =>
  Effect.gen(function*() {
    let token: PageToken
    if (req._tag === "first") {
      const q = req.q
      const atTime = yield* parseAtTime(q, now)
      const desc = yield* parseBool(q, "order-desc")
      const orderBy = q.get("order-by")
      const norm: Record<string, string> = {}
      if (q.get("filter")) norm["filter"] = q.get("filter")!
      if (orderBy) norm["order-by"] = orderBy
      norm["order-desc"] = String(desc ?? true)
      for (const name of spec.keep ?? []) if (q.get(name)) norm[name] = q.get(name)!
      token = { k: spec.kind, q: norm, t: atTime, n: req.limit, s: currentSeq, o: 0 }
    } else {
      token = req.token
    }
    const fields = spec.fields(token.t)
    // `order-by=name` or, as the spec's description says, `order-by=name desc` (the suffix wins over order-desc)
    const [orderName = spec.defaultOrder, suffix] = (token.q["order-by"] ?? spec.defaultOrder).trim().split(/\s+/)
    const orderField = normaliseField(orderName)
    const getOrder = suffix === undefined || /^(asc|desc)$/i.test(suffix) ? fields[orderField] : undefined
    if (getOrder === undefined) {
      return yield* invalidParameter(
        "order-by",
        `cannot order by '${token.q["order-by"]}' (supported: ${Object.keys(fields).join(", ")})`,
        token.q["order-by"]
      )
    }
    const pred = yield* compileFilterOr422(token.q["filter"], fields)
    const dir = suffix !== undefined ? (suffix.toLowerCase() === "asc" ? 1 : -1) : token.q["order-desc"] === "false" ? 1 : -1
    const matching = spec.records.filter((r) =>
      spec.seq(r) <= token.s && spec.visibleAt(r, token.t) && pred(r)
    )
    matching.sort((a, b) => dir * (compareValues(getOrder(a), getOrder(b)) || spec.seq(a) - spec.seq(b)))
    const page = matching.slice(token.o, token.o + req.limit)
    const next = token.o + req.limit < matching.length
      ? { ...token, n: req.limit, o: token.o + req.limit }
      : undefined
    return {
      items: page.map((r) => spec.render(r, token.t)),
      links: listLinks(base, spec.path, selfUrl, { ...token, n: req.limit, o: 0 }, next, spec.schema),
      atTime: token.t
    }
  })
