/**
 * `/1/secrets` (v0.44–v0.48 spec, operation group `secret`): set (`POST /1/secrets` → 204), get
 * (`GET /1/secrets?secret-name=[&secret-type=]` → `SecretResultT`) and list (`GET /1/secrets/list` →
 * `ListResponseBody2`, names and expiry times only). One account, secrets keyed by name; a set overwrites (as the
 * CLI's `secret set` says). The value is answered only by the get: it is never in an error message, and the request
 * log holds only method, URL and headers (the value travels in the POST body).
 *
 * What the spec leaves open, decided here **(inferred)**:
 *   - `expiry-time` is Unix seconds (the CLI formats it with `time.Unix(t, 0)`), 0 = never (the CLI sends 0 without
 *     `--expire` and shows it as N/A); a secret past its expiry is gone (404, not listed).
 *   - `filter` is a regular expression the whole name must match (the spec's example is `test.*`); a bad one → 422.
 *   - `limit` has no maximum in the spec: pages hold at most 50 (like every other list), more follow by `next`.
 *   - `offset` (the CLI's `--offset`) is a number of names to skip; `page` is the usual opaque cursor.
 *   - the list is ordered by name; `secret-type` on get must equal the type the secret was set with, if any.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { bodyJson, goaValidation, invalidParameter, json, notFound } from "../http.js"
import { listLinks, type PageToken, pageRequest } from "../listing.js"
import type { SecretRec } from "../model.js"
import type { Ctx, Handler } from "../route.js"
import { isJsonObject } from "../util.js"

const maxPage = 50

/** Whether a secret is still valid at emulator time `now` (millis). */
const alive = (s: SecretRec, now: number) => s.expiryTime === 0 || s.expiryTime * 1000 > now

/** A body field of a set request, goa-style: missing → 400 `missing_field`, wrong type → 400 (the value never echoed). */
const field = (body: Record<string, unknown>, name: string, type: "string" | "integer", required: boolean) =>
  Effect.gen(function*() {
    const v = body[name]
    if (v === undefined || v === null) {
      return required ? yield* goaValidation("missing_field", `"${name}" is missing from body`) : undefined
    }
    const ok = type === "string" ? typeof v === "string" : typeof v === "number" && Number.isSafeInteger(v)
    if (!ok) return yield* goaValidation("invalid_field_type", `invalid value for "${name}", must be a ${type}`)
    return v as string | number
  })

/** A secret name: non-empty, at most 256 characters, no control characters. */
const nameProblem = (name: string): string | undefined =>
  name.length === 0
    ? "secret-name must not be empty"
    : name.length > 256
    ? "secret-name is longer than 256 characters"
    : /\p{Cc}/u.test(name)
    ? "secret-name must not contain control characters"
    : undefined

/** `POST /1/secrets` `SetSecretRequestT` → 204. */
export const setSecret: Handler = (ctx) =>
  Effect.gen(function*() {
    const body = yield* bodyJson(ctx.request)
    if (!isJsonObject(body)) return yield* goaValidation("invalid_field_type", "request body must be a JSON object")
    const name = (yield* field(body, "secret-name", "string", true)) as string
    const value = (yield* field(body, "secret-value", "string", true)) as string
    const expiryTime = (yield* field(body, "expiry-time", "integer", true)) as number
    const type = (yield* field(body, "secret-type", "string", false)) as string | undefined
    const problem = nameProblem(name)
    if (problem !== undefined) return yield* invalidParameter("secret-name", problem)
    if (expiryTime < 0) {
      return yield* invalidParameter("expiry-time", "expiry-time must be Unix seconds, or 0 for never", String(expiryTime))
    }
    ctx.state.setSecret({
      name,
      value,
      ...(type !== undefined && type !== "" ? { type } : {}),
      expiryTime,
      updatedAt: ctx.state.now()
    })
    return HttpServerResponse.empty({ status: 204 })
  })

/** `GET /1/secrets?secret-name=[&secret-type=]` → 200 `SecretResultT`, 404 when unknown or expired. */
export const getSecret: Handler = (ctx) =>
  Effect.gen(function*() {
    const name = ctx.q.get("secret-name")
    if (name === null || name === "") return yield* goaValidation("missing_field", `"secret-name" is missing from query string`)
    const type = ctx.q.get("secret-type")
    const s = ctx.state.secrets.get(name)
    if (s === undefined || !alive(s, ctx.state.now()) || (type !== null && type !== "" && s.type !== undefined && s.type !== type)) {
      // ResourceNotFoundT.id is a URI in v0.48: the name as a URN segment (inferred)
      return yield* notFound(`urn:ivcap:secret:${encodeURIComponent(name)}`, `secret '${name}' not found`)
    }
    return json({ "secret-name": s.name, "secret-value": s.value, "expiry-time": s.expiryTime })
  })

/** `limit`: a positive integer (no maximum in the spec); a page holds at most 50. */
const parseLimit = (ctx: Ctx) => {
  const raw = ctx.q.get("limit")
  if (raw === null || raw === "") return Effect.succeed(undefined)
  if (!/^\+?\d+$/.test(raw.trim())) {
    return goaValidation("invalid_field_type", `invalid value for "limit", must be a integer but got ${raw}`)
  }
  const n = Number(raw)
  return n < 1 ? invalidParameter("limit", "limit must be at least 1", raw) : Effect.succeed(Math.min(n, maxPage))
}

/** `GET /1/secrets/list?[filter=][&limit=][&offset=][&page=]` → `ListResponseBody2`. */
export const listSecrets: Handler = (ctx) =>
  Effect.gen(function*() {
    const limit = yield* parseLimit(ctx)
    const rest = new URLSearchParams(ctx.q)
    rest.delete("limit")
    const req = yield* pageRequest(rest, "secrets")
    let token: PageToken
    if (req._tag === "first") {
      const filter = ctx.q.get("filter") ?? ""
      const offset = ctx.q.get("offset") ?? ""
      if (offset !== "" && !/^\d+$/.test(offset)) {
        return yield* invalidParameter("offset", "offset must be a number of secrets to skip", offset)
      }
      token = {
        k: "secrets",
        q: filter === "" ? {} : { filter },
        t: ctx.state.now(),
        n: limit ?? 10,
        s: 0,
        o: offset === "" ? 0 : Number(offset)
      }
    } else {
      token = req.token
    }
    const n = limit ?? token.n
    let pattern: RegExp | undefined
    if (token.q["filter"] !== undefined) {
      const src = token.q["filter"]
      pattern = yield* Effect.try(() => new RegExp(`^(?:${src})$`, "u")).pipe(
        Effect.catchAll(() => invalidParameter("filter", "filter must be a regular expression over secret names", src))
      )
    }
    const matching = [...ctx.state.secrets.values()]
      .filter((s) => alive(s, token.t) && (pattern === undefined || pattern.test(s.name)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const page = matching.slice(token.o, token.o + n)
    const next = token.o + n < matching.length ? { ...token, n, o: token.o + n } : undefined
    return json({
      items: page.map((s) => ({ "secret-name": s.name, "expiry-time": s.expiryTime })),
      links: listLinks(ctx.base, "/1/secrets/list", ctx.request.url, { ...token, n, o: 0 }, next, "ListResponseBody2")
    })
  })
