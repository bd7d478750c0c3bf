/**
 * `POST /1/search` (wire doc §3.15, §9): a Mangle Datalog query (`application/datalog+mangle`) evaluated by the
 * emulator's engine (`../datalog/`) over its own state as of `at-time`; the items are objects of the query's
 * bound variables, paged like every list. Also the 501 answer for declared endpoints the emulator does not
 * implement.
 *
 * Paging: the `page` token carries the at-time, the newest record of the first page, the position and a hash of
 * the query; clients re-send the query with the token (the Python client and this SDK do). The last few answers
 * are kept, so a page costs no re-evaluation, and a request with the token and an empty body is answered from them.
 */
import * as Effect from "effect/Effect"
import type { Value } from "../datalog/ast.js"
import { DatalogError } from "../datalog/ast.js"
import { evaluate, type QueryResult, toJson } from "../datalog/evaluator.js"
import * as Ivcap from "../datalog/ivcap.js"
import { parse } from "../datalog/parser.js"
import { materialiseJobs } from "../jobs.js"
import { badRequest, bodyText, invalidParameter, json, mediaType, notImplementedResponse, unsupportedContentType } from "../http.js"
import { listLinks, pageRequest, parseAtTime, type PageToken } from "../listing.js"
import type { AspectRec } from "../model.js"
import { type Handler } from "../route.js"
import { formatTime, realSleep, uuidFrom } from "../util.js"
import { materialise } from "./orders.js"

/** Recent answers per state generation (the aspects array is replaced on reset), for paging without re-evaluation. */
const cache = new WeakMap<ReadonlyArray<AspectRec>, Map<string, QueryResult>>()
const cacheSize = 4

const remember = (gen: ReadonlyArray<AspectRec>, key: string, result: QueryResult) => {
  let m = cache.get(gen)
  if (m === undefined) cache.set(gen, m = new Map())
  m.delete(key)
  m.set(key, result)
  while (m.size > cacheSize) m.delete(m.keys().next().value!)
}

/** Drives the evaluation, letting other requests run (a real timer) between slices; interruptible there. */
const run = (gen: Generator<void, QueryResult>): Effect.Effect<QueryResult, DatalogError> =>
  Effect.gen(function*() {
    for (;;) {
      const step = yield* Effect.try({
        try: () => gen.next(),
        catch: (e) => (e instanceof DatalogError ? e : new DatalogError("limit", `the query failed: ${String(e)}`))
      })
      if (step.done === true) return step.value
      yield* realSleep(0)
    }
  })

const item = (columns: ReadonlyArray<string>, row: ReadonlyArray<Value>): Record<string, unknown> => {
  const o: Record<string, unknown> = {}
  columns.forEach((c, i) => (o[c] = toJson(row[i]!)))
  return o
}

/** `POST /1/search`: 415 unless `application/datalog+mangle`; 400 with line and column for a bad query. */
export const search: Handler = (ctx) =>
  Effect.gen(function*() {
    const ct = mediaType(ctx.request.headers["content-type"])
    if (ct !== "application/datalog+mangle") {
      return yield* unsupportedContentType(`cannot handle '${ct ?? ""}' (expected application/datalog+mangle)`)
    }
    const req = yield* pageRequest(ctx.q, "search")
    const text = yield* bodyText(ctx.request)
    yield* materialise(ctx)
    yield* Effect.orDie(materialiseJobs(ctx.state))
    const hash = uuidFrom(text)
    let token: PageToken
    if (req._tag === "first") {
      const atTime = yield* parseAtTime(req.q, ctx.state.now())
      token = { k: "search", q: { h: hash }, t: atTime, n: req.limit, s: ctx.state.seq, o: 0 }
    } else {
      token = req.token
    }
    const key = `${token.q["h"]}|${token.t}|${token.s}`
    const gen = ctx.state.aspects
    const empty = text.trim() === ""
    if (req._tag === "next" && !empty && token.q["h"] !== hash) {
      return yield* invalidParameter("page", "the page token belongs to another query", ctx.q.get("page") ?? "")
    }
    let result = req._tag === "next" ? cache.get(gen)?.get(key) : undefined
    if (result === undefined) {
      if (req._tag === "next" && empty) {
        return yield* invalidParameter(
          "page",
          "send the query again with the page token (its answer is no longer kept)",
          ctx.q.get("page") ?? ""
        )
      }
      if (empty) return yield* badRequest("the search query is empty")
      const program = yield* Effect.try({
        try: () => parse(text),
        catch: (e) => e as DatalogError
      }).pipe(Effect.catchAll((e) => badRequest(e instanceof DatalogError ? `syntax error: ${e.message}` : String(e))))
      result = yield* run(evaluate(program, Ivcap.facts(ctx.state, { t: token.t, seq: token.s }), ctx.emu.internal.searchLimits)).pipe(
        Effect.catchAll((e) =>
          badRequest(e.kind === "limit" ? `query too expensive: ${e.message}` : `invalid query: ${e.message}`)
        )
      )
    }
    remember(gen, key, result)
    const rows = result.rows.slice(token.o, token.o + req.limit)
    const next = token.o + req.limit < result.rows.length ? { ...token, n: req.limit, o: token.o + req.limit } : undefined
    return json({
      "at-time": formatTime(token.t),
      items: rows.map((r) => item(result.columns, r)),
      links: listLinks(ctx.base, "/1/search", ctx.request.url, { ...token, n: req.limit, o: 0 }, next, "SearchListRT")
    })
  })

/** A declared IVCAP endpoint the emulator does not implement: 501 `{message}`. */
export const notImplemented = (method: string): Handler => () => Effect.succeed(notImplementedResponse(method))
