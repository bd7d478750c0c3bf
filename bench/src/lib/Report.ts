/**
 * Results: raw samples, medians, ratios, the one table printed at the end, and the JSON/Markdown files.
 */

/** The median of some numbers (the mean of the middle two for an even count). */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The largest of some numbers, `NaN` for none. */
export const max = (values: ReadonlyArray<number>): number => (values.length === 0 ? Number.NaN : Math.max(...values))

/** One line of the final table. `ratio` and `pass` are absent when a figure could not be measured. */
export interface Row {
  readonly benchmark: string
  readonly ours: string
  readonly baseline: string
  readonly ratio: string
  readonly target: string
  readonly pass: boolean | undefined
}

/** Every sample of one measured quantity (e.g. "upload ours MB/s"), kept for the JSON file. */
export interface Series {
  readonly name: string
  readonly unit: string
  readonly samples: ReadonlyArray<number>
  readonly median: number
}

/** What a benchmark hands back: its table rows, its samples and free-form notes for BENCHMARKS.md. */
export interface Outcome {
  readonly rows: ReadonlyArray<Row>
  readonly series: ReadonlyArray<Series>
  readonly notes: ReadonlyArray<string>
}

/** Builds a {@link Series} from samples. */
export const series = (name: string, unit: string, samples: ReadonlyArray<number>): Series => ({ name, unit, samples, median: median(samples) })

/** Formats a number with at most `digits` decimals and thousands separators. */
export const fmt = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 }) : "n/a"

/** Formats a byte count as MiB. */
export const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${fmt(bytes / 2 ** 20, 1)} MiB` : "n/a")

/** Formats a ratio as `0.93×`. */
export const times = (ratio: number): string => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "n/a")

/** A row comparing ours with a baseline by a ratio that must be at least `min` (higher is better). */
export const ratioRow = (benchmark: string, ours: number, baseline: number, unit: string, min: number, digits = 1): Row => {
  const ratio = ours / baseline
  return {
    benchmark,
    ours: `${fmt(ours, digits)} ${unit}`,
    baseline: `${fmt(baseline, digits)} ${unit}`,
    ratio: times(ratio),
    target: `≥ ${min}×`,
    pass: Number.isFinite(ratio) ? ratio >= min : undefined
  }
}

/** A row checking an absolute limit (lower is better), e.g. peak RSS ≤ 128 MiB; the baseline is informational. */
export const limitRow = (benchmark: string, ours: number, baseline: number | undefined, format: (n: number) => string, limit: number, limitText: string): Row => ({
  benchmark,
  ours: format(ours),
  baseline: baseline === undefined ? "–" : format(baseline),
  ratio: baseline === undefined ? "–" : times(ours / baseline),
  target: `≤ ${limitText}`,
  pass: Number.isFinite(ours) ? ours <= limit : undefined
})

/** A row that failed to run, with the reason as the "ours" figure. */
export const failedRow = (benchmark: string, reason: string): Row => ({
  benchmark,
  ours: `error: ${reason.split("\n")[0]!.slice(0, 120)}`,
  baseline: "–",
  ratio: "–",
  target: "–",
  pass: undefined
})

const verdict = (row: Row) => (row.target === "(info)" ? "info" : row.pass === undefined ? "n/a" : row.pass ? "pass" : "MISS")

/** Marks a row as informational: a figure worth showing, with no target of its own. */
export const info = (row: Row): Row => ({ ...row, target: "(info)", pass: undefined })

const header = ["benchmark", "ours", "baseline", "ratio", "target", "pass/miss"] as const

const cells = (row: Row): ReadonlyArray<string> => [row.benchmark, row.ours, row.baseline, row.ratio, row.target, verdict(row)]

/** The table as aligned plain text (for the terminal). */
export const textTable = (rows: ReadonlyArray<Row>): string => {
  const all = [header, ...rows.map(cells)]
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => line(cells(r)))].join("\n")
}

/** The table as Markdown (for BENCHMARKS.md). */
export const markdownTable = (rows: ReadonlyArray<Row>): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${cells(r).map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`)
  ].join("\n")
