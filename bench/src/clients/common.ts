/**
 * Shared by the client scripts the driver runs as child processes: flags in, one `RESULT <json>` line out.
 * The deployment comes from `IVCAP_URL` / `IVCAP_JWT` in the environment (never from argv).
 */

/** The value of `--name <value>` on the command line. */
export const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

/** A required `--name <value>`. */
export const required = (name: string): string => {
  const v = flag(name)
  if (v === undefined) throw new Error(`missing --${name}`)
  return v
}

/** A required numeric `--name <n>`. */
export const numeric = (name: string): number => {
  const n = Number(required(name))
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number`)
  return n
}

/** An environment variable that must be set. */
export const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === "") throw new Error(`${name} is not set`)
  return v
}

/** The deployment under test. */
export const deployment = () => ({ url: env("IVCAP_URL").replace(/\/+$/, ""), token: env("IVCAP_JWT") })

/**
 * Starts a clock for the measured section; calling the result gives the wall time and this process's CPU time
 * (user + system) since, in ms. CPU time is what the client itself spent, which noise from other processes on
 * the machine barely changes.
 */
export const stopwatch = () => {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  return () => {
    const used = process.cpuUsage(cpu)
    return { ms: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 }
  }
}

/** Live heap and RSS right after a full GC (with `--expose-gc`; without it, without the GC). */
export const memory = () => {
  ;(globalThis as { gc?: () => void }).gc?.()
  return { heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss() }
}

/** Prints the result line the driver reads, with this process's own peak RSS added (bytes). */
export const report = (result: Record<string, unknown>): void => {
  console.log(`RESULT ${JSON.stringify({ ...result, selfMaxRssBytes: process.resourceUsage().maxRSS * 1024 })}`)
}

/** Runs the client's main function, exiting non-zero with the error on stderr when it fails. */
export const main = (body: () => Promise<void>): void => {
  body().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error))
      process.exit(1)
    }
  )
}
