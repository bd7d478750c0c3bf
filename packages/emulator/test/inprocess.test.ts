import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, layer } from "@effect/vitest"
import { Emulator, EmulatorHttpClient, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { settledActive } from "./helpers.js"

const client = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  return (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest((r) =>
      r.pipe(HttpClientRequest.prependUrl(EmulatorHttpClient.baseUrl), HttpClientRequest.bearerToken(emulator.token))
    )
  )
})

layer(Layer.provideMerge(EmulatorHttpClient.layer, Emulator.layer()))("in-process HttpClient", (it) => {
  describe("requests without a socket", () => {
    it.effect("lists services with links on the emulator base URL", () =>
      Effect.gen(function*() {
        const http = yield* client
        const res = yield* http.get("/1/services", { urlParams: { limit: "5" } })
        expect(res.status).toBe(200)
        expect(res.headers["content-type"]).toBe("application/json")
        const body = (yield* res.json) as { items: Array<{ href: string }>; links: Array<{ rel: string; href: string }> }
        expect(body.items).toHaveLength(5)
        expect(body.items[0]!.href.startsWith(`${EmulatorHttpClient.baseUrl}/1/services/`)).toBe(true)
        expect(body.links.find((l) => l.rel === "next")!.href).toMatch(/^http:\/\/ivcap\.emulator\.local\/1\/services\?page=/)
      }))

    it.effect("streams an upload body in and a download out", () =>
      Effect.gen(function*() {
        const http = yield* client
        const emulator = yield* Emulator.Emulator
        yield* emulator.reset
        const created = yield* http.post("/1/artifacts", {
          headers: { "x-content-type": "application/octet-stream", "x-content-length": "300000" }
        })
        const record = (yield* created.json) as { "data-href": string; id: string }
        const bytes = new Uint8Array(300_000).map((_, i) => i % 251)
        const chunks = Stream.fromIterable([bytes.subarray(0, 100_000), bytes.subarray(100_000)])
        const patched = yield* http.execute(
          HttpClientRequest.patch(record["data-href"].slice(EmulatorHttpClient.baseUrl.length)).pipe(
            HttpClientRequest.setHeaders({ "upload-offset": "0", "tus-resumable": "1.0.0" }),
            HttpClientRequest.setBody(HttpBody.stream(chunks, "application/offset+octet-stream", 300_000))
          )
        )
        expect(patched.status).toBe(204)
        expect(patched.headers["upload-offset"]).toBe("300000")
        const down = yield* http.get(record["data-href"].slice(EmulatorHttpClient.baseUrl.length))
        const got = Chunk.toReadonlyArray(yield* Stream.runCollect(down.stream))
        const total = got.reduce((n, c) => n + c.length, 0)
        expect(total).toBe(300_000)
        expect(Buffer.concat(got.map((c) => Buffer.from(c))).equals(Buffer.from(bytes))).toBe(true)
        expect(down.headers["content-length"]).toBe("300000")
      }))

    it.effect("a cut request surfaces as RequestError Transport; a tus PATCH keeps the bytes read", () =>
      Effect.gen(function*() {
        const http = yield* client
        const emulator = yield* Emulator.Emulator
        const created = yield* http.post("/1/artifacts", { headers: { "x-content-length": "10" } })
        const dataPath = ((yield* created.json) as { "data-href": string })["data-href"].slice(
          EmulatorHttpClient.baseUrl.length
        )
        yield* emulator.faults.inject(Faults.cutRequestBody(4, { match: { method: "PATCH" } }))
        const err = yield* http.execute(
          HttpClientRequest.patch(dataPath).pipe(
            HttpClientRequest.setHeaders({ "upload-offset": "0" }),
            HttpClientRequest.bodyUint8Array(new TextEncoder().encode("0123456789"), "application/offset+octet-stream")
          )
        ).pipe(Effect.flip)
        expect(err._tag).toBe("RequestError")
        expect(err._tag === "RequestError" && err.reason).toBe("Transport")
        const head = yield* http.head(dataPath)
        expect(head.headers["upload-offset"]).toBe("4")
      }))

    it.effect("a stalled request is released when the caller gives up", () =>
      Effect.gen(function*() {
        const http = yield* client
        const emulator = yield* Emulator.Emulator
        yield* emulator.faults.inject(Faults.stall({ match: { path: "/1/orders" } }))
        // give up after 100 ms of real time (the suite runs under TestClock)
        const giveUp = Effect.async<string>((resume) => {
          const t = setTimeout(() => resume(Effect.succeed("gave up")), 100)
          return Effect.sync(() => clearTimeout(t))
        })
        const outcome = yield* Effect.raceFirst(Effect.as(http.get("/1/orders"), "answered"), giveUp)
        expect(outcome).toBe("gave up")
        expect(yield* settledActive).toBe(0)
        expect((yield* http.get("/1/orders")).status).toBe(200)
      }))

    it.effect("a cut response fails the body stream mid-way; MapBody rewrites JSON", () =>
      Effect.gen(function*() {
        const http = yield* client
        const emulator = yield* Emulator.Emulator
        yield* emulator.faults.inject(Faults.cutResponse(20, { match: { path: "/1/services" } }))
        const res = yield* http.get("/1/services")
        expect(res.status).toBe(200)
        const failed = yield* res.text.pipe(Effect.flip)
        expect(failed._tag).toBe("ResponseError")
        yield* emulator.faults.inject(Faults.mapBody(() => ({ items: "nope" }), { match: { path: "/1/services/" } }))
        const mapped = yield* http.get(`/1/services/${SeedData.helloWorld.id}`)
        expect(yield* mapped.json).toEqual({ items: "nope" })
        // a function that throws (or returns what JSON cannot hold) is a 500 saying so, not a request left hanging
        const cyclic: Record<string, unknown> = {}
        cyclic["self"] = cyclic
        yield* emulator.faults.inject(Faults.mapBody(() => cyclic, { match: { path: "/1/services/" } }))
        const broken = yield* http.get(`/1/services/${SeedData.helloWorld.id}`).pipe(Effect.timeout("5 seconds"))
        expect(broken.status).toBe(500)
        expect(((yield* broken.json) as { message: string }).message).toMatch(/MapBody fault's function failed/)
      }))
  })
})
