/**
 * An aspect's life: add, read, update (which retracts the previous record), look back in time, retract.
 * `node examples/dist/manage-aspect.js [ENTITY_URN]`.
 */
import { Aspect } from "@ivcap/core"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const entity = args[0] ?? `urn:example:entity:${Date.now()}`
const schema = "urn:example:schema:tag.1"

run(
  Effect.gen(function*() {
    const id = yield* Aspect.add(entity, { $schema: schema, tag: "draft" })
    yield* Console.log(`added ${id}`)
    const record = yield* Aspect.get(id)
    yield* Console.log(`read: ${JSON.stringify(record.content)} valid from ${DateTime.formatIso(record.validFrom)}`)
    yield* Effect.sleep("5 millis")
    const firstVersionTime = yield* DateTime.now
    yield* Effect.sleep("5 millis")
    const newId = yield* Aspect.update(entity, { $schema: schema, tag: "final" })
    yield* Console.log(`updated: ${newId} replaces ${id}`)
    const now = yield* Aspect.list({ entity, schema }).pipe(Stream.runCollect)
    const then = yield* Aspect.list({ entity, schema, atTime: firstVersionTime }).pipe(Stream.runCollect)
    yield* Console.log(`now: ${Chunk.toReadonlyArray(now).map((a) => JSON.stringify(a.content)).join(", ")}`)
    yield* Console.log(`at ${DateTime.formatIso(firstVersionTime)}: ${Chunk.toReadonlyArray(then).map((a) => JSON.stringify(a.content)).join(", ")}`)
    yield* Aspect.retract(newId)
    const retracted = yield* Aspect.get(newId)
    yield* Console.log(`retracted ${newId}: valid to ${retracted.validTo ? DateTime.formatIso(retracted.validTo) : "?"}`)
  })
)
