/**
 * `/1/secrets` over real HTTP: every answer validated against the v0.48 spec (ajv) — set, get, list with paging,
 * filter and offset, expiry on the emulator clock, the declared errors — plus what must never happen: the value in
 * the request log or in an error, and a secret lost across a restart with a data directory.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { nextLink, pathOf, reset } from "./helpers.js"
import { hitV048 } from "./spec.js"

/** Calls `path` and checks the answer is one the v0.48 spec declares for `method template`. */
const hit = hitV048

const set = (body: unknown, auth = true) =>
  hit("POST", "/1/secrets", "/1/secrets", {
    auth,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const get = (name: string, type?: string) =>
  hit("GET", "/1/secrets", `/1/secrets?secret-name=${encodeURIComponent(name)}${type === undefined ? "" : `&secret-type=${type}`}`)

const names = (body: { items: ReadonlyArray<{ "secret-name": string }> }) => body.items.map((i) => i["secret-name"])

const value = "s3cr3t-VALUE-9f8e7d-never-echo"

layer(EmulatorServer.layer())("secrets (spec v0.48)", (it) => {
  describe("set and get", () => {
    it.effect("POST 204, GET 200 SecretResultT; a set overwrites; 404 unknown; 401 without a token", () =>
      Effect.gen(function*() {
        yield* reset
        const created = yield* set({ "secret-name": "db-password", "secret-value": value, "expiry-time": 0 })
        expect(created.status).toBe(204)
        const read = yield* get("db-password")
        expect(read.status).toBe(200)
        expect(read.body).toEqual({ "secret-name": "db-password", "secret-value": value, "expiry-time": 0 })
        expect((yield* set({ "secret-name": "db-password", "secret-value": "v2", "expiry-time": 4102444800, "secret-type": "raw" })).status).toBe(204)
        expect((yield* get("db-password")).body).toEqual({ "secret-name": "db-password", "secret-value": "v2", "expiry-time": 4102444800 })
        expect((yield* get("db-password", "raw")).status).toBe(200)
        expect((yield* get("db-password", "ssh-key")).status).toBe(404)
        const missing = yield* get("nope")
        expect(missing.status).toBe(404)
        expect(missing.body).toEqual({ id: "urn:ivcap:secret:nope", message: "secret 'nope' not found" })
        expect((yield* set({ "secret-name": "x", "secret-value": "y", "expiry-time": 0 }, false)).status).toBe(401)
        expect((yield* hit("GET", "/1/secrets", "/1/secrets?secret-name=db-password", { auth: false })).status).toBe(401)
        expect((yield* hit("GET", "/1/secrets/list", "/1/secrets/list", { auth: false })).status).toBe(401)
      }))

    it.effect("bad requests: 400 for a missing or mistyped field (the value never echoed), 422 for a bad name or expiry", () =>
      Effect.gen(function*() {
        yield* reset
        const cases: ReadonlyArray<readonly [unknown, number]> = [
          ["{\"secret-name\": ", 400],
          [[value], 400],
          [{ "secret-value": value, "expiry-time": 0 }, 400],
          [{ "secret-name": "a", "expiry-time": 0 }, 400],
          [{ "secret-name": "a", "secret-value": value }, 400],
          [{ "secret-name": "a", "secret-value": 12345, "expiry-time": 0 }, 400],
          [{ "secret-name": "a", "secret-value": value, "expiry-time": "tomorrow" }, 400],
          [{ "secret-name": "a", "secret-value": value, "expiry-time": 1.5 }, 400],
          [{ "secret-name": "", "secret-value": value, "expiry-time": 0 }, 422],
          [{ "secret-name": "a\nb", "secret-value": value, "expiry-time": 0 }, 422],
          [{ "secret-name": "a", "secret-value": value, "expiry-time": -1 }, 422]
        ]
        for (const [body, status] of cases) {
          const r = yield* set(body)
          expect(r.status, JSON.stringify(body)).toBe(status)
          expect(r.text).not.toContain(value)
        }
        expect((yield* hit("GET", "/1/secrets", "/1/secrets")).status).toBe(400)
        expect((yield* hit("GET", "/1/secrets", "/1/secrets?secret-name=")).status).toBe(400)
        const list = yield* hit("GET", "/1/secrets/list", "/1/secrets/list")
        expect(list.body.items).toEqual([])
      }))

    it.effect("expiry: a secret past its expiry-time (Unix seconds, emulator clock) is neither read nor listed", () =>
      Effect.gen(function*() {
        yield* reset
        const emulator = yield* Emulator.Emulator
        const now = Math.floor((yield* emulator.clock.now) / 1000)
        yield* set({ "secret-name": "short", "secret-value": value, "expiry-time": now + 60 })
        yield* set({ "secret-name": "forever", "secret-value": value, "expiry-time": 0 })
        expect((yield* get("short")).status).toBe(200)
        yield* emulator.clock.advance("2 minutes")
        expect((yield* get("short")).status).toBe(404)
        expect(names((yield* hit("GET", "/1/secrets/list", "/1/secrets/list")).body)).toEqual(["forever"])
      }))
  })

  describe("list", () => {
    it.effect("ListResponseBody2 by name, paged by next links (limit above 50 served 50 a page), filter and offset", () =>
      Effect.gen(function*() {
        yield* reset
        const all = Array.from({ length: 57 }, (_, i) => `key-${String(i).padStart(2, "0")}`)
        for (const name of [...all].reverse()) yield* set({ "secret-name": name, "secret-value": `${value}-${name}`, "expiry-time": 0 })
        yield* set({ "secret-name": "other", "secret-value": value, "expiry-time": 0 })
        const first = yield* hit("GET", "/1/secrets/list", "/1/secrets/list?limit=20")
        expect(first.status).toBe(200)
        expect(first.text).not.toContain(value)
        const seen = [...names(first.body)]
        let next = nextLink(first.body)
        while (next !== undefined) {
          expect(new URL(next).searchParams.get("page")).not.toBeNull()
          const page = yield* hit("GET", "/1/secrets/list", pathOf(next))
          seen.push(...names(page.body))
          next = nextLink(page.body)
        }
        expect(seen).toEqual([...all, "other"])
        const big = yield* hit("GET", "/1/secrets/list", "/1/secrets/list?limit=100")
        expect(big.body.items.length).toBe(50)
        expect(nextLink(big.body)).toBeDefined()
        const filtered = yield* hit("GET", "/1/secrets/list", `/1/secrets/list?limit=50&filter=${encodeURIComponent("key-5.*")}`)
        expect(names(filtered.body)).toEqual(["key-50", "key-51", "key-52", "key-53", "key-54", "key-55", "key-56"])
        expect(nextLink(filtered.body)).toBeUndefined()
        const skipped = yield* hit("GET", "/1/secrets/list", "/1/secrets/list?offset=55&limit=10")
        expect(names(skipped.body)).toEqual(["key-55", "key-56", "other"])
        expect((yield* hit("GET", "/1/secrets/list", `/1/secrets/list?filter=${encodeURIComponent("key-(")}`)).status).toBe(422)
        expect((yield* hit("GET", "/1/secrets/list", "/1/secrets/list?offset=ten")).status).toBe(422)
        expect((yield* hit("GET", "/1/secrets/list", "/1/secrets/list?limit=0")).status).toBe(422)
        expect((yield* hit("GET", "/1/secrets/list", "/1/secrets/list?limit=many")).status).toBe(400)
        expect((yield* hit("GET", "/1/secrets/list", "/1/secrets/list?page=garbage!")).status).toBe(422)
      }))
  })

  it.effect("the value is never in the emulator's request log", () =>
    Effect.gen(function*() {
      yield* reset
      const emulator = yield* Emulator.Emulator
      yield* set({ "secret-name": "logged", "secret-value": value, "expiry-time": 0 })
      yield* get("logged")
      yield* hit("GET", "/1/secrets/list", "/1/secrets/list")
      const log = yield* emulator.requests.log
      expect(log.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual(["POST /1/secrets", "GET /1/secrets", "GET /1/secrets/list"])
      expect(JSON.stringify(log)).not.toContain(value)
    }))
})

describe("secrets with a data directory", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-emulator-secrets-"))
  const withServer = <A>(effect: Effect.Effect<A, never, EmulatorServer.EmulatorServer | Emulator.Emulator>) =>
    Effect.scoped(Effect.flatMap(Layer.build(EmulatorServer.layer({ dataDir: dir })), (context) => Effect.provide(effect, context)))

  layer(Layer.empty)((it) => {
    it.effect("a secret set before a restart is read after it; a reset forgets it", () =>
      Effect.gen(function*() {
        yield* withServer(set({ "secret-name": "durable", "secret-value": value, "expiry-time": 0 }))
        const after = yield* withServer(get("durable"))
        expect(after.body["secret-value"]).toBe(value)
        yield* withServer(reset)
        expect((yield* withServer(get("durable"))).status).toBe(404)
        fs.rmSync(dir, { recursive: true, force: true })
      }))
  })
})
