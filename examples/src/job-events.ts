/**
 * Run a job and show its events live: `node examples/dist/job-events.js SERVICE_NAME 'JSON_INPUT'`, e.g.
 * `slow '{"seconds":3}'`. The event stream (Server-Sent Events) survives dropped connections — it resumes with
 * `Last-Event-ID`, never repeating or skipping an event — and ends when the job has finished.
 */
import { Job, Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const serviceName = args[0] ?? "slow"
const input: unknown = JSON.parse(args[1] ?? `{"seconds":3}`)

run(
  Effect.gen(function*() {
    const service = yield* Service.getByName(serviceName)
    const ticket = yield* Job.request(service.id, input)
    yield* Console.log(`job ${ticket.job}`)
    const count = yield* Job.events(ticket.service, ticket.job).pipe(
      Stream.tap((e) =>
        Console.log(`#${e.seqId} ${e.timestamp ? DateTime.formatIso(e.timestamp) : ""} ${e.type ?? ""} ${JSON.stringify(e.data)}`)
      ),
      Stream.runCount,
      Effect.timeout("2 minutes")
    )
    const job = yield* Job.get(ticket.service, ticket.job)
    yield* Console.log(`${count} events; job ${job.status}`)
  })
)
