/**
 * Annotate every artifact of a listing with a computed aspect — download, compute, write — at bounded
 * concurrency, resumably: `node examples/dist/bulk-annotate.js [CONCURRENCY] [FILTER]`.
 *
 * Each ready artifact's content is streamed (never held whole) through a SHA-256 and a line count, and the result
 * is written as an aspect about the artifact (`urn:example:schema:content-digest.1`). The pipeline is named after
 * its filter, so running it again after a crash resumes it; an artifact whose aspect exists already (written
 * just before a crash) is not annotated twice. Failures (an artifact that cannot be read) are listed at the end.
 */
import { Artifact, Aspect, Bulk, Download } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import { itemsBar, summary } from "./internal/progress.js"
import { args, run } from "./internal/run.js"

const schema = "urn:example:schema:content-digest.1"
const concurrency = Number(args[0] ?? 8)
const filter = args[1] ?? "status = 'ready'"

/** X: download, compute, write. */
const annotate = (artifact: Artifact.ArtifactSummary) =>
  Effect.gen(function*() {
    const hash = createHash("sha256")
    const { bytes, lines } = yield* Download.stream(artifact.id).pipe(
      Stream.runFold({ bytes: 0, lines: 0 }, (acc, chunk) => {
        hash.update(chunk)
        let lines = acc.lines
        for (const byte of chunk) if (byte === 10) lines++
        return { bytes: acc.bytes + chunk.length, lines }
      })
    )
    return yield* Aspect.add(artifact.id, { $schema: schema, sha256: hash.digest("hex"), bytes, lines })
  })

/** Whether the artifact already has its digest aspect (asked only for items in flight when a run stopped). */
const annotated = (artifact: Artifact.ArtifactSummary) =>
  Effect.map(Aspect.page({ entity: artifact.id, schema, includeContent: false, pageSize: 1 }), (page) => page.items.length > 0)

run(
  Effect.gen(function*() {
    // Counting first gives the progress bar a total (and an ETA); a listing of 50 per page is cheap.
    const total = yield* Stream.runCount(Artifact.list({ filter }))
    yield* Console.log(`annotating ${total} artifacts (${filter}) at concurrency ${concurrency}`)
    const report = yield* Bulk.run(Bulk.fromPages((cursor) => Artifact.listPages({ filter, cursor })), {
      name: `bulk-annotate ${filter}`,
      key: (artifact) => artifact.id,
      process: annotate,
      alreadyDone: annotated,
      concurrency,
      total,
      onProgress: itemsBar()
    })
    yield* summary(report)
  })
)
