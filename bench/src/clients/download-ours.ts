/**
 * Ours: downloads an artifact's content to a file with the SDK on Node, timed from just before the record is read:
 * - `--api stream` (default): `Download.stream` run into the platform `FileSystem` sink — the same work as
 *   `curl -o`;
 * - `--api node`: `NodeTransfer.downloadToFile`, which also computes sha-256 of the content (md5 only when one is to be checked), checks them
 *   and the size, and renames a temporary file into place.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Download } from "@ivcap/core"
import { NodeTransfer } from "@ivcap/node"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { flag, main, report, required, stopwatch } from "./common.js"
import { oursLayer } from "./ours.js"

main(async () => {
  const artifact = required("artifact")
  const out = required("out")
  const api = flag("api") ?? "stream"
  const program = Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stop = stopwatch()
    if (api === "discard") {
      const bytes = yield* Download.stream(artifact).pipe(Stream.runFold(0, (n, chunk) => n + chunk.length))
      return { bytes, ...stop() }
    }
    if (api === "node") yield* NodeTransfer.downloadToFile(artifact, out)
    else yield* Download.stream(artifact).pipe(Stream.run(fs.sink(out)))
    const time = stop()
    const bytes = Number((yield* fs.stat(out)).size)
    return { bytes, ...time }
  })
  report(await Effect.runPromise(program.pipe(Effect.provide(oursLayer()))))
})
