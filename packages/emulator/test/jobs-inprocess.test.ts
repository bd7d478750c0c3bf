/**
 * Jobs through the in-process `EmulatorHttpClient` (no socket): a held job request released by the clock, job events
 * streamed as they happen, a cut event stream, and jobs surviving a restart from the journal.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it as plain, layer } from "@effect/vitest"
import { BlobStore, Emulator, EmulatorHttpClient, Faults, SeedData } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Journal, JournalEvent } from "../src/internal/state.js"

/** Real time (the tests run under TestClock). */
const realSleep = (millis: number) => Effect.promise(() => new Promise((r) => setTimeout(r, millis)))

const client = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  return (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest((r) =>
      r.pipe(HttpClientRequest.prependUrl(EmulatorHttpClient.baseUrl), HttpClientRequest.bearerToken(emulator.token))
    )
  )
})

const requestJob = (service: string, body: unknown, timeout: number) =>
  Effect.gen(function*() {
    const http = yield* client
    const res = yield* http.execute(
      HttpClientRequest.post(`/1/services2/${service}/jobs`).pipe(
        HttpClientRequest.setHeader("timeout", String(timeout)),
        HttpClientRequest.bodyUnsafeJson(body)
      )
    )
    return { status: res.status, headers: res.headers, body: (yield* res.json) as Record<string, unknown> }
  })

/** The `id:`s of the SSE events in a text. */
const ids = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1])

const eventsPath = (location: unknown) => `${new URL(String(location)).pathname}/events`

layer(Layer.provideMerge(EmulatorHttpClient.layer, Emulator.layer()))("jobs in-process", (it) => {
  describe("without a socket", () => {
    it.effect("a held job request is released by clock.advance", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        const held = yield* Effect.fork(requestJob(SeedData.slow.id, { seconds: 600 }, 3600))
        for (let i = 0; i < 100 && (yield* emulator.requests.active) === 0; i++) yield* realSleep(10)
        yield* emulator.clock.advance("601 seconds")
        const r = yield* Fiber.join(held)
        expect(r.status).toBe(200)
        expect(r.body).toEqual({ message: "done", slept: 600 })
      }))

    it.effect("job events stream as they happen and the stream ends with the job", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        const http = yield* client
        const job = yield* requestJob(SeedData.slow.id, { seconds: 2 }, 0)
        const res = yield* http.get(eventsPath(job.body["location"]))
        expect(res.status).toBe(200)
        const texts: Array<string> = []
        const reading = yield* Effect.fork(
          res.stream.pipe(Stream.decodeText(), Stream.runForEach((t) => Effect.sync(() => texts.push(t))))
        )
        yield* emulator.clock.advance("250 millis")
        for (let i = 0; i < 100 && ids(texts.join("")).length < 3; i++) yield* realSleep(10)
        expect(ids(texts.join("")).slice(0, 3)).toEqual(["1", "2", "3"])
        yield* emulator.clock.advance("3 seconds")
        yield* Fiber.join(reading)
        expect(ids(texts.join(""))).toEqual(["1", "2", "3", "4", "5"])
      }))

    it.effect("a CutEvents fault breaks the body stream after n events", () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        const http = yield* client
        const job = yield* requestJob(SeedData.echo.id, { message: "x" }, 0)
        yield* emulator.clock.advance("1 second")
        yield* emulator.faults.inject(Faults.cutEvents(2, { match: { path: /\/events$/ } }))
        const texts: Array<string> = []
        const res = yield* http.get(eventsPath(job.body["location"]))
        const read = yield* Effect.either(
          res.stream.pipe(Stream.decodeText(), Stream.runForEach((t) => Effect.sync(() => texts.push(t))))
        )
        expect(Either.isLeft(read)).toBe(true)
        expect(ids(texts.join(""))).toEqual(["1", "2"])
        const rest = yield* http.get(eventsPath(job.body["location"]), { headers: { "last-event-id": "2" } })
        expect(ids(yield* rest.text)).toEqual(["3", "4"])
      }))
  })
})

plain.effect("jobs, their job.2 aspects and products survive a restart from the journal", () =>
  Effect.gen(function*() {
    const events: Array<JournalEvent> = []
    const journal: Journal = {
      load: () => events.map((e) => JSON.parse(JSON.stringify(e)) as JournalEvent),
      // JSONL lines, one event each
      append: (lines) => void events.push(...lines.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as JournalEvent)),
      clear: () => void events.splice(0)
    }
    const blobStore = BlobStore.memory()
    const first = yield* Emulator.make({ journal, blobStore })
    const run = (emulator: Emulator.EmulatorService, effect: Effect.Effect<unknown, unknown, HttpClient.HttpClient | Emulator.Emulator>) =>
      effect.pipe(Effect.provide(EmulatorHttpClient.layer), Effect.provideService(Emulator.Emulator, emulator))
    const created = (yield* run(first, requestJob(SeedData.report.id, { title: "Kept" }, 0))) as { body: Record<string, unknown> }
    yield* first.clock.advance("2 seconds")
    const location = new URL(String(created.body["location"])).pathname
    const before = yield* run(first, Effect.flatMap(client, (http) => Effect.flatMap(http.get(location), (r) => r.json)))
    const second = yield* Emulator.make({ journal, blobStore })
    const after = yield* run(second, Effect.flatMap(client, (http) => Effect.flatMap(http.get(location), (r) => r.json)))
    expect(after).toEqual(before)
    expect((after as { status: string }).status).toBe("succeeded")
    const state = second.internal.state
    const job = state.jobs.find((j) => j.id === created.body["job-id"])!
    expect(state.aspects.filter((a) => a.entity === job.id && a.schema === "urn:ivcap:schema:job.2" && a.validTo === undefined)).toHaveLength(1)
    expect(state.artifactsById.get(job.productId!)?.completedAt).toBeDefined()
  }))
