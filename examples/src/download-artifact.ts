/**
 * Download an artifact to a file, verified: `node examples/dist/download-artifact.js ARTIFACT_URN [OUT_FILE]`.
 * A dropped connection resumes with a Range request; the byte count (and an md5 ETag) is checked before the file
 * replaces OUT_FILE.
 */
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { args, required, run } from "./internal/run.js"

const id = required(0, "download-artifact ARTIFACT_URN [OUT_FILE]")

run(
  Effect.gen(function*() {
    const out = args[1] ?? id.replace(/[^A-Za-z0-9.-]/g, "_")
    const file = yield* NodeTransfer.downloadToFile(id, out, { computeSha256: true })
    yield* Console.log(`${file.path}: ${file.size} bytes, sha256 ${Option.getOrElse(file.sha256, () => "?")}`)
  })
)
