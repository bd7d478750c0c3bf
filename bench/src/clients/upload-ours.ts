/**
 * Ours: uploads a file with the SDK on Node, timed from just before the upload starts:
 * - `--api node` (default): `NodeTransfer.uploadFile(path, { force: true })`, the user-facing call — record
 *   creation, tus PATCHes of `--chunk-size`, the finished record read back, then the file's md5 for the
 *   `.ivcap-<name>.txt` marker (as the Python client does);
 * - `--api core`: `UploadSource.fromFile` + `Upload.upload`, the same without the marker.
 */
import { Upload, UploadSource } from "@ivcap/core"
import { NodeTransfer } from "@ivcap/node"
import * as Effect from "effect/Effect"
import { flag, main, numeric, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

main(async () => {
  const file = required("file")
  const chunkSize = numeric("chunk-size")
  const api = flag("api") ?? "node"
  const program = Effect.gen(function*() {
    const stop = stopwatch()
    const artifact = api === "core"
      ? yield* Effect.flatMap(UploadSource.fromFile(file), (source) => Upload.upload(source, { chunkSize, resume: false }))
      : yield* NodeTransfer.uploadFile(file, { chunkSize, resume: false, force: true })
    return { id: artifact.id, ...stop() }
  })
  report(await Effect.runPromise(program.pipe(Effect.provide(oursLayer()))))
})
