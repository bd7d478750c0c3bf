/**
 * Ours: uploads a file with the SDK on Node (`UploadSource.fromFile` + `Upload.upload`: record creation, tus
 * PATCHes of `--chunk-size`, the finished record read back), timed from just before the upload starts.
 */
import { Upload, UploadSource } from "@ivcap/core"
import * as Effect from "effect/Effect"
import { main, numeric, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

main(async () => {
  const file = required("file")
  const chunkSize = numeric("chunk-size")
  const program = Effect.gen(function*() {
    const stop = stopwatch()
    const source = yield* UploadSource.fromFile(file)
    const artifact = yield* Upload.upload(source, { chunkSize, resume: false })
    return { id: artifact.id, ...stop() }
  })
  report(await Effect.runPromise(program.pipe(Effect.provide(oursLayer()))))
})
