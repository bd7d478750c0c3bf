/**
 * Contract tests: every endpoint's success and error responses, over real HTTP, validated against the v0.41 spec's
 * schemas (ajv), plus the §1.1 required keys, no nulls, RFC 3339 times with milliseconds, links with rel/type/href.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Emulator, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import { call, nextLink, pathOf, reset } from "./helpers.js"
import { expectDeclared, expectKeys, expectSchema, expectWireConventions } from "./spec.js"

/** Calls `path` and checks the answer is one the spec declares for `method template`. */
const hit = (
  method: string,
  template: string,
  path: string,
  init: RequestInit & { readonly auth?: boolean } = {}
) =>
  Effect.gen(function*() {
    const r = yield* call(path, { ...init, method })
    expectDeclared(method, template, r.status, r.body, r.text)
    if (r.body !== undefined) expectWireConventions(r.body)
    return r
  })

const json = (body: unknown): RequestInit => ({
  headers: { "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body)
})

const enc = encodeURIComponent

layer(EmulatorServer.layer())("contract (spec v0.41)", (it) => {
  describe("services", () => {
    it.effect("GET /1/services: 200 ServiceListRT; 400 bad limit / at-time; 422 bad filter / order-by; 401", () =>
      Effect.gen(function*() {
        yield* reset
        const r = yield* hit("GET", "/1/services", "/1/services?limit=10&order-desc=false")
        expect(r.status).toBe(200)
        expectKeys("ServiceListRT", r.body)
        for (const item of r.body.items) expectKeys("ServiceListItem", item)
        const next = yield* hit("GET", "/1/services", pathOf(nextLink(r.body)!))
        expect(next.status).toBe(200)
        const byName = yield* hit("GET", "/1/services", `/1/services?filter=${enc("name ~= 'fire-risk%'")}`)
        expect(byName.body.items.map((s: { id: string }) => s.id)).toEqual([SeedData.richService.id])
        expect((yield* hit("GET", "/1/services", "/1/services?limit=0")).status).toBe(400)
        expect((yield* hit("GET", "/1/services", "/1/services?limit=51")).status).toBe(400)
        expect((yield* hit("GET", "/1/services", "/1/services?limit=ten")).status).toBe(400)
        expect((yield* hit("GET", "/1/services", "/1/services?at-time=yesterday")).status).toBe(400)
        const badFilter = yield* hit("GET", "/1/services", `/1/services?filter=${enc("colour = 'red'")}`)
        expect(badFilter.status).toBe(422)
        expect(badFilter.body.name).toBe("filter")
        expect((yield* hit("GET", "/1/services", "/1/services?order-by=colour")).status).toBe(422)
        expect((yield* hit("GET", "/1/services", "/1/services?page=garbage!")).status).toBe(422)
        expect((yield* hit("GET", "/1/services", "/1/services", { auth: false })).status).toBe(401)
      }))

    it.effect("GET /1/services/{id}: 200 ServiceStatusRT (raw and %-encoded id); 404 ResourceNotFoundT", () =>
      Effect.gen(function*() {
        for (const id of [SeedData.richService.id, enc(SeedData.helloWorld.id), SeedData.failingService.id]) {
          const r = yield* hit("GET", "/1/services/{id}", `/1/services/${id}`)
          expect(r.status).toBe(200)
          expectKeys("ServiceStatusRT", r.body)
          for (const p of r.body.parameters) {
            expectKeys("ParameterDefT", p)
            expectSchema("ParameterDefT", p)
          }
        }
        const rich = yield* call(`/1/services/${SeedData.richService.id}`)
        const model = rich.body.parameters.find((p: { name: string }) => p.name === "model")
        expect(model.options.every((o: { value: string; description: string }) => o.value && o.description)).toBe(true)
        const nf = yield* hit("GET", "/1/services/{id}", `/1/services/${enc("urn:ivcap:service:missing")}`)
        expect(nf.status).toBe(404)
        expect(nf.body.id).toBe("urn:ivcap:service:missing")
      }))
  })

  describe("orders", () => {
    it.effect("POST /1/orders: 200 OrderStatusRT; 400 malformed / missing keys / non-string value; 404; 422", () =>
      Effect.gen(function*() {
        const ok = yield* hit("POST", "/1/orders", "/1/orders", json({
          parameters: [
            { name: "region", value: "Blue Mountains" },
            { name: "threshold", value: "7.5" },
            { name: "max-iterations", value: "20" },
            { name: "use-satellite", value: "true" },
            { name: "model", value: "afdrs" },
            { name: "boundary", value: SeedData.boundaryArtifact.id },
            { name: "weather-stations", value: "urn:ivcap:collection:stations" }
          ],
          service: SeedData.richService.id,
          name: "fire risk for the Blue Mountains",
          tags: ["test"]
        }))
        expect(ok.status).toBe(200)
        expectKeys("OrderStatusRT", ok.body)
        expect(ok.body.status).toBe("pending")
        expect(ok.body.parameters).toContainEqual({ name: "api-version", value: "2" })
        expect((yield* hit("POST", "/1/orders", "/1/orders", json("{\"parameters\": ["))).status).toBe(400)
        expect((yield* hit("POST", "/1/orders", "/1/orders", json({ parameters: [] }))).status).toBe(400)
        const numeric = yield* hit("POST", "/1/orders", "/1/orders", json({
          parameters: [{ name: "msg", value: 3 }],
          service: SeedData.helloWorld.id
        }))
        expect(numeric.status).toBe(400)
        const nf = yield* hit("POST", "/1/orders", "/1/orders", json({
          parameters: [],
          service: "urn:ivcap:service:00000000-0000-4000-8000-000000000000"
        }))
        expect(nf.status).toBe(404)
        const invalid = (parameters: Array<{ name: string; value: string }>) =>
          hit("POST", "/1/orders", "/1/orders", json({ parameters, service: SeedData.richService.id }))
        const region = { name: "region", value: "x" }
        const cases: Array<[Array<{ name: string; value: string }>, string]> = [
          [[region, { name: "colour", value: "red" }], "colour"],
          [[], "region"],
          [[region, { name: "threshold", value: "high" }], "threshold"],
          [[region, { name: "max-iterations", value: "2.5" }], "max-iterations"],
          [[region, { name: "use-satellite", value: "yes" }], "use-satellite"],
          [[region, { name: "model", value: "magic" }], "model"],
          [[region, { name: "boundary", value: "file.geojson" }], "boundary"],
          [[region, { name: "weather-stations", value: "stations" }], "weather-stations"],
          [[region, { name: "api-version", value: "3" }], "api-version"]
        ]
        for (const [parameters, name] of cases) {
          const r = yield* invalid(parameters)
          expect(r.status, name).toBe(422)
          expect(r.body.name).toBe(name)
        }
      }))

    it.effect("GET /1/orders, /1/orders/{id}, /1/orders/{id}/products: 200 with products once succeeded; 404", () =>
      Effect.gen(function*() {
        yield* reset
        const emulator = yield* Emulator.Emulator
        const created = yield* call("/1/orders", {
          method: "POST",
          ...json({ parameters: [{ name: "msg", value: "contract" }], service: SeedData.helloWorld.id })
        })
        const id = created.body.id as string
        const list = yield* hit("GET", "/1/orders", "/1/orders?limit=5")
        expectKeys("OrderListRT", list.body)
        for (const item of list.body.items) expectKeys("OrderListItem", item)
        yield* emulator.clock.advance("5 seconds")
        const done = yield* hit("GET", "/1/orders/{id}", `/1/orders/${enc(id)}`)
        expect(done.body.status).toBe("succeeded")
        expectKeys("PartialProductListT", done.body.products)
        for (const p of done.body.products.items) expectKeys("ProductListItemT", p)
        const products = yield* hit("GET", "/1/orders/{orderID}/products", `/1/orders/${id}/products`)
        expect(products.body.items).toHaveLength(1)
        const artifact = yield* hit("GET", "/1/artifacts/{id}", pathOf(products.body.items[0].href))
        expect(artifact.body.status).toBe("ready")
        expect((yield* hit("GET", "/1/orders/{id}", "/1/orders/urn:ivcap:order:nope")).status).toBe(404)
        expect((yield* hit("GET", "/1/orders/{orderID}/products", "/1/orders/urn:ivcap:order:nope/products")).status)
          .toBe(404)
        const failed = yield* call("/1/orders", {
          method: "POST",
          ...json({ parameters: [], service: SeedData.failingService.id })
        })
        yield* emulator.clock.advance("5 seconds")
        const f = yield* hit("GET", "/1/orders/{id}", `/1/orders/${failed.body.id}`)
        expect(f.body.status).toBe("failed")
        expect(f.body.products.items).toEqual([])
        expect((yield* hit("GET", "/1/orders", "/1/orders?order-by=color")).status).toBe(422)
      }))
  })

  describe("artifacts", () => {
    it.effect("POST /1/artifacts: 201 + headers; GET list and record; 400 bad headers; 404", () =>
      Effect.gen(function*() {
        const created = yield* hit("POST", "/1/artifacts", "/1/artifacts", {
          headers: {
            "x-content-type": "image/png",
            "x-content-length": "-1",
            "x-name": btoa("pixel.png"),
            "x-collection": "urn:ivcap:collection:pixels",
            "x-policy": "urn:ivcap:policy:ivcap.open.artifact",
            "tus-resumable": "1.0.0"
          }
        })
        expect(created.status).toBe(201)
        expectKeys("ArtifactStatusRT", created.body)
        expect(created.body["data-href"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/1\/artifacts\/urn:ivcap:artifact:.+\/blob$/)
        expect(created.headers.get("location")).toBeTruthy()
        expect(created.headers.get("upload-offset")).toBe("0")
        const utf8Name = Buffer.from("Café ☕.txt", "utf8").toString("base64")
        const named = yield* hit("POST", "/1/artifacts", "/1/artifacts", {
          headers: { "x-content-type": "text/plain", "x-content-length": "0", "x-name": utf8Name }
        })
        expect(named.body).toMatchObject({ name: "Café ☕.txt", status: "ready", size: 0 })
        const list = yield* hit("GET", "/1/artifacts", "/1/artifacts?limit=3&order-desc=true")
        expectKeys("ArtifactListRT", list.body)
        for (const item of list.body.items) expectKeys("ArtifactListItem", item)
        const filtered = yield* hit("GET", "/1/artifacts", `/1/artifacts?filter=${enc("name ~= 'README%'")}`)
        expect(filtered.body.items.map((a: { id: string }) => a.id)).toEqual([SeedData.readmeArtifact.id])
        const one = yield* hit("GET", "/1/artifacts/{id}", `/1/artifacts/${enc(SeedData.readmeArtifact.id)}`)
        expect(one.body).toMatchObject({ status: "ready", "mime-type": "text/markdown" })
        const bad = (headers: Record<string, string>) => hit("POST", "/1/artifacts", "/1/artifacts", { headers })
        expect((yield* bad({ "x-content-length": "many" })).status).toBe(400)
        expect((yield* bad({ "x-content-length": "-2" })).status).toBe(400)
        expect((yield* bad({ "x-name": "not base64!" })).status).toBe(400)
        expect((yield* bad({ "x-policy": "open" })).status).toBe(400)
        expect((yield* bad({ "x-collection": "pixels" })).status).toBe(400)
        expect((yield* hit("GET", "/1/artifacts/{id}", "/1/artifacts/urn:ivcap:artifact:nope")).status).toBe(404)
        expect((yield* hit("POST", "/1/artifacts", "/1/artifacts", { auth: false })).status).toBe(401)
      }))
  })

  describe("aspects", () => {
    it.effect("POST/PUT /1/aspects: 200 AspectIDRT; 400 missing entity / malformed; 422; 424", () =>
      Effect.gen(function*() {
        const q = "entity=urn:ivcap:artifact:contract&schema=urn:test:schema:c.1"
        const a = yield* hit("POST", "/1/aspects", `/1/aspects?${q}`, json({ $schema: "urn:test:schema:c.1", n: 1 }))
        expectKeys("AspectIDRT", a.body)
        expect((yield* hit("POST", "/1/aspects", "/1/aspects?schema=urn:x:s", json({}))).status).toBe(400)
        expect((yield* hit("POST", "/1/aspects", `/1/aspects?${q}`, json("{oops"))).status).toBe(400)
        expect((yield* hit("POST", "/1/aspects", `/1/aspects?${q}`, json([1, 2]))).status).toBe(422)
        expect((yield* hit("POST", "/1/aspects", "/1/aspects?entity=plain&schema=urn:x:s", json({}))).status).toBe(422)
        expect((yield* hit("POST", "/1/aspects", `/1/aspects?${q}&policy=open`, json({}))).status).toBe(422)
        const u = yield* hit("PUT", "/1/aspects", `/1/aspects?${q}`, json({ n: 2 }))
        expect(u.status).toBe(200)
        yield* call(`/1/aspects?${q}`, { method: "POST", ...json({ n: 3 }) })
        const notUnique = yield* hit("PUT", "/1/aspects", `/1/aspects?${q}`, json({ n: 4 }))
        expect(notUnique.status).toBe(424)
        expect(notUnique.body.message).toMatch(/2 active/)
      }))

    it.effect("GET /1/aspects/{id}, DELETE: 200 AspectRT, 204; GET list 200 with content; 400; 422", () =>
      Effect.gen(function*() {
        const read = yield* hit("GET", "/1/aspects/{id}", `/1/aspects/${enc(SeedData.readmeAspect.id)}`)
        expectKeys("AspectRT", read.body)
        expect(read.body.content).toEqual(SeedData.readmeAspect.content)
        const created = yield* call("/1/aspects?entity=urn:test:del&schema=urn:test:schema:d.1", {
          method: "POST",
          ...json({ x: 1 })
        })
        const del = yield* hit("DELETE", "/1/aspects/{id}", `/1/aspects/${created.body.id}`)
        expect(del.status).toBe(204)
        const after = yield* hit("GET", "/1/aspects/{id}", `/1/aspects/${created.body.id}`)
        expect(Object.keys(after.body)).toEqual(expect.arrayContaining(["valid-to", "retracter"]))
        expect((yield* hit("GET", "/1/aspects/{id}", "/1/aspects/urn:ivcap:aspect:nope")).status).toBe(404)
        const list = yield* hit(
          "GET",
          "/1/aspects",
          `/1/aspects?schema=${enc("urn:ivcap:schema:%")}&include-content=true&order-by=valid_from&order-direction=DESC`
        )
        expectKeys("AspectListRT", list.body)
        expect(list.body.schema).toBeUndefined()
        for (const item of list.body.items) {
          expectKeys("AspectListItemRT", item)
          expect(item.content).toBeTypeOf("object")
        }
        const noContent = yield* hit("GET", "/1/aspects", `/1/aspects?entity=${enc(SeedData.readmeArtifact.id)}`)
        expect(noContent.body.entity).toBe(SeedData.readmeArtifact.id)
        expect(noContent.body.items[0].content).toBeUndefined()
        const path = yield* hit("GET", "/1/aspects", `/1/aspects?content-path=${enc("$.keywords[*] ? (@ == \"readme\")")}`)
        expect(path.body.items.map((i: { id: string }) => i.id)).toEqual([SeedData.readmeAspect.id])
        expect(path.body["aspect-path"]).toBe("$.keywords[*] ? (@ == \"readme\")")
        expect((yield* hit("GET", "/1/aspects", "/1/aspects?limit=0")).status).toBe(400)
        expect((yield* hit("GET", "/1/aspects", "/1/aspects?include-content=maybe")).status).toBe(400)
        expect((yield* hit("GET", "/1/aspects", "/1/aspects?at-time=2024-13-01")).status).toBe(400)
        expect((yield* hit("GET", "/1/aspects", `/1/aspects?content-path=${enc("$.a ?? b")}`)).status).toBe(422)
        expect((yield* hit("GET", "/1/aspects", `/1/aspects?content-path=${enc("strict $.a")}`)).status).toBe(422)
        expect((yield* hit("GET", "/1/aspects", "/1/aspects?order-by=colour")).status).toBe(422)
        expect((yield* hit("GET", "/1/aspects", "/1/aspects?order-direction=UP")).status).toBe(422)
        expect((yield* hit("GET", "/1/aspects", `/1/aspects?filter=${enc("size > ")}`)).status).toBe(422)
      }))
  })

  describe("search and unimplemented methods", () => {
    it.effect("POST /1/search: 200 SearchListRT paged; 415 without application/datalog+mangle; 400 bad query; 422 bad page; other methods 501", () =>
      Effect.gen(function*() {
        yield* reset
        const mangle = (body: string) => ({ headers: { "content-type": "application/datalog+mangle" }, body })
        const wrong = yield* hit("POST", "/1/search", "/1/search?limit=10", json({ q: 1 }))
        expect(wrong.status).toBe(415)
        const query = ":- ivcap_service(Id, Name)."
        const first = yield* hit("POST", "/1/search", "/1/search?limit=50", mangle(query))
        expect(first.status).toBe(200)
        expectKeys("SearchListRT", first.body)
        expect(first.body.items).toHaveLength(50)
        expect(Object.keys(first.body.items[0]).sort()).toEqual(["Id", "Name"])
        const next = nextLink(first.body)!
        expect(new URL(next).search).toMatch(/^\?page=[A-Za-z0-9_-]+$/)
        const second = yield* hit("POST", "/1/search", pathOf(next), mangle(query))
        expect(second.status).toBe(200)
        expect(second.body.items).toHaveLength((SeedData.services().length + SeedData.toolServices().length) - 50)
        expect(nextLink(second.body)).toBeUndefined()
        expect(second.body["at-time"]).toBe(first.body["at-time"])
        const other = yield* hit("POST", "/1/search", `${pathOf(next)}&limit=5`, mangle(":- ivcap_artifact(A, _, _)."))
        expect(other.status).toBe(422)
        expect(other.body.name).toBe("page")
        const syntax = yield* hit("POST", "/1/search", "/1/search", mangle("query(X) :-\n  ivcap_service(X, _)\n  foo(X)."))
        expect(syntax.status).toBe(400)
        expect(syntax.body.message).toBe("syntax error: line 3, column 3: expected ',' or '.' (the end of the rule) but found 'foo'")
        const unknown = yield* hit("POST", "/1/search", "/1/search", mangle("query(X) :- foo(X)."))
        expect(unknown.status).toBe(400)
        expect(unknown.body.message).toMatch(/^invalid query: line 1, column 13: unknown predicate foo/)
        expect((yield* hit("POST", "/1/search", "/1/search", mangle("  "))).status).toBe(400)
        expect((yield* hit("POST", "/1/search", "/1/search?at-time=yesterday", mangle(query))).status).toBe(400)
        expect((yield* hit("POST", "/1/search", "/1/search?limit=51", mangle(query))).status).toBe(400)
        expect((yield* hit("POST", "/1/search", "/1/search", { ...mangle(query), auth: false })).status).toBe(401)
        for (const [method, template, path] of [
          ["GET", "/1/queues", "/1/queues"],
          ["GET", "/1/metadata/{id}", "/1/metadata/urn:x:1"],
          ["GET", "/1/orders/{orderID}/logs", "/1/orders/urn:ivcap:order:x/logs"],
          ["POST", "/1/services", "/1/services"],
          ["DELETE", "/1/packages/remove", "/1/packages/remove"]
        ] as const) {
          const r = yield* hit(method, template, path)
          expect(r.status, `${method} ${path}`).toBe(501)
          expect(r.body.message).toMatch(/^Method '.+' not implemented/)
        }
      }))

    it.effect("unknown paths are 404 ResourceNotFoundT; a known path with another method is 405", () =>
      Effect.gen(function*() {
        const nf = yield* call("/1/nothing-here")
        expect(nf.status).toBe(404)
        expectSchema("ResourceNotFoundT", nf.body)
        const na = yield* call("/1/aspects", { method: "PATCH" })
        expect(na.status).toBe(405)
        expect(na.headers.get("allow")).toContain("GET")
      }))
  })
})
