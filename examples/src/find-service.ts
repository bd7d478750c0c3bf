/**
 * Find a service by its exact name and show its parameters: `node examples/dist/find-service.js NAME`.
 * No service → `ResourceNotFound`; several → `AmbiguousRequest` — both handled with `catchTags`.
 */
import { Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { args, run } from "./internal/run.js"

const name = args[0] ?? "hello-world-python"

run(
  Effect.gen(function*() {
    const summary = yield* Service.getByName(name)
    const service = yield* Service.get(summary.id)
    yield* Console.log(`${service.name} ${service.id} (${service.status})`)
    yield* Console.log(service.description ?? "")
    for (const p of service.parameters) {
      const flags = [p.isOptional ? "optional" : "mandatory", p.constant ? "constant" : undefined, p.unit ? `unit ${p.unit}` : undefined]
      yield* Console.log(`  ${p.name} (${p.type}; ${flags.filter(Boolean).join(", ")})${p.default ? ` default ${p.default}` : ""}: ${p.description}`)
      for (const o of p.options ?? []) yield* Console.log(`      - ${o.value}: ${o.description ?? ""}`)
    }
  }).pipe(
    Effect.catchTags({
      ResourceNotFound: () => Effect.zipRight(Console.error(`No service is named '${name}'.`), Effect.fail("not found" as const)),
      AmbiguousRequest: (e) => Effect.zipRight(Console.error(`Several services are named '${name}': ${e.candidates.join(", ")}`), Effect.fail("ambiguous" as const))
    })
  )
)
