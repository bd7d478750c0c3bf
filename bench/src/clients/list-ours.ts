/**
 * Ours: `Aspect.list` (the item Stream) over a listing, counted with `Stream.runFold`. `--prefetch n` buffers up
 * to n pages ahead (`Stream.buffer` on `Aspect.listPages`), so the next page is fetched while the consumer
 * works; `--work-us n` makes the consumer spend n µs of CPU per item (to see whether prefetch pays off).
 * Records RSS after a tenth of the items and at the end.
 */
import { Aspect, Paging } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { flag, main, numeric, report } from "./common.js"
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
  let rssAtTenth = Number.NaN
  const program = Effect.gen(function*() {
    const started = performance.now()
    const count = yield* Stream.runFold(items, 0, (n) => {
      work(workUs)
      if (Number.isNaN(rssAtTenth) && n + 1 >= expected / 10) rssAtTenth = process.memoryUsage.rss()
      return n + 1
    })
    return { count, ms: performance.now() - started }
  })
  const { count, ms } = await Effect.runPromise(program.pipe(Effect.provide(oursLayer())))
  report({ items: count, ms, rssAtTenth, rssAtEnd: process.memoryUsage.rss() })
})
