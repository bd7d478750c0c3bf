/**
 * Ours: downloads an artifact's content to a file with the SDK on Node (`Download.stream` run into the
 * platform `FileSystem` sink), timed from just before the record is read.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Download } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { main, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

main(async () => {
  const artifact = required("artifact")
  const out = required("out")
  const program = Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stop = stopwatch()
    yield* Download.stream(artifact).pipe(Stream.run(fs.sink(out)))
    const time = stop()
    const bytes = Number((yield* fs.stat(out)).size)
    return { bytes, ...time }
  })
  report(await Effect.runPromise(program.pipe(Effect.provide(oursLayer()))))
})
