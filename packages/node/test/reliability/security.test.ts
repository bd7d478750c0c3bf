/**
 * Security: the bearer token goes to the configured origin only — a `data-href` or `next` link naming another host
 * (a second local server that records everything it receives) is followed on the configured deployment instead, and
 * an explicit URL on another host gets the request without the token; ids are path-escaped (an id cannot reach
 * another route: it is rejected before any request or sent as one percent-encoded segment, as the emulator's request
 * log shows); query and header values cannot inject parameters or headers; and the token — like a secret value, set,
 * read and listed also against a server echoing it in errors — appears in no error, log line or span of the whole
 * file. Figures go to `build/reliability/security.json`.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { expect, layer } from "@effect/vitest"
import { Artifact, Aspect, Download, IvcapClient, Order, Secret, Service, Upload, UploadSource } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as H from "./harness.js"

/** A request as the foreign server received it. */
interface Received {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A second server on 127.0.0.1, the "other host" of rewritten links: answers 404 to everything and records it all. */
class Foreign extends Context.Tag("reliability/Foreign")<Foreign, { readonly url: string; readonly received: Array<Received> }>() {}

const foreignLayer = Layer.scoped(
  Foreign,
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly received: Array<Received>; readonly server: http.Server }>((resume) => {
      const received: Array<Received> = []
      const server = http.createServer((req, res) => {
        const parts: Array<Buffer> = []
        req.on("data", (b: Buffer) => parts.push(b))
        req.on("end", () => {
          received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(parts).toString("latin1") })
          res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ id: req.url, message: "foreign host" }))
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
)

const figures: Record<string, unknown> = {}

/** A secret value as distinctive as the token: any leak of it is found by a plain substring search. */
const secretValue = "rel-SECRET-VALUE-41a7c0e2-do-not-leak"

const KiB = 1024
const uploadOptions = { chunkSize: 256 * KiB, retry: H.quickResume }
const blob = /\/blob$/
const inject = (rule: Faults.FaultRule) => Effect.flatMap(Emulator.Emulator, (e) => e.faults.inject(rule))

/** A fault rewriting every link of matching JSON responses from the emulator's origin to the foreign host's. */
const linksToForeign = (match: Faults.FaultMatch, times = 100) =>
  Effect.gen(function*() {
    const server = yield* H.serverUrl
    const { url } = yield* Foreign
    yield* inject(Faults.mapBody((json) => JSON.parse(JSON.stringify(json).split(server).join(url)), { match, times }))
  })

/** The logged requests with a method and a path matching (pathname as sent, percent-encoding kept). */
const logged = (method: string, pathPattern: RegExp) =>
  Effect.map(H.requestLog, (log) => log.filter((r) => r.method === method && pathPattern.test(new URL(r.url).pathname)))

/** Every request the foreign host received so far went without the token; returns how many it received. */
const foreignReceived = Effect.map(Foreign, ({ received }) => {
  for (const r of received) {
    expect(r.headers["authorization"]).toBeUndefined()
    expect(JSON.stringify(r)).not.toContain(H.token)
  }
  return received.length
})

/** The emulator got the content requests of this test, each with the token. */
const expectAuthorizedContentRequests = Effect.gen(function*() {
  const requests = [...(yield* logged("PATCH", blob)), ...(yield* logged("HEAD", blob)), ...(yield* logged("GET", blob))]
  expect(requests.length).toBeGreaterThan(0)
  for (const r of requests) expect(r.auth).toBe("token")
  return requests.length
})

/** Uploads `size` bytes (no fault) and returns the record and the bytes. */
const uploaded = (size: number, seed: number) =>
  Effect.gen(function*() {
    const bytes = H.randomBytes(size, seed)
    const record = yield* Upload.upload(UploadSource.fromBytes(bytes, { name: "secret.bin" }), uploadOptions)
    return { bytes, record }
  })

// ---------------------------------------------------------------------------------------------------------------
// path escaping

/** Ids built to reach another route, and ids with every character a URN id may hold. */
const hostileIds = (kind: string): ReadonlyArray<string> => [
  "../x",
  "%2e%2e",
  `urn:ivcap:${kind}:../../1/services`,
  `urn:ivcap:${kind}:..%2f..%2f1%2fservices`,
  `urn:ivcap:${kind}:x?limit=1`,
  `urn:ivcap:${kind}:x#frag`,
  `urn:ivcap:${kind}:x/../../services`,
  `urn:ivcap:${kind}:a\\b`,
  `urn:ivcap:${kind}:a..`,
  `urn:ivcap:${kind}:x;y=z`,
  `urn:ivcap:${kind}:a&b=c+d`,
  `urn:ivcap:${kind}:it's(1)*!`,
  `urn:ivcap:${kind}:a:b@c$d,e`,
  `urn:ivcap:${kind}:~x_y-z.`
]

/** Id-taking operations with the method and route prefix of the request their id goes into. */
const routes: ReadonlyArray<readonly [string, string, string, string, (id: string) => Effect.Effect<unknown, unknown, IvcapClient.IvcapClient>]> = [
  ["Service.get", "service", "GET", "/1/services2/", Service.get],
  ["Order.get", "order", "GET", "/1/orders/", Order.get],
  ["Order.products", "order", "GET", "/1/orders/", (id) => Stream.runDrain(Order.products(id))],
  ["Artifact.get", "artifact", "GET", "/1/artifacts/", Artifact.get],
  ["Download.stream", "artifact", "GET", "/1/artifacts/", (id) => Stream.runDrain(Download.stream(id))],
  ["Upload.resume", "artifact", "GET", "/1/artifacts/", (id) => Upload.resume(id, UploadSource.fromBytes(new Uint8Array(8)))],
  ["Aspect.get", "aspect", "GET", "/1/aspects/", Aspect.get],
  ["Aspect.retract", "aspect", "DELETE", "/1/aspects/", Aspect.retract]
]

// ---------------------------------------------------------------------------------------------------------------

layer(Layer.merge(H.layer(), foreignLayer))("security", (it) => {
  it.effect("upload: a data-href on another host — the bytes and the token go to the configured deployment, the other host gets nothing", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      yield* linksToForeign({ method: "POST", path: "/1/artifacts" })
      yield* linksToForeign({ method: "GET", path: /^\/1\/artifacts\/[^/]+$/ })
      const bytes = H.randomBytes(600 * KiB, 21)
      const artifact = yield* Upload.upload(UploadSource.fromBytes(bytes), uploadOptions)
      const { url } = yield* Foreign
      expect(artifact.dataHref?.startsWith(url)).toBe(true)
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.faults.reset)
      expect(H.sha256(yield* H.storedContent((yield* Artifact.get(artifact.id)).dataHref))).toBe(H.sha256(bytes))
      figures["upload: content requests to the configured host, with token"] = yield* expectAuthorizedContentRequests
      expect(yield* foreignReceived).toBe(0)
    })))

  it.effect("upload resumed by id: the record's data-href names another host — resumed on the configured one", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const bytes = H.randomBytes(300 * KiB, 22)
      const created = yield* Upload.create({ size: bytes.length })
      yield* linksToForeign({ method: "GET", path: /^\/1\/artifacts\/[^/]+$/ })
      yield* Upload.resume(created.id, UploadSource.fromBytes(bytes), uploadOptions)
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.faults.reset)
      expect(H.sha256(yield* H.storedContent(created.dataHref))).toBe(H.sha256(bytes))
      figures["resume: content requests to the configured host, with token"] = yield* expectAuthorizedContentRequests
      expect(yield* foreignReceived).toBe(0)
    })))

  it.effect("downloads: the record's data-href names another host — Download.stream and downloadToFile read the configured one", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const { bytes, record } = yield* uploaded(500 * KiB, 23)
      yield* H.forget
      yield* linksToForeign({ method: "GET", path: /^\/1\/artifacts\/[^/]+$/ })
      const streamed = yield* Stream.runCollect(Download.stream(record.id))
      expect(H.sha256(Chunk.toReadonlyArray(streamed))).toBe(H.sha256(bytes))
      const dir = yield* H.tempDir
      const file = yield* NodeTransfer.downloadToFile(record.id, path.join(dir, "out.bin"), { computeSha256: true })
      expect(file.sha256).toEqual(Option.some(H.sha256(bytes)))
      expect(file.artifact.dataHref?.startsWith((yield* Foreign).url)).toBe(true)
      figures["download: content requests to the configured host, with token"] = yield* expectAuthorizedContentRequests
      expect(yield* foreignReceived).toBe(0)
    })))

  it.effect("listing: a next link on another host — the cursor is followed on the configured deployment", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const clean = Chunk.toReadonlyArray(yield* Stream.runCollect(Service.list({ pageSize: 20 }))).map((s) => s.id)
      yield* linksToForeign({ method: "GET", path: /^\/1\/services2$/ })
      const ids = Chunk.toReadonlyArray(yield* Stream.runCollect(Service.list({ pageSize: 20 }))).map((s) => s.id)
      expect(ids).toEqual(clean)
      expect(ids.length).toBe(SeedData.services2Count)
      expect(yield* foreignReceived).toBe(0)
    })))

  it.effect("an explicit URL on another host gets the request, never the token (Upload.resumeAt, IvcapClient.httpClient)", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const { received, url } = yield* Foreign
      const before = received.length
      const exit = yield* H.exitOf(Upload.resumeAt(`${url}/1/artifacts/x/blob`, UploadSource.fromBytes(new Uint8Array(64)), uploadOptions))
      expect(H.outcomeOf(exit)).toBe("ResourceNotFound")
      const client = yield* IvcapClient.IvcapClient
      const response = yield* client.httpClient.execute(HttpClientRequest.get(`${url}/1/services`))
      expect(response.status).toBe(404)
      const own = yield* client.httpClient.execute(HttpClientRequest.get("/1/services?limit=1"))
      expect(own.status).toBe(200)
      expect(received.length - before).toBe(2)
      expect(yield* foreignReceived).toBe(received.length)
      // The same client did send the token to its own origin.
      const [ownRequest] = yield* logged("GET", /^\/1\/services$/)
      expect(ownRequest?.auth).toBe("token")
      figures["explicit foreign URLs: requests received there, none with a token"] = received.length - before
    })))

  it.effect("ids are path-escaped: rejected before any request, or sent as one percent-encoded segment of the right route", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      let rejected = 0
      let escaped = 0
      for (const [operation, kind, method, prefix, run] of routes) {
        for (const id of hostileIds(kind)) {
          yield* H.forget
          const exit = yield* H.exitOf(run(id))
          const outcome = H.outcomeOf(exit)
          const log = yield* H.requestLog
          const label = `${operation}(${JSON.stringify(id)}) → ${outcome}`
          if (outcome === "InvalidArgument") {
            expect(log, label).toEqual([])
            rejected++
            continue
          }
          // Accepted ids reach exactly the route they belong to, as one segment, and are not found there.
          expect(outcome, label).toBe("ResourceNotFound")
          expect(log.length, label).toBe(1)
          const sent = new URL(log[0]!.url)
          expect(log[0]!.method, label).toBe(method)
          expect(sent.pathname, label).toBe(`${prefix}${encodeURIComponent(id)}`)
          expect(sent.search, label).toBe("")
          expect(decodeURIComponent(sent.pathname.slice(prefix.length)), label).toBe(id)
          escaped++
        }
      }
      figures["hostile ids rejected before any request"] = rejected
      figures["hostile ids sent as one encoded segment"] = escaped
      // Both branches ran: the path tricks are rejected, the merely unusual ids are escaped.
      expect(rejected).toBeGreaterThanOrEqual(routes.length * 8)
      expect(escaped).toBeGreaterThanOrEqual(routes.length * 5)
    })))

  it.effect("query values cannot add parameters; header values cannot add headers", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const entity = "urn:reliability:a&schema=urn:evil:x&policy=urn:ivcap:policy:evil"
      const schema = "urn:reliability:schema:q.1"
      yield* Aspect.add(entity, { $schema: schema, n: 1 })
      const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(Aspect.list({ entity, schema: `${schema}&include-content=false` })))
      expect(listed).toEqual([])
      const [post] = yield* logged("POST", /^\/1\/aspects$/)
      const params = new URL(post!.url).searchParams
      expect([...params.keys()].sort()).toEqual(["entity", "schema"])
      expect(params.get("entity")).toBe(entity)
      expect(params.get("schema")).toBe(schema)
      const [list] = yield* logged("GET", /^\/1\/aspects$/)
      expect(new URL(list!.url).searchParams.getAll("schema")).toEqual([`${schema}&include-content=false`])

      // A name with a line break travels base64-encoded in X-Name; a content type with one never leaves the client.
      const name = "report\r\nX-Evil: 1.txt"
      const artifact = yield* Upload.upload(UploadSource.fromBytes(new Uint8Array(10)), { name, ...uploadOptions })
      expect(artifact.name).toBe(name)
      const [create] = yield* logged("POST", /^\/1\/artifacts$/)
      expect(create!.headers["x-name"]).toBe(Encoding.encodeBase64(name))
      expect(create!.headers["x-evil"]).toBeUndefined()
      yield* H.forget
      const exit = yield* H.exitOf(Upload.create({ contentType: "text/plain\r\nX-Evil: 1" }))
      figures["content type with CRLF"] = H.outcomeOf(exit)
      expect(H.outcomeOf(exit)).toBe("InvalidArgument")
      const sent = yield* H.requestLog
      expect(sent.filter((r) => r.headers["x-evil"] !== undefined)).toEqual([])
    })))

  it.effect("errors that keep their cause after the retries run out (transport, body cut, timeout) do not carry the token", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      const { record } = yield* uploaded(400 * KiB, 24)
      const source = UploadSource.fromBytes(H.randomBytes(600 * KiB, 25))
      const created = yield* Upload.create({ size: 600 * KiB })
      const persistent = (rule: Faults.FaultRule) => Effect.zipRight(H.forget, inject({ ...rule, times: 1000 }))
      const cases: ReadonlyArray<readonly [string, Faults.FaultRule, Effect.Effect<unknown, unknown, IvcapClient.IvcapClient>]> = [
        ["Service.get, reset mid-response", Faults.cutResponse(10, { match: { method: "GET" } }), Service.get(SeedData.helloWorld.id)],
        ["Service.get, reset before the answer", Faults.cutRequestBody(0, { match: { method: "GET" } }), Service.get(SeedData.helloWorld.id)],
        ["Download.stream, body cut (no progress)", Faults.cutResponse(0, { match: { method: "GET", path: blob } }), Stream.runDrain(Download.stream(record, uploadOptions))],
        ["Download.stream, body cut mid-way, no retry", Faults.cutResponse(100 * KiB, { match: { method: "GET", path: blob } }), Stream.runDrain(Download.stream(record, { retry: Schedule.recurs(0) }))],
        ["Upload.resume, request body cut", Faults.cutRequestBody(0, { match: { method: "PATCH" } }), Upload.resume(created.id, source, uploadOptions)],
        ["Order.place, stall", Faults.stall({ match: { method: "POST" } }), IvcapClient.withRequestOptions(Order.place(SeedData.helloWorld.id, { msg: "x" }), { timeout: "300 millis" })]
      ]
      const outcomes: Record<string, string> = {}
      for (const [name, rule, run] of cases) {
        yield* persistent(rule)
        const exit = yield* H.exitOf(run)
        outcomes[name] = H.outcomeOf(exit)
        expect(Exit.isFailure(exit), name).toBe(true)
        if (Exit.isFailure(exit)) {
          const text = [H.stringify(exit.cause), String(exit.cause), ...H.capture.errors.slice(-2)].join("\n")
          expect(text, name).not.toContain(H.token)
          expect(text, name).not.toMatch(/bearer\s+\S/i)
        }
      }
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.faults.reset)
      figures["errors after exhausted retries"] = outcomes
    })))

  it.effect("secret values: set, read and listed — also against a server echoing them in errors and odd answers — show in no error", () =>
    H.observed(Effect.gen(function*() {
      yield* H.fresh
      yield* Secret.set("rel-db", Redacted.make(secretValue), { expiresIn: "1 hour", type: "raw" })
      expect(Redacted.value(yield* Secret.value("rel-db"))).toBe(secretValue)
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Secret.list())).map((s) => s.name)).toEqual(["rel-db"])
      const write = { method: "POST", path: "/1/secrets" }
      const read = { method: "GET", path: /^\/1\/secrets$/ }
      const echoed = JSON.stringify({ name: "secret-value", message: `rejected ${secretValue}`, value: secretValue })
      const cases: ReadonlyArray<readonly [string, Faults.FaultRule, Effect.Effect<unknown, unknown, IvcapClient.IvcapClient>]> = [
        ["set, 400 echoing the value", Faults.status(400, { match: write, body: echoed }), Secret.set("rel-db", secretValue)],
        ["set, 422 echoing the value", Faults.status(422, { match: write, body: echoed }), Secret.set("rel-db", Redacted.make(secretValue))],
        ["set, 500 echoing the value (retried)", Faults.status(500, { match: write, body: echoed, times: 100 }), Secret.set("rel-db", secretValue)],
        ["set, 418 echoing the value", Faults.status(418, { match: write, body: echoed }), Secret.set("rel-db", secretValue)],
        ["set, stalled", Faults.stall({ match: write }), IvcapClient.withRequestOptions(Secret.set("rel-db", secretValue), { timeout: "300 millis", retry: false })],
        ["get, 200 without expiry-time", Faults.malformed(JSON.stringify({ "secret-name": "rel-db", "secret-value": secretValue }), { match: read }), Secret.get("rel-db")],
        ["get, 200 with a mistyped value", Faults.malformed(JSON.stringify({ "secret-name": "rel-db", "secret-value": [secretValue], "expiry-time": "x" }), { match: read }), Secret.get("rel-db")],
        ["get, 200 not JSON", Faults.malformed(`{"secret-value": "${secretValue}"`, { match: read }), Secret.get("rel-db")],
        ["get, 203 with the value", Faults.malformed(JSON.stringify({ "secret-value": secretValue }), { match: read, status: 203 }), Secret.get("rel-db")],
        ["get, cut mid-answer", Faults.cutResponse(30, { match: read, times: 100 }), Secret.get("rel-db")]
      ]
      const outcomes: Record<string, string> = {}
      for (const [name, rule, run] of cases) {
        yield* Effect.zipRight(H.forget, inject(rule))
        const exit = yield* H.exitOf(run)
        outcomes[name] = H.outcomeOf(exit)
        expect(Exit.isFailure(exit), name).toBe(true)
      }
      yield* Effect.flatMap(Emulator.Emulator, (e) => e.faults.reset)
      figures["secret values in hostile answers: outcomes"] = outcomes
      // Control: the value is really in the answers the faults sent (so the search below can find it).
      expect(Redacted.value((yield* Secret.get("rel-db")).value)).toBe(secretValue)
      const found = H.leaks(secretValue)
      figures["secret value occurrences in errors, logs and spans"] = found.length
      expect(found).toEqual([])
    })))

  it.effect("the token is in no error, log line or span of this file (and the search does find it where it belongs)", () =>
    H.observed(Effect.gen(function*() {
      // Control: the request did carry the token (the emulator accepted it) — and the emulator's request log keeps
      // no Authorization value, so the token is not there either.
      yield* Service.get(SeedData.helloWorld.id)
      const log = yield* H.requestLog
      expect(log[log.length - 1]?.auth).toBe("token")
      expect(H.stringify(log)).not.toContain(H.token)
      // The client service and its settings do not show it either.
      const client = yield* IvcapClient.IvcapClient
      expect(`${String(client)}${H.stringify(client)}${H.stringify(yield* client.requestOptions)}`).not.toContain(H.token)
      const leaks = H.leaks()
      yield* H.writeSummary("security", {
        figures,
        foreignRequests: (yield* Foreign).received.length,
        foreignRequestsWithToken: (yield* Foreign).received.filter((r) => JSON.stringify(r).includes(H.token)).length,
        leaks: leaks.length,
        capture: H.captureCounts()
      })
      expect(leaks).toEqual([])
      expect(H.leaks(secretValue)).toEqual([])
      expect(H.captureCounts().spans).toBeGreaterThan(50)
    })))
})
