import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Aspect, IvcapClient, Order, Service } from "@ivcap/core"
import { Emulator, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import * as Tracer from "effect/Tracer"
import { assertNoToken, expectFailure, fastRetry, fresh, layerSuite, requestCount, suiteToken, withClient } from "./utils/suite.js"

const hello = SeedData.helloWorld.id
const configFrom = (entries: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))
const serverUrl = Effect.map(EmulatorServer.EmulatorServer, (s) => s.url)

/** A user's own HttpClient layer: records every request it sends, then sends it with undici. */
const recordingHttpClient = (sent: Array<{ readonly method: string; readonly url: string; readonly authorized: boolean }>) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (undici) =>
      HttpClient.make((request) => {
        sent.push({ method: request.method, url: request.url, authorized: request.headers["authorization"] !== undefined })
        return undici.execute(request)
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))

/** A tracer that keeps the name and attributes of every span. */
const recordingTracer = (spans: Array<{ readonly name: string; readonly attributes: Map<string, unknown> }>) =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      spans.push({ name, attributes })
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: "trace-1",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: () => {},
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

layer(layerSuite())("IvcapClient", (it) => {
  it.effect("layerConfig reads IVCAP_URL and IVCAP_JWT from the ConfigProvider", () =>
    Effect.gen(function*() {
      const url = yield* serverUrl
      const s = yield* Service.get(hello).pipe(
        Effect.provide(IvcapClient.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))),
        configFrom({ IVCAP_URL: url, IVCAP_JWT: suiteToken, IVCAP_ACCOUNT_ID: SeedData.account })
      )
      expect(s.id).toBe(hello)
      const accountId = yield* Effect.map(IvcapClient.IvcapClient, (c) => c.accountId).pipe(
        Effect.provide(IvcapClient.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))),
        configFrom({ IVCAP_URL: url, IVCAP_JWT: suiteToken, IVCAP_ACCOUNT_ID: SeedData.account })
      )
      expect(accountId).toEqual(Option.some(SeedData.account))
    }))

  it.effect("a missing IVCAP_JWT or IVCAP_URL, or a bad URL, is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const url = yield* serverUrl
      const build = (entries: Record<string, string>) =>
        Effect.flip(Layer.build(IvcapClient.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))).pipe(Effect.scoped, configFrom(entries)))
      const noToken = yield* build({ IVCAP_URL: url })
      expect(noToken._tag).toBe("ConfigError")
      expect(String(noToken)).toContain("IVCAP_JWT")
      expect(String(yield* build({ IVCAP_JWT: suiteToken }))).toContain("IVCAP_URL")
      const bad = yield* build({ IVCAP_URL: "ftp://example", IVCAP_JWT: suiteToken })
      expect(String(bad)).toContain("http")
      assertNoToken(bad)
    }))

  it.effect("users provide their own layers: a recording HttpClient under the IvcapClient", () =>
    Effect.gen(function*() {
      yield* fresh
      const url = yield* serverUrl
      const sent: Array<{ method: string; url: string; authorized: boolean }> = []
      // the API version given, so that no version probe joins the two requests recorded
      const own = IvcapClient.layer({ url, token: suiteToken, apiVersion: "v0.44" }).pipe(Layer.provide(recordingHttpClient(sent)))
      const order = yield* Order.place(hello, { msg: "via my layer" }).pipe(Effect.provide(own))
      expect(order.service).toBe(hello)
      expect(sent.map((r) => r.method)).toEqual(["GET", "POST"])
      expect(sent.every((r) => r.url.startsWith(url) && r.authorized)).toBe(true)
      expect(yield* requestCount()).toBe(2)
    }))

  it.effect("a wrong token is Unauthorized (401), not retried, and the token is in no error", () =>
    Effect.gen(function*() {
      yield* fresh
      const wrong = "tok-wrong-0b5d"
      const e = yield* withClient({ token: wrong })(expectFailure(Service.get(hello), "Unauthorized"))
      expect(e.message).toContain("401")
      expect(e.message).toContain("IVCAP_JWT")
      expect(JSON.stringify(e)).not.toContain(wrong)
      yield* withClient({ token: wrong })(expectFailure(Stream.runDrain(Aspect.list()), "Unauthorized"))
      yield* withClient({ token: wrong })(expectFailure(Aspect.add("urn:x:y", { a: 1 }, { schema: "urn:x:s" }), "Unauthorized"))
      // three requests, each refused (the emulator counts refused requests instead of logging them)
      expect(yield* requestCount()).toBe(0)
      expect(yield* Effect.flatMap(Emulator.Emulator, (e) => e.requests.rejected)).toMatchObject({ total: 3, withOtherToken: 3 })
    }))

  it.scoped("the token goes to the configured origin only", () =>
    Effect.gen(function*() {
      const other = yield* Effect.acquireRelease(
        Effect.promise(() => EmulatorServer.start({ host: "127.0.0.1", port: 0, token: suiteToken })),
        (s) => Effect.promise(() => s.close())
      )
      const client = yield* IvcapClient.IvcapClient
      const own = yield* client.httpClient.get("/1/services?limit=1")
      expect(own.status).toBe(200)
      const foreign = yield* client.httpClient.get(`${other.url}/1/services?limit=1`)
      expect(foreign.status).toBe(401)
      // refused for want of the token (a request without the right token is counted, not logged)
      expect(yield* other.emulator.requests.rejected).toMatchObject({ total: 1, withoutToken: 1 })
      expect(yield* other.emulator.requests.count()).toBe(0)
    }))

  it.effect("a refused connection is a TransportError (retried), with no token in it", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.promise(() => EmulatorServer.start({ host: "127.0.0.1", port: 0, token: suiteToken }))
      yield* Effect.promise(() => closed.close())
      const sent: Array<{ method: string; url: string; authorized: boolean }> = []
      const client = IvcapClient.layer({ url: closed.url, token: suiteToken, retry: fastRetry }).pipe(Layer.provide(recordingHttpClient(sent)))
      const e = yield* expectFailure(Service.get(hello).pipe(Effect.provide(client)), "TransportError")
      expect(e.message).toContain(closed.url)
      // one attempt and fastRetry's 4 retries
      expect(sent.length).toBe(5)
      expect(sent.every((r) => r.authorized)).toBe(true)
    }).pipe(TestServices.provideLive))

  it.effect("no trace headers unless switched on", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* Service.get(hello)
      yield* withClient({ tracerPropagation: true })(Service.get(hello))
      const [plain, traced] = (yield* emulator.requests.log).filter((r) => decodeURIComponent(r.url).includes(hello))
      expect(plain!.headers["traceparent"]).toBeUndefined()
      expect(plain!.headers["b3"]).toBeUndefined()
      expect(traced!.headers["traceparent"] ?? traced!.headers["b3"]).toBeDefined()
    }))

  it.effect("every operation has a span named after it, with ids as attributes and never the token", () =>
    Effect.gen(function*() {
      yield* fresh
      const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
      const order = yield* Order.place(hello, { msg: "spans" }).pipe(Effect.withTracer(recordingTracer(spans)))
      yield* Order.addMetadata(order.id, { $schema: "urn:example:schema:s.1" }).pipe(Effect.withTracer(recordingTracer(spans)))
      const names = spans.map((s) => s.name)
      expect(names).toContain("ivcap.Order.place")
      expect(names).toContain("ivcap.Service.get")
      expect(names).toContain("ivcap.Order.addMetadata")
      expect(names).toContain("ivcap.Aspect.add")
      const place = spans.find((s) => s.name === "ivcap.Order.place")!
      expect(place.attributes.get("ivcap.service")).toBe(hello)
      expect(place.attributes.get("ivcap.id")).toBe(order.id)
      for (const s of spans) for (const v of s.attributes.values()) expect(String(v)).not.toContain(suiteToken)
    }))
})
