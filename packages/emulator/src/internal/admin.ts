/**
 * Admin routes under `/_emulator/` (off the IVCAP path space; never recorded or faulted). They need the same bearer
 * token as the API, except `GET /_emulator/health`.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Faults from "../Faults.js"
import { badRequest, bodyJson, json } from "./http.js"
import type { Handler } from "./route.js"
import { formatTime, isJsonObject } from "./util.js"

const noContent = () => HttpServerResponse.empty({ status: 204 })

/** `GET /_emulator/health` (no token needed). */
export const health: Handler = (ctx) =>
  Effect.succeed(json({ status: "ok", "emulator-time": formatTime(ctx.state.now()) }))

const nonNegative = (u: unknown) => typeof u === "number" && Number.isFinite(u) && u >= 0

/** `POST /_emulator/faults`: a JSON fault rule → 204. */
export const injectFault: Handler = (ctx) =>
  Effect.gen(function*() {
    const rule = yield* Effect.catchAll(Faults.decodeRule(yield* bodyJson(ctx.request)), badRequest)
    yield* ctx.emu.faults.inject(rule)
    return noContent()
  })

/** `DELETE /_emulator/faults` → 204. */
export const resetFaults: Handler = (ctx) => Effect.as(ctx.emu.faults.reset, noContent())

/** `POST /_emulator/reset` → 204. */
export const reset: Handler = (ctx) => Effect.as(ctx.emu.reset, noContent())

/** `POST /_emulator/clock/advance` `{millis}` → the new emulator time. */
export const advanceClock: Handler = (ctx) =>
  Effect.gen(function*() {
    const body = yield* bodyJson(ctx.request)
    const millis = isJsonObject(body) ? body["millis"] : undefined
    if (!nonNegative(millis)) return yield* badRequest("body must be { \"millis\": n } with n >= 0")
    yield* ctx.emu.clock.advance(millis as number)
    return json({ "emulator-time": formatTime(ctx.state.now()) })
  })

/** `GET /_emulator/clock` → the emulator time. */
export const readClock: Handler = (ctx) => Effect.succeed(json({ "emulator-time": formatTime(ctx.state.now()) }))

/**
 * A content template for aspect `i`: the string `"{i}"` becomes the number `i`; in other strings `{i}`, `{i+k}`,
 * `{i-k}` and `{i/k}` (integer division) become those numbers.
 */
const fill = (t: unknown, i: number): unknown => {
  if (typeof t === "string") {
    if (t === "{i}") return i
    return t.replace(/\{i(?:([/+-])(\d+))?\}/g, (_, op: string | undefined, k: string | undefined) => {
      const n = Number(k ?? 0)
      return String(op === "/" ? (n === 0 ? i : Math.floor(i / n)) : op === "+" ? i + n : op === "-" ? i - n : i)
    })
  }
  if (Array.isArray(t)) return t.map((x) => fill(x, i))
  if (isJsonObject(t)) return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, fill(v, i)]))
  return t
}

/** `POST /_emulator/seed/aspects` `{count, entity?, schema?, content?}` (content: a template, see `fill`). */
export const seedAspects: Handler = (ctx) =>
  Effect.gen(function*() {
    const body = yield* bodyJson(ctx.request)
    if (!isJsonObject(body)) return yield* badRequest("body must be { \"count\": n, \"entity\"?, \"schema\"? }")
    const count = body["count"]
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0 || count > 10_000_000) {
      return yield* badRequest("'count' must be an integer in 0..10000000")
    }
    for (const k of ["entity", "schema"]) {
      if (body[k] !== undefined && typeof body[k] !== "string") return yield* badRequest(`'${k}' must be a string`)
    }
    const template = body["content"]
    if (template !== undefined && !isJsonObject(template)) return yield* badRequest("'content' must be a JSON object (a template)")
    const ids = yield* ctx.emu.seed.aspects(count, {
      ...(typeof body["entity"] === "string" ? { entity: body["entity"] } : {}),
      ...(typeof body["schema"] === "string" ? { schema: body["schema"] } : {}),
      ...(template !== undefined ? { content: (i: number) => fill(template, i) as object } : {})
    })
    return json({
      count: ids.length,
      ...(ids.length > 0 ? { first: ids[0], last: ids[ids.length - 1] } : {}),
      ...(ids.length <= 1000 ? { ids } : {})
    })
  })

/** `POST /_emulator/seed/services` `{like, name?}` → `{id}`: a copy of a service (same name unless given). */
export const seedService: Handler = (ctx) =>
  Effect.gen(function*() {
    const body = yield* bodyJson(ctx.request)
    if (!isJsonObject(body) || typeof body["like"] !== "string" || (body["name"] !== undefined && typeof body["name"] !== "string")) {
      return yield* badRequest("body must be { \"like\": \"<service id>\", \"name\"?: \"...\" }")
    }
    const id = yield* ctx.emu.seed.service(body["like"], typeof body["name"] === "string" ? { name: body["name"] } : {})
    if (Option.isNone(id)) return yield* badRequest(`no service ${JSON.stringify(body["like"])} to copy`)
    return json({ id: id.value }, 201)
  })

/** `GET /_emulator/requests?method=&path=|path-regex=` → `{count}`. */
export const countRequests: Handler = (ctx) =>
  Effect.gen(function*() {
    const method = ctx.q.get("method") ?? undefined
    const path = ctx.q.get("path") ?? undefined
    const regex = ctx.q.get("path-regex") ?? undefined
    let re: RegExp | undefined
    if (regex !== undefined) {
      try {
        re = new RegExp(regex)
      } catch {
        return yield* badRequest("'path-regex' is not a valid regular expression")
      }
    }
    const count = yield* ctx.emu.requests.count({
      ...(method !== undefined && method !== "" ? { method } : {}),
      ...(re !== undefined ? { path: re } : path !== undefined && path !== "" ? { path } : {})
    })
    return json({ count })
  })

/** `DELETE /_emulator/requests` → 204. */
export const resetRequests: Handler = (ctx) => Effect.as(ctx.emu.requests.reset, noContent())
