/**
 * Jobs against a scripted server that misbehaves (127.0.0.1): event responses that end at once (with `retry: 0`,
 * with one event each, with a `retry:` of years), an event stream answered as JSON, a `retry-later` of years.
 * Each test counts the requests the server saw within a bounded time.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { IvcapClient, Job } from "@ivcap/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import type * as http from "node:http"
import { scriptedServer } from "./utils/upload.js"

const service = "urn:ivcap:service:00000000-0000-4000-8000-0000000000aa"
const job = "urn:ivcap:job:00000000-0000-4000-8000-0000000000bb"

const jobRecord = JSON.stringify({
  id: job,
  status: "executing",
  "requested-at": "2026-12-02T10:00:00Z",
  service,
  account: "urn:ivcap:account:00000000-0000-4000-8000-0000000000cc",
  policy: "urn:ivcap:policy:ivcap.open.artifact",
  links: []
})

/**
 * A server whose job reads say "executing" and whose event responses are `events(n)` (the n-th, from 0); other
 * requests as `other` answers them.
 */
const jobServer = (
  events: (n: number, res: http.ServerResponse) => void,
  other?: (method: string, res: http.ServerResponse) => void
) =>
  Effect.gen(function*() {
    let connections = 0
    const server = yield* scriptedServer((request, _i, res) => {
      if (request.url.includes("/events")) return events(connections++, res)
      if (other !== undefined) return other(request.method, res)
      res.writeHead(200, { "content-type": "application/json" }).end(jobRecord)
    })
    const client = IvcapClient.layer({ url: server.url, token: "t", apiVersion: "v0.44", retry: false, timeout: "5 seconds" }).pipe(
      Layer.provide(NodeHttpClient.layerUndici)
    )
    return { client, connections: () => connections, seen: server.seen }
  })

const sse = (res: http.ServerResponse, body: string) => res.writeHead(200, { "content-type": "text/event-stream" }).end(body)

const event = (n: number) => `id: ${n}\ndata: ${JSON.stringify({ SeqID: String(n), type: "tick", data: { n } })}\n\n`

/** Runs the job's events for `millis` of real time; the events delivered. */
const eventsFor = <E>(client: Layer.Layer<IvcapClient.IvcapClient, E>, millis: number) =>
  Job.events(service, job).pipe(
    Stream.interruptWhen(Effect.sleep(Duration.millis(millis))),
    Stream.runCollect,
    Effect.map((chunk) => [...chunk]),
    Effect.provide(client)
  )

layer(Layer.empty)("Job against a hostile server", (it) => {
  it.effect("event responses that end at once with retry: 0 and nothing in them back off (no tight loop)", () =>
    Effect.gen(function*() {
      const server = yield* jobServer((_n, res) => sse(res, "retry: 0\n\n"))
      const events = yield* eventsFor(server.client, 2500)
      expect(events).toEqual([])
      // 1 s, then 2 s: the third connection would be at 3 s
      expect(server.connections()).toBeGreaterThanOrEqual(2)
      expect(server.connections()).toBeLessThanOrEqual(3)
    }).pipe(TestServices.provideLive, Effect.scoped))

  it.effect("responses of one event each, ended at once, reconnect once per reconnection time, each event once", () =>
    Effect.gen(function*() {
      const server = yield* jobServer((n, res) => sse(res, event(n)))
      const events = yield* eventsFor(server.client, 2500)
      expect(server.connections()).toBeGreaterThanOrEqual(2)
      expect(server.connections()).toBeLessThanOrEqual(4)
      expect(events.map((e) => e.seqId)).toEqual(Array.from({ length: events.length }, (_, i) => String(i)))
      expect(events.length).toBeGreaterThanOrEqual(server.connections() - 1)
    }).pipe(TestServices.provideLive, Effect.scoped))

  it.effect("a retry: of years is bounded to 30 s", () =>
    Effect.gen(function*() {
      const server = yield* jobServer((_n, res) => sse(res, "retry: 99999999999\n\n"))
      const fiber = yield* Effect.fork(Job.events(service, job).pipe(Stream.runDrain, Effect.provide(server.client)))
      // the first connection and the job read, in real time
      for (let i = 0; i < 200 && server.seen.length < 2; i++) yield* TestServices.provideLive(Effect.sleep("10 millis"))
      expect(server.connections()).toBe(1)
      yield* TestClock.adjust("29 seconds")
      yield* TestServices.provideLive(Effect.sleep("200 millis"))
      expect(server.connections()).toBe(1)
      yield* TestClock.adjust("1 second")
      for (let i = 0; i < 200 && server.connections() < 2; i++) yield* TestServices.provideLive(Effect.sleep("10 millis"))
      expect(server.connections()).toBe(2)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.scoped))

  it.effect("an event stream answered as JSON is a DecodeError naming the content type (not an endless empty stream)", () =>
    Effect.gen(function*() {
      const server = yield* jobServer((_n, res) => void res.writeHead(200, { "content-type": "application/json" }).end("{}"))
      const error = yield* Effect.flip(Job.events(service, job).pipe(Stream.runDrain, Effect.provide(server.client)))
      expect(error._tag).toBe("DecodeError")
      expect(error.message).toContain("application/json")
      expect(server.connections()).toBe(1)
    }).pipe(TestServices.provideLive, Effect.scoped))

  it.effect("a 202's retry-later of years is capped at the client's maxRetryAfter (default 60 s)", () =>
    Effect.gen(function*() {
      const server = yield* jobServer(() => undefined, (_method, res) =>
        void res.writeHead(202, { "content-type": "application/json" }).end(
          JSON.stringify({ "job-id": job, location: `/1/services2/${service}/jobs/${job}`, "retry-later": 1e12 })
        ))
      const ticket = yield* Job.request(service, { x: 1 }, { schema: false }).pipe(Effect.provide(server.client))
      expect(ticket._tag).toBe("Accepted")
      if (ticket._tag !== "Accepted") return
      expect(Duration.toSeconds(ticket.retryLater)).toBe(60)
    }).pipe(TestServices.provideLive, Effect.scoped))
})
