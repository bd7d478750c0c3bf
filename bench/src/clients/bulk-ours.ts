/**
 * Ours: annotate every aspect of `--schema` (read from the listing, one write each) with a `Bulk` pipeline at
 * `--concurrency`, checkpoints in memory. Records the live heap and RSS after a full GC at a tenth of the items and
 * at the end (memory must not grow with the listing).
 */
import { Aspect, Bulk } from "@ivcap/core"
import * as Effect from "effect/Effect"
import { main, memory, numeric, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

main(async () => {
  const schema = required("schema")
  const output = required("output")
  const concurrency = numeric("concurrency")
  const expected = numeric("expected")
  let atTenth: ReturnType<typeof memory> | undefined
  const program = Effect.gen(function*() {
    const stop = stopwatch()
    const result = yield* Bulk.run(Bulk.fromPages((cursor) => Aspect.listPages({ schema, cursor })), {
      name: `bench ${schema}`,
      key: (aspect) => aspect.id,
      process: (aspect) => Aspect.add(aspect.id, { $schema: output, index: aspect.content?.["index"] ?? null }),
      concurrency,
      checkpointInterval: "1 second",
      progressInterval: "250 millis",
      onProgress: (p) => Effect.sync(() => {
        if (atTenth === undefined && p.done >= expected / 10) atTenth = memory()
      })
    })
    for (const f of result.failed.slice(0, 3)) console.error(`failed ${f.key}: ${f.error._tag}: ${f.error.message}`)
    return { items: result.succeeded, failed: result.failed.length, ...stop() }
  })
  // Checkpoints in memory (the inner layer wins over the node layer's file store): the baseline keeps none.
  const result = await Effect.runPromise(program.pipe(Effect.provide(Bulk.layerMemoryStore), Effect.provide(oursLayer())))
  report({ ...result, atTenth, atEnd: memory() })
})
