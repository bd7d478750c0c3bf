/**
 * Copy and transform aspects from one schema to another: `node examples/dist/bulk-copy-aspects.js FROM TO
 * [CONCURRENCY]`.
 *
 * Each aspect of schema `FROM` (a prefix, `%` as wildcard) is decoded with a Schema, transformed, and written
 * about the same entity under schema `TO`, with the id of its source. A source aspect whose content does not
 * decode is reported (with the field) and the others go on; re-running the pipeline resumes it, and the copy of
 * an aspect in flight at a crash is looked up rather than written twice.
 */
import { Aspect, Bulk } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { itemsBar, summary } from "./internal/progress.js"
import { args, required, run } from "./internal/run.js"

const from = required(0, "bulk-copy-aspects FROM_SCHEMA TO_SCHEMA [CONCURRENCY]")
const to = required(1, "bulk-copy-aspects FROM_SCHEMA TO_SCHEMA [CONCURRENCY]")
const concurrency = Number(args[2] ?? 16)

/** What the source aspects hold (anything else is a typed DecodeError, reported per item). */
const Source = Schema.Struct({ index: Schema.Int })

/** The copy: the same entity, a new schema, a transformed content that names its source. */
const copy = (aspect: Aspect.AspectSummary) =>
  Effect.flatMap(Aspect.decodeContent(Source)(aspect), ({ index }) =>
    Aspect.add(aspect.entity, { $schema: to, index, label: `item ${index}`, even: index % 2 === 0, copiedFrom: aspect.id }))

/** Whether the copy of this aspect exists (looked up for the items in flight when a run stopped). */
const copied = (aspect: Aspect.AspectSummary) =>
  Aspect.list({ entity: aspect.entity, schema: to, contentPath: `$.copiedFrom ? (@ == "${aspect.id}")`, includeContent: false, pageSize: 1 }).pipe(
    Stream.runHead,
    Effect.map(Option.isSome)
  )

run(
  Effect.gen(function*() {
    const report = yield* Bulk.run(Bulk.fromPages((cursor) => Aspect.listPages({ schema: from, cursor })), {
      name: `bulk-copy-aspects ${from} -> ${to}`,
      key: (aspect) => aspect.id,
      process: copy,
      alreadyDone: copied,
      concurrency,
      onProgress: itemsBar()
    })
    yield* summary(report)
    if (report.failed.length > 0) yield* Console.log(`first failure: ${report.failed[0]!.error.message}`)
  })
)
