import { describe, expect, layer } from "@effect/vitest"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import { call, nextLink, pathOf, reset, send, settledActive } from "./helpers.js"

layer(EmulatorServer.layer({ orderStepMillis: 1000 }))("emulator over HTTP", (it) => {
  describe("services", () => {
    it.effect("lists all seeded services over pages, each exactly once", () =>
      Effect.gen(function*() {
        yield* reset
        const seen: Array<string> = []
        let path: string | undefined = "/1/services?limit=50&order-desc=false"
        for (let i = 0; i < 5 && path !== undefined; i++) {
          const r = yield* call(path)
          expect(r.status).toBe(200)
          seen.push(...r.body.items.map((s: { id: string }) => s.id))
          const next = nextLink(r.body)
          if (next !== undefined) expect(new URL(next).search).toMatch(/^\?page=[A-Za-z0-9_-]+$/)
          path = next === undefined ? undefined : pathOf(next)
        }
        expect(path).toBeUndefined()
        expect(seen.length).toBe(SeedData.serviceCount)
        expect(new Set(seen).size).toBe(SeedData.serviceCount)
      }))

    it.effect("filters by name and reads a service by raw and percent-encoded id", () =>
      Effect.gen(function*() {
        const r = yield* call(`/1/services?limit=10&filter=${encodeURIComponent("name~='hello-world%'")}`)
        expect(r.body.items.map((s: { name: string }) => s.name)).toEqual([SeedData.helloWorld.name])
        // the Go CLI's help suggests name~=Fred: a 422 that says how to quote it
        const bare = yield* call(`/1/services?filter=${encodeURIComponent("name~=Fred")}`)
        expect(bare.status).toBe(422)
        expect(bare.body.message).toContain("name~='Fred'")
        const raw = yield* call(`/1/services/${SeedData.richService.id}`)
        const enc = yield* call(`/1/services/${encodeURIComponent(SeedData.richService.id)}`)
        expect(raw.status).toBe(200)
        expect(enc.body).toEqual(raw.body)
        const types = new Set(raw.body.parameters.map((p: { type: string }) => p.type))
        expect([...types].sort()).toEqual(["artifact", "bool", "collection", "float", "int", "option", "string"])
        const byName = (q: string) =>
          Effect.map(call(`/1/services?limit=50&${q}`), (r) => r.body.items.map((s: { name: string }) => s.name))
        const asc = yield* byName("order-by=name&order-desc=false")
        expect(asc).toEqual([...asc].sort())
        expect(yield* byName(`order-by=${encodeURIComponent("name desc")}`)).toEqual(
          (yield* byName("order-by=name&order-desc=true"))
        )
        expect((yield* byName(`order-by=${encodeURIComponent("name ASC")}&order-desc=true`))).toEqual(asc)
        const missing = yield* call("/1/services/urn:ivcap:service:nope")
        expect(missing.status).toBe(404)
        expect(missing.body).toEqual({ id: "urn:ivcap:service:nope", message: expect.any(String) })
      }))

    it.effect("answers 401 without a body when the token is missing or wrong", () =>
      Effect.gen(function*() {
        const none = yield* call("/1/services", { auth: false })
        expect(none.status).toBe(401)
        expect(none.text).toBe("")
        const wrong = yield* call("/1/services", { auth: false, headers: { authorization: "Bearer nope" } })
        expect(wrong.status).toBe(401)
      }))
  })

  describe("orders", () => {
    it.effect("validates, then runs pending → scheduled → executing → succeeded with a downloadable product", () =>
      Effect.gen(function*() {
        yield* reset
        const emulator = yield* Emulator.Emulator
        const bad = yield* send("POST", "/1/orders", {
          parameters: [{ name: "max-iterations", value: "ten" }, { name: "region", value: "x" }],
          service: SeedData.richService.id
        })
        expect(bad.status).toBe(422)
        expect(bad.body).toMatchObject({ name: "max-iterations", value: "ten" })
        const created = yield* send("POST", "/1/orders", {
          parameters: [{ name: "msg", value: "Ada" }],
          service: SeedData.helloWorld.id,
          name: "greet"
        })
        expect(created.status).toBe(200)
        expect(created.body.status).toBe("pending")
        const id = created.body.id as string
        const statuses: Array<string> = []
        for (let i = 0; i < 4; i++) {
          statuses.push((yield* call(`/1/orders/${encodeURIComponent(id)}`)).body.status)
          yield* emulator.clock.advance("1 second")
        }
        expect(statuses).toEqual(["pending", "scheduled", "executing", "succeeded"])
        const done = yield* call(`/1/orders/${id}`)
        expect(done.body["finished-at"]).toMatch(/Z$/)
        const product = done.body.products.items[0]
        expect(product).toMatchObject({ status: "ready", "mime-type": "text/plain", name: "greeting.txt" })
        const content = yield* call(pathOf(product["data-href"]))
        expect(content.text).toBe("Hello, Ada!\n")
      }))
  })

  describe("artifacts and tus", () => {
    it.effect("creates, uploads in chunks, resumes after a conflict, downloads ranges", () =>
      Effect.gen(function*() {
        const created = yield* call("/1/artifacts", {
          method: "POST",
          headers: {
            "x-content-type": "text/plain",
            "x-content-length": "11",
            "x-name": btoa("hello.txt"),
            "tus-resumable": "1.0.0"
          }
        })
        expect(created.status).toBe(201)
        expect(created.headers.get("upload-offset")).toBe("0")
        expect(created.headers.get("tus-resumable")).toBe("1.0.0")
        expect(created.headers.get("location")).toBe(created.body.links[0].href)
        expect(created.body).toMatchObject({ status: "pending", name: "hello.txt", "mime-type": "text/plain" })
        const data = pathOf(created.body["data-href"])
        const patch = (offset: number, bytes: string) =>
          call(data, {
            method: "PATCH",
            headers: {
              "tus-resumable": "1.0.0",
              "upload-offset": String(offset),
              "content-type": "application/offset+octet-stream"
            },
            body: bytes
          })
        const first = yield* patch(0, "hello")
        expect(first.status).toBe(204)
        expect(first.headers.get("upload-offset")).toBe("5")
        expect((yield* call(`/1/artifacts/${created.body.id}`)).body.status).toBe("partial")
        expect((yield* patch(0, "hello")).status).toBe(409)
        const head = yield* call(data, { method: "HEAD", headers: { "tus-resumable": "1.0.0" } })
        expect(head.headers.get("upload-offset")).toBe("5")
        expect(head.headers.get("upload-length")).toBe("11")
        expect(head.headers.get("cache-control")).toBe("no-store")
        expect((yield* patch(5, " world")).status).toBe(204)
        const ready = yield* call(`/1/artifacts/${encodeURIComponent(created.body.id)}`)
        expect(ready.body).toMatchObject({ status: "ready", size: 11 })
        expect(ready.body.etag).toBeTypeOf("string")
        expect((yield* call(data)).text).toBe("hello world")
        const range = yield* call(data, { headers: { range: "bytes=6-" } })
        expect(range.status).toBe(206)
        expect(range.text).toBe("world")
        expect(range.headers.get("content-range")).toBe("bytes 6-10/11")
        expect((yield* call(data, { headers: { range: "bytes=11-" } })).status).toBe(416)
        // If-Range: the range only while the validator (the ETag, or the exact Last-Modified) still matches.
        const full = yield* call(data)
        for (const validator of [full.headers.get("etag"), full.headers.get("last-modified")]) {
          const resumed = yield* call(data, { headers: { range: "bytes=6-", "if-range": validator ?? "" } })
          expect([resumed.status, resumed.text], String(validator)).toEqual([206, "world"])
        }
        const stale = yield* call(data, { headers: { range: "bytes=6-", "if-range": "\"another-version\"" } })
        expect([stale.status, stale.text, stale.headers.get("content-range")]).toEqual([200, "hello world", null])
      }))
  })

  describe("aspects", () => {
    it.effect("pages 120 aspects with limit 50: each exactly once, in order, next = page only", () =>
      Effect.gen(function*() {
        yield* reset
        const emulator = yield* Emulator.Emulator
        const ids = yield* emulator.seed.aspects(120, { entity: "urn:test:paging", schema: "urn:test:schema:p.1" })
        const seen: Array<string> = []
        let path: string | undefined = "/1/aspects?entity=urn:test:paging&limit=50&order-direction=ASC"
        let pages = 0
        while (path !== undefined && pages < 5) {
          const r = yield* call(path)
          expect(r.status).toBe(200)
          pages++
          seen.push(...r.body.items.map((a: { id: string }) => a.id))
          const next = nextLink(r.body)
          if (next !== undefined) expect([...new URL(next).searchParams.keys()]).toEqual(["page"])
          path = next === undefined ? undefined : pathOf(next)
        }
        expect(pages).toBe(3)
        expect(seen).toEqual(ids)
      }))

    it.effect("update retracts the active record, retract sets valid-to; at-time shows earlier states", () =>
      Effect.gen(function*() {
        const q = "entity=urn:test:bt&schema=urn:test:schema:bt.1"
        const a = yield* send("POST", `/1/aspects?${q}`, { v: 1 })
        const t1 = (yield* call(`/1/aspects/${a.body.id}`)).body["valid-from"]
        const b = yield* send("PUT", `/1/aspects?${q}`, { v: 2 })
        const t2 = (yield* call(`/1/aspects/${b.body.id}`)).body["valid-from"]
        expect((yield* call(`/1/aspects/${a.body.id}`, { method: "DELETE" })).status).toBe(204)
        const del = yield* call(`/1/aspects/${b.body.id}`, { method: "DELETE" })
        expect(del.status).toBe(204)
        const gone = yield* call(`/1/aspects/${b.body.id}`)
        expect(gone.body["valid-to"]).toBeTypeOf("string")
        expect(gone.body.retracter).toBe(SeedData.principal)
        const at = (t: string) => call(`/1/aspects?entity=urn:test:bt&include-content=true&at-time=${t}`)
        expect((yield* at(t1)).body.items.map((i: { content: unknown }) => i.content)).toEqual([{ v: 1 }])
        expect((yield* at(t2)).body.items.map((i: { content: unknown }) => i.content)).toEqual([{ v: 2 }])
        expect((yield* call("/1/aspects?entity=urn:test:bt")).body.items).toEqual([])
      }))
  })

  describe("faults", () => {
    it.effect("answers a status with Retry-After for the next K matching requests, counted", () =>
      Effect.gen(function*() {
        yield* reset
        const emulator = yield* Emulator.Emulator
        yield* emulator.faults.inject(Faults.status(503, { retryAfter: 2, times: 2, match: { path: "/1/services" } }))
        const a = yield* call("/1/services")
        const b = yield* call("/1/services")
        const c = yield* call("/1/services")
        expect([a.status, b.status, c.status]).toEqual([503, 503, 200])
        expect(a.headers.get("retry-after")).toBe("2")
        expect(a.text).toBe("")
        expect(yield* emulator.requests.count({ method: "GET", path: "/1/services" })).toBe(3)
        const log = yield* emulator.requests.log
        expect(log[0]!.auth).toBe("token")
        expect(log[0]!.headers["authorization"]).toBeUndefined()
      }))

    it.effect("cuts a response after N bytes (the client sees a transport error)", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        yield* emulator.faults.inject(Faults.cutResponse(10, { match: { method: "GET", path: "/1/services" } }))
        const { url } = yield* EmulatorServer.EmulatorServer
        const result = yield* Effect.promise(() =>
          fetch(`${url}/1/services`, { headers: { authorization: `Bearer ${emulator.token}` } })
            .then((r) => r.text()).then(() => "complete", (e: unknown) => `failed: ${String(e)}`)
        )
        expect(result).toMatch(/^failed/)
      }))

    it.effect("stalls until the client gives up", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        yield* emulator.faults.inject(Faults.stall({ match: { path: "/1/orders" } }))
        const { url } = yield* EmulatorServer.EmulatorServer
        const result = yield* Effect.promise(() =>
          fetch(`${url}/1/orders`, {
            headers: { authorization: `Bearer ${emulator.token}` },
            signal: AbortSignal.timeout(300)
          }).then(() => "answered", (e: unknown) => `gave up: ${(e as Error).name}`)
        )
        expect(result).toBe("gave up: TimeoutError")
        // the stalled request is released once the client has gone
        expect(yield* settledActive).toBe(0)
        expect((yield* call("/1/orders")).status).toBe(200)
      }))

    it.effect("a stalled request with a large body is released too (the server keeps reading it)", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        yield* emulator.faults.inject(Faults.stall({ match: { method: "POST", path: "/1/aspects" } }))
        const { url } = yield* EmulatorServer.EmulatorServer
        // Far more than the socket buffers hold: a server that stopped reading would never see the client leave.
        const body = JSON.stringify({ blob: "x".repeat(4 * 1024 * 1024) })
        const result = yield* Effect.promise(() =>
          fetch(`${url}/1/aspects?entity=urn:x:1&schema=urn:x:s`, {
            method: "POST",
            headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
            body,
            signal: AbortSignal.timeout(500)
          }).then(() => "answered", (e: unknown) => `gave up: ${(e as Error).name}`)
        )
        expect(result).toBe("gave up: TimeoutError")
        expect(yield* settledActive).toBe(0)
      }))
  })
})
