/**
 * Artifacts from a newer server: the emulator (over HTTP) made to answer a status this SDK does not know
 * (`uploading`). The record still decodes — `status` reads `unknown`, `rawStatus` keeps the wire value — in a
 * listing, a read, and the record an upload creates.
 */
import { expect, layer } from "@effect/vitest"
import { Artifact, Upload, UploadSource, Urn } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { fresh, layerSuite } from "./utils/suite.js"

type Json = Record<string, unknown>
const readme = SeedData.readmeArtifact
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const rewrite = (method: string, path: string | RegExp, f: (json: Json) => unknown) =>
  Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(Faults.mapBody((json) => f(json as Json), { match: { method, path } })))
const uploading = (record: Json): Json => ({ ...record, status: "uploading" })

layer(layerSuite())("Artifact with a status this SDK does not know", (it) => {
  it.effect("list: the item reads as unknown, its raw status kept; the other items as before", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* rewrite("GET", /^\/1\/artifacts$/, (json) => ({
        ...json,
        items: (json["items"] as Array<Json>).map((item) => (item["id"] === readme.id ? uploading(item) : item))
      }))
      const all = yield* collect(Artifact.list())
      expect(all.length).toBe(2)
      const odd = all.find((a) => a.id === readme.id)!
      expect([odd.status, odd.rawStatus]).toEqual(["unknown", "uploading"])
      const other = all.find((a) => a.id !== readme.id)!
      expect([other.status, other.rawStatus]).toEqual(["ready", "ready"])
      // encoded back, the wire value is what the server sent
      expect(Schema.encodeSync(Artifact.ArtifactSummary)(odd).status).toBe("uploading")
    }))

  it.effect("get and status: unknown, with the raw status; the next read, as the server says again", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* rewrite("GET", `/1/artifacts/${readme.id}`, uploading)
      const read = yield* Artifact.get(readme.id)
      expect([read.status, read.rawStatus, read.size]).toEqual(["unknown", "uploading", readme.content.length])
      yield* rewrite("GET", `/1/artifacts/${readme.id}`, uploading)
      expect(yield* Artifact.status(readme.id)).toBe("unknown")
      const again = yield* Artifact.get(readme.id)
      expect([again.status, again.rawStatus]).toEqual(["ready", "ready"])
    }))

  it.effect("an upload whose created record says uploading still uploads, and ends ready", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* rewrite("POST", /^\/1\/artifacts$/, uploading)
      const bytes = new TextEncoder().encode("depth,temp\n1,14.2\n")
      const artifact = yield* Upload.upload(UploadSource.fromBytes(bytes, { name: "cast.csv", contentType: "text/csv" }))
      expect([artifact.status, artifact.rawStatus, artifact.size]).toEqual(["ready", "ready", bytes.length])
    }))

  it.effect("a record built by hand has no raw status and encodes its status", () =>
    Effect.sync(() => {
      const built = new Artifact.ArtifactDetails({ id: Urn.ArtifactUrn.make(readme.id), status: "partial", links: [] })
      expect([built.status, built.rawStatus]).toEqual(["partial", undefined])
      expect(Schema.encodeSync(Artifact.ArtifactDetails)(built)).toEqual({ id: readme.id, status: "partial", links: [] })
      expect(Artifact.statusOf("uploading")).toBe("unknown")
      expect(Artifact.statusOf("ready")).toBe("ready")
    }))
})
