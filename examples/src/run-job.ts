/**
 * Run a service as a job and print its result: `node examples/dist/run-job.js SERVICE_NAME 'JSON_INPUT'`, e.g.
 * `echo '{"message":"hi"}'`. The input is checked against the service's tool request schema first (a bad one is an
 * `InvalidParameter` naming the field, and nothing is sent); a job that fails is a `JobFailed` with its message.
 * Needs an API v0.44+ deployment.
 */
import { Job, Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { args, run } from "./internal/run.js"

const serviceName = args[0] ?? "echo"
const input: unknown = JSON.parse(args[1] ?? `{"message":"hello from run-job"}`)

run(
  Effect.gen(function*() {
    const service = yield* Service.getByName(serviceName)
    // any JSON result; give a Schema of your own to get a typed, checked value
    const result = yield* Job.run(service.id, input, Schema.Unknown, { schedule: Schedule.spaced("250 millis") }).pipe(
      Effect.timeout("2 minutes")
    )
    yield* Console.log(`result: ${JSON.stringify(result)}`)
  }).pipe(
    Effect.catchTags({
      InvalidParameter: (e) => Effect.zipRight(Console.error(`input rejected at '${e.name}': ${e.message}`), Effect.fail(e)),
      JobFailed: (e) => Effect.zipRight(Console.error(`job ${e.job} ${e.status}: ${e.errorMessage ?? "(no message)"}`), Effect.fail(e))
    })
  )
)
