/**
 * Bulk create: `--creates` aspects with `Aspect.add` through `Effect.forEach({ concurrency })` at each level
 * of `--concurrency` (1, 8, 32), alternating the order per repetition, each level a fresh child process and a
 * freshly reset emulator. The baseline of the speed-up is ours at concurrency 1. Plain `fetch` at the lowest and
 * highest level is measured too: the speed-up any client gets from this server and machine, and the SDK's own
 * cost per request.
 */
import * as Effect from "effect/Effect"
import { alternate, type Benchmark, progress } from "./lib/Bench.js"
import { runClient } from "./lib/Child.js"
import * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { fmt, info, median, type Row, ratioRow, series } from "./lib/Report.js"

const schema = "urn:ivcap:schema:bench.create.1"

interface Level {
  readonly client: "create-ours" | "create-raw"
  readonly concurrency: number
}

const nameOf = (l: Level) => `${l.client === "create-ours" ? "ours" : "fetch"} c=${l.concurrency}`

/** Runs the bulk-create benchmark. */
export const create: Benchmark = ({ options, tmp }) =>
  Effect.gen(function*() {
    const emu = yield* EmulatorProcess.start(tmp)
    const n = options.createCount
    const top = Math.max(...options.concurrencies)
    const levels: ReadonlyArray<Level> = [
      ...options.concurrencies.map((concurrency) => ({ client: "create-ours" as const, concurrency })),
      { client: "create-raw", concurrency: options.concurrencies[0]! },
      { client: "create-raw", concurrency: top }
    ]
    const samples = new Map<string, Array<number>>(levels.map((l) => [nameOf(l), []]))
    for (let run = 0; run < options.runs; run++) {
      for (const level of alternate(run, levels)) {
        yield* emu.admin("POST", "/_emulator/reset")
        const { result } = yield* runClient<{ created: number; ms: number }>(level.client, [
          "--count", String(n), "--concurrency", String(level.concurrency), "--schema", schema,
          "--entity-prefix", `urn:ivcap:bench:entity:r${run}c${level.concurrency}-`
        ], { env: emu.env })
        if (result.created !== n) return yield* Effect.fail(new Error(`${nameOf(level)} created ${result.created} distinct aspects, expected ${n}`))
        const rate = (n / result.ms) * 1000
        samples.get(nameOf(level))!.push(rate)
        progress(`create ${nameOf(level)}: ${fmt(rate, 0)} aspects/s`)
      }
    }
    const rate = (l: Level) => median(samples.get(nameOf(l))!)
    const base = rate(levels[0]!)
    const label = `bulk create ${fmt(n, 0)} aspects`
    const rows: Array<Row> = options.concurrencies.slice(1).map((concurrency) => {
      const row = ratioRow(`${label}: concurrency ${concurrency} vs ${options.concurrencies[0]}`, rate({ client: "create-ours", concurrency }), base, "aspects/s", 5, 0)
      return concurrency === top ? row : info(row)
    })
    const low = options.concurrencies[0]!
    rows.push(info(ratioRow(`${label}, plain fetch: concurrency ${top} vs ${low}`, rate({ client: "create-raw", concurrency: top }), rate({ client: "create-raw", concurrency: low }), "aspects/s", 5, 0)))
    rows.push(info(ratioRow(`${label} at concurrency ${top}: ours vs plain fetch`, rate({ client: "create-ours", concurrency: top }), rate({ client: "create-raw", concurrency: top }), "aspects/s", 1, 0)))
    return {
      rows,
      series: levels.map((l) => series(`create ${nameOf(l)}`, "aspects/s", samples.get(nameOf(l))!)),
      notes: [`bulk create: medians of ${options.runs} — ${levels.map((l) => `${nameOf(l)} ${fmt(rate(l), 0)}/s`).join(", ")}.`]
    }
  })
