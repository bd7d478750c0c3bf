/**
 * Fixtures of the upload and download tests: pseudo-random test files in a temp dir, digests, the bytes the
 * emulator stored (read with a raw `fetch`, independent of the SDK's Download), request-log helpers, and a tiny
 * scripted HTTP server on 127.0.0.1 for answers the emulator cannot be made to give.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Emulator } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

export const KiB = 1024
export const MiB = 1024 * KiB

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export const randomBytes = (size: number, seed = 1): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

export const sha256 = (bytes: Uint8Array | ReadonlyArray<Uint8Array>): string => {
  const hash = createHash("sha256")
  for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) hash.update(part)
  return hash.digest("hex")
}

export const md5 = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("hex")

/** A temp folder, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-upload-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A file of `size` pseudo-random bytes in a temp folder (removed with the scope). */
export const tempFile = (size: number, options: { readonly name?: string; readonly seed?: number } = {}) =>
  Effect.map(tempDir, (dir) => {
    const bytes = randomBytes(size, options.seed ?? size)
    const file = path.join(dir, options.name ?? "data.bin")
    fs.writeFileSync(file, bytes)
    return { dir, file, bytes, sha256: sha256(bytes) }
  })

/** The content the emulator stored for an artifact, read with a raw `fetch` (not the SDK). */
export const storedContent = (dataHref: string | undefined) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    if (dataHref === undefined) return yield* Effect.die("no data-href")
    const response = yield* Effect.promise(() => fetch(dataHref, { headers: { authorization: `Bearer ${emulator.token}` } }))
    if (response.status !== 200) return yield* Effect.die(`GET ${dataHref}: ${response.status}`)
    return new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))
  })

/** The logged requests with a method and a path matching. */
export const logged = (method: string, pathPattern: RegExp) =>
  Effect.flatMap(Emulator.Emulator, (emulator) => emulator.requests.log).pipe(
    Effect.map((log) => log.filter((r) => r.method === method && pathPattern.test(new URL(r.url, "http://x").pathname)))
  )

/** Paths of the content endpoint and of the artifact collection. */
export const blobPath = /^\/1\/artifacts\/[^/]+\/blob$/
export const artifactsPath = /^\/1\/artifacts$/

/** Quick upload/download retries for tests (real time): 20 ms apart, at most 6 in a row. */
export const quickRetry = Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(6)))

/** A request as the scripted server saw it. */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Uint8Array
}

/**
 * A scripted HTTP server on 127.0.0.1:0: `handle` answers each request (with its body read) by index; every
 * request is recorded. Closed with the scope.
 */
export const scriptedServer = (
  handle: (request: SeenRequest, index: number, response: http.ServerResponse) => void
) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly seen: Array<SeenRequest>; readonly server: http.Server }>((resume) => {
      const seen: Array<SeenRequest> = []
      const server = http.createServer((req, res) => {
        const parts: Array<Buffer> = []
        req.on("data", (b: Buffer) => parts.push(b))
        req.on("error", () => undefined)
        req.on("end", () => {
          const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: new Uint8Array(Buffer.concat(parts)) }
          seen.push(request)
          handle(request, seen.length - 1, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, seen, server }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )
