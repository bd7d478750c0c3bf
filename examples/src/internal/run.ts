/**
 * How every example runs: its program gets `IvcapNode.layer()` — configured from IVCAP_URL / IVCAP_JWT or the
 * IVCAP CLI's login — and `NodeRuntime.runMain` reports a failure (a typed error, with its message) and sets
 * the exit code.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { IvcapNode } from "@ivcap/node"
import * as Effect from "effect/Effect"

/** Runs `program` with the Node layer. */
export const run = <A, E>(program: Effect.Effect<A, E, IvcapNode.Services>): void =>
  NodeRuntime.runMain(program.pipe(Effect.provide(IvcapNode.layer())))

/** The command-line arguments after the script. */
export const args: ReadonlyArray<string> = process.argv.slice(2)

/** The argument at `index`, or exit with the usage line (status 2) when it is missing. */
export const required = (index: number, usage: string): string => {
  const value = args[index]
  if (value === undefined) {
    console.error(`usage: ${usage}`)
    process.exit(2)
  }
  return value
}
