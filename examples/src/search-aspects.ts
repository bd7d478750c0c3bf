/**
 * Search aspects: by schema prefix (`%` wildcard), content path and time —
 * `node examples/dist/search-aspects.js [SCHEMA_PREFIX] [CONTENT_PATH]` — and a datalog query through
 * `POST /1/search`, which deployments (and the emulator) without a search engine answer with 501: handled as
 * the typed `NotImplemented`.
 */
import { Aspect, Search } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const schema = args[0] ?? "urn:ivcap:schema:%"
const contentPath = args[1]

run(
  Effect.gen(function*() {
    const found = yield* Aspect.list({ schema, ...(contentPath ? { contentPath } : {}) }).pipe(
      Stream.take(20),
      Stream.tap((a) => Console.log(`${a.id}  ${a.schema}  ${a.entity}`)),
      Stream.runCount
    )
    yield* Console.log(`${found} aspect(s) with schema ${schema}${contentPath ? ` and ${contentPath}` : ""} (at most 20 shown)`)
    const query = `query(E) :- aspect(E, "${schema.replace(/%$/, "")}").`
    yield* Search.search(query).pipe(
      Stream.take(10),
      Stream.runForEach((item) => Console.log(JSON.stringify(item))),
      Effect.catchTag("NotImplemented", (e) => Console.log(`datalog search: not available here (${e.message})`))
    )
  })
)
