/**
 * Admin routes under `/_emulator/` (off the IVCAP path space; never recorded or faulted). They need the same bearer
 * token as the API, except `GET /_emulator/health`.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Faults from "../Faults.js"
import { badRequest, bodyJson, json } from "./http.js"
import type { Handler } from "./route.js"
import { formatTime, isJsonObject } from "./util.js"

const noContent = () => HttpServerResponse.empty({ status: 204 })

/** `GET /_emulator/health` (no token needed). */
export const health: Handler = (ctx) =>
  Effect.succeed(json({ status: "ok", "emulator-time": formatTime(ctx.state.now()) }))

/** Reads `{ "regex": "...", "flags"?: "..." }` or a string prefix. */
const pathMatcher = (u: unknown): string | RegExp | undefined | "invalid" => {
  if (u === undefined) return undefined
  if (typeof u === "string") return u
  if (isJsonObject(u) && typeof u["regex"] === "string") {
    try {
      return new RegExp(u["regex"], typeof u["flags"] === "string" ? u["flags"] : "")
    } catch {
      return "invalid"
    }
  }
  return "invalid"
}

const nonNegative = (u: unknown) => typeof u === "number" && Number.isFinite(u) && u >= 0

/** Decodes a fault rule from JSON (400 with a message saying what is wrong). */
const decodeRule = (body: unknown) =>
  Effect.gen(function*() {
    if (!isJsonObject(body)) return yield* badRequest("a fault rule is a JSON object")
    const action = body["action"]
    if (!isJsonObject(action) || typeof action["_tag"] !== "string") {
      return yield* badRequest("'action' must be an object with a '_tag'")
    }
    let act: Faults.FaultAction
    switch (action["_tag"]) {
      case "Status": {
        const status = action["status"]
        if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
          return yield* badRequest("Status needs an integer 'status' in 100..599")
        }
        if (action["retryAfter"] !== undefined && !nonNegative(action["retryAfter"])) {
          return yield* badRequest("'retryAfter' must be a non-negative number of seconds")
        }
        if (action["body"] !== undefined && typeof action["body"] !== "string") {
          return yield* badRequest("'body' must be a string")
        }
        act = {
          _tag: "Status",
          status,
          ...(action["retryAfter"] !== undefined ? { retryAfter: action["retryAfter"] as number } : {}),
          ...(typeof action["body"] === "string" ? { body: action["body"] } : {}),
          ...(typeof action["contentType"] === "string" ? { contentType: action["contentType"] } : {})
        }
        break
      }
      case "Delay":
        if (!nonNegative(action["millis"])) return yield* badRequest("Delay needs 'millis' >= 0")
        act = { _tag: "Delay", millis: action["millis"] as number }
        break
      case "Stall":
        act = { _tag: "Stall" }
        break
      case "CutRequestBody":
      case "CutResponse":
        if (!nonNegative(action["afterBytes"])) return yield* badRequest(`${action["_tag"]} needs 'afterBytes' >= 0`)
        act = { _tag: action["_tag"], afterBytes: action["afterBytes"] as number }
        break
      case "Malformed":
        if (typeof action["body"] !== "string") return yield* badRequest("Malformed needs a string 'body'")
        act = {
          _tag: "Malformed",
          body: action["body"],
          ...(typeof action["contentType"] === "string" ? { contentType: action["contentType"] } : {}),
          ...(typeof action["status"] === "number" ? { status: action["status"] } : {})
        }
        break
      case "CutEvents":
        if (!nonNegative(action["afterEvents"])) return yield* badRequest("CutEvents needs 'afterEvents' >= 0")
        act = { _tag: "CutEvents", afterEvents: action["afterEvents"] as number }
        break
      case "MapBody":
        return yield* badRequest("MapBody is available in-process only (a function cannot be sent over HTTP)")
      default:
        return yield* badRequest(`unknown fault '${String(action["_tag"])}'`)
    }
    const match = body["match"]
    if (match !== undefined && !isJsonObject(match)) return yield* badRequest("'match' must be an object")
    const method = match?.["method"]
    if (method !== undefined && typeof method !== "string") return yield* badRequest("'match.method' must be a string")
    const path = pathMatcher(match?.["path"])
    if (path === "invalid") return yield* badRequest("'match.path' must be a string prefix or { \"regex\": \"...\" }")
    for (const k of ["times", "skip"] as const) {
      const v = body[k]
      if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= 0)) {
        return yield* badRequest(`'${k}' must be a non-negative integer`)
      }
    }
    const rule: Faults.FaultRule = {
      action: act,
      ...(match !== undefined
        ? { match: { ...(method !== undefined ? { method } : {}), ...(path !== undefined ? { path } : {}) } }
        : {}),
      ...(body["times"] !== undefined ? { times: body["times"] as number } : {}),
      ...(body["skip"] !== undefined ? { skip: body["skip"] as number } : {})
    }
    return rule
  })

/** `POST /_emulator/faults`: a JSON fault rule → 204. */
export const injectFault: Handler = (ctx) =>
  Effect.gen(function*() {
    const rule = yield* decodeRule(yield* bodyJson(ctx.request))
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

/** `POST /_emulator/seed/aspects` `{count, entity?, schema?}`. */
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
    const ids = yield* ctx.emu.seed.aspects(count, {
      ...(typeof body["entity"] === "string" ? { entity: body["entity"] } : {}),
      ...(typeof body["schema"] === "string" ? { schema: body["schema"] } : {})
    })
    return json({
      count: ids.length,
      ...(ids.length > 0 ? { first: ids[0], last: ids[ids.length - 1] } : {}),
      ...(ids.length <= 1000 ? { ids } : {})
    })
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
