/**
 * Request a job now, follow it, read it later: `node examples/dist/request-job.js SERVICE_NAME 'JSON_INPUT'`, e.g.
 * `slow '{"seconds":3}'`. The request returns at once (no server-side wait) with the job id and the server's
 * `retry-later`; the job is then watched — first look after `retry-later`, then every 250 ms — printing each status
 * change, and finally read back with its request.
 */
import { Job, Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const serviceName = args[0] ?? "slow"
const input: unknown = JSON.parse(args[1] ?? `{"seconds":2}`)

run(
  Effect.gen(function*() {
    const service = yield* Service.getByName(serviceName)
    const ticket = yield* Job.request(service.id, input)
    if (ticket._tag === "Finished") {
      yield* Console.log(`job ${ticket.job} finished at once: ${JSON.stringify(ticket.result.content)}`)
      return
    }
    yield* Console.log(`job ${ticket.job} accepted; retry later: ${Duration.format(ticket.retryLater)}`)
    yield* Job.watch(ticket.service, ticket.job, { retryLater: ticket.retryLater, schedule: Schedule.spaced("250 millis") }).pipe(
      Stream.runForEach((job) => Console.log(`status: ${job.status}`)),
      Effect.timeout("2 minutes")
    )
    const job = yield* Job.get(ticket.service, ticket.job, { withRequestContent: true })
    yield* Console.log(`request: ${JSON.stringify(job.requestContent)}`)
    yield* Console.log(`result: ${JSON.stringify(job.resultContent)}`)
    if (job.errorMessage !== undefined) yield* Console.log(`error: ${job.errorMessage}`)
  })
)
