/**
 * Aspects against a scripted server (127.0.0.1, at most {@link cap} requests) that answers in ways the spec does not
 * declare but HTTP allows: a write answered `201` with the id in `Location` only, a retraction answered `200` or
 * `202`, a read answered with another record, a tool-schema listing that ignores its entity filter.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Aspect, IvcapClient, Service } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestServices from "effect/TestServices"
import type * as http from "node:http"
import { type SeenRequest, scriptedServer } from "./utils/upload.js"
import { expectFailure } from "./utils/suite.js"

const entity = "urn:ivcap:artifact:00000000-0000-4000-8000-00000000000a"
const schema = "urn:example:schema:survey.1"
const asp = (n: number) => `urn:ivcap:aspect:00000000-0000-4000-8000-${String(n).padStart(12, "0")}`
const service = "urn:ivcap:service:00000000-0000-4000-8000-0000000000aa"
const other = "urn:ivcap:service:00000000-0000-4000-8000-0000000000bb"

/** More requests than any test here sends: past it the server answers `410`. */
const cap = 20

const send = (res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body = "") =>
  void res.writeHead(status, { "content-length": String(Buffer.byteLength(body)), ...headers }).end(body)

/** A scripted server answering with `handle` (at most {@link cap} requests), and a client for it without retries. */
const server = (handle: (request: SeenRequest, res: http.ServerResponse) => void) =>
  Effect.map(
    scriptedServer((request, i, res) => (i >= cap ? send(res, 410) : handle(request, res))),
    (s) => ({
      seen: s.seen,
      client: IvcapClient.layer({ url: s.url, token: "t", retry: false, timeout: "5 seconds" }).pipe(Layer.provide(NodeHttpClient.layerUndici))
    })
  )

/** `effect` against a server that answers every request with `status`, `headers` and `body`. */
const answered = <A, E>(effect: Effect.Effect<A, E, IvcapClient.IvcapClient>, status: number, headers: Record<string, string> = {}, body = "") =>
  Effect.flatMap(server((_request, res) => send(res, status, headers, body)), (s) => Effect.provide(effect, s.client))

const json = { "content-type": "application/json" }

const record = (id: string) =>
  JSON.stringify({
    id,
    entity,
    schema,
    "content-type": "application/json",
    content: { depth: 1 },
    asserter: "urn:ivcap:principal:x",
    links: [],
    "valid-from": "2026-07-01T00:00:00Z"
  })

const add = Aspect.add(entity, { depth: 1 }, { schema })
const update = Aspect.update(entity, { depth: 1 }, { schema })

layer(Layer.empty)("Aspect against a hostile server", (it) => {
  it.effect("a write answered 201: the id from the body, or from Location (a path, percent-encoded or not, or a URL)", () =>
    Effect.gen(function*() {
      expect(yield* answered(add, 201, json, JSON.stringify({ id: asp(1) }))).toBe(asp(1))
      expect(yield* answered(add, 201, { location: `/1/aspects/${encodeURIComponent(asp(2))}` })).toBe(asp(2))
      expect(yield* answered(add, 201, { location: `https://ivcap.example/1/aspects/${asp(3)}?x=1` }, "Created")).toBe(asp(3))
      expect(yield* answered(update, 201, { location: `/1/aspects/${asp(4)}` }, "{}")).toBe(asp(4))
      // the emulator's (and the spec's) 200 {id} is still read, Location or not
      expect(yield* answered(add, 200, { ...json, location: `/1/aspects/${asp(6)}` }, JSON.stringify({ id: asp(5) }))).toBe(asp(5))
    }).pipe(Effect.scoped, TestServices.provideLive))

  it.effect("a write answered without a usable id is a DecodeError: no Location, one naming no aspect, a body id of another kind", () =>
    Effect.gen(function*() {
      const none = yield* expectFailure(answered(add, 201), "DecodeError")
      expect(none.message).toContain("no Location")
      const artifact = yield* expectFailure(answered(add, 201, { location: `/1/artifacts/${entity}` }), "DecodeError")
      expect(artifact.message).toContain("Location")
      yield* expectFailure(answered(add, 201, { location: "/1/aspects/%E0%A4%A" }), "DecodeError")
      const wrongKind = yield* expectFailure(answered(add, 201, { ...json, location: `/1/aspects/${asp(7)}` }, JSON.stringify({ id: entity })), "DecodeError")
      expect(wrongKind.message).toContain("id")
      yield* expectFailure(answered(add, 200, json, "{}"), "DecodeError")
    }).pipe(Effect.scoped, TestServices.provideLive))

  it.effect("a retraction answered 200 (with a body), 202 or 204 succeeds; an error status is still typed", () =>
    Effect.gen(function*() {
      yield* answered(Aspect.retract(asp(1)), 200, json, JSON.stringify({ id: asp(1) }))
      yield* answered(Aspect.retract(asp(1)), 202)
      yield* answered(Aspect.retract(asp(1)), 204)
      yield* expectFailure(answered(Aspect.retract(asp(1)), 403, json, JSON.stringify({ message: "no" })), "Forbidden")
      yield* expectFailure(answered(Aspect.retract(asp(1)), 201), "UnexpectedStatus")
    }).pipe(Effect.scoped, TestServices.provideLive))

  it.effect("get answered with another record is a DecodeError naming both ids", () =>
    Effect.gen(function*() {
      expect((yield* answered(Aspect.get(asp(1)), 200, json, record(asp(1)))).id).toBe(asp(1))
      const e = yield* expectFailure(answered(Aspect.get(asp(1)), 200, json, record(asp(2))), "DecodeError")
      expect(e.message).toContain(asp(1))
      expect(e.message).toContain(asp(2))
    }).pipe(Effect.scoped, TestServices.provideLive))

  it.effect("Service.toolSchema with the entity filter ignored: another service's tool aspect is skipped", () =>
    Effect.gen(function*() {
      const tool = (n: number, of: string, name: string) => ({
        id: asp(n),
        entity: of,
        schema: Service.toolSchemaUrn,
        "content-type": "application/json",
        content: { name, fn_schema: { type: "object" } },
        "valid-from": "2026-07-01T00:00:00Z"
      })
      const listing = (items: ReadonlyArray<unknown>) => JSON.stringify({ items, links: [] })
      const missing = yield* expectFailure(answered(Service.toolSchema(service), 200, json, listing([tool(1, other, "theirs")])), "ResourceNotFound")
      expect(missing.id).toBe(service)
      const own = yield* answered(Service.toolSchema(service), 200, json, listing([tool(1, other, "theirs"), tool(2, service, "mine")]))
      expect([own.service, own.aspect, own.name]).toEqual([service, asp(2), "mine"])
    }).pipe(Effect.scoped, TestServices.provideLive))
})
