/**
 * Cold start: `node -e 'import("@ivcap/node")'` against importing `effect` + `@effect/platform` alone, run
 * alternately from the bench package (where all of them resolve), median of `--cold-runs` each. `node -e 0`
 * is measured too, as the floor every figure includes. GNU time gives each import's peak RSS as well.
 */
import * as Effect from "effect/Effect"
import { type Benchmark, progress } from "./lib/Bench.js"
import { run } from "./lib/Child.js"
import { fmt, median, mib, series } from "./lib/Report.js"

const commands = {
  ours: `import("@ivcap/node")`,
  baseline: `Promise.all([import("effect"), import("@effect/platform")])`,
  floor: "0"
} as const

type Which = keyof typeof commands

/** Runs the cold-start benchmark. */
export const coldstart: Benchmark = ({ options }) =>
  Effect.gen(function*() {
    const samples: Record<Which, Array<number>> = { ours: [], baseline: [], floor: [] }
    const rss: Record<Which, Array<number>> = { ours: [], baseline: [], floor: [] }
    const order: ReadonlyArray<Which> = ["ours", "baseline", "floor"]
    progress(`cold start: ${options.coldRuns} runs of each command`)
    // one untimed round first: fills the OS file cache like any second start would
    for (const which of order) yield* run(process.execPath, ["-e", commands[which]])
    for (let i = 0; i < options.coldRuns; i++) {
      for (const which of i % 2 === 0 ? order : [...order].reverse()) {
        const finished = yield* run(process.execPath, ["-e", commands[which]])
        samples[which].push(finished.wallMs)
        rss[which].push(finished.maxRssBytes)
      }
    }
    const ours = median(samples.ours)
    const baseline = median(samples.baseline)
    const floor = median(samples.floor)
    const ratio = ours / baseline
    return {
      rows: [{
        benchmark: `cold start: import("@ivcap/node") (median of ${options.coldRuns})`,
        ours: `${fmt(ours, 0)} ms`,
        baseline: `${fmt(baseline, 0)} ms`,
        ratio: `${ratio.toFixed(2)}×`,
        target: "≤ 1.10×",
        pass: ratio <= 1.1
      }],
      series: [series("coldstart ours", "ms", samples.ours), series("coldstart effect+platform", "ms", samples.baseline), series("coldstart node -e 0", "ms", samples.floor)],
      notes: [
        `cold start: node -e 0 takes ${fmt(floor, 0)} ms; above that floor ours costs ${fmt(ours - floor, 0)} ms and effect + @effect/platform ${fmt(baseline - floor, 0)} ms (ratio ${((ours - floor) / (baseline - floor)).toFixed(2)}×).`,
        `cold start: peak RSS of the import alone (median) — @ivcap/node ${mib(median(rss.ours))}, effect + @effect/platform ${mib(median(rss.baseline))}, node -e 0 ${mib(median(rss.floor))}: the floor under every Node RSS figure here.`
      ]
    }
  })
