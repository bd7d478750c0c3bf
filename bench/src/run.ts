/**
 * `pnpm bench [-- --quick | --size 64MiB | --only upload,listing | …]`: runs the benchmarks of issue 7 against
 * real baselines, prints one table (benchmark, ours, baseline, ratio, target, pass/miss) and writes it with
 * every sample to `bench/build/results.{json,md}`. Child processes and temp files are cleaned up on every exit
 * path (success, failure, Ctrl-C) by the scopes that own them.
 */
import * as Command from "@effect/platform/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as os from "node:os"
import { bulk } from "./bulk.js"
import { bundle } from "./bundle.js"
import { coldstart } from "./coldstart.js"
import { type Benchmark, progress } from "./lib/Bench.js"
import { benchmarkNames, type BenchmarkName, type Options, parse } from "./lib/Options.js"
import { create } from "./create.js"
import { download } from "./download.js"
import { listing } from "./listing.js"
import { search } from "./search.js"
import { upload } from "./upload.js"
import { failedRow, markdownTable, type Outcome, type Row, type Series, textTable } from "./lib/Report.js"

const benchmarks: Partial<Record<BenchmarkName, Benchmark>> = {
  upload,
  listing,
  create,
  download,
  bundle,
  coldstart,
  search,
  bulk
}

/** The machine the figures come from. */
const machine = Effect.gen(function*() {
  const uname = yield* Command.string(Command.make("uname", "-a")).pipe(Effect.orElseSucceed(() => "unknown"))
  return {
    nproc: os.availableParallelism(),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    uname: uname.trim(),
    cpu: os.cpus()[0]?.model ?? "unknown"
  }
})

const runOne = (name: BenchmarkName, options: Options, tmp: string) =>
  Effect.gen(function*() {
    const benchmark = benchmarks[name]
    if (benchmark === undefined) return { rows: [failedRow(name, "not implemented yet")], series: [], notes: [] } satisfies Outcome
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ directory: tmp, prefix: `${name}-` })
    const started = performance.now()
    progress(`${name}: start`)
    const exit = yield* Effect.exit(benchmark({ options, tmp: dir }))
    progress(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    if (Exit.isSuccess(exit)) return exit.value
    const reason = Cause.pretty(exit.cause)
    progress(`${name} failed:\n${reason}`)
    return { rows: [failedRow(name, reason)], series: [], notes: [`${name} failed: ${reason}`] } satisfies Outcome
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  const options = yield* Effect.try({ try: () => parse(process.argv.slice(2)), catch: (e) => (e instanceof Error ? e.message : String(e)) })
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const tmp = options.keep
    ? yield* fs.makeTempDirectory({ prefix: "ivcap-bench-" })
    : yield* fs.makeTempDirectoryScoped({ prefix: "ivcap-bench-" })
  if (options.keep) progress(`keeping ${tmp}`)
  const rows: Array<Row> = []
  const allSeries: Array<Series> = []
  const notes: Array<string> = []
  for (const name of benchmarkNames) {
    if (!options.only.has(name)) continue
    const outcome = yield* runOne(name, options, tmp)
    rows.push(...outcome.rows)
    allSeries.push(...outcome.series)
    notes.push(...outcome.notes)
  }
  const info = yield* machine
  const table = textTable(rows)
  console.log(`\n${table}\n`)
  for (const note of notes) console.log(`- ${note}`)
  const out = path.resolve(options.out)
  yield* fs.makeDirectory(path.dirname(out), { recursive: true })
  const when = new Date().toISOString()
  yield* fs.writeFileString(`${out}.json`, JSON.stringify({ when, machine: info, options: { ...options, only: [...options.only] }, rows, series: allSeries, notes }, null, 2))
  yield* fs.writeFileString(
    `${out}.md`,
    [
      `Run ${when}${options.quick ? " (--quick)" : ""} on ${info.nproc} CPUs (${info.cpu}), ${info.memory}, Node ${info.node}`,
      `\`${info.uname}\``,
      "",
      markdownTable(rows),
      "",
      ...notes.map((n) => `- ${n}`),
      ""
    ].join("\n")
  )
  progress(`results: ${out}.json, ${out}.md`)
  if (rows.some((r) => r.ours.startsWith("error:"))) process.exitCode = 1
}).pipe(
  Effect.scoped,
  Effect.catchIf((e): e is string => typeof e === "string", (message) =>
    Effect.sync(() => {
      console.error(message)
      process.exitCode = 2
    }))
)

NodeRuntime.runMain(main.pipe(Effect.provide(NodeContext.layer)))
