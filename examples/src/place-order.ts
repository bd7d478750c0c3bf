/**
 * Place an order and wait for it: `node examples/dist/place-order.js SERVICE_NAME name=value ...`,
 * e.g. `hello-world-python msg=world`. Parameters are checked against the service's definitions before the
 * order is sent (an `InvalidParameter` names the culprit); the order is then followed until it ends.
 */
import { Order, Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const serviceName = args[0] ?? "hello-world-python"
const parameters = Object.fromEntries(
  (args.length > 1 ? args.slice(1) : ["msg=world"]).map((kv) => {
    const i = kv.indexOf("=")
    return [kv.slice(0, i), kv.slice(i + 1)]
  })
)

run(
  Effect.gen(function*() {
    const service = yield* Service.getByName(serviceName)
    const order = yield* Order.place(service.id, parameters, { name: `example order for ${serviceName}` })
    yield* Console.log(`placed ${order.id}`)
    const done = yield* Order.waitFor(order.id, { schedule: Schedule.spaced("250 millis") }).pipe(Effect.timeout("2 minutes"))
    yield* Console.log(`order ${done.id}: ${done.status}`)
    yield* Order.products(done.id).pipe(
      Stream.runForEach((p) => Console.log(`  product ${p.name ?? p.id} ${p.mimeType ?? ""} ${p.size ?? "?"} bytes`))
    )
  }).pipe(
    Effect.catchTag("InvalidParameter", (e) =>
      Effect.zipRight(Console.error(`Parameter '${e.name}' rejected: ${e.message}`), Effect.fail(e)))
  )
)
