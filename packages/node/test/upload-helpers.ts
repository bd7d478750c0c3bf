/**
 * Shared by the node upload, marker and download tests: the emulator over real HTTP on 127.0.0.1 with an
 * IvcapClient over `NodeHttp` (undici, with uploads and downloads on their own connections, as under IvcapNode.layer) and
 * the Node platform services, temp files, digests, request-log helpers.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { IvcapClient, UploadSource } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as NodeHttp from "@ivcap/node/NodeHttp"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as TestServices from "effect/TestServices"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export const KiB = 1024

/** Quick retries (real time). */
export const quickRetry = Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(6)))

/** A client of the emulator server in context, over `NodeHttp` as `IvcapNode.layer` has it (a new instance each time it is built). */
export const clientLayer = Layer.unwrapEffect(Effect.gen(function*() {
  const server = yield* EmulatorServer.EmulatorServer
  const emulator = yield* Emulator.Emulator
  return IvcapClient.layer({ url: server.url, token: emulator.token, retry: quickRetry, timeout: "10 seconds" }).pipe(
    Layer.provide(NodeHttp.layer),
    // a file source's buffers are sent as they are read, as under IvcapNode.layer
    Layer.merge(Layer.succeed(UploadSource.IterableBodies, true))
  )
}))

/** The emulator over HTTP, a client for it, and the Node platform services. */
export const layerNode = clientLayer.pipe(Layer.provideMerge(EmulatorServer.layer()), Layer.provideMerge(NodeContext.layer))

/** Real time and a scope (temp files). */
export const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestServices.provideLive(Effect.scoped(effect))

/** Forgets earlier requests and faults. */
export const fresh = Effect.flatMap(Emulator.Emulator, (e) => Effect.zipRight(e.requests.reset, e.faults.reset))

/** Deterministic pseudo-random bytes. */
export const randomBytes = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

export const digest = (algorithm: "md5" | "sha256", bytes: Uint8Array): string => createHash(algorithm).update(bytes).digest("hex")

/** A temp folder (removed with the scope; made writable first, in case a test locked it). */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-node-upload-"))),
  (dir) => Effect.sync(() => {
    fs.chmodSync(dir, 0o755)
    fs.rmSync(dir, { recursive: true, force: true })
  })
)

/** A file of pseudo-random bytes in a new temp folder. */
export const tempFile = (size: number, name = "scan.tif") =>
  Effect.map(tempDir, (dir) => {
    const bytes = randomBytes(size, size + name.length)
    const file = path.join(dir, name)
    fs.writeFileSync(file, bytes)
    return { dir, file, bytes, markerFile: path.join(dir, `.ivcap-${name}.txt`) }
  })

/** The descriptors of this process open on `file` (Linux `/proc`). */
export const openOn = (file: string): number =>
  fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file
    } catch {
      return false
    }
  }).length

/** How many requests of `method` reached the emulator. */
export const count = (method: string, pathPrefix?: string) =>
  Effect.flatMap(Emulator.Emulator, (e) => e.requests.count(pathPrefix === undefined ? { method } : { method, path: pathPrefix }))

/** A loopback server: `handle` answers the `i`-th request; `seen` has each request's headers and `path`. */
export const loopback = (handle: (i: number, req: http.IncomingMessage, res: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly seen: Array<http.IncomingHttpHeaders & { path?: string | undefined }>; readonly server: http.Server }>((resume) => {
      const seen: Array<http.IncomingHttpHeaders & { path?: string | undefined }> = []
      const server = http.createServer((req, res) => handle(seen.push({ ...req.headers, path: req.url }) - 1, req, res))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen, server })))
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )
