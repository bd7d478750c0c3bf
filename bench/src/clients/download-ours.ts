/**
 * Ours: downloads an artifact's content with the SDK on Node, timed from just before the record is read:
 * - `--api node`: `NodeTransfer.downloadToFile` with its defaults — size checked (and an md5 `ETag`, which the
 *   emulator does not send), written to a temporary file renamed into place;
 * - `--api discard`: `Download.stream` consumed and discarded (bytes counted);
 * - `--api stream`: `Download.stream` run into the platform `FileSystem` sink.
 * The result carries the RSS right after the SDK's modules were imported (`importRss`), the floor the peak is
 * compared with.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Download } from "@ivcap/core"
import { NodeTransfer } from "@ivcap/node"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { flag, main, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

// The static imports above are loaded: this is the RSS of a program that has imported `@ivcap/node`.
const importRss = process.memoryUsage.rss()

main(async () => {
  const artifact = required("artifact")
  const out = required("out")
  const api = flag("api") ?? "node"
  const program = Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stop = stopwatch()
    if (api === "discard") {
      const bytes = yield* Download.stream(artifact).pipe(Stream.runFold(0, (n, chunk) => n + chunk.length))
      return { bytes, importRss, ...stop() }
    }
    if (api === "node") yield* NodeTransfer.downloadToFile(artifact, out)
    else yield* Download.stream(artifact).pipe(Stream.run(fs.sink(out)))
    const time = stop()
    const bytes = Number((yield* fs.stat(out)).size)
    return { bytes, importRss, ...time }
  })
  report(await Effect.runPromise(program.pipe(Effect.provide(oursLayer()))))
})
