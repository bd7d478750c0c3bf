/**
 * Terminal output helpers for the examples: a progress bar that redraws in place on a TTY and prints a line at
 * every quarter otherwise (CI logs stay short), and byte formatting.
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
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
