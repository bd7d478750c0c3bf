import { expect, layer } from "@effect/vitest"
import { Artifact } from "@ivcap/core"
import { SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

const readme = SeedData.readmeArtifact
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

layer(layerSuite())("Artifact", (it) => {
  it.effect("list, listPages and page show the seeded artifacts", () =>
    Effect.gen(function*() {
      yield* fresh
      const all = yield* collect(Artifact.list())
      expect(all.map((a) => a.id).sort()).toEqual([readme.id, SeedData.boundaryArtifact.id].sort())
      const listed = all.find((a) => a.id === readme.id)!
      expect([listed.name, listed.mimeType, listed.status, listed.size]).toEqual([readme.name, readme.mimeType, "ready", readme.content.length])
      const pages = yield* collect(Artifact.listPages({ pageSize: 1 }))
      expect(pages.map((p) => p.items.length)).toEqual([1, 1])
      const first = yield* Artifact.page({ pageSize: 1, orderBy: "name", orderDesc: false })
      expect(first.items.map((a) => a.name)).toEqual([[readme.name, SeedData.boundaryArtifact.name].sort()[0]])
      expect(Option.isSome(first.next)).toBe(true)
      const named = yield* collect(Artifact.list({ filter: "name ~= 'README%'" }))
      expect(named.map((a) => a.id)).toEqual([readme.id])
    }))

  it.effect("get and status", () =>
    Effect.gen(function*() {
      const a = yield* Artifact.get(readme.id)
      expect(a.id).toBe(readme.id)
      expect(a.status).toBe("ready")
      expect(a.size).toBe(readme.content.length)
      expect(a.mimeType).toBe(readme.mimeType)
      expect(a.dataHref).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/1\/artifacts\/.+\/blob$/)
      expect(a.links.some((l) => l.rel === "self")).toBe(true)
      expect(yield* Artifact.status(readme.id)).toBe("ready")
    }))

  it.effect("an unknown artifact is ResourceNotFound; a malformed id fails before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      const unknown = "urn:ivcap:artifact:00000000-0000-0000-0000-000000000000"
      expect((yield* expectFailure(Artifact.get(unknown), "ResourceNotFound")).id).toBe(unknown)
      yield* expectFailure(Artifact.status("urn:ivcap:aspect:1"), "InvalidArgument")
      yield* expectFailure(Artifact.get("urn:ivcap:artifact:a/b"), "InvalidArgument")
      expect(yield* requestCount()).toBe(1)
    }))

  it.effect("metadata lists the artifact's aspects; addMetadata adds one", () =>
    Effect.gen(function*() {
      yield* fresh
      const before = yield* collect(Artifact.metadata(readme.id))
      expect(before.map((a) => a.id)).toEqual([SeedData.readmeAspect.id])
      const id = yield* Artifact.addMetadata(readme.id, { $schema: "urn:example:schema:rating.1", stars: 4 })
      const after = yield* collect(Artifact.metadata(readme.id, { schema: "urn:example:schema:%" }))
      expect(after.map((a) => [a.id, a.content?.["stars"]])).toEqual([[id, 4]])
      yield* expectFailure(Artifact.addMetadata(readme.id, { stars: 4 }), "InvalidArgument")
      yield* expectFailure(Stream.runDrain(Artifact.metadata("urn:ivcap:order:1")), "InvalidArgument")
    }))
})
