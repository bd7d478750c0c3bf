/**
 * Command-line options of `pnpm bench`: which benchmarks, how big, how many repetitions.
 *
 * `--quick` shrinks every size so the whole run fits in CI-like time; `--size 64MiB` sets the upload and
 * download size; the other sizes have their own flags. A full run (no flags) uses the sizes of issue 7.
 */

/** The benchmarks, in the order they run. */
export const benchmarkNames = ["upload", "listing", "create", "download", "bundle", "coldstart", "search", "bulk"] as const

/** One benchmark's name. */
export type BenchmarkName = (typeof benchmarkNames)[number]

/** Everything a run needs to know. */
export interface Options {
  readonly quick: boolean
  /** Upload size in bytes (issue: 1 GiB). */
  readonly uploadBytes: number
  /** The larger upload of ours, to show RSS does not grow with size (issue: 4 GiB). */
  readonly uploadLargeBytes: number
  /** Download size in bytes (issue: 1 GiB). */
  readonly downloadBytes: number
  /** The larger download, to show RSS does not grow with size (issue: 4 GiB). */
  readonly downloadLargeBytes: number
  /** PATCH chunk size shared by all upload clients; `undefined` = the SDK's default. */
  readonly chunkBytes: number | undefined
  /** Aspects listed (issue: 100k). */
  readonly listItems: number
  /** Aspects a search benchmark queries (issue 13: 100k). */
  readonly searchItems: number
  /** Aspects created per concurrency level (issue: 10k). */
  readonly createCount: number
  /** Aspects annotated by the bulk pipeline benchmark (issue 17: 100k); a tenth of it is run too. */
  readonly bulkItems: number
  /** The concurrency levels of the bulk create (issue: 1, 8, 32). */
  readonly concurrencies: ReadonlyArray<number>
  /** Repetitions of each throughput measurement (ours and baseline alternate). */
  readonly runs: number
  /** Repetitions of each cold-start command (issue: 15). */
  readonly coldRuns: number
  readonly only: ReadonlySet<BenchmarkName>
  /** Keep the temp directory (for debugging). */
  readonly keep: boolean
  /** Where to write the results as JSON and Markdown (`<path>.json`, `<path>.md`). */
  readonly out: string
}

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

const units: Record<string, number> = { "": 1, b: 1, k: KiB, kb: 1000, kib: KiB, m: MiB, mb: 1000 ** 2, mib: MiB, g: GiB, gb: 1000 ** 3, gib: GiB }

/** Parses `64MiB`, `1g`, `1.5GiB`, `1000000` into bytes. */
export const parseBytes = (text: string): number => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = m ? units[m[2]!.toLowerCase()] : undefined
  if (!m || unit === undefined) throw new Error(`not a size: ${JSON.stringify(text)} (try 64MiB, 1GiB, 1000000)`)
  return Math.round(Number(m[1]) * unit)
}

/** Parses `100k`, `10000`, `1e5` into a count. */
export const parseCount = (text: string): number => {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(k|m)?\s*$/i.exec(text)
  if (!m) throw new Error(`not a count: ${JSON.stringify(text)}`)
  const n = Number(m[1]) * (m[2]?.toLowerCase() === "k" ? 1e3 : m[2]?.toLowerCase() === "m" ? 1e6 : 1)
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`not a positive count: ${JSON.stringify(text)}`)
  return n
}

/** Formats bytes as `1 GiB`, `64 MiB`, `512 KiB`. */
export const formatBytes = (bytes: number): string =>
  bytes >= GiB && bytes % (GiB / 4) === 0 ? `${bytes / GiB} GiB`
  : bytes >= MiB ? `${+(bytes / MiB).toFixed(1)} MiB`
  : bytes >= KiB ? `${+(bytes / KiB).toFixed(1)} KiB`
  : `${bytes} B`

/** The usage text. */
export const usage = `pnpm bench [-- options]
  --quick              small sizes, one repetition (CI-like time)
  --size <bytes>       upload and download size (default 1GiB; quick 32MiB); the large upload and download are 4x this
  --upload-size, --download-size, --large-upload-size, --large-download-size <bytes>
  --chunk-size <bytes> PATCH chunk size of every upload client (default: the SDK's default)
  --items <n>          aspects to list (default 100k; quick 2k)
  --creates <n>        aspects to create per concurrency level (default 10k; quick 500)
  --search-items <n>   aspects the search queries run over (default 100k; quick 10k)
  --concurrency <a,b>  bulk-create concurrency levels (default 1,8,32)
  --bulk-items <n>     aspects annotated by the bulk pipeline (default 100k; quick 2k), and a tenth of it
  --runs <n>           repetitions per measurement (default 3; quick 1)
  --cold-runs <n>      cold-start repetitions per command (default 15; quick 5)
  --only <a,b>         run only these of: ${benchmarkNames.join(", ")}
  --out <path>         results as <path>.json and <path>.md (default bench/build/results)
  --keep               keep the temp directory`

/** Parses `process.argv.slice(2)`; throws with a readable message on bad input. */
export const parse = (argv: ReadonlyArray<string>): Options => {
  const flags = new Map<string, string>()
  const booleans = new Set(["quick", "keep", "help"])
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") continue
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}\n${usage}`)
    const name = m[1]!
    if (booleans.has(name)) {
      flags.set(name, "true")
      continue
    }
    const value = m[2] ?? argv[++i]
    if (value === undefined) throw new Error(`--${name} needs a value\n${usage}`)
    flags.set(name, value)
  }
  if (flags.has("help")) throw new Error(usage)
  const known = new Set([...booleans, "size", "upload-size", "download-size", "large-upload-size", "large-download-size", "chunk-size", "items", "creates", "bulk-items", "search-items", "concurrency", "runs", "cold-runs", "only", "out"])
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}\n${usage}`)

  const quick = flags.has("quick")
  const bytes = (name: string, fallback: number) => {
    const v = flags.get(name)
    return v === undefined ? fallback : parseBytes(v)
  }
  const count = (name: string, fallback: number) => {
    const v = flags.get(name)
    return v === undefined ? fallback : parseCount(v)
  }
  const size = bytes("size", quick ? 32 * MiB : GiB)
  const uploadBytes = bytes("upload-size", size)
  const only = flags.get("only")
  const selected = only === undefined ? benchmarkNames : only.split(",").map((s) => s.trim())
  for (const name of selected) {
    if (!(benchmarkNames as ReadonlyArray<string>).includes(name)) throw new Error(`unknown benchmark ${JSON.stringify(name)}; one of ${benchmarkNames.join(", ")}`)
  }
  const chunk = flags.get("chunk-size")
  return {
    quick,
    uploadBytes,
    uploadLargeBytes: bytes("large-upload-size", 4 * uploadBytes),
    downloadBytes: bytes("download-size", size),
    downloadLargeBytes: bytes("large-download-size", 4 * bytes("download-size", size)),
    chunkBytes: chunk === undefined ? undefined : parseBytes(chunk),
    listItems: count("items", quick ? 2_000 : 100_000),
    createCount: count("creates", quick ? 500 : 10_000),
    bulkItems: count("bulk-items", quick ? 2_000 : 100_000),
    searchItems: count("search-items", quick ? 10_000 : 100_000),
    concurrencies: (flags.get("concurrency") ?? "1,8,32").split(",").map(parseCount),
    runs: count("runs", quick ? 1 : 3),
    coldRuns: count("cold-runs", quick ? 5 : 15),
    only: new Set(selected as Array<BenchmarkName>),
    keep: flags.has("keep"),
    out: flags.get("out") ?? "bench/build/results"
  }
}
