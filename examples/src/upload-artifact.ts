/**
 * Upload a file as an artifact: `node examples/dist/upload-artifact.js FILE [POLICY]`.
 * Chunked tus upload with progress from confirmed offsets; an interrupted upload of the same file resumes on the
 * next run; a file whose `.ivcap-<name>.txt` marker matches is not uploaded again (as the Python client does).
 */
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { bar } from "./internal/progress.js"
import { args, required, run } from "./internal/run.js"

const file = required(0, "upload-artifact FILE [POLICY]")

run(
  Effect.gen(function*() {
    let progress: ReturnType<typeof bar> | undefined
    const artifact = yield* NodeTransfer.uploadFile(file, {
      policy: args[1],
      onProgress: (p) => {
        progress ??= bar(Option.getOrElse(p.total, () => p.confirmed))
        return progress.update(p.confirmed)
      }
    })
    if (progress) yield* progress.done("uploaded")
    yield* Console.log(`${artifact.id} ${artifact.status} ${artifact.size ?? "?"} bytes (${artifact.name ?? ""})`)
  })
)
