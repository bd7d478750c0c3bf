/** List artifacts: `node examples/dist/list-artifacts.js [COUNT]`. */
import { Artifact } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

run(
  Artifact.list().pipe(
    Stream.take(Number(args[0] ?? 10)),
    Stream.runForEach((a) => Console.log(`${a.id}  ${a.status.padEnd(7)}  ${String(a.size ?? "?").padStart(10)}  ${a.mimeType ?? ""}  ${a.name ?? ""}`))
  )
)
