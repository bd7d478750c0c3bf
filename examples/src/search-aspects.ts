/**
 * Search aspects two ways — `node examples/dist/search-aspects.js [SCHEMA_PREFIX] [CONTENT_PATH] [ENTITY]`:
 * 1. the aspect listing, by schema prefix (`%` wildcard), content path (JSONPath) and time;
 * 2. Datalog through `POST /1/search`: the entities with an aspect of that schema prefix, and — given an ENTITY —
 *    every aspect whose content mentions it (the graph's edges), each result decoded per variable.
 */
import { Aspect, Search } from "@ivcap/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const schema = args[0] ?? "urn:ivcap:schema:%"
const contentPath = args[1] === "" ? undefined : args[1]
const entity = args[2]

run(
  Effect.gen(function*() {
    const found = yield* Aspect.list({ schema, ...(contentPath ? { contentPath } : {}) }).pipe(
      Stream.take(20),
      Stream.tap((a) => Console.log(`${a.id}  ${a.schema}  ${a.entity}`)),
      Stream.runCount
    )
    yield* Console.log(`${found} aspect(s) with schema ${schema}${contentPath ? ` and ${contentPath}` : ""} (at most 20 shown)`)

    // Datalog: which entities carry an aspect whose schema starts with the prefix?
    const prefix = schema.replace(/%.*$/, "")
    const bySchema = `
:- ivcap_aspect(Entity, Schema, _),
   :string:starts_with(Schema, ${Search.literal(prefix)}).`
    const rows = yield* Search.searchAs(bySchema, { Entity: Schema.String, Schema: Schema.String }).pipe(
      Stream.take(20),
      Stream.tap((r) => Console.log(`datalog: ${r.Entity} has a ${r.Schema} aspect`)),
      Stream.runCount
    )
    yield* Console.log(`datalog: ${rows} result(s) for schemas starting with ${prefix} (at most 20 shown)`)

    if (entity !== undefined) {
      // Datalog: every aspect whose content mentions the entity, wherever in the JSON
      const referencing = `:- ivcap_aspect_ref(Entity, Schema, ${Search.literal(entity)}).`
      yield* Search.searchAs(referencing, { Entity: Schema.String, Schema: Schema.String }).pipe(
        Stream.take(20),
        Stream.runForEach((r) => Console.log(`datalog: ${r.Entity} (${r.Schema}) refers to ${entity}`))
      )
    }
  })
)
