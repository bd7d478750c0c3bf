import { expect, layer } from "@effect/vitest"
import { Aspect, Order, Search, Upload, UploadSource } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { layerHttp } from "./utils/emulator.js"
import { expectFailure, fastRetry, fresh, layerSuite, requestCount, suiteToken } from "./utils/suite.js"

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const bytes = (s: string) => new TextEncoder().encode(s)
const services = `:- ivcap_service(Id, Name).`

layer(layerSuite())("Search (against the emulator's Datalog engine)", (it) => {
  it.effect("the official search example of the Python client 0.47.19 docs finds the JPEG artifacts", () =>
    Effect.gen(function*() {
      yield* fresh
      const jpeg = yield* Upload.upload(UploadSource.fromBytes(bytes("\xff\xd8\xff fake jpeg"), { contentType: "image/jpeg" }), { name: "reef.jpg" })
      yield* Upload.upload(UploadSource.fromBytes(bytes("a,b\n1,2\n"), { contentType: "text/csv" }), { name: "table.csv" })
      // guides/search.md, "Basic Usage", verbatim
      const query = `
:- ivcap_artifact(Id, Name, MimeType),
   MimeType = "image/jpeg".
`
      // what `ivcap.search(query).items` holds: one dict of bound variables per result
      expect(yield* collect(Search.search(query))).toEqual([{ Id: jpeg.id, Name: "reef.jpg", MimeType: "image/jpeg" }])
      // and per binding, decoded with a Schema each
      const rows = yield* collect(Search.searchAs(query, { Id: Schema.String, Name: Schema.String, MimeType: Schema.Literal("image/jpeg") }))
      expect(rows).toEqual([{ Id: jpeg.id, Name: "reef.jpg", MimeType: "image/jpeg" }])
      const csv = yield* collect(Search.search(query.replace("image/jpeg", "text/csv")))
      expect(csv.map((r) => (r as { Name: string }).Name)).toEqual(["table.csv"])
    }))

  it.effect("provenance: the artifacts produced by orders of a service", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const order = yield* Order.place(SeedData.helloWorld.id, { msg: "datalog" })
      yield* emulator.clock.advance("10 seconds")
      const query = `
produced(Artifact, Name) :-
  ivcap_order(Order, "succeeded", ${Search.literal(SeedData.helloWorld.id)}),
  ivcap_artifact_produced_by(Artifact, Order),
  ivcap_artifact(Artifact, Name, _).
query(Artifact, Name) :- produced(Artifact, Name).`
      const rows = yield* collect(Search.searchAs(query, { Artifact: Schema.String, Name: Schema.String }))
      const products = yield* collect(Order.products(order.id))
      expect(rows).toEqual([{ Artifact: products[0]!.id, Name: "greeting.txt" }])
    }))

  it.effect("the Python docs' provenance query: artifacts produced by succeeded jobs of a service", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const service = SeedData.report.id
      // request a job (v0.44+) as any client does; the SDK's job module is not needed for this
      const response = yield* Effect.promise(() =>
        fetch(`${url}/1/services2/${encodeURIComponent(service)}/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${suiteToken}`, "content-type": "application/json", timeout: "0" },
          body: JSON.stringify({ title: "Search" })
        })
      )
      expect(response.status).toBe(202)
      const jobId = response.headers.get("ivcap-job-id") ?? ((yield* Effect.promise(() => response.json())) as { "job-id": string })["job-id"]
      const query = `
:- ivcap_job(JobId, "succeeded", ServiceId),
   ServiceId = ${Search.literal(service)},
   ivcap_artifact_produced_by(ArtifactId, JobId).`
      // not finished yet: nothing
      expect(yield* collect(Search.search(query))).toEqual([])
      yield* emulator.clock.advance("1 minute")
      const rows = yield* collect(Search.searchAs(query, { JobId: Schema.String, ServiceId: Schema.String, ArtifactId: Schema.String }))
      expect(rows).toEqual([{ JobId: jobId, ServiceId: service, ArtifactId: expect.stringMatching(/^urn:ivcap:artifact:/) }])
      const [artifact] = yield* collect(Search.search(`:- ivcap_artifact(${Search.literal(rows[0]!.ArtifactId)}, Name, Type).`))
      expect(artifact).toEqual({ Name: "report.md", Type: "text/markdown" })
    }))

  it.effect("the guide's queries (docs/search.md): lineage over three levels and a cycle, reviews, negation, mentions", () =>
    Effect.gen(function*() {
      yield* fresh
      const readme = SeedData.readmeArtifact.id
      const boundary = SeedData.boundaryArtifact.id
      const derived = "urn:example:schema:derived-from.1"
      // c → b → readme → boundary → readme (a cycle); the seeded artifacts have names
      yield* Aspect.add("urn:ivcap:artifact:c", { source: "urn:ivcap:artifact:b" }, { schema: derived })
      yield* Aspect.add("urn:ivcap:artifact:b", { source: readme }, { schema: derived })
      yield* Aspect.add(readme, { source: boundary }, { schema: derived })
      yield* Aspect.add(boundary, { source: readme }, { schema: derived })
      const lineage = (artifact: string) => `
:load_aspect(/derived_from, "${derived}", ["entity", ".source"]).

ancestor(A, S) :- derived_from(A, S).
ancestor(A, S) :- derived_from(A, P), ancestor(P, S).

query(Source, Name) :- ancestor(${Search.literal(artifact)}, Source), ivcap_artifact(Source, Name, _).`
      const Row = { Source: Schema.String, Name: Schema.String }
      expect(yield* collect(Search.searchAs(lineage("urn:ivcap:artifact:c"), Row))).toEqual([
        { Source: boundary, Name: SeedData.boundaryArtifact.name },
        { Source: readme, Name: SeedData.readmeArtifact.name }
      ])

      const review = "urn:example:schema:review.1"
      yield* Aspect.add("urn:example:review:1", { about: readme, stars: 4 }, { schema: review })
      yield* Aspect.add("urn:example:review:2", { about: readme, stars: 2 }, { schema: review })
      const reviews = `:load_aspect(/review, "${review}", ["entity", ".about", ".stars"]).`
      expect(yield* collect(Search.searchAs(`${reviews}\n:- review(Review, ${Search.literal(readme)}, Stars), Stars >= 3.`, { Review: Schema.String, Stars: Schema.Number })))
        .toEqual([{ Review: "urn:example:review:1", Stars: 4 }])
      const unreviewed = `${reviews}\nreviewed(A) :- review(_, A, _).\n:- ivcap_artifact(A, Name, _), !reviewed(A).`
      expect(yield* collect(Search.search(unreviewed))).toEqual([{ A: boundary, Name: SeedData.boundaryArtifact.name }])
      // the aspects that mention readme (its own aspects' `$entity` envelope key does not count)
      const mentions = yield* collect(Search.searchAs(`:- ivcap_aspect_ref(Entity, Schema, ${Search.literal(readme)}).`, { Entity: Schema.String, Schema: Schema.String }))
      expect([...mentions].sort((a, b) => a.Entity.localeCompare(b.Entity))).toEqual([
        { Entity: "urn:example:review:1", Schema: review },
        { Entity: "urn:example:review:2", Schema: review },
        { Entity: "urn:ivcap:artifact:b", Schema: derived },
        { Entity: boundary, Schema: derived }
      ].sort((a, b) => a.Entity.localeCompare(b.Entity)))
    }))

  it.effect("results stream across pages: the query is re-sent with each page's token, and the pages are stable", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const rows = yield* collect(Search.searchAs(services, { Id: Schema.String, Name: Schema.String }, { pageSize: 20 }))
      expect(rows).toHaveLength((SeedData.services().length + SeedData.toolServices().length))
      expect(new Set(rows.map((r) => r.Id)).size).toBe((SeedData.services().length + SeedData.toolServices().length))
      const log = yield* emulator.requests.log
      expect(log.map((r) => [r.method, r.headers["content-type"]])).toEqual(Array(4).fill(["POST", "application/datalog+mangle"]))
      const queries = log.map((r) => [...new URL(r.url, "http://x").searchParams.keys()].sort().join(","))
      expect(queries).toEqual(["limit", "limit,page", "limit,page", "limit,page"])
      // one page, then the rest from its cursor
      const first = yield* Search.page(services, { pageSize: 50 })
      expect(first.items).toHaveLength(50)
      const rest = yield* collect(Search.search(services, { cursor: first.next.pipe((o) => (o._tag === "Some" ? o.value : undefined))! }))
      expect(rest).toHaveLength((SeedData.services().length + SeedData.toolServices().length) - 50)
    }))

  it.effect("atTime searches the past: the content an aspect had before its update", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const schema = "urn:example:schema:status.1"
      yield* Aspect.add("urn:example:doc:1", { status: "draft" }, { schema })
      const before = DateTime.unsafeMake(yield* emulator.clock.now)
      yield* emulator.clock.advance("1 second")
      yield* Aspect.update("urn:example:doc:1", { status: "final" }, { schema })
      const query = `:load_aspect(/status, "${schema}", ["entity", ".status"]).\n:- status(Doc, Status).`
      const Row = { Doc: Schema.String, Status: Schema.String }
      expect(yield* collect(Search.searchAs(query, Row))).toEqual([{ Doc: "urn:example:doc:1", Status: "final" }])
      expect(yield* collect(Search.searchAs(query, Row, { atTime: before }))).toEqual([{ Doc: "urn:example:doc:1", Status: "draft" }])
    }))

  it.effect("a syntax error is BadRequest with the line and column", () =>
    Effect.gen(function*() {
      yield* fresh
      const e = yield* expectFailure(Stream.runDrain(Search.search(`query(X) :-\n  ivcap_service(X, _)\n  ivcap_artifact(X, _, _).`)), "BadRequest")
      expect(e.message).toContain("line 3, column 3")
      const unknown = yield* expectFailure(Search.page(`:- artifact(A).`), "BadRequest")
      expect(unknown.message).toContain("unknown predicate artifact")
    }))

  it.effect("searchAs names the result and the variable that do not fit", () =>
    Effect.gen(function*() {
      yield* fresh
      const e = yield* expectFailure(Stream.runDrain(Search.searchAs(services, { Id: Schema.String, Size: Schema.Number })), "DecodeError")
      expect(e.message).toContain("search result #0")
      expect(e.message).toContain("Size")
      const wrong = yield* expectFailure(Stream.runDrain(Search.searchAs(services, { Id: Schema.Number })), "DecodeError")
      expect(wrong.message).toContain("Id")
    }))

  it.effect("literal escapes quotes, backslashes and newlines", () =>
    Effect.gen(function*() {
      yield* fresh
      const odd = "a \"quoted\" \\ name\nwith a newline"
      yield* Aspect.add("urn:example:odd:1", { label: odd }, { schema: "urn:example:schema:label.1" })
      const query = `:load_aspect(/label, "urn:example:schema:label.1", ["entity", ".label"]).\n:- label(E, ${Search.literal(odd)}).`
      expect(yield* collect(Search.search(query))).toEqual([{ E: "urn:example:odd:1" }])
    }))

  it.effect("415 is UnsupportedContentType; an empty query or a bad page size fails before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(415, { match: { path: "/1/search" } }))
      yield* expectFailure(Search.page(services), "UnsupportedContentType")
      yield* emulator.requests.reset
      yield* expectFailure(Stream.runDrain(Search.search("  ")), "InvalidArgument")
      yield* expectFailure(Search.page(services, { pageSize: 99 }), "InvalidArgument")
      expect(yield* requestCount()).toBe(0)
    }))

  it.effect("search only reads, so a 503 is retried", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(503, { match: { path: "/1/search" }, times: 2 }))
      expect(yield* collect(Search.search(`:- ivcap_service(Id, ${Search.literal(SeedData.helloWorld.name)}).`))).toEqual([{ Id: SeedData.helloWorld.id }])
      expect(yield* requestCount({ path: "/1/search" })).toBe(3)
    }).pipe(TestServices.provideLive))
})

layer(layerHttp({ retry: fastRetry, timeout: "10 seconds" }, { token: suiteToken, searchLimits: { maxFacts: 20_000 } }))("Search limits", (it) => {
  it.effect("a query that explodes is a BadRequest, and the emulator keeps serving", () =>
    Effect.gen(function*() {
      const e = yield* expectFailure(Search.page(`:- ivcap_service(A, _), ivcap_service(B, _), ivcap_service(C, _).`), "BadRequest")
      expect(e.message).toMatch(/query too expensive: the query derived more than 20000 facts/)
      expect((yield* Search.page(services)).items).toHaveLength(50)
    }))
})
