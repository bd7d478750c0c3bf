/**
 * Baseline: tus-js-client (npm) in Node uploading a file to an existing `data-href` (`--upload-url`), with its
 * defaults (the whole file in one PATCH) or the `--chunk-size` given to every client. Given an `fs.ReadStream` with a path, tus-js-client reads each chunk as its own
 * file range (no whole-file buffering). It starts with a HEAD (its resume check), then PATCHes chunk by chunk.
 */
import { createReadStream, statSync } from "node:fs"
import { Upload } from "tus-js-client"
import { deployment, flag, main, report, required, stopwatch } from "./common.js"

main(async () => {
  const { token } = deployment()
  const file = required("file")
  const size = statSync(file).size
  const stop = stopwatch()
  await new Promise<void>((resolve, reject) => {
    const source = createReadStream(file) as unknown as ConstructorParameters<typeof Upload>[0]
    new Upload(source, {
      uploadUrl: required("upload-url"),
      uploadSize: size,
      ...(flag("chunk-size") === undefined ? {} : { chunkSize: Number(flag("chunk-size")) }),
      headers: { Authorization: `Bearer ${token}` },
      retryDelays: [],
      onSuccess: () => resolve(),
      onError: reject
    }).start()
  })
  report({ bytes: size, ...stop() })
})
