/**
 * List a service's jobs: `node examples/dist/list-jobs.js SERVICE_NAME [N]` — the newest N (default 10), fetched
 * page by page as the Stream is consumed.
 */
import { Job, Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const serviceName = args[0] ?? "echo"
const n = Number(args[1] ?? 10)

run(
  Effect.gen(function*() {
    const service = yield* Service.getByName(serviceName)
    yield* Job.list(service.id, { orderBy: "requested-at", orderDirection: "DESC", pageSize: 20 }).pipe(
      Stream.take(n),
      Stream.runForEach((j) =>
        Console.log(`${j.id}  ${j.status.padEnd(9)}  ${j.finishedAt ? DateTime.formatIso(j.finishedAt) : "(running)"}`)
      )
    )
  })
)
