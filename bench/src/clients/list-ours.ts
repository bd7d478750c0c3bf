/**
 * Ours: `Aspect.list` (the item Stream) over a listing, counted with `Stream.runFold`. `--prefetch n` buffers up
 * to n pages ahead (`Stream.buffer` on `Aspect.listPages`), so the next page is fetched while the consumer
 * works; `--work-us n` makes the consumer spend n µs of CPU per item (to see whether prefetch pays off).
 * Records the live heap and RSS after a full GC at a tenth of the items and at the end. `--rounds n` lists n times
 * in one process and reports the last round as the warm figure.
 */
import { Aspect, Paging } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { flag, main, memory, numeric, report, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

/** Burns `micros` of CPU, standing in for a consumer's work on an item. */
const work = (micros: number) => {
  if (micros <= 0) return
  const until = performance.now() + micros / 1000
  while (performance.now() < until) {
    // busy
  }
}

main(async () => {
  const pageSize = numeric("limit")
  const expected = numeric("expected")
  const prefetch = Number(flag("prefetch") ?? "0")
  const workUs = Number(flag("work-us") ?? "0")
  const schema = flag("schema")
  const options = { pageSize, schema }
  const items = prefetch > 0
    ? Aspect.listPages(options).pipe(Stream.buffer({ capacity: prefetch }), Paging.items)
    : Aspect.list(options)
  let atTenth: ReturnType<typeof memory> | undefined
  const program = Effect.gen(function*() {
    const stop = stopwatch()
    const count = yield* Stream.runFold(items, 0, (n) => {
      work(workUs)
      if (atTenth === undefined && n + 1 >= expected / 10) atTenth = memory()
      return n + 1
    })
    return { items: count, ...stop() }
  })
  // `--rounds n`: the listing n times in one process (one layer); the first round is the cold figure, the last the
  // warm one (JIT-compiled, connections open), as a long-running app sees it.
  const rounds = Math.max(1, Number(flag("rounds") ?? "1"))
  const results = await Effect.runPromise(Effect.forEach(Array.from({ length: rounds }), () => program).pipe(Effect.provide(oursLayer())))
  const first = results[0]!
  const last = results[results.length - 1]!
  report({ ...first, warm: { items: last.items, ms: last.ms, cpuMs: last.cpuMs }, atTenth, atEnd: memory() })
})
