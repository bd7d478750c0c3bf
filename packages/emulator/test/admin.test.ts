/** Admin routes (`/_emulator/*`), fault injection over HTTP, CORS. */
import { describe, expect, layer } from "@effect/vitest"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import { call, reset, send } from "./helpers.js"

const rule = (body: unknown) => send("POST", "/_emulator/faults", body)

layer(EmulatorServer.layer())("admin routes", (it) => {
  describe("/_emulator", () => {
    it.effect("health needs no token; the rest need the API token", () =>
      Effect.gen(function*() {
        const health = yield* call("/_emulator/health", { auth: false })
        expect(health.status).toBe(200)
        expect(health.body.status).toBe("ok")
        expect((yield* call("/_emulator/reset", { method: "POST", auth: false })).status).toBe(401)
        expect((yield* call("/_emulator/requests", { auth: false })).status).toBe(401)
      }))

    it.effect("faults over HTTP: status with Retry-After, regex paths, skip, delete", () =>
      Effect.gen(function*() {
        yield* reset
        expect((yield* rule({ match: { method: "GET", path: "/1/services" }, times: 1, action: { _tag: "Status", status: 429, retryAfter: 1 } })).status)
          .toBe(204)
        const limited = yield* call("/1/services")
        expect(limited.status).toBe(429)
        expect(limited.headers.get("retry-after")).toBe("1")
        expect(limited.body).toEqual({ message: expect.any(String) })
        expect((yield* call("/1/services")).status).toBe(200)
        yield* rule({ match: { path: { regex: "^/1/aspects/urn:ivcap:aspect:" } }, skip: 1, action: { _tag: "Status", status: 500 } })
        const path = `/1/aspects/${encodeURIComponent(SeedData.readmeAspect.id)}`
        expect((yield* call(path)).status).toBe(200)
        expect((yield* call(path)).status).toBe(500)
        expect((yield* call(path)).status).toBe(200)
        yield* rule({ action: { _tag: "Status", status: 503 }, times: 100 })
        expect((yield* call("/1/orders")).status).toBe(503)
        expect((yield* call("/_emulator/faults", { method: "DELETE" })).status).toBe(204)
        expect((yield* call("/1/orders")).status).toBe(200)
        const bad = yield* rule({ action: { _tag: "MapBody" } })
        expect(bad.status).toBe(400)
        expect(bad.body.message).toMatch(/in-process/)
        const explode = yield* rule({ action: { _tag: "Explode" } })
        expect(explode.status).toBe(400)
        expect(explode.body.message).toMatch(/^action\._tag: .*"Explode"/)
        expect((yield* rule({ match: { path: { regex: "(" } }, action: { _tag: "Stall" } })).status).toBe(400)
        // Decoded by Schema: out-of-range values and misspelt keys are refused, each named.
        const low = yield* rule({ action: { _tag: "Status", status: 99 } })
        expect([low.status, low.body.message]).toEqual([400, expect.stringMatching(/^action\.status: /)])
        const typo = yield* rule({ tims: 2, action: { _tag: "Stall" } })
        expect([typo.status, typo.body.message]).toEqual([400, expect.stringMatching(/^tims: is unexpected/)])
        // A regex with flags.
        yield* rule({ match: { method: "get", path: { regex: "^/1/ORDERS$", flags: "i" } }, action: { _tag: "Status", status: 418 } })
        expect((yield* call("/1/orders")).status).toBe(418)
        expect((yield* call("/1/orders")).status).toBe(200)
      }))

    it.effect("malformed bodies and delays", () =>
      Effect.gen(function*() {
        yield* rule({ match: { path: "/1/services" }, action: { _tag: "Malformed", body: "{\"items\": [", status: 200 } })
        const truncated = yield* call("/1/services")
        expect(truncated.status).toBe(200)
        expect(truncated.text).toBe("{\"items\": [")
        expect(truncated.headers.get("content-type")).toBe("application/json")
        yield* rule({ match: { path: "/1/services" }, action: { _tag: "Malformed", body: "<html>502</html>", status: 502, contentType: "text/html" } })
        const html = yield* call("/1/services")
        expect([html.status, html.headers.get("content-type"), html.text]).toEqual([502, "text/html", "<html>502</html>"])
        const blob = `/1/artifacts/${SeedData.readmeArtifact.id}/blob`
        yield* rule({ match: { path: blob }, action: { _tag: "Malformed", body: "short" } })
        const replaced = yield* call(blob)
        expect([replaced.status, replaced.text, replaced.headers.get("content-length")]).toEqual([200, "short", "5"])
        yield* rule({ match: { path: "/1/services" }, action: { _tag: "Delay", millis: 150 } })
        const started = Date.now()
        expect((yield* call("/1/services")).status).toBe(200)
        expect(Date.now() - started).toBeGreaterThanOrEqual(140)
      }))

    it.effect("request counters, clock, bulk seeding and reset", () =>
      Effect.gen(function*() {
        yield* reset
        yield* send("POST", "/1/orders", { parameters: [{ name: "msg", value: "x" }], service: SeedData.helloWorld.id })
        yield* call("/1/orders")
        const count = (q: string) => Effect.map(call(`/_emulator/requests?${q}`), (r) => r.body.count as number)
        expect(yield* count("method=POST&path=/1/orders")).toBe(1)
        expect(yield* count("path=/1/orders")).toBe(2)
        expect(yield* count(`path-regex=${encodeURIComponent("^/1/orders$")}&method=get`)).toBe(1)
        const before = Date.parse((yield* call("/_emulator/clock")).body["emulator-time"])
        const advanced = yield* send("POST", "/_emulator/clock/advance", { millis: 3_600_000 })
        expect(Date.parse(advanced.body["emulator-time"]) - before).toBeGreaterThanOrEqual(3_600_000)
        const seeded = yield* send("POST", "/_emulator/seed/aspects", { count: 25, entity: "urn:test:bulk", schema: "urn:test:schema:b.1" })
        expect(seeded.body.count).toBe(25)
        expect(seeded.body.ids).toHaveLength(25)
        // A second service with an existing name (what makes a client's get-by-name ambiguous).
        const copy = yield* send("POST", "/_emulator/seed/services", { like: SeedData.helloWorld.id })
        expect(copy.status).toBe(201)
        const named = yield* call(`/1/services?filter=${encodeURIComponent(`name ~= '${SeedData.helloWorld.name}'`)}`)
        expect(named.body.items.map((s: { id: string }) => s.id).sort()).toEqual([SeedData.helloWorld.id, copy.body.id].sort())
        expect((yield* send("POST", "/_emulator/seed/services", { like: "urn:ivcap:service:nope" })).status).toBe(400)
        const list = yield* call("/1/aspects?entity=urn:test:bulk&limit=50")
        expect(list.body.items).toHaveLength(25)
        expect((yield* call("/_emulator/reset", { method: "POST" })).status).toBe(204)
        expect((yield* call("/1/aspects?entity=urn:test:bulk")).body.items).toHaveLength(0)
        expect(yield* count("path=/1/orders")).toBe(0)
        const emulator = yield* Emulator.Emulator
        const now = yield* emulator.clock.now
        expect(Math.abs(now - Date.now())).toBeLessThan(60_000)
      }))

    it.effect("bulk seeding of 100 000 aspects is quick and lists newest first", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        const ids = yield* emulator.seed.aspects(100_000)
        expect(ids).toHaveLength(100_000)
        const first = yield* call("/1/aspects?limit=50")
        expect(first.body.items).toHaveLength(50)
        expect(first.body.items[0].id).toBe(ids[ids.length - 1])
        yield* emulator.reset
      }))
  })

  describe("CORS", () => {
    it.effect("answers preflights and exposes the headers browsers need to read", () =>
      Effect.gen(function*() {
        const pre = yield* call("/1/artifacts/urn:ivcap:artifact:x/blob", {
          method: "OPTIONS",
          auth: false,
          headers: {
            origin: "http://localhost:5173",
            "access-control-request-method": "PATCH",
            "access-control-request-headers": "authorization, upload-offset, content-type, tus-resumable, traceparent"
          }
        })
        expect(pre.status).toBe(204)
        expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:5173")
        const allowed = pre.headers.get("access-control-allow-headers")!.toLowerCase()
        for (const h of ["authorization", "upload-offset", "upload-length", "x-name", "x-content-length", "range", "traceparent"]) {
          expect(allowed).toContain(h)
        }
        expect(pre.headers.get("access-control-allow-methods")).toContain("PATCH")
        const tusOptions = yield* call("/1/artifacts/urn:ivcap:artifact:x/blob", { method: "OPTIONS", auth: false })
        expect(tusOptions.status).toBe(204)
        expect(tusOptions.headers.get("tus-version")).toBe("1.0.0")
        expect(tusOptions.headers.get("tus-extension")).toContain("creation-defer-length")
        const emulator = yield* Emulator.Emulator
        yield* emulator.faults.inject(Faults.status(503, { match: { path: "/1/services" } }))
        const faulted = yield* call("/1/services", { headers: { origin: "http://localhost:5173" } })
        expect(faulted.status).toBe(503)
        const exposed = faulted.headers.get("access-control-expose-headers")!.toLowerCase()
        for (const h of ["location", "upload-offset", "tus-resumable", "retry-after", "content-range", "etag"]) {
          expect(exposed).toContain(h)
        }
      }))
  })
})
