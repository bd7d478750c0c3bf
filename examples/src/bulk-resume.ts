/**
 * A pipeline killed half-way and resumed: `node examples/dist/bulk-resume.js SCHEMA [--crash-after N]`.
 *
 * For every aspect of `SCHEMA` it writes one result aspect about it (`urn:example:schema:bulk-result.1`). With
 * `--crash-after N` the process kills itself (SIGKILL: no clean-up, no last checkpoint) once N results are
 * written. Run it again without the flag and it resumes from its last checkpoint (kept in files by
 * `IvcapNode.layer`, under `IVCAP_BULK_STATE_DIR` or the user's config folder): items finished before are skipped,
 * those that were in flight are looked up (their result may have been written just before the kill), the rest
 * are processed — every item once.
 */
import { Aspect, Bulk } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { itemsBar, summary } from "./internal/progress.js"
import { args, required, run } from "./internal/run.js"

const input = required(0, "bulk-resume SCHEMA [--crash-after N]")
const crashAt = args.indexOf("--crash-after") === -1 ? Number.POSITIVE_INFINITY : Number(args[args.indexOf("--crash-after") + 1])
const output = "urn:example:schema:bulk-result.1"
const name = `bulk-resume ${input}`

let written = 0

/** X: one result aspect about the item; the process dies right after the N-th. */
const process_ = (aspect: Aspect.AspectSummary) =>
  Effect.tap(Aspect.add(aspect.id, { $schema: output, source: aspect.id, value: aspect.content?.["index"] ?? null }), () =>
    Effect.sync(() => {
      if (++written >= crashAt) process.kill(process.pid, "SIGKILL")
    }))

const done = (aspect: Aspect.AspectSummary) =>
  Effect.map(Aspect.page({ entity: aspect.id, schema: output, includeContent: false, pageSize: 1 }), (page) => page.items.length > 0)

run(
  Effect.gen(function*() {
    const saved = yield* Bulk.checkpoint(name)
    yield* Console.log(Option.match(saved, {
      onNone: () => `starting ${name}`,
      onSome: (c) => `resuming ${name}: ${c.succeeded} done before, ${c.pending.length} to check`
    }))
    const report = yield* Bulk.run(Bulk.fromPages((cursor) => Aspect.listPages({ schema: input, cursor, includeContent: true })), {
      name,
      key: (aspect) => aspect.id,
      process: process_,
      alreadyDone: done,
      concurrency: 8,
      // Checkpoint often: what a kill loses is only checked again, never redone, but checking costs a request.
      checkpointInterval: "100 millis",
      onProgress: itemsBar()
    })
    yield* summary(report)
  })
)
