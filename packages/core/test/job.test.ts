/**
 * Jobs over HTTP against the emulator (API v0.48): the 200 / 202 / 307 answers of a job request, waiting with
 * `retry-later`, failing jobs, inputs rejected by the tool schema before any request, reading / listing / output,
 * interrupting a wait, and job events across forced disconnects.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { expect, layer } from "@effect/vitest"
import { Aspect, Job, Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { layerHttp } from "./utils/emulator.js"
import { expectFailure, fastRetry, fresh, layerSuite, requestCount, suiteToken, withClient } from "./utils/suite.js"

const echo = SeedData.echo.id
const slow = SeedData.slow.id
const failing = SeedData.failingJob.id

/** Quick, bounded polling: every 20 ms, at most 500 times. */
const poll = Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(500)))

/** Moves the emulator clock a step at a time (bounded), so that jobs progress while something waits. */
const driveClock = (steps: number, step: Duration.DurationInput = "1 second") =>
  Effect.flatMap(Emulator.Emulator, (emulator) =>
    Effect.forEach(Array.from({ length: steps }), () => Effect.zipRight(Effect.sleep("20 millis"), emulator.clock.advance(step)), { discard: true }))

const jobPosts = (service: string) => requestCount({ method: "POST", path: `/1/services2/${service}/jobs` })

layer(layerSuite())("Job", (it) => {
  it.effect("200: a job finished within the wait returns its result and ids", () =>
    Effect.gen(function*() {
      yield* fresh
      const ticket = yield* Job.request(echo, { message: "hello", extra: [1, 2] }, { wait: "10 seconds" })
      expect(ticket._tag).toBe("Finished")
      if (ticket._tag !== "Finished") return
      expect(ticket.job).toMatch(/^urn:ivcap:job:/)
      expect(ticket.service).toBe(echo)
      expect(ticket.result.content).toEqual({ message: "hello", extra: [1, 2] })
      expect(ticket.result.contentType).toContain("application/json")
      expect(Option.getOrThrow(ticket.url)).toContain(ticket.job)
      const record = yield* Job.get(echo, ticket.job, { withRequestContent: true })
      expect(record.status).toBe("succeeded")
      expect(record.isFinished).toBe(true)
      expect(record.requestContent).toEqual({ message: "hello", extra: [1, 2] })
      expect(record.resultContent).toEqual({ message: "hello", extra: [1, 2] })
      const without = yield* Job.get(echo, ticket.job, { withResultContent: false })
      expect(without.resultContent).toBeUndefined()
      expect(yield* jobPosts(echo)).toBe(1)
    }).pipe(TestServices.provideLive))

  it.effect("202: a job not finished at once is Accepted with retry-later, and wait honours it", () =>
    Effect.gen(function*() {
      yield* fresh
      const ticket = yield* Job.request(slow, { seconds: 2, message: "slept" })
      expect(ticket._tag).toBe("Accepted")
      if (ticket._tag !== "Accepted") return
      expect(ticket.service).toBe(slow)
      expect(ticket.location).toContain(ticket.job)
      expect(Duration.toSeconds(ticket.retryLater)).toBeGreaterThanOrEqual(1)
      const posted = Date.now()
      const done = yield* Job.wait(ticket.service, ticket.job, { retryLater: ticket.retryLater, schedule: poll })
      expect(done.status).toBe("succeeded")
      expect(done.resultContent).toEqual({ message: "slept", slept: 2 })
      // no read of the job before the server's retry-later had passed
      const emulator = yield* Emulator.Emulator
      const reads = (yield* emulator.requests.log).filter((r) => r.method === "GET" && r.url.includes(`/jobs/`))
      expect(reads.length).toBeGreaterThan(0)
      expect(reads[0]!.at - posted).toBeGreaterThanOrEqual(Duration.toMillis(ticket.retryLater) - 50)
      expect(yield* jobPosts(slow)).toBe(1)
    }).pipe(TestServices.provideLive))

  it.effect("run: request + wait + the result decoded with the caller's Schema", () =>
    Effect.gen(function*() {
      yield* fresh
      const Slept = Schema.Struct({ message: Schema.String, slept: Schema.Number })
      const fiber = yield* Effect.fork(Job.run(slow, { seconds: 5, message: "ok" }, Slept, { wait: 0, schedule: poll }))
      yield* driveClock(8)
      const result = yield* Fiber.join(fiber)
      expect(result).toEqual({ message: "ok", slept: 5 })
      // a result that does not match the schema is a DecodeError naming the field
      const Wrong = Schema.Struct({ message: Schema.Number })
      const e = yield* expectFailure(Job.run(echo, { message: "text" }, Wrong), "DecodeError")
      expect(e.message).toContain("message")
    }).pipe(TestServices.provideLive))

  it.effect("a failing job is JobFailed with its error message (held request and waited-for job)", () =>
    Effect.gen(function*() {
      yield* fresh
      const held = yield* expectFailure(Job.request(failing, { reason: "disk full" }, { wait: "5 seconds" }), "JobFailed")
      expect(held.errorMessage).toBe("disk full")
      expect(held.status).toBe("failed")
      expect(held.message).toContain("disk full")
      const fiber = yield* Effect.fork(Effect.either(Job.run(failing, { reason: "bad input", seconds: 3 }, Schema.Unknown, { wait: 0, schedule: poll })))
      yield* driveClock(6)
      const waited = yield* Fiber.join(fiber)
      expect(waited._tag).toBe("Left")
      if (waited._tag === "Left") {
        expect(waited.left._tag).toBe("JobFailed")
        if (waited.left._tag === "JobFailed") expect(waited.left.errorMessage).toBe("bad input")
      }
    }).pipe(TestServices.provideLive))

  it.effect("an input the tool schema rejects is InvalidParameter naming the field, and nothing is posted", () =>
    Effect.gen(function*() {
      yield* fresh
      const tool = yield* Service.toolSchema(echo)
      expect(tool.aspect).toBe(SeedData.echo.toolAspectId)
      expect(tool.requestSchema["required"]).toEqual(["message"])
      yield* fresh
      // with the schema at hand: no request at all
      const missing = yield* expectFailure(Job.request(echo, { msg: "typo" }, { schema: tool }), "InvalidParameter")
      expect(missing.name).toBe("message")
      const wrongType = yield* expectFailure(Job.request(slow, { seconds: "ten" }, { schema: yield* Service.toolSchema(slow).pipe(Effect.tap(() => fresh)) }), "InvalidParameter")
      expect(wrongType.name).toBe("seconds")
      expect(wrongType.value).toBe("\"ten\"")
      const nested = yield* expectFailure(
        Job.validateInput(echo, { a: { b: [1, "x"] } }, {
          type: "object",
          properties: { a: { type: "object", properties: { b: { type: "array", items: { type: "integer" } } } } }
        }),
        "InvalidParameter"
      )
      expect(nested.name).toBe("a.b.1")
      expect(yield* requestCount()).toBe(0)
      // by default the service's schema is read first: still no job request
      const tooLong = yield* expectFailure(Job.request(slow, { seconds: 99999 }), "InvalidParameter")
      expect(tooLong.name).toBe("seconds")
      expect(yield* requestCount({ method: "POST" })).toBe(0)
      // `schema: false` leaves the check to the server, which answers 422 naming the field too
      const server = yield* expectFailure(Job.request(echo, { msg: "typo" }, { schema: false }), "InvalidParameter")
      expect(server.name).toBe("message")
      expect(yield* jobPosts(echo)).toBe(1)
    }).pipe(TestServices.provideLive))

  it.effect("a tool schema the validator cannot use is a DecodeError saying so (never a defect), and nothing is posted", () =>
    Effect.gen(function*() {
      yield* fresh
      const unusable: ReadonlyArray<Record<string, unknown>> = [
        { type: "object", properties: { message: { type: "string", pattern: "([" } } },
        { $ref: "#/$defs/A", $defs: { A: { $ref: "#/$defs/A" } } },
        { type: "object", properties: { message: { $ref: "#/$defs/missing" } } },
        { enum: 5 }
      ]
      for (const schema of unusable) {
        const e = yield* expectFailure(Job.validateInput(echo, { message: "x" }, schema), "DecodeError")
        expect(e.message).toMatch(/^the service's request schema cannot be used: /)
      }
      // the service's own schema, broken on the server: read, refused, no job request
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.mapBody((json) => {
        const body = json as { items: Array<{ content: Record<string, unknown> }> }
        return { ...body, items: body.items.map((i) => ({ ...i, content: { ...i.content, fn_schema: unusable[0] } })) }
      }, { match: { method: "GET", path: "/1/aspects" } }))
      yield* expectFailure(Job.request(echo, { message: "x" }), "DecodeError")
      expect(yield* jobPosts(echo)).toBe(0)
    }).pipe(TestServices.provideLive))

  it.effect("307: the same POST is sent to a Location on the configured origin", () =>
    Effect.gen(function*() {
      yield* fresh
      const ticket = yield* Job.request(SeedData.echoMoved.id, { message: "moved" }, { wait: "5 seconds", schema: false })
      expect(ticket._tag).toBe("Finished")
      expect(ticket.service).toBe(echo)
      if (ticket._tag === "Finished") expect(ticket.result.content).toEqual({ message: "moved" })
      expect(yield* jobPosts(SeedData.echoMoved.id)).toBe(1)
      expect(yield* jobPosts(echo)).toBe(1)
    }).pipe(TestServices.provideLive))

  it.effect("307 to another origin is RedirectRefused: nothing is sent there", () =>
    Effect.gen(function*() {
      yield* fresh
      const seen: Array<string> = []
      const e = yield* expectFailure(
        Job.request(echo, { message: "x" }, { schema: false }).pipe(withClient({
          transformClient: (client) =>
            client.pipe(
              HttpClient.tapRequest((r) => Effect.sync(() => seen.push(r.url))),
              HttpClient.transformResponse(Effect.map((response) =>
                response.request.method === "POST"
                  ? HttpClientResponse.fromWeb(response.request, new Response(null, { status: 307, headers: { location: "http://127.0.0.2:9/1/services2/x/jobs" } }))
                  : response
              ))
            )
        })),
        "RedirectRefused"
      )
      expect(e.location).toBe("http://127.0.0.2:9/1/services2/x/jobs")
      expect(seen.filter((u) => u.startsWith("http://127.0.0.2"))).toEqual([])
    }).pipe(TestServices.provideLive))

  it.effect("a job request is never re-sent: a 503 on the POST fails at once", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(503, { match: { method: "POST", path: `/1/services2/${echo}/jobs` } }))
      yield* expectFailure(Job.request(echo, { message: "once" }, { schema: false }), "ServiceUnavailable")
      expect(yield* jobPosts(echo)).toBe(1)
    }).pipe(TestServices.provideLive))

  it.effect("list streams a service's jobs with the paging of every list; output reads the result", () =>
    Effect.gen(function*() {
      yield* fresh
      const tickets = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Job.request(echo, { message: `m${i}` }, { wait: "5 seconds" }))
      const listed = yield* Job.list(echo, { pageSize: 2 }).pipe(Stream.runCollect)
      const ids = Chunk.toReadonlyArray(listed).map((j) => j.id)
      for (const t of tickets) expect(ids).toContain(t.job)
      expect(new Set(ids).size).toBe(ids.length)
      expect(Chunk.toReadonlyArray(listed).every((j) => j.service === echo)).toBe(true)
      const firstTwo = yield* Job.list(echo, { pageSize: 2 }).pipe(Stream.take(2), Stream.runCollect)
      expect(firstTwo.length).toBe(2)
      const out = yield* Job.output(echo, tickets[0]!.job)
      expect(Option.getOrThrow(out).content).toEqual({ message: "m1" })
      yield* expectFailure(Job.get(echo, "urn:ivcap:job:00000000-0000-0000-0000-000000000000"), "ResourceNotFound")
      yield* expectFailure(Job.get(echo, "urn:ivcap:order:1"), "InvalidArgument")
    }).pipe(TestServices.provideLive))

  it.effect("requestFromAspect: the job runs on an aspect's content (the Go CLI's job create -a); ids checked first", () =>
    Effect.gen(function*() {
      yield* fresh
      const aspect = yield* Aspect.add("urn:example:request:1", { message: "kept in an aspect" }, { schema: "urn:example:schema:echo-request.1" })
      const ticket = yield* Job.requestFromAspect(echo, aspect, { wait: "10 seconds" })
      expect(ticket._tag).toBe("Finished")
      if (ticket._tag !== "Finished") return
      expect(ticket.result.content).toEqual({ message: "kept in an aspect" })
      expect((yield* Job.get(echo, ticket.job, { withRequestContent: true })).requestContent).toEqual({ message: "kept in an aspect" })
      const before = yield* jobPosts(echo)
      yield* expectFailure(Job.requestFromAspect(echo, "urn:ivcap:artifact:1"), "InvalidArgument")
      yield* expectFailure(Job.requestFromAspect("echo", aspect), "InvalidArgument")
      expect(yield* jobPosts(echo)).toBe(before)
      const missing = yield* expectFailure(Job.requestFromAspect(echo, "urn:ivcap:aspect:00000000-0000-0000-0000-000000000000"), "InvalidParameter")
      expect(missing.name).toBe("request-aspect")
    }).pipe(TestServices.provideLive))

  it.effect("output: a job still running is JobNotFinished with its status (the API's 204 says nothing more); a failed one JobFailed", () =>
    Effect.gen(function*() {
      yield* fresh
      const running = yield* Job.request(slow, { seconds: 3000 })
      const e = yield* expectFailure(Job.output(running.service, running.job), "JobNotFinished")
      expect(["pending", "scheduled", "executing"]).toContain(e.status)
      const failed = yield* Job.request(failing, {}, { schema: false })
      yield* Effect.ignore(Job.wait(failed.service, failed.job, { schedule: poll }))
      yield* expectFailure(Job.output(failed.service, failed.job), "JobFailed")
    }).pipe(TestServices.provideLive))

  it.effect("interrupting a wait stops it: no further reads", () =>
    Effect.gen(function*() {
      yield* fresh
      const ticket = yield* Job.request(slow, { seconds: 3000 })
      const fiber = yield* Effect.fork(Job.wait(ticket.service, ticket.job, { schedule: poll }))
      yield* Effect.sleep("200 millis")
      yield* Fiber.interrupt(fiber)
      const reads = yield* requestCount({ method: "GET", path: /\/jobs\// })
      expect(reads).toBeGreaterThan(0)
      yield* Effect.sleep("300 millis")
      // A read already on the wire when the fiber is interrupted reaches the emulator (and its log) afterwards;
      // a wait that went on polling every 20 ms would add about fifteen.
      expect(yield* requestCount({ method: "GET", path: /\/jobs\// })).toBeLessThanOrEqual(reads + 1)
      const emulator = yield* Emulator.Emulator
      expect(yield* emulator.requests.active).toBe(0)
    }).pipe(TestServices.provideLive))

  it.effect("a wait whose schedule ends first is JobNotFinished with the last status", () =>
    Effect.gen(function*() {
      yield* fresh
      const ticket = yield* Job.request(slow, { seconds: 3000 })
      const e = yield* expectFailure(Job.wait(ticket.service, ticket.job, { schedule: Schedule.recurs(2) }), "JobNotFinished")
      expect(["pending", "scheduled", "executing"]).toContain(e.status)
    }).pipe(TestServices.provideLive))

  it.effect("events: every event once, in order, across two forced disconnects; the stream ends with the job", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const ticket = yield* Job.request(slow, { seconds: 6 })
      yield* emulator.faults.inject(Faults.cutEvents(2, { match: { method: "GET", path: /\/events$/ }, times: 2 }))
      const fiber = yield* Effect.fork(Job.events(ticket.service, ticket.job, { reconnect: poll }).pipe(Stream.runCollect))
      yield* driveClock(12)
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      const ids = events.map((e) => Number(e.seqId))
      expect(ids.length).toBeGreaterThan(4)
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1))
      expect(events.every((e) => e.type !== undefined && e.timestamp !== undefined)).toBe(true)
      const log = (yield* emulator.requests.log).filter((r) => r.url.includes("/events"))
      expect(log.length).toBeGreaterThanOrEqual(3)
      expect(log[1]!.headers["last-event-id"]).toBe("2")
      expect(log[2]!.headers["last-event-id"]).toBe("4")
      const last = events[events.length - 1]!
      expect(JSON.stringify(last.data)).toContain("succeeded")
    }).pipe(TestServices.provideLive))

  it.effect("events: a server that ignores Last-Event-ID and replays from the start still gives each event once", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const ticket = yield* Job.request(slow, { seconds: 4 })
      yield* emulator.faults.inject(Faults.cutEvents(2, { match: { method: "GET", path: /\/events$/ }, times: 2 }))
      // (a request rebuilt without the header: `modify` merges headers, it cannot drop one)
      const forget = (r: HttpClientRequest.HttpClientRequest) =>
        HttpClientRequest.make(r.method)(r.url, { headers: Headers.remove(r.headers, "last-event-id"), urlParams: r.urlParams })
      const forgetful = withClient({ transformClient: (client) => client.pipe(HttpClient.mapRequest(forget)) })
      const fiber = yield* Effect.fork(forgetful(Job.events(ticket.service, ticket.job, { reconnect: poll }).pipe(Stream.runCollect)))
      yield* driveClock(8)
      const ids = Chunk.toReadonlyArray(yield* Fiber.join(fiber)).map((e) => Number(e.seqId))
      expect(ids.length).toBeGreaterThan(3)
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1))
      const log = (yield* emulator.requests.log).filter((r) => r.url.includes("/events"))
      expect(log.map((r) => r.headers["last-event-id"])).toEqual(log.map(() => undefined))
    }).pipe(TestServices.provideLive))

  it.effect("events: taking a few ends the stream and closes its connection", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const ticket = yield* Job.request(slow, { seconds: 3000 })
      const fiber = yield* Effect.fork(Job.events(ticket.service, ticket.job).pipe(Stream.take(2), Stream.runCollect))
      yield* driveClock(4)
      expect(Chunk.size(yield* Fiber.join(fiber))).toBe(2)
      yield* Effect.sleep("100 millis")
      expect(yield* emulator.requests.active).toBe(0)
    }).pipe(TestServices.provideLive))

  it.effect("events resume after a given lastEventId and never repeat one", () =>
    Effect.gen(function*() {
      yield* fresh
      const ticket = yield* Job.request(slow, { seconds: 2 }, { wait: "5 seconds" })
      const all = Chunk.toReadonlyArray(yield* Job.events(ticket.service, ticket.job).pipe(Stream.runCollect))
      const rest = Chunk.toReadonlyArray(yield* Job.events(ticket.service, ticket.job, { lastEventId: all[1]!.seqId }).pipe(Stream.runCollect))
      expect(rest.map((e) => e.seqId)).toEqual(all.slice(2).map((e) => e.seqId))
    }).pipe(TestServices.provideLive))
})

layer(layerSuite())("Job (API versions)", (it) => {
  it.effect("Service.list/get/getByName read /1/services2 on a v0.48 deployment", () =>
    Effect.gen(function*() {
      yield* fresh
      expect(yield* Service.apiVersion).toBe("v0.44")
      const all = yield* Service.list().pipe(Stream.runCollect)
      expect(all.length).toBe(SeedData.services2Count)
      const found = yield* Service.getByName("echo")
      expect(found.id).toBe(echo)
      expect(found.controllerSchema).toBeDefined()
      const details = yield* Service.get(echo)
      expect(details.status).toBe("active")
      expect(details.controllerSchema).toBeDefined()
      expect(yield* requestCount({ path: "/1/services2" })).toBeGreaterThan(0)
      expect(yield* requestCount({ path: /^\/1\/services$/ })).toBe(0)
    }).pipe(TestServices.provideLive))
})

/** The same client code, whatever the deployment's API version. */
const sameProgram = Effect.gen(function*() {
  const version = yield* Service.apiVersion
  const first = yield* Service.list({ pageSize: 2 }).pipe(Stream.take(3), Stream.runCollect)
  const hello = yield* Service.getByName(SeedData.helloWorld.name)
  const details = yield* Service.get(hello.id)
  return { version, listed: first.length, name: details.name, parameters: details.parameters.map((p) => p.name), status: details.status }
})

const expected = { listed: 3, name: SeedData.helloWorld.name, parameters: ["msg"], status: "active" }

layer(layerHttp({ retry: fastRetry }, { token: suiteToken, apiVersion: "0.41" }))("a v0.41 deployment", (it) => {
  it.effect("the same code lists and reads services from /1/services, after one probe; jobs are NotImplemented", () =>
    Effect.gen(function*() {
      yield* fresh
      expect(yield* sameProgram).toEqual({ ...expected, version: "v0.41" })
      expect(yield* sameProgram).toEqual({ ...expected, version: "v0.41" })
      expect(yield* requestCount({ path: "/1/services2" })).toBe(1)
      const e = yield* expectFailure(Job.request(SeedData.helloWorld.id, { msg: "x" }, { schema: false }), "NotImplemented")
      expect(e.message).toContain("v0.41")
      expect(yield* requestCount({ method: "POST" })).toBe(0)
    }).pipe(TestServices.provideLive))
})

layer(layerHttp({ retry: fastRetry }, { token: suiteToken, apiVersion: "0.48" }))("a v0.48 deployment", (it) => {
  it.effect("the same code reads /1/services2, after one probe", () =>
    Effect.gen(function*() {
      yield* fresh
      expect(yield* sameProgram).toEqual({ ...expected, version: "v0.44" })
      expect(yield* sameProgram).toEqual({ ...expected, version: "v0.44" })
      expect(yield* requestCount({ path: /^\/1\/services2/, method: "GET" })).toBeGreaterThan(1)
      expect(yield* requestCount({ path: /^\/1\/services(\/|$)/ })).toBe(0)
    }).pipe(TestServices.provideLive))

  it.effect("newer servers: unknown parameter types and statuses decode (raw value kept); extra keys never fail", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const asRecord = (u: unknown) => u as Record<string, unknown>
      yield* emulator.faults.inject(Faults.mapBody((json) => {
        const body = asRecord(json)
        return {
          ...body,
          status: "degraded",
          "brand-new": { nested: true },
          parameters: [...(body["parameters"] as Array<unknown>), { name: "shape", type: "geometry", description: "a type from the future", future: 1 }]
        }
      }, { match: { method: "GET", path: `/1/services2/${SeedData.helloWorld.id}` } }))
      const service = yield* Service.get(SeedData.helloWorld.id)
      expect(service.status).toBe("unknown")
      expect(service.rawStatus).toBe("degraded")
      const shape = service.parameters.find((p) => p.name === "shape")
      expect(shape?.type).toBe("geometry")
      expect(Service.isKnownParameterType(shape?.type ?? "")).toBe(false)

      const ticket = yield* Job.request(slow, { seconds: 3000 })
      yield* emulator.faults.inject(Faults.mapBody((json) => ({ ...asRecord(json), status: "paused", "queue-position": 3 }), {
        match: { method: "GET", path: `/1/services2/${slow}/jobs/${ticket.job}` },
        times: 10
      }))
      const job = yield* Job.get(slow, ticket.job)
      expect(job.status).toBe("unknown")
      expect(job.rawStatus).toBe("paused")
      // an unknown status is not a finished one: the wait goes on until its schedule ends
      const e = yield* expectFailure(Job.wait(slow, ticket.job, { schedule: Schedule.recurs(1) }), "JobNotFinished")
      expect(e.status).toBe("paused")

      yield* emulator.faults.inject(Faults.mapBody((json) => ({
        ...asRecord(json),
        account: SeedData.account,
        policy: SeedData.defaultPolicy,
        replaces: "urn:ivcap:aspect:00000000-0000-0000-0000-000000000001",
        "something-new": []
      }), { match: { method: "GET", path: `/1/aspects/${SeedData.echo.toolAspectId}` } }))
      const aspect = yield* Aspect.get(SeedData.echo.toolAspectId)
      expect(aspect.account).toBe(SeedData.account)
      expect(aspect.policy).toBe(SeedData.defaultPolicy)
      expect(aspect.replaces).toBe("urn:ivcap:aspect:00000000-0000-0000-0000-000000000001")
    }).pipe(TestServices.provideLive))

  it.effect("an explicit apiVersion is used as given: no probe", () =>
    Effect.gen(function*() {
      yield* fresh
      const result = yield* sameProgram.pipe(withClient({ apiVersion: "v0.41" }))
      expect(result).toEqual({ ...expected, version: "v0.41" })
      expect(yield* requestCount({ path: "/1/services2" })).toBe(0)
    }).pipe(TestServices.provideLive))
})
