/**
 * Search: `--search-items` aspects (default 100k) bulk-seeded in the emulator process as a binary tree (aspect i
 * has `self` = node i and `parent` = node i/2), then timed from a plain `fetch` (the cost is the server's):
 * - a filter over every aspect (`:load_aspect` of all of them, a comparison keeps 10);
 * - a recursive query: every descendant of node 1 (all nodes but two; 17 semi-naive rounds), first page;
 * - baseline: the emulator's own full scan of the same aspects, `GET /1/aspects` with a JSONPath `content-path`
 *   keeping the same 10 (one request).
 * Each query is run `--runs` times (the first page only, limit 10; every run evaluates afresh).
 */
import * as Effect from "effect/Effect"
import { type Benchmark, progress } from "./lib/Bench.js"
import * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { fmt, info, limitRow, median, type Row, series, times } from "./lib/Report.js"

const schema = "urn:ivcap:schema:bench.search.1"
/**
 * The bounds the rows check, as multiples of the scan baseline of the same run (the machine's load cancels out):
 * a filter over every aspect within 4 scans, the recursive query within 8.
 */
const filterBound = 4
const recursiveBound = 8

const timed = (f: () => Promise<void>) =>
  Effect.promise(async () => {
    const start = performance.now()
    await f()
    return performance.now() - start
  })

/** Runs the search benchmark. */
export const search: Benchmark = ({ options, tmp }) =>
  Effect.gen(function*() {
    const emu = yield* EmulatorProcess.start(tmp)
    const n = options.searchItems
    progress(`search: seeding ${n} aspects`)
    yield* emu.admin("POST", "/_emulator/seed/aspects", {
      count: n,
      schema,
      content: { self: "urn:bench:node:{i}", parent: "urn:bench:node:{i/2}", index: "{i}" }
    })
    const headers = { authorization: `Bearer ${emu.token}` }
    const post = async (query: string, expected: number | undefined) => {
      const res = await fetch(`${emu.url}/1/search?limit=10`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/datalog+mangle" },
        body: query
      })
      const body = (await res.json()) as { items?: Array<unknown>; message?: string }
      if (res.status !== 200) throw new Error(`search answered ${res.status}: ${body.message ?? ""}`)
      if (expected !== undefined && body.items?.length !== expected) throw new Error(`search gave ${body.items?.length} items, expected ${expected}`)
    }
    const load = `:load_aspect(/node, "${schema}", [".self", ".parent", ".index"]).\n`
    const filter = `${load}:- node(Self, Parent, Index), Index >= ${n - 10}.`
    const recursive = `${load}
desc(X) :- node(X, "urn:bench:node:1", _), X != "urn:bench:node:1".
desc(X) :- node(X, Y, _), desc(Y).
:- desc(X).`
    const scan = async () => {
      const path = `$.index ? (@ >= ${n - 10})`
      const res = await fetch(`${emu.url}/1/aspects?schema=${encodeURIComponent(schema)}&content-path=${encodeURIComponent(path)}&limit=10`, { headers })
      const body = (await res.json()) as { items?: Array<unknown> }
      if (res.status !== 200 || body.items?.length !== 10) throw new Error(`the aspect scan answered ${res.status} with ${body.items?.length} items`)
    }
    const samples = { filter: [] as Array<number>, recursive: [] as Array<number>, scan: [] as Array<number> }
    for (let i = 0; i < options.runs; i++) {
      samples.scan.push(yield* timed(scan))
      samples.filter.push(yield* timed(() => post(filter, 10)))
      samples.recursive.push(yield* timed(() => post(recursive, n > 12 ? 10 : undefined)))
      progress(`search run ${i + 1}: scan ${fmt(samples.scan[i]!, 0)} ms, filter ${fmt(samples.filter[i]!, 0)} ms, recursive ${fmt(samples.recursive[i]!, 0)} ms`)
    }
    const ms = (v: number) => `${fmt(v, 0)} ms`
    const label = `search over ${fmt(n, 0)} aspects`
    const scanMs = median(samples.scan)
    const bounded = (benchmark: string, ours: number, bound: number): Row => ({
      benchmark,
      ours: ms(ours),
      baseline: ms(scanMs),
      ratio: times(ours / scanMs),
      target: `≤ ${bound}× the scan`,
      pass: Number.isFinite(ours / scanMs) ? ours / scanMs <= bound : undefined
    })
    const rows: Array<Row> = [
      bounded(`${label}: filter (load all, keep 10) vs a content-path scan`, median(samples.filter), filterBound),
      bounded(`${label}: recursive (descendants of a node, ${fmt(n - 2, 0)} facts) vs the scan`, median(samples.recursive), recursiveBound),
      info(limitRow(`${label}: content-path scan (baseline)`, scanMs, undefined, ms, Number.POSITIVE_INFINITY, "–"))
    ]
    return {
      rows,
      series: [
        series("search filter", "ms", samples.filter),
        series("search recursive", "ms", samples.recursive),
        series("search baseline scan", "ms", samples.scan)
      ],
      notes: [
        `search: each query evaluated afresh over the seeded ${fmt(n, 0)} aspects in the emulator process; time to the first page (limit 10), median of ${options.runs}.`
      ]
    }
  })
