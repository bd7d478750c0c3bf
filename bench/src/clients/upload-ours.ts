/**
 * Ours: uploads a file with the SDK on Node, timed from just before the upload starts:
 * - `--api node` (default): `NodeTransfer.uploadFile(path, { force: true })`, the user-facing call with its
 *   defaults — record creation, tus PATCHes, the finished record read back, and the md5 for the
 *   `.ivcap-<name>.txt` marker (as the Python client writes it);
 * - `--api plain`: `NodeFileSource.fromFile` + `Upload.upload`, the same without the marker.
 * `--chunk-size` fixes the chunk size (default: the SDK's). The result carries the RSS right after the SDK's
 * modules were imported (`importRss`), the floor the peak is compared with, and `releasedMs`: the time until the
 * layer was released, which waits for a marker `uploadFile` left to be written after it returned.
 */
import { Upload } from "@ivcap/core"
import { NodeFileSource, NodeTransfer } from "@ivcap/node"
import * as Effect from "effect/Effect"
import { flag, main, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

// The static imports above are loaded: this is the RSS of a program that has imported `@ivcap/node`.
const importRss = process.memoryUsage.rss()

main(async () => {
  const file = required("file")
  const given = flag("chunk-size")
  const chunkSize = given === undefined ? undefined : Number(given)
  const api = flag("api") ?? "node"
  const started = performance.now()
  const program = Effect.gen(function*() {
    const stop = stopwatch()
    const artifact = api === "plain"
      ? yield* Effect.flatMap(NodeFileSource.fromFile(file), (source) => Upload.upload(source, { chunkSize, resume: false }))
      : yield* NodeTransfer.uploadFile(file, { chunkSize, resume: false, force: true })
    return { id: artifact.id, importRss, ...stop() }
  })
  const result = await Effect.runPromise(program.pipe(Effect.provide(oursLayer())))
  // Until the layer is released: with uploadFile, that is once a marker left to finish after the call is written.
  report({ ...result, releasedMs: performance.now() - started })
})
