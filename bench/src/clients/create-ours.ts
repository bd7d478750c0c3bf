/**
 * Ours: `--count` aspects created with `Aspect.add` through `Effect.forEach` at `--concurrency`. Each aspect
 * gets its own entity URN (`<--entity-prefix><run>-<i>`), the schema `--schema`, and a small JSON content.
 */
import { Aspect } from "@ivcap/core"
import * as Effect from "effect/Effect"
import { main, numeric, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

main(async () => {
  const count = numeric("count")
  const concurrency = numeric("concurrency")
  const schema = required("schema")
  const prefix = required("entity-prefix")
  const indices = Array.from({ length: count }, (_, i) => i)
  const program = Effect.gen(function*() {
    const stop = stopwatch()
    const ids = yield* Effect.forEach(
      indices,
      (i) => Aspect.add(`${prefix}${i}`, { index: i, label: `bench aspect ${i}`, tags: ["bench", "create"] }, { schema }),
      { concurrency }
    )
    return { created: new Set(ids).size, ...stop() }
  })
  report(await Effect.runPromise(program.pipe(Effect.provide(oursLayer()))))
})
