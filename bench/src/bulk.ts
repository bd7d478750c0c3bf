/**
 * Bulk annotation: every aspect of a listing read (from the listing, content included) and annotated with one new
 * aspect each — ours with a `Bulk` pipeline (checkpoints, typed errors, retries), the baseline a hand-written
 * `fetch` loop with a fixed pool of the same size — at `--bulk-items` (default 100k) and a tenth of that, with a
 * {@link latencyMillis} ms server-side delay on every `/1/aspects` request (emulator fault `Delay`) so that
 * concurrency matters, as it does against a real deployment. Each measurement is a fresh child process on a
 * freshly reset and seeded emulator; ours and the baseline alternate.
 *
 * Rows: throughput ours vs the baseline at the full size (target ≥ 0.8×), and ours' live heap after a full GC at
 * the end of the full size vs the tenth (memory flat: target ≤ 1.25×).
 */
import * as Effect from "effect/Effect"
import { alternate, type Benchmark, progress } from "./lib/Bench.js"
import { runClient } from "./lib/Child.js"
import type * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { start } from "./lib/EmulatorProcess.js"
import { fmt, info, limitRow, median, mib, type Row, ratioRow, series } from "./lib/Report.js"

const input = "urn:ivcap:schema:bench.bulk-in.1"
const output = "urn:ivcap:schema:bench.bulk-out.1"

/** The simulated round trip of every aspect request. */
export const latencyMillis = 5

/** Workers of both clients. */
export const concurrency = 32

type Client = "bulk-ours" | "bulk-raw"

interface Result {
  readonly items: number
  readonly failed: number
  readonly ms: number
  readonly cpuMs: number
  readonly atTenth?: { readonly heapUsed: number; readonly rss: number }
  readonly atEnd: { readonly heapUsed: number; readonly rss: number }
  readonly selfMaxRssBytes: number
}

const once = (emu: EmulatorProcess.EmulatorProcess, client: Client, items: number) =>
  Effect.gen(function*() {
    yield* emu.admin("POST", "/_emulator/reset")
    yield* emu.admin("POST", "/_emulator/seed/aspects", { count: items, schema: input })
    yield* emu.admin("POST", "/_emulator/faults", { match: { path: "/1/aspects" }, times: 100_000_000, action: { _tag: "Delay", millis: latencyMillis } })
    const { result } = yield* runClient<Result>(client, [
      "--schema", input, "--output", output, "--concurrency", String(concurrency), "--expected", String(items)
    ], { env: emu.env, nodeArgs: ["--expose-gc"] })
    if (result.items !== items || result.failed !== 0) return yield* Effect.fail(new Error(`${client} annotated ${result.items} of ${items} (${result.failed} failed)`))
    const perSecond = (items / result.ms) * 1000
    progress(`bulk ${client} ${fmt(items, 0)} (+${latencyMillis} ms): ${fmt(perSecond, 0)} items/s, heap at end ${mib(result.atEnd.heapUsed)}, peak RSS ${mib(result.selfMaxRssBytes)}`)
    return { perSecond, heap: result.atEnd.heapUsed, rss: result.selfMaxRssBytes, cpuMicros: (result.cpuMs / items) * 1000 }
  })

/** Runs the bulk-annotation benchmark. */
export const bulk: Benchmark = ({ options, tmp }) =>
  Effect.gen(function*() {
    const emu = yield* start(tmp)
    const full = options.bulkItems
    const tenth = Math.max(100, Math.round(full / 10))
    const samples = new Map<string, Array<{ perSecond: number; heap: number; rss: number; cpuMicros: number }>>()
    const key = (client: Client, n: number) => `${client} ${n}`
    const levels: ReadonlyArray<readonly [Client, number]> = [["bulk-ours", full], ["bulk-raw", full], ["bulk-ours", tenth]]
    for (let run = 0; run < options.runs; run++) {
      for (const [client, n] of alternate(run, levels)) {
        const sample = yield* once(emu, client, n)
        samples.set(key(client, n), [...(samples.get(key(client, n)) ?? []), sample])
      }
    }
    const med = (client: Client, n: number, f: (s: { perSecond: number; heap: number; rss: number; cpuMicros: number }) => number) =>
      median((samples.get(key(client, n)) ?? []).map(f))
    const label = `bulk annotate ${fmt(full, 0)} aspects (read + write, +${latencyMillis} ms, ${concurrency} workers)`
    const rows: Array<Row> = [
      ratioRow(`${label}: Bulk pipeline vs hand-written fetch pool`, med("bulk-ours", full, (s) => s.perSecond), med("bulk-raw", full, (s) => s.perSecond), "items/s", 0.8, 0),
      limitRow(`bulk annotate: ours' live heap at the end, ${fmt(full, 0)} vs ${fmt(tenth, 0)} items`, med("bulk-ours", full, (s) => s.heap), med("bulk-ours", tenth, (s) => s.heap), mib, 1.25 * med("bulk-ours", tenth, (s) => s.heap), "1.25× the smaller run"),
      info(limitRow(`bulk annotate: ours' peak RSS, ${fmt(full, 0)} vs ${fmt(tenth, 0)} items`, med("bulk-ours", full, (s) => s.rss), med("bulk-ours", tenth, (s) => s.rss), mib, Number.POSITIVE_INFINITY, "–"))
    ]
    return {
      rows,
      series: levels.map(([c, n]) => series(`bulk ${c} ${n}`, "items/s", (samples.get(key(c, n)) ?? []).map((s) => s.perSecond))),
      notes: [
        `bulk annotate: medians of ${options.runs} — ours ${fmt(med("bulk-ours", full, (s) => s.perSecond), 0)}/s (CPU ${fmt(med("bulk-ours", full, (s) => s.cpuMicros), 0)} µs/item), fetch pool ${fmt(med("bulk-raw", full, (s) => s.perSecond), 0)}/s (CPU ${fmt(med("bulk-raw", full, (s) => s.cpuMicros), 0)} µs/item); heap at end ${mib(med("bulk-ours", tenth, (s) => s.heap))} (${fmt(tenth, 0)}) → ${mib(med("bulk-ours", full, (s) => s.heap))} (${fmt(full, 0)}); baseline heap ${mib(med("bulk-raw", full, (s) => s.heap))}.`
      ]
    }
  })
