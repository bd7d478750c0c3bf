/**
 * `NodeHttp`'s requests outside transfers (undici's `Dispatcher.request` in one `Effect.async`) and the attempt
 * timeout it takes part in (`IvcapClient.SignalAware`: `call` aborts the attempt's `AttemptSignal` instead of racing
 * a timer fiber), against loopback servers: a body that stalls after its head and a request that gets no answer end
 * in `RequestTimeout` within the bound and close their connections; an interrupted body read closes its
 * connection; trace-context headers go out only when asked for; a body read after its attempt ended (a stream
 * handed out by `call`) is not cut by the attempt's timer. Through the `IvcapClient.AttemptTransport` that `call` uses,
 * the token goes to the configured origin only and a 429's `Retry-After` pauses the client; a `SignalAware` client
 * without one is still timed out through the `AttemptSignal` in context.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Aspect, Download, IvcapClient } from "@ivcap/core"
import * as NodeHttp from "@ivcap/node/NodeHttp"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import { live, loopback } from "./upload-helpers.js"

const token = "node-http-secret-token"
const aspectId = "urn:ivcap:aspect:00000000-0000-4000-8000-000000000042"
const artifactId = "urn:ivcap:artifact:00000000-0000-4000-8000-000000000043"

const clientOf = (url: string, options: Omit<IvcapClient.Options, "url" | "token"> = {}) =>
  IvcapClient.layer({ url, token, retry: false, timeout: "400 millis", ...options }).pipe(Layer.provide(NodeHttp.layer))

/** Answers with a head announcing 500 bytes, 6 of them, then nothing. */
const stallAfterHead = (_i: number, _req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": "500" })
  res.write("{\"id\":")
}

/** Counts the server's connections that have closed. */
const closedConnections = (server: http.Server) => {
  const count = { closed: 0, opened: 0 }
  server.on("connection", (socket) => {
    count.opened++
    socket.on("close", () => void count.closed++)
  })
  return count
}

/** Polls `done` (real time) for up to 2 s; whether it came true. */
const eventually = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 80 && !done(); i++) yield* Effect.sleep("25 millis")
    return done()
  })

layer(NodeContext.layer)("NodeHttp outside transfers", (it) => {
  it.effect("a body that stalls after its head: RequestTimeout within the bound for each attempt, every connection closed", () =>
    live(Effect.gen(function*() {
      const server = yield* loopback(stallAfterHead)
      const connections = closedConnections(server.server)
      const started = Date.now()
      const error = yield* Effect.flip(Aspect.get(aspectId).pipe(
        Effect.provide(clientOf(server.url, { retry: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(1))) }))
      ))
      const millis = Date.now() - started
      expect(error._tag).toBe("RequestTimeout")
      expect(error.message).not.toContain(token)
      // Two attempts of 400 ms each (a GET is retried), not more.
      expect(server.seen.length).toBe(2)
      expect(millis).toBeGreaterThanOrEqual(800)
      expect(millis).toBeLessThan(3000)
      expect(yield* eventually(() => connections.closed === connections.opened)).toBe(true)
    })))

  it.effect("a SignalAware client without an AttemptTransport is timed out through the AttemptSignal in context", () =>
    live(Effect.gen(function*() {
      const server = yield* loopback(stallAfterHead)
      const connections = closedConnections(server.server)
      // NodeHttp's client with only the `SignalAware` mark: `call` sends through the layered client and provides the
      // attempt's signal in context, as for a third-party transport.
      const signalOnly = Layer.effect(HttpClient.HttpClient, Effect.map(NodeHttpClient.Dispatcher, (dispatcher) => {
        const client = NodeHttp.make(dispatcher)
        expect(typeof (client as unknown as Record<symbol, unknown>)[IvcapClient.AttemptTransport]).toBe("function")
        return Object.assign(HttpClient.transformResponse(client, (response) => response), { [IvcapClient.SignalAware]: true }) as HttpClient.HttpClient
      })).pipe(Layer.provide(NodeHttpClient.dispatcherLayer))
      const started = Date.now()
      const error = yield* Effect.flip(Aspect.get(aspectId).pipe(
        Effect.provide(IvcapClient.layer({ url: server.url, token, retry: false, timeout: "400 millis" }).pipe(Layer.provide(signalOnly)))
      ))
      expect(error._tag).toBe("RequestTimeout")
      expect(server.seen.length).toBe(1)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(yield* eventually(() => connections.closed === connections.opened)).toBe(true)
    })))

  it.effect("through the AttemptTransport, the token goes to the configured origin only, and the extra headers everywhere", () =>
    live(Effect.gen(function*() {
      const answer = (_i: number, _req: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      }
      const own = yield* loopback(answer)
      const other = yield* loopback(answer)
      yield* Effect.gen(function*() {
        const client = yield* IvcapClient.IvcapClient
        const ok = (response: { readonly status: number }) => Effect.succeed(response.status)
        expect(yield* client.call(HttpClientRequest.get("/1/x"), ok)).toBe(200)
        expect(yield* client.call(HttpClientRequest.get(`${other.url}/1/y`), ok)).toBe(200)
        // The same host on a port that starts with the configured one is another origin.
        expect(client.isOwnOrigin(`${own.url}0/1/z`)).toBe(false)
        expect(client.isOwnOrigin(`${own.url}.evil.example/1/z`)).toBe(false)
        expect(client.isOwnOrigin(`${own.url}@evil.example/1/z`)).toBe(false)
        expect(client.isOwnOrigin(`${own.url.toUpperCase()}/1/z`)).toBe(true)
        expect(client.isOwnOrigin("/1/z")).toBe(true)
      }).pipe(Effect.provide(clientOf(own.url, { headers: { "x-extra": "yes" } })))
      expect(own.seen.map((h) => [h.path, h.authorization, h["x-extra"]])).toEqual([["/1/x", `Bearer ${token}`, "yes"]])
      expect(other.seen.map((h) => [h.path, h.authorization, h["x-extra"]])).toEqual([["/1/y", undefined, "yes"]])
    })))

  it.effect("through the AttemptTransport, a 429's Retry-After pauses the client's next request (the shared back-off)", () =>
    live(Effect.gen(function*() {
      const arrived: Array<number> = []
      const server = yield* loopback((i, _req, res) => {
        arrived.push(Date.now())
        if (i === 0) res.writeHead(429, { "retry-after": "1", "content-type": "application/json" }).end("{}")
        else res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
      yield* Effect.gen(function*() {
        const client = yield* IvcapClient.IvcapClient
        const status = (response: { readonly status: number }) => Effect.succeed(response.status)
        // The handler takes any status: the gate sees the 429 whatever the operation makes of it.
        expect(yield* client.call(HttpClientRequest.get("/1/a"), status)).toBe(429)
        expect(yield* client.call(HttpClientRequest.get("/1/b"), status)).toBe(200)
      }).pipe(Effect.provide(clientOf(server.url)))
      expect(arrived.length).toBe(2)
      expect(arrived[1]! - arrived[0]!).toBeGreaterThanOrEqual(900)
    })))

  it.effect("a request that gets no answer at all: RequestTimeout, its connection closed", () =>
    live(Effect.gen(function*() {
      const server = yield* loopback(() => {})
      const connections = closedConnections(server.server)
      const error = yield* Effect.flip(Aspect.get(aspectId).pipe(Effect.provide(clientOf(server.url))))
      expect(error._tag).toBe("RequestTimeout")
      expect(server.seen.length).toBe(1)
      expect(yield* eventually(() => connections.opened === 1 && connections.closed === 1)).toBe(true)
    })))

  it.effect("interrupting a body being read closes its connection", () =>
    live(Effect.gen(function*() {
      const server = yield* loopback(stallAfterHead)
      const connections = closedConnections(server.server)
      const fiber = yield* Effect.fork(Aspect.get(aspectId).pipe(Effect.provide(clientOf(server.url, { timeout: "1 minute" }))))
      expect(yield* eventually(() => server.seen.length === 1)).toBe(true)
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      expect(yield* eventually(() => connections.opened === 1 && connections.closed === 1)).toBe(true)
    })))

  it.effect("trace-context headers go out only with tracerPropagation, through undici and on a direct connection", () =>
    live(Effect.gen(function*() {
      const server = yield* loopback((_i, _req, res) => {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ id: aspectId, message: "no such record" }))
      })
      const plain = yield* Effect.flip(Aspect.get(aspectId).pipe(Effect.provide(clientOf(server.url))))
      const traced = yield* Effect.flip(Aspect.get(aspectId).pipe(Effect.provide(clientOf(server.url, { tracerPropagation: true }))))
      // A download by id reads the record on a direct connection.
      const tracedDirect = yield* Effect.flip(Download.record(artifactId).pipe(Effect.provide(clientOf(server.url, { tracerPropagation: true }))))
      expect([plain._tag, traced._tag, tracedDirect._tag]).toEqual(["ResourceNotFound", "ResourceNotFound", "ResourceNotFound"])
      expect(server.seen[0]!["traceparent"]).toBeUndefined()
      expect(server.seen[1]!["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
      expect(server.seen[1]!["connection"]).not.toBe("close")
      expect(server.seen[2]!["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
      expect(server.seen[2]!["connection"]).toBe("close")
    })))

  it.effect("a body read after its attempt ended is not cut by the attempt's timer", () =>
    live(Effect.gen(function*() {
      // The head at once, the body's two halves 600 ms apart: longer than the 400 ms attempt timeout.
      const server = yield* loopback((_i, _req, res) => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": "10" })
        res.write("hello")
        setTimeout(() => res.end("world"), 600)
      })
      const text = yield* Effect.gen(function*() {
        const client = yield* IvcapClient.IvcapClient
        // The attempt ends with the head; the stream is read after it.
        const body = yield* client.call(HttpClientRequest.get("/slow"), (response) => Effect.succeed(response.stream))
        return new TextDecoder().decode(Buffer.concat(Array.from(yield* Stream.runCollect(body))))
      }).pipe(Effect.provide(clientOf(server.url)))
      expect(text).toBe("helloworld")
    })))
})
