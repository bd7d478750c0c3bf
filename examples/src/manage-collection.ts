/**
 * A collection's life: create it, upload two files straight into it, list its members (and find it by name), remove
 * one member, look back in time, retract the whole collection.
 * `node examples/dist/manage-collection.js [NAME]`.
 */
import { Collection, UploadSource } from "@ivcap/node"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

const name = args[0] ?? "Ocean CTD Survey"

/** The member URNs of a collection, at a time or now. */
const members = (id: string, atTime?: DateTime.Utc) =>
  Collection.items(id, { atTime }).pipe(Stream.map((m) => m.item), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

run(
  Effect.gen(function*() {
    const id = yield* Collection.newUrn
    const collection = yield* Collection.create(id, { name, description: "CTD casts from voyage V2025-03" })
    yield* Console.log(`created ${collection.id} "${collection.name}"`)
    const casts = ["cast-001.csv", "cast-002.csv"]
    const uploaded = yield* Effect.forEach(casts, (file, i) =>
      Collection.upload(id, UploadSource.fromBytes(new TextEncoder().encode(`depth,temp\n${i},14.${i}\n`), { name: file, contentType: "text/csv" })))
    for (const a of uploaded) yield* Console.log(`uploaded ${a.name} as ${a.id} into the collection`)
    yield* Console.log(`members: ${(yield* members(id)).join(", ")}`)
    const found = yield* Collection.list({ name }).pipe(Stream.map((c) => c.id), Stream.runCollect)
    yield* Console.log(`found by name: ${Chunk.toReadonlyArray(found).includes(id)}`)
    const before = yield* DateTime.now
    yield* Effect.sleep("5 millis")
    const removed = yield* Collection.remove(id, uploaded[0]!.id)
    yield* Console.log(`removed ${uploaded[0]!.id}: ${removed}`)
    yield* Console.log(`members now: ${(yield* members(id)).join(", ")}`)
    yield* Console.log(`members at ${DateTime.formatIso(before)}: ${(yield* members(id, before)).join(", ")}`)
    const retracted = yield* Collection.retract(id)
    yield* Console.log(`retracted the collection: ${retracted} aspects`)
    yield* Collection.get(id).pipe(
      Effect.flatMap((c) => Console.log(`still there: ${c.name}`)),
      Effect.catchTag("ResourceNotFound", (e) => Console.log(`gone: ${e.message}`))
    )
  })
)
