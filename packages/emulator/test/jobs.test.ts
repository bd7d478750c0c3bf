/**
 * services2 and jobs (API v0.44–v0.48) over real HTTP: the `Timeout` hold (200 / 202 / 400 for a failed job), 307,
 * input checked against the tool request schema, job list paging, job.2 aspects, products, and job events over SSE
 * with `Last-Event-ID` resume and cut streams. Time-dependent cases advance the emulator clock instead of waiting.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { call, nextLink, pathOf, reset } from "./helpers.js"

const advance = (millis: number) => Effect.flatMap(Emulator.Emulator, (e) => e.clock.advance(millis))
const realSleep = (millis: number) => Effect.promise(() => new Promise((r) => setTimeout(r, millis)))

const jobsPath = (service: string) => `/1/services2/${service}/jobs`

/** Requests a job with a JSON body and a `Timeout` (seconds). */
const requestJob = (service: string, body: unknown, timeout?: number, headers: Record<string, string> = {}) =>
  call(jobsPath(service), {
    method: "POST",
    headers: { "content-type": "application/json", ...(timeout !== undefined ? { timeout: String(timeout) } : {}), ...headers },
    body: JSON.stringify(body)
  })

/** Waits (real time, at most 2 s) until `n` requests are in flight (a held request is in flight). */
const untilActive = (n: number) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    for (let i = 0; i < 100 && (yield* emulator.requests.active) < n; i++) yield* realSleep(20)
  })

/** Waits (real time, at most 2 s) until `n` requests to a matching path have arrived. */
const untilRequested = (path: RegExp, n: number) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    for (let i = 0; i < 100 && (yield* emulator.requests.count({ path })) < n; i++) yield* realSleep(20)
  })

interface SseRead {
  readonly status: number
  readonly contentType: string | null
  readonly events: ReadonlyArray<{ readonly id: string; readonly data: Record<string, unknown> }>
  /** The connection broke (instead of ending cleanly). */
  readonly broken: boolean
}

/** Reads an SSE response to its end (or until the connection breaks). */
const readEvents = (path: string, lastEventId?: string) =>
  Effect.gen(function*() {
    const { url } = yield* EmulatorServer.EmulatorServer
    const emulator = yield* Emulator.Emulator
    return yield* Effect.promise(async (): Promise<SseRead> => {
      const headers: Record<string, string> = { authorization: `Bearer ${emulator.token}`, accept: "text/event-stream" }
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId
      const res = await fetch(`${url}${path}`, { headers })
      let text = ""
      let broken = false
      if (res.body !== null) {
        const reader = res.body.getReader()
        const decoder = new TextDecoder()
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            text += decoder.decode(value, { stream: true })
          }
        } catch {
          broken = true
        }
      }
      const events = text.split("\n\n").filter((b) => /^data:/m.test(b)).map((b) => ({
        id: /^id: (.*)$/m.exec(b)?.[1] ?? "",
        data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as Record<string, unknown>
      }))
      return { status: res.status, contentType: res.headers.get("content-type"), events, broken }
    })
  })

layer(EmulatorServer.layer({ jobStepMillis: 100 }))("services2 and jobs over HTTP", (it) => {
  describe("services2", () => {
    it.effect("lists v0.41 and tool services over pages (links[rel=next] + page), each once", () =>
      Effect.gen(function*() {
        yield* reset
        const seen: Array<string> = []
        let path: string | undefined = "/1/services2?limit=20"
        for (let i = 0; i < 10 && path !== undefined; i++) {
          const r = yield* call(path)
          expect(r.status).toBe(200)
          expect(r.body.items.length).toBeLessThanOrEqual(20)
          seen.push(...r.body.items.map((s: { id: string }) => s.id))
          const next = nextLink(r.body)
          if (next !== undefined) expect(new URL(next).search).toMatch(/^\?page=[A-Za-z0-9_-]+$/)
          path = next === undefined ? undefined : pathOf(next)
        }
        expect(path).toBeUndefined()
        expect(seen.length).toBe(SeedData.services2Count)
        expect(new Set(seen).size).toBe(SeedData.services2Count)
        for (const s of [SeedData.echo, SeedData.slow, SeedData.failingJob, SeedData.report, SeedData.helloWorld]) {
          expect(seen).toContain(s.id)
        }
        // tool services are v0.44+ only: not in the v0.41 catalogue
        expect((yield* call(`/1/services/${SeedData.echo.id}`)).status).toBe(404)
      }))

    it.effect("reads a service with controller, controller-schema and valid-from; search ranks with score", () =>
      Effect.gen(function*() {
        const r = yield* call(`/1/services2/${encodeURIComponent(SeedData.slow.id)}`)
        expect(r.status).toBe(200)
        expect(r.body["controller-schema"]).toBe("urn:ivcap:schema.service.rest.1")
        expect(r.body.controller.$schema).toBe("urn:ivcap:schema.service.rest.1")
        expect(r.body.parameters).toEqual([])
        expect(r.body["valid-from"]).toMatch(/Z$/)
        const legacy = yield* call(`/1/services2/${SeedData.richService.id}`)
        expect(legacy.body.parameters.length).toBe(SeedData.richServiceParameters.length)
        const found = yield* call(`/1/services2?search=${encodeURIComponent("echo input")}`)
        expect(found.body.items[0].id).toBe(SeedData.echo.id)
        expect(found.body.items[0].score).toBe(1)
        const byName = yield* call(`/1/services2?filter=${encodeURIComponent("name = 'report'")}`)
        expect(byName.body.items.map((s: { id: string }) => s.id)).toEqual([SeedData.report.id])
        expect((yield* call(`/1/services2/urn:ivcap:service:nope`)).status).toBe(404)
        const create = yield* call("/1/services2", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
        expect(create.status).toBe(501)
        expect(create.body.message).toMatch(/not implemented/)
        const put = yield* call(`/1/services2/${SeedData.echo.id}/jobs`, { method: "PUT" })
        expect(put.status).toBe(405)
        expect(put.headers.get("allow")).toBe("GET, POST, HEAD")
      }))

    it.effect("each tool service has exactly one ai-tool.1 aspect whose content.fn_schema is a JSON Schema", () =>
      Effect.gen(function*() {
        for (const s of [SeedData.echo, SeedData.slow, SeedData.failingJob, SeedData.report, SeedData.echoMoved]) {
          const r = yield* call(
            `/1/aspects?entity=${encodeURIComponent(s.id)}&schema=${encodeURIComponent(SeedData.toolSchema)}&include-content=true`
          )
          expect(r.body.items.length).toBe(1)
          expect(r.body.items[0].content.fn_schema.type).toBe("object")
        }
      }))
  })

  describe("job requests", () => {
    it.effect("Timeout 0 → 202 {job-id, location, retry-later}; the job then succeeds on the clock", () =>
      Effect.gen(function*() {
        yield* reset
        const input = { seconds: 60, message: "hi", extra: [1, 2] }
        const r = yield* requestJob(SeedData.slow.id, input, 0)
        expect(r.status).toBe(202)
        expect(r.body["job-id"]).toMatch(/^urn:ivcap:job:/)
        expect(r.body["retry-later"]).toBeGreaterThanOrEqual(1)
        expect(r.body["retry-later"]).toBeLessThanOrEqual(30)
        expect(r.body["service-id"]).toBe(SeedData.slow.id)
        const before = yield* call(pathOf(r.body.location))
        expect(["pending", "scheduled", "executing"]).toContain(before.body.status)
        expect(before.body["result-content"]).toBeUndefined()
        expect(before.body["request-content"]).toBeUndefined()
        const pending = yield* call(`${pathOf(r.body.location)}/output`)
        expect(pending.status).toBe(204)
        yield* advance(61_000)
        const after = yield* call(`${pathOf(r.body.location)}?with-request-content=true`)
        expect(after.body.status).toBe("succeeded")
        expect(after.body["result-content"]).toEqual({ message: "hi", slept: 60 })
        expect(after.body["request-content"]).toEqual(input)
        expect(after.body["started-at"] <= after.body["finished-at"]).toBe(true)
        const noResult = yield* call(`${pathOf(r.body.location)}?with-result-content=false`)
        expect(noResult.body["result-content"]).toBeUndefined()
        expect(noResult.body["result-content-type"]).toBe("application/json")
        const out = yield* call(`${pathOf(r.body.location)}/output`)
        expect(out.status).toBe(200)
        expect(out.body).toEqual({ message: "hi", slept: 60 })
        expect(out.headers.get("ivcap-job-id")).toBe(r.body["job-id"])
      }))

    it.effect("a Timeout long enough holds the request and answers 200 with the result and IVCAP-Job-* headers", () =>
      Effect.gen(function*() {
        const r = yield* requestJob(SeedData.echo.id, { message: "held" }, 5)
        expect(r.status).toBe(200)
        expect(r.body).toEqual({ message: "held" })
        const id = r.headers.get("ivcap-job-id")!
        expect(id).toMatch(/^urn:ivcap:job:/)
        expect(r.headers.get("ivcap-job-url")).toMatch(new RegExp(`/1/services2/${SeedData.echo.id}/jobs/${id}$`))
        expect(r.headers.get("ivcap-order-id")).toMatch(/^urn:ivcap:order:/)
        const job = yield* call(pathOf(r.headers.get("ivcap-job-url")!))
        expect(job.body.status).toBe("succeeded")
      }))

    it.effect("a slow job outlasting the Timeout → 202 at the deadline; the clock finishes it", () =>
      Effect.gen(function*() {
        const held = yield* Effect.fork(requestJob(SeedData.slow.id, { seconds: 120, message: "zzz" }, 10))
        yield* untilActive(1)
        yield* advance(11_000)
        const r = yield* Fiber.join(held)
        expect(r.status).toBe(202)
        const location = pathOf(r.body.location)
        expect((yield* call(location)).body.status).toBe("executing")
        yield* advance(120_000)
        const done = yield* call(location)
        expect(done.body.status).toBe("succeeded")
        expect(done.body["result-content"]).toEqual({ message: "zzz", slept: 120 })
      }))

    it.effect("a held request returns 200 as soon as the clock reaches the job's end", () =>
      Effect.gen(function*() {
        const held = yield* Effect.fork(requestJob(SeedData.slow.id, { seconds: 30 }, 3600))
        yield* untilActive(1)
        yield* advance(31_000)
        const r = yield* Fiber.join(held)
        expect(r.status).toBe(200)
        expect(r.body).toEqual({ message: "done", slept: 30 })
      }))

    it.effect("a failed job: 400 {message} under a hold; status failed with error-message; output 400", () =>
      Effect.gen(function*() {
        const r = yield* requestJob(SeedData.failingJob.id, { reason: "disk on fire" }, 5)
        expect(r.status).toBe(400)
        expect(r.body.message).toBe("disk on fire")
        const url = pathOf(r.headers.get("ivcap-job-url")!)
        const job = yield* call(url)
        expect(job.body.status).toBe("failed")
        expect(job.body["error-message"]).toBe("disk on fire")
        expect(job.body["result-content"]).toBeUndefined()
        expect((yield* call(`${url}/output`)).status).toBe(400)
      }))

    it.effect("input that breaks the tool schema → 422 naming the field; no job is created", () =>
      Effect.gen(function*() {
        yield* reset
        const bad = yield* requestJob(SeedData.slow.id, { seconds: "ten" }, 0)
        expect(bad.status).toBe(422)
        expect(bad.body.name).toBe("seconds")
        expect(bad.body.value).toBe("ten")
        const missing = yield* requestJob(SeedData.echo.id, { other: 1 }, 0)
        expect(missing.status).toBe(422)
        expect(missing.body.name).toBe("message")
        const range = yield* requestJob(SeedData.slow.id, { seconds: -1 }, 0)
        expect(range.body.name).toBe("seconds")
        const list = yield* call(jobsPath(SeedData.slow.id))
        expect(list.body.items).toEqual([])
        const notJson = yield* call(jobsPath(SeedData.echo.id), { method: "POST", headers: { "content-type": "text/plain" }, body: "x" })
        expect(notJson.status).toBe(400)
        const badTimeout = yield* requestJob(SeedData.echo.id, { message: "x" }, undefined, { timeout: "soon" })
        expect(badTimeout.status).toBe(400)
        expect((yield* requestJob("urn:ivcap:service:nope", {}, 0)).status).toBe(404)
      }))

    it.effect("as the Go CLI sends them: YAML input, and a job.input.1 body naming a request aspect", () =>
      Effect.gen(function*() {
        const yaml = yield* call(jobsPath(SeedData.echo.id), {
          method: "POST",
          headers: { "content-type": "application/yaml", timeout: "5" },
          body: "message: from yaml\n"
        })
        expect(yaml.status).toBe(200)
        expect(yaml.body).toEqual({ message: "from yaml" })
        const badYaml = yield* call(jobsPath(SeedData.echo.id), {
          method: "POST",
          headers: { "content-type": "application/yaml" },
          body: "message: [unclosed"
        })
        expect(badYaml.status).toBe(400)
        expect(badYaml.body.message).toMatch(/not valid YAML/)

        const entity = "urn:example:request:cli"
        const created = yield* call(`/1/aspects?entity=${entity}&schema=urn:example:schema:echo-request.1`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ $schema: "urn:example:schema:echo-request.1", $entity: entity, message: "from an aspect" })
        })
        const fromAspect = (aspect: string, service = SeedData.echo.id) =>
          requestJob(SeedData.echo.id, { $schema: "urn:ivcap:schema:job.input.1", "request-aspect": aspect, service }, 5)
        const done = yield* fromAspect(created.body.id)
        expect(done.status).toBe(200)
        expect(done.body).toEqual({ message: "from an aspect" })
        const job = yield* call(`${pathOf(done.headers.get("ivcap-job-url")!)}?with-request-content=true`)
        expect(job.body["request-content"]).toEqual({ message: "from an aspect" })
        const missing = yield* fromAspect("urn:ivcap:aspect:00000000-0000-0000-0000-000000000000")
        expect(missing.status).toBe(422)
        expect(missing.body.name).toBe("request-aspect")
        const other = yield* fromAspect(created.body.id, SeedData.slow.id)
        expect(other.status).toBe(422)
        expect(other.body.name).toBe("service")
      }))

    it.effect("the report service's result names a product artifact that can be downloaded", () =>
      Effect.gen(function*() {
        const r = yield* requestJob(SeedData.report.id, { title: "Weekly", lines: ["a", "b"] }, 5)
        expect(r.status).toBe(200)
        expect(r.body.artifact).toMatch(/^urn:ivcap:artifact:/)
        const job = yield* call(pathOf(r.headers.get("ivcap-job-url")!))
        expect(job.body.products.items.map((p: { id: string }) => p.id)).toEqual([r.body.artifact])
        const blob = yield* call(pathOf(job.body.products.items[0]["data-href"]))
        expect(blob.text).toBe("# Weekly\n\na\nb\n")
        expect(blob.text.length).toBe(r.body.size)
      }))

    it.effect("a v0.41 service runs as a job with its parameters as an object (product, like its order)", () =>
      Effect.gen(function*() {
        const r = yield* requestJob(SeedData.helloWorld.id, { msg: "jobs" }, 5)
        expect(r.status).toBe(200)
        const blob = yield* call(`/1/artifacts/${r.body.artifact}/blob`)
        expect(blob.text).toBe("Hello, jobs!\n")
        const bad = yield* requestJob(SeedData.helloWorld.id, { nope: "x" }, 0)
        expect(bad.status).toBe(422)
      }))

    it.effect("a moved service answers 307 with Location = the echo job endpoint", () =>
      Effect.gen(function*() {
        const r = yield* call(jobsPath(SeedData.echoMoved.id), {
          method: "POST",
          headers: { "content-type": "application/json", timeout: "0" },
          body: JSON.stringify({ message: "x" }),
          redirect: "manual"
        })
        expect(r.status).toBe(307)
        expect(pathOf(r.headers.get("location")!)).toBe(jobsPath(SeedData.echo.id))
      }))

    it.effect("every job is also a urn:ivcap:schema:job.2 aspect on its URN, following its status", () =>
      Effect.gen(function*() {
        const r = yield* requestJob(SeedData.slow.id, { seconds: 5 }, 0)
        const id = r.body["job-id"]
        const aspects = (schema: string) =>
          call(`/1/aspects?entity=${encodeURIComponent(id)}&schema=${encodeURIComponent(schema)}&include-content=true`)
        const first = yield* aspects("urn:ivcap:schema:job.2%")
        expect(first.body.items.length).toBe(1)
        expect(first.body.items[0].content).toMatchObject({
          id,
          "service-id": SeedData.slow.id,
          "service-name": SeedData.slow.name
        })
        expect(["pending", "scheduled", "executing"]).toContain(first.body.items[0].content.status)
        yield* advance(10_000)
        const later = yield* aspects("urn:ivcap:schema:job.2")
        expect(later.body.items.length).toBe(1)
        expect(later.body.items[0].content.status).toBe("succeeded")
        expect(later.body.items[0].content["finished-at"]).toMatch(/Z$/)
        const job = yield* call(pathOf(r.body.location))
        const result = yield* call(`/1/aspects/${job.body["result-content-urn"]}`)
        expect(result.body.content.content).toEqual({ message: "done", slept: 5 })
      }))
  })

  describe("job lists", () => {
    it.effect("lists a service's jobs over pages with links[rel=next] + page, newest first, each once", () =>
      Effect.gen(function*() {
        yield* reset
        const ids: Array<string> = []
        for (let i = 0; i < 12; i++) ids.push((yield* requestJob(SeedData.echo.id, { message: `m${i}` }, 0)).body["job-id"])
        yield* requestJob(SeedData.slow.id, { seconds: 1 }, 0)
        const seen: Array<string> = []
        let path: string | undefined = `${jobsPath(SeedData.echo.id)}?limit=5`
        const sizes: Array<number> = []
        for (let i = 0; i < 5 && path !== undefined; i++) {
          const r = yield* call(path)
          expect(r.status).toBe(200)
          sizes.push(r.body.items.length)
          seen.push(...r.body.items.map((j: { id: string }) => j.id))
          const next = nextLink(r.body)
          if (next !== undefined) expect(new URL(next).search).toMatch(/^\?page=[A-Za-z0-9_-]+$/)
          path = next === undefined ? undefined : pathOf(next)
        }
        expect(sizes).toEqual([5, 5, 2])
        expect(seen).toEqual([...ids].reverse())
        const asc = yield* call(`${jobsPath(SeedData.echo.id)}?limit=50&order-desc=false`)
        expect(asc.body.items.map((j: { id: string }) => j.id)).toEqual(ids)
        yield* advance(1000)
        const done = yield* call(`${jobsPath(SeedData.echo.id)}?limit=50&filter=${encodeURIComponent("status = 'succeeded'")}`)
        expect(done.body.items.length).toBe(12)
        // a job is found under its own service only
        expect((yield* call(`${jobsPath(SeedData.slow.id)}/${ids[0]}`)).status).toBe(404)
      }))

    it.effect("lists jobs as the Go CLI does: job.2 aspects ordered by the content key requested-at", () =>
      Effect.gen(function*() {
        yield* reset
        const ids: Array<string> = []
        for (let i = 0; i < 3; i++) {
          ids.push((yield* requestJob(SeedData.echo.id, { message: `m${i}` }, 0)).body["job-id"])
          yield* advance(10)
        }
        const r = yield* call(
          `/1/aspects?limit=10&order-by=requested-at&schema=${encodeURIComponent("urn:ivcap:schema:job.2")}&include-content=true`
        )
        expect(r.status).toBe(200)
        expect(r.body.items.map((a: { content: { id: string } }) => a.content.id)).toEqual([...ids].reverse())
        const asc = yield* call(
          `/1/aspects?order-by=requested-at&order-direction=ASC&schema=${encodeURIComponent("urn:ivcap:schema:job.2")}&include-content=true`
        )
        expect(asc.body.items.map((a: { content: { id: string } }) => a.content.id)).toEqual(ids)
        // a name that is neither a column nor a content key is still a 422
        expect((yield* call("/1/aspects?order-by=colour")).status).toBe(422)
      }))
  })

  describe("job events (SSE)", () => {
    it.effect("streams every event of a job once, in order, and ends when the job has finished", () =>
      Effect.gen(function*() {
        yield* reset
        const r = yield* requestJob(SeedData.slow.id, { seconds: 3 }, 0)
        const path = `${pathOf(r.body.location)}/events`
        const reading = yield* Effect.fork(readEvents(path))
        yield* untilRequested(/\/events$/, 1)
        yield* advance(5000)
        const read = yield* Fiber.join(reading)
        expect(read.status).toBe(200)
        expect(read.contentType).toMatch(/^text\/event-stream/)
        expect(read.broken).toBe(false)
        expect(read.events.map((e) => e.id)).toEqual(["1", "2", "3", "4", "5", "6"])
        expect(read.events.map((e) => e.data.SeqID)).toEqual(["1", "2", "3", "4", "5", "6"])
        const statuses = read.events.filter((e) => e.data.type === "job.status").map((e) => (e.data.data as { status: string }).status)
        expect(statuses).toEqual(["pending", "scheduled", "executing", "succeeded"])
        expect(read.events.filter((e) => e.data.type === "job.progress").length).toBe(2)
        // finished, and nothing after the last event: 204
        const after = yield* readEvents(path, "6")
        expect(after.status).toBe(204)
        const resumed = yield* readEvents(path, "4")
        expect(resumed.events.map((e) => e.id)).toEqual(["5", "6"])
      }))

    it.effect("survives two cut connections: resuming with Last-Event-ID loses and repeats nothing", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        const r = yield* requestJob(SeedData.slow.id, { seconds: 4 }, 0)
        yield* advance(10_000)
        const path = `${pathOf(r.body.location)}/events`
        yield* emulator.requests.reset
        yield* emulator.faults.inject(Faults.cutEvents(2, { match: { path: /\/events$/ }, times: 2 }))
        const ids: Array<string> = []
        let last: string | undefined
        let cuts = 0
        for (let i = 0; i < 6; i++) {
          const read = yield* readEvents(path, last)
          if (read.status === 204) break
          ids.push(...read.events.map((e) => e.id))
          last = ids[ids.length - 1]
          if (read.broken) cuts++
          else break
        }
        expect(cuts).toBe(2)
        expect(ids).toEqual(["1", "2", "3", "4", "5", "6", "7"])
        const log = yield* emulator.requests.log
        expect(log.filter((q) => q.url.endsWith("/events")).map((q) => q.headers["last-event-id"])).toEqual([undefined, "2", "4"])
      }))

    it.effect("max-messages ends the stream early; a failed job's last event carries its error-message", () =>
      Effect.gen(function*() {
        const r = yield* requestJob(SeedData.failingJob.id, { reason: "nope" }, 0)
        yield* advance(1000)
        const path = `${pathOf(r.body.location)}/events`
        const two = yield* readEvents(`${path}?max-messages=2`)
        expect(two.events.map((e) => e.id)).toEqual(["1", "2"])
        const all = yield* readEvents(path)
        const last = all.events[all.events.length - 1]!.data
        expect(last.data).toEqual({ "job-id": r.body["job-id"], status: "failed", "error-message": "nope" })
      }))
  })
})

layer(EmulatorServer.layer({ apiVersion: "0.41" }))("a v0.41 deployment", (it) => {
  it.effect("has no /1/services2 or job routes (404 as for unknown paths); /1/services still works", () =>
    Effect.gen(function*() {
      const list = yield* call("/1/services2")
      expect(list.status).toBe(404)
      expect(list.body.message).toMatch(/no resource/)
      expect((yield* requestJob(SeedData.echo.id, { message: "x" }, 0)).status).toBe(404)
      expect((yield* call(`/1/services2/${SeedData.echo.id}`)).status).toBe(404)
      expect((yield* call(`/1/services2/${SeedData.echo.id}/jobs`, { method: "PUT" })).status).toBe(404)
      const v041 = yield* call("/1/services?limit=5")
      expect(v041.status).toBe(200)
      expect(v041.body.items.length).toBe(5)
      // v0.41's AspectRT has neither account nor policy, and its list items no asserter
      const entity = "urn:example:entity:v041"
      const created = yield* call(`/1/aspects?entity=${entity}&schema=urn:example:schema:v.1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}"
      })
      const aspect = yield* call(`/1/aspects/${encodeURIComponent(created.body.id)}`)
      expect(aspect.status).toBe(200)
      expect(Object.keys(aspect.body)).not.toContain("account")
      expect(Object.keys(aspect.body)).not.toContain("policy")
      const items = (yield* call(`/1/aspects?entity=${entity}`)).body.items
      expect(items.length).toBe(1)
      expect(Object.keys(items[0])).not.toContain("asserter")
    }))
})
