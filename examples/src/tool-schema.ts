/**
 * Show a service's tool request schema and check an input against it, without running anything:
 * `node examples/dist/tool-schema.js SERVICE_NAME ['JSON_INPUT']`. The schema is the service's
 * `urn:sd-core:schema.ai-tool.1` aspect (`content.fn_schema`), what the Python client calls `request_model`.
 */
import { Job, Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { args, run } from "./internal/run.js"

const serviceName = args[0] ?? "slow"
const input: unknown = args[1] === undefined ? undefined : JSON.parse(args[1])

run(
  Effect.gen(function*() {
    const service = yield* Service.getByName(serviceName)
    const tool = yield* Service.toolSchema(service.id)
    yield* Console.log(`${tool.name ?? service.name}: ${tool.description ?? ""}`)
    yield* Console.log(JSON.stringify(tool.requestSchema, null, 2))
    if (input === undefined) return
    yield* Job.validateInput(service.id, input, tool).pipe(
      Effect.matchEffect({
        onSuccess: () => Console.log("input: valid"),
        onFailure: (e) => Console.log(`input: invalid at '${e.name}': ${e.message}`)
      })
    )
  })
)
