/**
 * Listing: `--items` aspects bulk-seeded in the emulator (admin route `POST /_emulator/seed/aspects`), listed
 * with page size 50 under one schema by
 * - ours: `Aspect.list` (the item Stream) counted with `Stream.runFold`;
 * - ours + prefetch: `Aspect.listPages` → `Stream.buffer({ capacity: 2 })` → items (next page fetched while the
 *   consumer works);
 * - baseline: a plain `fetch` + `JSON.parse` loop following the same `next` links, same page size and header.
 * Alternating, each a child process that lists 3 times: the first listing is the cold figure, the last the warm one. Items/s and CPU time from each client's own clock; the live heap after a
 * full GC at a tenth of the items and at the end (flat = the end within 20% of the tenth); peak RSS from GNU time. Prefetch is also measured with a
 * consumer that spends CPU on each item, which is where overlapping fetch and work can pay off.
 */
import * as Effect from "effect/Effect"
import { alternate, type Benchmark, progress } from "./lib/Bench.js"
import { runClient } from "./lib/Child.js"
import * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { fmt, info, median, mib, type Row, ratioRow, series, times } from "./lib/Report.js"

type Variant = "raw" | "ours" | "prefetch"

interface Memory {
  readonly heapUsed: number
  readonly rss: number
}

interface ListResult {
  readonly items: number
  readonly ms: number
  readonly cpuMs: number
  /** The last of `--rounds` listings in the same process. */
  readonly warm: { readonly items: number; readonly ms: number; readonly cpuMs: number }
  readonly atTenth: Memory
  readonly atEnd: Memory
}

interface Sample {
  readonly itemsPerSecond: number
  /** The same listing once warm (the last of {@link warmRounds} in one process). */
  readonly warmItemsPerSecond: number
  readonly warmCpuMsPerK: number
  /** Client CPU per 1,000 items. */
  readonly cpuMsPerK: number
  readonly atTenth: Memory
  readonly atEnd: Memory
  readonly peakRss: number
}

const schema = "urn:ivcap:schema:bench.listing.1"
const pageSize = 50
/** CPU per item of the "consumer does work" variant: 1 ms per page of 50. */
const workMicros = 20
const prefetchPages = 2
/** Listings per process: the first is the cold figure, the last the warm one. */
const warmRounds = 3

/** Runs the listing benchmark. */
export const listing: Benchmark = ({ options, tmp }) =>
  Effect.gen(function*() {
    const emu = yield* EmulatorProcess.start(tmp)
    const n = options.listItems
    progress(`listing: seeding ${n} aspects`)
    const seedStart = performance.now()
    yield* emu.admin("POST", "/_emulator/seed/aspects", { count: n, schema })
    progress(`listing: seeded in ${fmt((performance.now() - seedStart) / 1000)} s`)

    const common = ["--limit", String(pageSize), "--expected", String(n), "--rounds", String(warmRounds)]
    const run = { env: emu.env, nodeArgs: ["--expose-gc"] }
    const listOnce = (variant: Variant, workUs = 0) =>
      Effect.gen(function*() {
        const { finished, result } = variant === "raw"
          ? yield* runClient<ListResult>("list-raw", [...common, "--path", `/1/aspects?schema=${encodeURIComponent(schema)}&include-content=true`], run)
          : yield* runClient<ListResult>("list-ours", [...common, "--schema", schema, "--prefetch", variant === "prefetch" ? String(prefetchPages) : "0", "--work-us", String(workUs)], run)
        if (result.items !== n) return yield* Effect.fail(new Error(`${variant} listed ${result.items} aspects, expected ${n}`))
        const sample: Sample = {
          itemsPerSecond: (n / result.ms) * 1000,
          cpuMsPerK: (result.cpuMs / n) * 1000,
          warmItemsPerSecond: (result.warm.items / result.warm.ms) * 1000,
          warmCpuMsPerK: (result.warm.cpuMs / result.warm.items) * 1000,
          atTenth: result.atTenth,
          atEnd: result.atEnd,
          peakRss: finished.maxRssBytes
        }
        progress(`listing ${variant}${workUs > 0 ? ` (work ${workUs} µs/item)` : ""}: ${fmt(sample.itemsPerSecond, 0)} items/s cold, ${fmt(sample.warmItemsPerSecond, 0)} warm, CPU ${fmt(sample.cpuMsPerK)} ms/1k items cold, ${fmt(sample.warmCpuMsPerK)} warm, live heap ${mib(sample.atTenth.heapUsed)} → ${mib(sample.atEnd.heapUsed)}, peak RSS ${mib(sample.peakRss)}`)
        return sample
      })

    const samples: Record<Variant, Array<Sample>> = { raw: [], ours: [], prefetch: [] }
    const working: Record<"ours" | "prefetch", Array<Sample>> = { ours: [], prefetch: [] }
    for (let i = 0; i < options.runs; i++) {
      for (const variant of alternate<Variant>(i, ["ours", "raw", "prefetch"])) samples[variant].push(yield* listOnce(variant))
      for (const variant of alternate<"ours" | "prefetch">(i, ["ours", "prefetch"])) working[variant].push(yield* listOnce(variant, workMicros))
    }

    const rate = (s: ReadonlyArray<Sample>) => median(s.map((x) => x.itemsPerSecond))
    const warmRate = (s: ReadonlyArray<Sample>) => median(s.map((x) => x.warmItemsPerSecond))
    const warmCpu = (s: ReadonlyArray<Sample>) => median(s.map((x) => x.warmCpuMsPerK))
    const growth = (s: ReadonlyArray<Sample>) => median(s.map((x) => x.atEnd.heapUsed / x.atTenth.heapUsed))
    const heap = (s: ReadonlyArray<Sample>) => `${mib(median(s.map((x) => x.atTenth.heapUsed)))} → ${mib(median(s.map((x) => x.atEnd.heapUsed)))}`
    const rss = (s: ReadonlyArray<Sample>) => `${mib(median(s.map((x) => x.atTenth.rss)))} → ${mib(median(s.map((x) => x.atEnd.rss)))}`
    const cpu = (s: ReadonlyArray<Sample>) => median(s.map((x) => x.cpuMsPerK))
    const label = `listing ${fmt(n, 0)} aspects (page ${pageSize})`
    const flat = growth(samples.ours)
    const rows: Array<Row> = [
      ratioRow(`${label}: items/s vs fetch+JSON.parse, cold (fresh process)`, rate(samples.ours), rate(samples.raw), "items/s", 0.8, 0),
      ratioRow(`${label}: items/s vs fetch+JSON.parse, warm (round ${warmRounds} in one process)`, warmRate(samples.ours), warmRate(samples.raw), "items/s", 0.8, 0),
      {
        benchmark: `${label}: live heap after GC, at 10% → end (baseline: raw loop)`,
        ours: heap(samples.ours),
        baseline: heap(samples.raw),
        ratio: times(flat),
        target: "≤ 1.2× (flat)",
        pass: Number.isFinite(flat) ? flat <= 1.2 : undefined
      },
      info(ratioRow(`${label}: prefetch ${prefetchPages} pages vs none`, rate(samples.prefetch), rate(samples.ours), "items/s", 1, 0)),
      info(ratioRow(`${label}, consumer ${workMicros} µs/item: prefetch vs none`, rate(working.prefetch), rate(working.ours), "items/s", 1, 0))
    ]
    return {
      rows,
      series: [
        ...(["raw", "ours", "prefetch"] as const).map((v) => series(`listing ${v}`, "items/s", samples[v].map((s) => s.itemsPerSecond))),
        ...(["raw", "ours", "prefetch"] as const).map((v) => series(`listing ${v} peak RSS`, "bytes", samples[v].map((s) => s.peakRss))),
        ...(["ours", "prefetch"] as const).map((v) => series(`listing ${v} with work`, "items/s", working[v].map((s) => s.itemsPerSecond)))
      ],
      notes: [
        `listing: client CPU per 1,000 items (median), cold — ours ${fmt(cpu(samples.ours))} ms, prefetch ${fmt(cpu(samples.prefetch))} ms, raw loop ${fmt(cpu(samples.raw))} ms; warm (round ${warmRounds}) — ours ${fmt(warmCpu(samples.ours))} ms, prefetch ${fmt(warmCpu(samples.prefetch))} ms, raw loop ${fmt(warmCpu(samples.raw))} ms.`,
        `listing: RSS after GC at 10% → end: ours ${rss(samples.ours)}, raw loop ${rss(samples.raw)}; peak RSS (GNU time) ours ${mib(median(samples.ours.map((s) => s.peakRss)))}, prefetch ${mib(median(samples.prefetch.map((s) => s.peakRss)))}, raw loop ${mib(median(samples.raw.map((s) => s.peakRss)))}.`
      ]
    }
  })
