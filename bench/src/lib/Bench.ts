/**
 * What every benchmark module gets and returns.
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Options } from "./Options.js"
import type { Outcome } from "./Report.js"

/** The run's options and a temp directory removed at the end of the run. */
export interface Context {
  readonly options: Options
  readonly tmp: string
}

/** The services a benchmark may use. */
export type Services = CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path | Scope.Scope

/** A benchmark: runs, measures, and returns its rows and samples. */
export type Benchmark = (context: Context) => Effect.Effect<Outcome, unknown, Services>

/** Logs a progress line to stderr (the table goes to stdout). */
export const progress = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

/** Alternates the order of `ours` and `baseline` runs: even repetitions start with ours, odd ones with the baseline. */
export const alternate = <A>(run: number, items: ReadonlyArray<A>): ReadonlyArray<A> => {
  const shift = run % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}
