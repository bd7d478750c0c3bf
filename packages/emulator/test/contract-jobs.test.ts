/**
 * Contract tests of `/1/services2` and the job routes: every success and error answer, over real HTTP, is one the
 * v0.48 spec declares for that operation, and its body validates against the declared schema (ajv); plus no nulls,
 * RFC 3339 times with milliseconds, links with rel/type/href.
 *
 * One deliberate deviation, tested as such: job events answer 200 `text/event-stream` where the spec says 101 (goa's
 * marker for a streamed result; SSE clients need 200). Each event's `data` validates against `JobEvent`.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Emulator, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import { call, nextLink, pathOf, reset } from "./helpers.js"
import { hitV048, v048 } from "./spec.js"

const hit = hitV048

const S = "/1/services2"
const SID = "/1/services2/{id}"
const JOBS = "/1/services2/{service_id}/jobs"
const JOB = "/1/services2/{service_id}/jobs/{id}"
const EVENTS = "/1/services2/{service_id}/jobs/{job_id}/events"
const OUTPUT = "/1/services2/{service_id}/jobs/{job_id}/output"

const enc = encodeURIComponent

const post = (service: string, body: string, headers: Record<string, string> = {}, auth = true) =>
  hit("POST", JOBS, `/1/services2/${service}/jobs`, {
    auth,
    redirect: "manual",
    headers: { "content-type": "application/json", ...headers },
    body
  })

const advance = (millis: number) => Effect.flatMap(Emulator.Emulator, (e) => e.clock.advance(millis))

layer(EmulatorServer.layer())("contract (spec v0.48): services2 and jobs", (it) => {
  describe("services2", () => {
    it.effect("GET /1/services2: 200 ServiceListRT (pages, search, filter); 400; 422; 401", () =>
      Effect.gen(function*() {
        yield* reset
        const r = yield* hit("GET", S, `${S}?limit=50`)
        expect(r.status).toBe(200)
        const next = yield* hit("GET", S, pathOf(nextLink(r.body)!))
        expect(next.status).toBe(200)
        expect(r.body.items.length + next.body.items.length).toBe(SeedData.services2Count)
        expect((yield* hit("GET", S, `${S}?search=slow`)).body.items[0].score).toBeGreaterThan(0)
        expect((yield* hit("GET", S, `${S}?at-time=2020-01-01T00:00:00Z`)).body.items).toEqual([])
        expect((yield* hit("GET", S, `${S}?limit=0`)).status).toBe(400)
        expect((yield* hit("GET", S, `${S}?order-desc=maybe`)).status).toBe(400)
        expect((yield* hit("GET", S, `${S}?filter=${enc("colour = 'red'")}`)).status).toBe(422)
        expect((yield* hit("GET", S, `${S}?order-by=colour`)).status).toBe(422)
        expect((yield* hit("GET", S, `${S}?page=garbage!`)).status).toBe(422)
        expect((yield* hit("GET", S, S, { auth: false })).status).toBe(401)
      }))

    it.effect("GET /1/services2/{id}: 200 ServiceStatusRT (tool, v0.41, %-encoded id); 404; 401", () =>
      Effect.gen(function*() {
        for (const id of [SeedData.echo.id, enc(SeedData.report.id), SeedData.richService.id, SeedData.failingService.id]) {
          expect((yield* hit("GET", SID, `${S}/${id}`)).status).toBe(200)
        }
        const nf = yield* hit("GET", SID, `${S}/urn:ivcap:service:missing`)
        expect(nf.status).toBe(404)
        expect(nf.body.id).toBe("urn:ivcap:service:missing")
        expect((yield* hit("GET", SID, `${S}/${SeedData.echo.id}`, { auth: false })).status).toBe(401)
      }))

    it.effect("POST/PUT/DELETE /1/services2: 501 NotImplementedT", () =>
      Effect.gen(function*() {
        const body = { headers: { "content-type": "application/json" }, body: "{}" }
        expect((yield* hit("POST", S, S, body)).status).toBe(501)
        expect((yield* hit("PUT", SID, `${S}/${SeedData.echo.id}`, body)).status).toBe(501)
        expect((yield* hit("DELETE", SID, `${S}/${SeedData.echo.id}`)).status).toBe(501)
      }))
  })

  describe("jobs", () => {
    it.effect("POST …/jobs: 202 JobRetryLaterT, 200, 400 (failed, bad JSON, bad Timeout), 307, 404, 422, 401", () =>
      Effect.gen(function*() {
        const accepted = yield* post(SeedData.echo.id, JSON.stringify({ message: "a" }), { timeout: "0" })
        expect(accepted.status).toBe(202)
        expect((yield* post(SeedData.echo.id, JSON.stringify({ message: "b" }), { timeout: "5" })).status).toBe(200)
        expect((yield* post(SeedData.failingJob.id, "{}", { timeout: "5" })).status).toBe(400)
        expect((yield* post(SeedData.echo.id, "{not json", { timeout: "0" })).status).toBe(400)
        expect((yield* post(SeedData.echo.id, "{}", { timeout: "-1" })).status).toBe(400)
        expect((yield* post(SeedData.echoMoved.id, "{}", { timeout: "0" })).status).toBe(307)
        expect((yield* post("urn:ivcap:service:missing", "{}")).status).toBe(404)
        const invalid = yield* post(SeedData.report.id, JSON.stringify({ title: 7 }))
        expect(invalid.status).toBe(422)
        expect(invalid.body.name).toBe("title")
        expect((yield* post(SeedData.echo.id, "{}", {}, false)).status).toBe(401)
      }))

    it.effect("GET …/jobs and …/jobs/{id}: 200 JobListRT / JobStatusRT at every stage; 404; 422; 401", () =>
      Effect.gen(function*() {
        yield* reset
        const created = yield* post(SeedData.report.id, JSON.stringify({ title: "T", lines: ["x"] }), { timeout: "0" })
        const job = pathOf(created.body.location)
        const jobs = `${S}/${SeedData.report.id}/jobs`
        const seen = new Set<string>()
        for (let i = 0; i < 4; i++) {
          const read = yield* hit("GET", JOB, `${job}?with-request-content=true`)
          seen.add(read.body.status)
          yield* hit("GET", JOBS, `${jobs}?limit=1`)
          yield* advance(300)
        }
        const done = yield* hit("GET", JOB, `${job}?with-request-content=true&with-result-content=true`)
        expect(done.body.status).toBe("succeeded")
        expect(done.body.products.items.length).toBe(1)
        expect(seen.has("succeeded") || seen.size > 1).toBe(true)
        const failed = yield* post(SeedData.failingJob.id, "{}", { timeout: "0" })
        yield* advance(1000)
        const f = yield* hit("GET", JOB, pathOf(failed.body.location))
        expect(f.body["error-message"]).toBe(SeedData.failingJob.defaultReason)
        for (let i = 0; i < 3; i++) yield* post(SeedData.report.id, JSON.stringify({ title: `t${i}` }), { timeout: "0" })
        const page = yield* hit("GET", JOBS, `${jobs}?limit=2`)
        expect((yield* hit("GET", JOBS, pathOf(nextLink(page.body)!))).status).toBe(200)
        expect((yield* hit("GET", JOBS, `${jobs}?limit=51`)).status).toBe(400)
        expect((yield* hit("GET", JOBS, `${jobs}?filter=${enc("colour = 'red'")}`)).status).toBe(422)
        expect((yield* hit("GET", JOBS, `${S}/urn:ivcap:service:missing/jobs`)).status).toBe(422)
        expect((yield* hit("GET", JOB, `${jobs}/urn:ivcap:job:missing`)).status).toBe(404)
        expect((yield* hit("GET", JOB, `${job}?with-result-content=perhaps`)).status).toBe(400)
        expect((yield* hit("GET", JOB, job, { auth: false })).status).toBe(401)
      }))

    it.effect("GET …/output: 204 while running, 200 result, 400 failed; 404; 401", () =>
      Effect.gen(function*() {
        const r = yield* post(SeedData.slow.id, JSON.stringify({ seconds: 2 }), { timeout: "0" })
        const out = `${pathOf(r.body.location)}/output`
        expect((yield* hit("GET", OUTPUT, out)).status).toBe(204)
        yield* advance(3000)
        const ok = yield* hit("GET", OUTPUT, out)
        expect(ok.status).toBe(200)
        expect(ok.body).toEqual({ message: "done", slept: 2 })
        const failed = yield* post(SeedData.failingJob.id, "{}", { timeout: "0" })
        yield* advance(1000)
        expect((yield* hit("GET", OUTPUT, `${pathOf(failed.body.location)}/output`)).status).toBe(400)
        expect((yield* hit("GET", OUTPUT, `${S}/${SeedData.slow.id}/jobs/urn:ivcap:job:missing/output`)).status).toBe(404)
        expect((yield* hit("GET", OUTPUT, out, { auth: false })).status).toBe(401)
      }))

    it.effect("GET …/events: 200 text/event-stream of JobEvents; 204 when nothing more; 400; 404; 401", () =>
      Effect.gen(function*() {
        const r = yield* post(SeedData.echo.id, JSON.stringify({ message: "e" }), { timeout: "0" })
        yield* advance(1000)
        const events = `${pathOf(r.body.location)}/events`
        const stream = yield* call(events)
        // the one deviation: the spec's 101 is goa's streaming marker; SSE needs 200
        expect(stream.status).toBe(200)
        expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/)
        const data = stream.text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)))
        expect(data.length).toBe(4)
        for (const d of data) v048.expectSchema("JobEvent", d)
        expect((yield* hit("GET", EVENTS, events, { headers: { "last-event-id": "4" } })).status).toBe(204)
        expect((yield* hit("GET", EVENTS, events, { headers: { "last-event-id": "four" } })).status).toBe(400)
        expect((yield* hit("GET", EVENTS, `${events}?max-messages=x`)).status).toBe(400)
        expect((yield* hit("GET", EVENTS, `${S}/${SeedData.echo.id}/jobs/urn:ivcap:job:missing/events`)).status).toBe(404)
        expect((yield* hit("GET", EVENTS, events, { auth: false })).status).toBe(401)
      }))
  })
  describe("aspects and service parameters as v0.44+ clients read them", () => {
    it.effect("GET /1/aspects/{id}: AspectRT with account and policy (the default one when created without); list items carry asserter", () =>
      Effect.gen(function*() {
        yield* reset
        const entity = "urn:example:entity:contract-048"
        const created = yield* call(`/1/aspects?entity=${enc(entity)}&schema=${enc("urn:example:schema:c.1")}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ n: 1 })
        })
        expect(created.status).toBe(200)
        const read = yield* hit("GET", "/1/aspects/{id}", `/1/aspects/${enc(created.body.id)}`)
        expect(read.status).toBe(200)
        expect(read.body.account).toBe(SeedData.account)
        expect(read.body.policy).toBe(SeedData.defaultPolicy)
        const list = yield* hit("GET", "/1/aspects", `/1/aspects?entity=${enc(entity)}&include-content=true`)
        expect(list.body.items.map((i: { asserter?: string }) => i.asserter)).toEqual([read.body.asserter])
      }))

    it.effect("GET /1/services2/{id}: every parameter has an options array (the Python client 0.47.19 iterates it)", () =>
      Effect.gen(function*() {
        const r = yield* hit("GET", SID, `${S}/${enc(SeedData.richService.id)}`)
        expect(r.body.parameters.length).toBeGreaterThan(0)
        for (const p of r.body.parameters) expect(Array.isArray(p.options), p.name).toBe(true)
      }))
  })
})
