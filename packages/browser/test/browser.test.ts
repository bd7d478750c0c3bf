/**
 * @ivcap/browser in real Chromium (Debian's, headless, via playwright-core), against the emulator over HTTP on
 * another origin than the page.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Download, IvcapClient } from "@ivcap/core"
import { Emulator, SeedData } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { createHash } from "node:crypto"
import { EmulatorServer, inPage, layer as harness, TestPage } from "./utils/harness.js"

const connection = Effect.gen(function*() {
  const server = yield* EmulatorServer
  const emulator = yield* Emulator.Emulator
  return { url: server.url, token: emulator.token }
})

const MiB = 1024 * 1024
const SIZE = 5 * MiB
const CHUNK = MiB

/** The artifact's content as the emulator serves it, hashed on the Node side (undici, not the browser). */
const sha256OnNode = (id: string) =>
  Effect.gen(function*() {
    const c = yield* connection
    const hash = createHash("sha256")
    yield* Stream.runForEach(Download.stream(id), (bytes) => Effect.sync(() => hash.update(bytes))).pipe(
      Effect.provide(IvcapClient.layer(c).pipe(Layer.provide(NodeHttpClient.layerUndici)))
    )
    return hash.digest("hex")
  })

/** Waits (real time, bounded) until the emulator has seen `n` requests matching `filter`. */
const waitForRequests = (filter: Emulator.RequestFilter, n: number) =>
  Effect.flatMap(Emulator.Emulator, (emulator) =>
    emulator.requests.count(filter).pipe(
      Effect.repeat({ schedule: Schedule.spaced("50 millis").pipe(Schedule.upTo("20 seconds")), until: (count) => count >= n }),
      Effect.filterOrDieMessage((count) => count >= n, `the emulator did not see ${n} requests matching ${JSON.stringify(filter)}`),
      TestServices.provideLive
    ))

const PATCH = { method: "PATCH", path: "/1/artifacts/" }
const HEAD = { method: "HEAD", path: "/1/artifacts/" }

layer(harness, { timeout: 120_000 })("@ivcap/browser in Chromium", (it) => {
  it.effect("lists services over several pages, cross-origin, without trace headers", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { origin } = yield* TestPage
      const c = yield* connection
      expect(new URL(c.url).origin).not.toBe(origin)
      yield* emulator.requests.reset
      const result = yield* inPage((arg) => window.ivcap.listServices(arg), { ...c, pageSize: 10 })
      if (!result.ok) throw new Error(`${result.tag}: ${result.message}`)
      const { names, pages } = result.value
      // a v0.48 deployment: /1/services2 lists the v0.41 services and the tool services
      const seeded = [...SeedData.services(), ...SeedData.toolServices()].map((s) => s.name)
      expect(seeded.length).toBe(SeedData.services2Count)
      expect([...names].sort()).toEqual([...seeded].sort())
      expect(pages.length).toBe(Math.ceil(seeded.length / 10))
      expect(pages.every((p) => p.length <= 10)).toBe(true)
      // Every listing request reached the emulator from the page, and none carried (or asked to carry) trace headers:
      // the only header a preflight asks for is the token's.
      // (the client's one API-version probe, `GET /1/services2?limit=1`, is not a listing request)
      const log = (yield* emulator.requests.log).filter((r) => r.url.includes("/1/services") && !/[?&]limit=1(&|$)/.test(r.url))
      const gets = log.filter((r) => r.method === "GET")
      expect(gets.length).toBe(pages.length)
      for (const r of gets) {
        expect(r.headers["origin"]).toBe(origin)
        expect(r.auth).toBe("token")
        expect(Object.keys(r.headers).filter((h) => h === "traceparent" || h === "b3" || h.startsWith("x-b3"))).toEqual([])
      }
      for (const r of log.filter((r) => r.method === "OPTIONS")) {
        expect(r.headers["access-control-request-headers"]).toBe("authorization")
      }
    }))
  it.effect("uploads a 5 MiB File with progress, survives a cut connection, and downloads the same bytes", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const c = yield* connection
      yield* emulator.requests.reset
      const sourceHash = yield* inPage((spec) => window.ivcap.prepareFile(spec), { size: SIZE, seed: 7, name: "five.bin" })
      // The third chunk's connection drops after 300,000 bytes (which the server keeps, as a tus server would).
      yield* emulator.faults.inject({ match: PATCH, skip: 2, action: { _tag: "CutRequestBody", afterBytes: 300_000 } })
      const result = yield* inPage((arg) => window.ivcap.upload(arg), { ...c, chunkSize: CHUNK })
      if (!result.ok) throw new Error(`${result.tag}: ${result.message}`)
      const { artifactId, progress, size, status } = result.value
      expect([status, size]).toEqual(["ready", SIZE])

      // Progress: confirmed offsets only grow, reach 5 MiB, and include the offset the server reported after the cut.
      const confirmed = progress.map((p) => p.confirmed)
      expect(confirmed.every((v, i) => i === 0 || v >= confirmed[i - 1]!)).toBe(true)
      expect(confirmed.at(-1)).toBe(SIZE)
      expect(confirmed).toContain(2 * CHUNK + 300_000)
      expect(new Set(progress.map((p) => p.total))).toEqual(new Set([SIZE]))
      expect(progress.every((p) => p.sent >= p.confirmed)).toBe(true)

      // On the wire: one create, a HEAD after the cut, and the rest resent from the server's offset.
      expect(yield* emulator.requests.count({ method: "POST", path: "/1/artifacts" })).toBe(1)
      expect(yield* emulator.requests.count(HEAD)).toBeGreaterThanOrEqual(1)
      // Five chunks, the cut one, and at most one more if the engine realigns to chunk boundaries after the resume.
      expect(yield* emulator.requests.count(PATCH)).toBeGreaterThanOrEqual(6)
      expect(yield* emulator.requests.count(PATCH)).toBeLessThanOrEqual(7)
      // Finished uploads are not remembered.
      expect(yield* inPage(() => Promise.resolve(window.ivcap.storedUploads()), undefined)).toEqual([])

      const downloaded = yield* inPage((arg) => window.ivcap.download(arg), { ...c, id: artifactId })
      if (!downloaded.ok) throw new Error(`${downloaded.tag}: ${downloaded.message}`)
      expect(downloaded.value).toEqual({ sha256: sourceHash, size: SIZE, type: "application/octet-stream" })
      expect(yield* sha256OnNode(artifactId)).toBe(sourceHash)
    }))

  it.effect("resumes an upload interrupted by a page reload, from the record in localStorage", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { page } = yield* TestPage
      const c = yield* connection
      yield* emulator.requests.reset
      const spec = { size: SIZE, seed: 11, name: "reloaded.bin" }
      const sourceHash = yield* inPage((arg) => window.ivcap.prepareFile(arg), spec)
      // The third chunk's connection drops after 300,000 bytes, and the HEAD that asks for the offset then hangs:
      // the page is reloaded while it does, so the resume after the reload starts from a partly stored chunk.
      yield* emulator.faults.inject({ match: PATCH, skip: 2, action: { _tag: "CutRequestBody", afterBytes: 300_000 } })
      yield* emulator.faults.inject({ match: HEAD, action: { _tag: "Stall" } })
      yield* inPage((arg) => {
        void window.ivcap.upload(arg)
        return Promise.resolve()
      }, { ...c, chunkSize: CHUNK })
      yield* waitForRequests(HEAD, 1)
      const stored = yield* inPage(() => Promise.resolve(window.ivcap.storedUploads()), undefined)
      expect(stored.map((s) => s.length)).toEqual([SIZE])
      yield* Effect.promise(() => page.reload({ timeout: 30_000 }))
      yield* Effect.promise(() => page.waitForFunction(() => typeof window.ivcap === "object", undefined, { timeout: 30_000 }))
      yield* emulator.faults.reset
      yield* emulator.requests.reset

      expect(yield* inPage((arg) => window.ivcap.prepareFile(arg), spec)).toBe(sourceHash)
      const result = yield* inPage((arg) => window.ivcap.upload(arg), { ...c, chunkSize: CHUNK })
      if (!result.ok) throw new Error(`${result.tag}: ${result.message}`)
      expect(result.value.artifactId).toBe(stored[0]!.artifactId)
      expect(yield* emulator.requests.count({ method: "POST", path: "/1/artifacts" })).toBe(0)
      // The same artifact, no new create, only what the server lacked sent again (at most one chunk-realigning PATCH more).
      const patches = yield* emulator.requests.count(PATCH)
      expect(patches).toBeGreaterThanOrEqual(3)
      expect(patches).toBeLessThanOrEqual(4)
      expect(result.value.progress[0]?.confirmed).toBe(2 * CHUNK + 300_000)
      expect(yield* inPage(() => Promise.resolve(window.ivcap.storedUploads()), undefined)).toEqual([])
      expect(yield* sha256OnNode(result.value.artifactId)).toBe(sourceHash)
    }))
})
