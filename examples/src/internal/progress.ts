/**
 * Terminal output helpers for the examples: progress bars (bytes; items of a `Bulk` pipeline) that redraw in
 * place on a TTY and print a line at every quarter otherwise (CI logs stay short), and byte formatting.
 */
import type { Bulk } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"

/** Bytes as MiB with one decimal. */
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** A duration in whole milliseconds. */
export const millis = (d: Duration.Duration): string => `${Math.round(Duration.toMillis(d))} ms`

/** How often the examples poll an order: every 250 ms, for at most 2 minutes. */
export const poll = Schedule.spaced("250 millis").pipe(Schedule.upTo("2 minutes"))

/** A progress bar for `total` bytes. */
export const bar = (total: number) => {
  const tty = process.stdout.isTTY === true
  const started = Date.now()
  let lastQuarter = -1
  let last = 0
  // The rate counts from the first value seen: a resumed upload starts with the bytes already confirmed.
  let first: number | undefined
  const render = (value: number) => {
    const fraction = total > 0 ? Math.min(1, value / total) : 1
    const width = 30
    const filled = Math.round(fraction * width)
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    first ??= value
    return `   [${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${mib(value)} / ${mib(total)}  ${((value - first) / 1024 / 1024 / seconds).toFixed(0)} MiB/s`
  }
  return {
    update: (value: number): Effect.Effect<void> =>
      Effect.sync(() => {
        last = value
        if (tty) {
          process.stdout.write(`\r${render(value)}`)
          return
        }
        const quarter = Math.floor((value / total) * 4)
        if (quarter > lastQuarter) {
          lastQuarter = quarter
          process.stdout.write(`${render(value)}\n`)
        }
      }),
    done: (label: string): Effect.Effect<void> =>
      Effect.zipRight(Effect.sync(() => tty && process.stdout.write("\n")), Console.log(`   ${label} at ${mib(last)}`))
  }
}

/** A duration as `1h02m`, `3m05s` or `12s`. */
const short = (d: Duration.Duration): string => {
  const s = Math.round(Duration.toSeconds(d))
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${s}s`
}

/**
 * A progress bar for a `Bulk` pipeline, fed with its `Progress` (`onProgress`): items done of the total (or a
 * count, when the total is unknown), rate, ETA and failures. Redraws in place on a TTY; elsewhere one line at
 * every quarter.
 */
export const itemsBar = () => {
  const tty = process.stdout.isTTY === true
  let lastQuarter = -1
  const render = (p: Bulk.Progress) => {
    const total = Option.getOrUndefined(p.total)
    const width = 30
    const fraction = total === undefined || total === 0 ? 0 : Math.min(1, p.done / total)
    const filled = Math.round(fraction * width)
    const bar = total === undefined ? "" : `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  `
    const eta = Option.match(p.eta, { onNone: () => "", onSome: (d) => `  ETA ${short(d)}` })
    const failed = p.failed > 0 ? `  ${p.failed} failed` : ""
    return `   ${bar}${p.done}${total === undefined ? "" : ` / ${total}`} items  ${p.rate.toFixed(0)}/s${eta}${failed}`
  }
  return (p: Bulk.Progress): Effect.Effect<void> =>
    Effect.sync(() => {
      if (tty) {
        process.stdout.write(`\r${render(p)}`)
        return
      }
      const total = Option.getOrElse(p.total, () => 0)
      const quarter = total > 0 ? Math.floor((p.done / total) * 4) : lastQuarter + 1
      if (quarter > lastQuarter) {
        lastQuarter = quarter
        process.stdout.write(`${render(p)}\n`)
      }
    })
}

/** The end of a pipeline: a newline after the bar, then a summary of the report. */
export const summary = <A, E>(report: Bulk.Report<A, E>): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.sync(() => process.stdout.isTTY === true && process.stdout.write("\n")),
    Console.log(
      `${report.name}: ${report.complete ? "complete" : "stopped"}${report.resumed ? " (resumed)" : ""} — ${report.succeeded} succeeded, ` +
        `${report.failed.length + report.failedEarlier.length} failed, ${report.skipped} skipped as done before, ${report.recovered} found done, ` +
        `${report.processed} processed in this run, ${millis(report.elapsed)}`
    )
  ).pipe(Effect.zipRight(Effect.forEach(report.failed.slice(0, 10), (f) => Console.log(`   failed ${f.key}: ${(f.error as { _tag?: string })._tag ?? "error"}`))))
