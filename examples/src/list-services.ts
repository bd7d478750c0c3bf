/**
 * List services: `node examples/dist/list-services.js [COUNT] [FILTER]`, e.g. `20 "name ~= 'fire%'"`.
 * The listing is a Stream: take as many as you want; pages (up to 50 items each) are fetched as needed.
 */
import { Service } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const count = Number(args[0] ?? 10)
const filter = args[1]

run(
  Service.list(filter ? { filter } : {}).pipe(
    Stream.take(count),
    Stream.runForEach((s) => Console.log(`${s.id}  ${s.name ?? ""}`)),
    Effect.zipRight(Console.log(`(first ${count} services)`))
  )
)
