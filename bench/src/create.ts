/**
 * Bulk create: `--creates` aspects with `Aspect.add` through `Effect.forEach({ concurrency })` at each level
 * of `--concurrency` (1, 8, 32), alternating the order per repetition, each level a fresh child process and a
 * freshly reset emulator. The baseline of the speed-up is ours at concurrency 1. Plain `fetch` at the lowest and
 * highest level is measured too: the speed-up any client gets from this server and machine, and the SDK's own
 * CPU per request.
 *
 * The emulator answers from memory in a single process on the same 2 cores, so a request costs CPU on both sides
 * and never waits on anything else: concurrency cannot hide latency that is not there. A second round therefore
 * gives every `POST /1/aspects` a {@link rttMillis} ms server-side delay (emulator fault `Delay`), standing in
 * for the round trip to a real deployment, with a tenth of the aspects.
 */
import * as Effect from "effect/Effect"
import { alternate, type Benchmark, progress } from "./lib/Bench.js"
import { runClient } from "./lib/Child.js"
import type * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { start } from "./lib/EmulatorProcess.js"
import { fmt, info, median, type Row, ratioRow, series } from "./lib/Report.js"

const schema = "urn:ivcap:schema:bench.create.1"

/** The simulated round trip of the second round. */
const rttMillis = 10

interface Level {
  readonly client: "create-ours" | "create-raw"
  readonly concurrency: number
}

interface Sample {
  readonly perSecond: number
  /** Client CPU µs per aspect created. */
  readonly cpuMicros: number
}

const nameOf = (l: Level) => `${l.client === "create-ours" ? "ours" : "fetch"} c=${l.concurrency}`

/** Creates `count` aspects once per level per repetition, alternating; `delay` adds the simulated round trip. */
const measure = (emu: EmulatorProcess.EmulatorProcess, levels: ReadonlyArray<Level>, count: number, runs: number, delay: number) =>
  Effect.gen(function*() {
    const samples = new Map<string, Array<Sample>>(levels.map((l) => [nameOf(l), []]))
    for (let run = 0; run < runs; run++) {
      for (const level of alternate(run, levels)) {
        yield* emu.admin("POST", "/_emulator/reset")
        if (delay > 0) {
          yield* emu.admin("POST", "/_emulator/faults", { match: { method: "POST", path: "/1/aspects" }, times: count, action: { _tag: "Delay", millis: delay } })
        }
        const { result } = yield* runClient<{ created: number; ms: number; cpuMs: number }>(level.client, [
          "--count", String(count), "--concurrency", String(level.concurrency), "--schema", schema,
          "--entity-prefix", `urn:ivcap:bench:entity:r${run}c${level.concurrency}-`
        ], { env: emu.env })
        if (result.created !== count) return yield* Effect.fail(new Error(`${nameOf(level)} created ${result.created} distinct aspects, expected ${count}`))
        const sample = { perSecond: (count / result.ms) * 1000, cpuMicros: (result.cpuMs / count) * 1000 }
        samples.get(nameOf(level))!.push(sample)
        progress(`create ${nameOf(level)}${delay > 0 ? ` (+${delay} ms)` : ""}: ${fmt(sample.perSecond, 0)} aspects/s, CPU ${fmt(sample.cpuMicros, 0)} µs/aspect`)
      }
    }
    return {
      rate: (l: Level) => median(samples.get(nameOf(l))!.map((s) => s.perSecond)),
      cpu: (l: Level) => median(samples.get(nameOf(l))!.map((s) => s.cpuMicros)),
      series: (prefix: string) => levels.map((l) => series(`${prefix} ${nameOf(l)}`, "aspects/s", samples.get(nameOf(l))!.map((s) => s.perSecond)))
    }
  })

/** Runs the bulk-create benchmark. */
export const create: Benchmark = ({ options, tmp }) =>
  Effect.gen(function*() {
    const emu = yield* start(tmp)
    const n = options.createCount
    const low = options.concurrencies[0]!
    const top = Math.max(...options.concurrencies)
    const ours = (concurrency: number): Level => ({ client: "create-ours", concurrency })
    const raw = (concurrency: number): Level => ({ client: "create-raw", concurrency })

    const plain = yield* measure(emu, [...options.concurrencies.map(ours), raw(low), raw(top)], n, options.runs, 0)
    const nDelayed = Math.max(50, Math.round(n / 10))
    const delayed = yield* measure(emu, [ours(low), ours(top)], nDelayed, options.runs, rttMillis)

    const label = `bulk create ${fmt(n, 0)} aspects`
    const rows: Array<Row> = options.concurrencies.slice(1).map((c) => {
      const row = ratioRow(`${label}: concurrency ${c} vs ${low}`, plain.rate(ours(c)), plain.rate(ours(low)), "aspects/s", 5, 0)
      return c === top ? row : info(row)
    })
    rows.push(
      info(ratioRow(`${label}, plain fetch: concurrency ${top} vs ${low}`, plain.rate(raw(top)), plain.rate(raw(low)), "aspects/s", 5, 0)),
      info(ratioRow(`${label} at concurrency ${top}: ours vs plain fetch`, plain.rate(ours(top)), plain.rate(raw(top)), "aspects/s", 1, 0)),
      info(ratioRow(`bulk create ${fmt(nDelayed, 0)} aspects, +${rttMillis} ms per request: concurrency ${top} vs ${low}`, delayed.rate(ours(top)), delayed.rate(ours(low)), "aspects/s", 5, 0))
    )
    return {
      rows,
      series: [...plain.series("create"), ...delayed.series(`create +${rttMillis}ms`)],
      notes: [
        `bulk create: medians of ${options.runs} — ${[...options.concurrencies.map(ours), raw(low), raw(top)].map((l) => `${nameOf(l)} ${fmt(plain.rate(l), 0)}/s`).join(", ")}.`,
        `bulk create: client CPU per aspect (median) — ${[ours(low), ours(top), raw(low), raw(top)].map((l) => `${nameOf(l)} ${fmt(plain.cpu(l), 0)} µs`).join(", ")}.`,
        `bulk create with +${rttMillis} ms per request (${fmt(nDelayed, 0)} aspects): ours c=${low} ${fmt(delayed.rate(ours(low)), 0)}/s, c=${top} ${fmt(delayed.rate(ours(top)), 0)}/s.`
      ]
    }
  })
