/**
 * The SDK against hostile servers and careless callers (issue 16): JSON bodies read up to a cap (an endless body
 * ends in `ResponseTooLarge`, error bodies are read only up to their excerpt), content from the wire never sets a
 * prototype, and content that JSON cannot carry is an `InvalidArgument` naming the field — in the error channel,
 * before any request.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Aspect, IvcapClient, Search, Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { expectFailure, fresh, layerSuite, requestCount, suiteToken } from "./utils/suite.js"
import { scriptedServer } from "./utils/upload.js"

/** A server on 127.0.0.1 that answers every request with `status` and an endless (or huge) JSON body. */
const endlessServer = (status: number, prefix: string, declaredLength?: number) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; server: http.Server; requests: () => number; sent: () => number }>((resume) => {
      let requests = 0
      let sent = 0
      const filler = Buffer.alloc(64 * 1024, "x")
      const server = http.createServer((_req, res) => {
        requests++
        res.writeHead(status, {
          "content-type": "application/json",
          ...(declaredLength !== undefined ? { "content-length": String(declaredLength) } : {})
        })
        res.write(prefix)
        const pump = () => {
          // bounded: at most 1 GiB, then the server gives up by itself
          while (sent < 1024 ** 3) {
            sent += filler.length
            if (!res.write(filler)) return void res.once("drain", pump)
          }
          res.destroy()
        }
        res.on("close", () => res.removeAllListeners("drain"))
        // with a declared length, the body never comes: only a client that refuses at once finishes quickly
        if (declaredLength === undefined) pump()
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          server,
          requests: () => requests,
          sent: () => sent
        })))
    }),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((r) => {
          server.closeAllConnections()
          server.close(() => r())
        })
      )
  )

const clientFor = (url: string, options: Partial<IvcapClient.Options> = {}) =>
  IvcapClient.layer({ url, token: "t", retry: false, timeout: "20 seconds", ...options }).pipe(Layer.provide(NodeHttpClient.layerUndici))

layer(layerSuite())("hardening", (it) => {
  it.scoped("a server that echoes the Authorization header in its answers does not get the token into the errors", () =>
    Effect.gen(function*() {
      const token = "tok-SECRET-7f3a9c"
      let n = 0
      const server = yield* scriptedServer((request, _i, res) => {
        const echoed = String(request.headers["authorization"])
        if (n++ % 2 === 0) res.writeHead(403, { "content-type": "text/plain" }).end(`nope, ${echoed}`)
        else res.writeHead(200, { "content-type": "text/html" }).end(`<html>${echoed}</html>`)
      })
      const client = IvcapClient.layer({ url: server.url, token: Redacted.make(token), retry: false }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const id = "urn:ivcap:aspect:00000000-0000-4000-8000-000000000001"
      const forbidden = yield* Effect.flip(Aspect.get(id).pipe(Effect.provide(client)))
      const notJson = yield* Effect.flip(Aspect.get(id).pipe(Effect.provide(client)))
      expect([forbidden._tag, notJson._tag]).toEqual(["UnexpectedStatus", "DecodeError"])
      for (const error of [forbidden, notJson]) {
        const shown = [String(error), JSON.stringify(error), error.message, Cause.pretty(Cause.fail(error))].join("\n")
        expect(shown).not.toContain(token)
        expect(shown).toContain("Bearer <redacted>")
      }
    }))

  it.scoped("an endless JSON body ends in ResponseTooLarge naming the cap, once the count passes it (not retried)", () =>
    Effect.gen(function*() {
      const s = yield* endlessServer(200, "{\"items\":[\"")
      const e = yield* expectFailure(
        Aspect.get(SeedData.readmeAspect.id).pipe(
          Effect.provide(clientFor(s.url, { maxResponseBytes: 2 * 1024 * 1024, retry: IvcapClient.defaultRetryPolicy }))
        ),
        "ResponseTooLarge"
      )
      expect(e.limit).toBe(2 * 1024 * 1024)
      expect(e.message).toContain("exceeds 2097152 bytes")
      expect(e.message).toContain("maxResponseBytes")
      expect(e.method).toBe("GET")
      expect(s.requests()).toBe(1)
      // the server was stopped by the client long before its own 1 GiB bound
      expect(s.sent()).toBeLessThan(256 * 1024 * 1024)
    }))

  it.scoped("a declared Content-Length above the default cap (64 MiB) is refused before reading", () =>
    Effect.gen(function*() {
      expect(IvcapClient.defaultMaxResponseBytes).toBe(64 * 1024 * 1024)
      const s = yield* endlessServer(200, "{", 100 * 1024 * 1024)
      const e = yield* expectFailure(
        Service.get(SeedData.helloWorld.id).pipe(Effect.provide(clientFor(s.url, { timeout: "5 seconds" }))),
        "ResponseTooLarge"
      )
      expect(e.limit).toBe(IvcapClient.defaultMaxResponseBytes)
    }))

  it.scoped("an endless error body is read only up to its excerpt", () =>
    Effect.gen(function*() {
      const s = yield* endlessServer(404, "{\"id\":\"x\",\"message\":\"")
      const e = yield* expectFailure(Service.get(SeedData.helloWorld.id).pipe(Effect.provide(clientFor(s.url))), "UnexpectedStatus")
      expect(e.status).toBe(404)
      expect(e.body.length).toBeLessThanOrEqual(1025)
      expect(s.sent()).toBeLessThan(256 * 1024 * 1024)
    }))

  it.effect("maxResponseBytes must be a positive integer", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(Layer.build(clientFor("http://127.0.0.1:9", { maxResponseBytes: 0 })).pipe(Effect.scoped))
      expect(String(e)).toContain("maxResponseBytes")
    }))

  const hostile = "{\"__proto__\":{\"approved\":true},\"$schema\":\"urn:ivcap:schema:hostile.1\",\"n\":{\"__proto__\":{\"deep\":1}}}"
  const entity = "urn:ivcap:entity:hostile"

  /** The content is the wire's: `__proto__` an own key, the prototype Object.prototype, nothing inherited. */
  const expectInert = (content: Record<string, unknown>) => {
    expect(Object.getPrototypeOf(content)).toBe(Object.prototype)
    expect(Object.keys(content)).toContain("__proto__")
    expect((content as { approved?: unknown }).approved).toBeUndefined()
    expect(Object.getOwnPropertyDescriptor(content, "__proto__")?.value).toEqual(JSON.parse("{\"approved\":true}"))
    const n = content["n"] as { deep?: unknown }
    expect(Object.getPrototypeOf(n)).toBe(Object.prototype)
    expect(n.deep).toBeUndefined()
  }

  it.effect("aspect content with a __proto__ key never becomes a prototype: get, list (and the write keeps the key)", () =>
    Effect.gen(function*() {
      yield* fresh
      const server = yield* EmulatorServer.EmulatorServer
      const raw = yield* Effect.promise(() =>
        fetch(`${server.url}/1/aspects?entity=${entity}&schema=urn:ivcap:schema:hostile.1`, {
          method: "POST",
          headers: { authorization: `Bearer ${suiteToken}`, "content-type": "application/json" },
          body: hostile
        }).then((r) => r.json() as Promise<{ id: string }>)
      )
      expectInert((yield* Aspect.get(raw.id)).content)
      const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(Aspect.list({ entity })))
      expect(listed).toHaveLength(1)
      expectInert(listed[0]!.content!)
      // written back through the SDK, the key survives as data
      const copy = yield* Aspect.add(entity, JSON.parse(hostile))
      expectInert((yield* Aspect.get(copy)).content)
      expect(({} as { approved?: unknown }).approved).toBeUndefined()
    }))

  it.effect("search results with a __proto__ key never carry a prototype from the wire", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.malformed(
        `{"items":[${hostile}],"links":[{"rel":"self","type":"application/json","href":"/1/search"}]}`,
        { status: 200, contentType: "application/json", match: { method: "POST", path: "/1/search" } }
      ))
      const [item] = Chunk.toReadonlyArray(yield* Stream.runCollect(Search.search("q(A) :- aspect(A).")))
      expectInert(item as Record<string, unknown>)
    }))

  it.effect("content JSON cannot carry is an InvalidArgument naming the field, before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      const cyclic: Record<string, unknown> = { a: { b: 1 } }
      ;(cyclic["a"] as Record<string, unknown>)["self"] = cyclic
      let deep: Record<string, unknown> = { leaf: 1 }
      for (let i = 0; i < 300; i++) deep = { d: deep }
      const cases: ReadonlyArray<readonly [string, unknown, string, RegExp]> = [
        ["BigInt", { n: 1n }, "content.n", /BigInt/],
        ["cycle", cyclic, "content.a.self", /circular/],
        ["throwing toJSON", { when: { toJSON: () => { throw new Error("boom") } } }, "content.when", /toJSON threw: boom/],
        ["throwing getter", { get g() { throw new Error("getter boom") } }, "content.g", /getter threw/],
        ["too deep", deep, "content.d.d.d.d.d.….d.d.d.d.d", /deeper than 256/],
        ["Map", { m: new Map([["a", 1]]) }, "content.m", /Map/],
        ["Set", { s: new Set([1]) }, "content.s", /Set/],
        ["NaN", { x: [1, Number.NaN] }, "content.x[1]", /NaN/],
        ["Infinity", { x: Infinity }, "content.x", /Infinity/],
        ["function", { f: () => 1 }, "content.f", /function/],
        ["symbol", { s: Symbol("s") }, "content.s", /symbol/],
        ["undefined in an array", { a: [undefined] }, "content.a[0]", /undefined/],
        ["odd key", { "a b": { c: 1n } }, "content[\"a b\"].c", /BigInt/]
      ]
      for (const [name, content, field, reason] of cases) {
        const e = yield* Aspect.add(entity, content, { schema: "urn:ivcap:schema:x.1" }).pipe(
          // a typed failure: catchTag sees it (a defect would not be caught here)
          Effect.catchTag("InvalidArgument", (e) => Effect.succeed(e)),
          Effect.flatMap((r) => (typeof r === "string" ? Effect.dieMessage(`${name}: accepted`) : Effect.succeed(r)))
        )
        expect(e.argument, name).toBe(field)
        expect(e.message, name).toMatch(reason)
        const u = yield* Effect.flip(Aspect.update(entity, content, { schema: "urn:ivcap:schema:x.1" }))
        expect(u._tag, name).toBe("InvalidArgument")
      }
      expect(yield* requestCount()).toBe(0)
      // what JSON does carry: undefined properties are left out, a Date goes as its ISO string
      const id = yield* Aspect.add(entity, { skip: undefined, at: new Date(0), ok: [1, "a", null, { b: true }] }, { schema: "urn:ivcap:schema:x.1" })
      const stored = (yield* Aspect.get(id)).content
      expect(stored).toMatchObject({ at: "1970-01-01T00:00:00.000Z", ok: [1, "a", null, { b: true }] })
      expect("skip" in stored).toBe(false)
    }))
})
