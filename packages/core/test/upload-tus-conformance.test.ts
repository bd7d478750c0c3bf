/**
 * tus conformance: the SDK's PATCH/HEAD/resume engine (`Upload.resumeAt`) against the official tus Node server
 * (`@tus/server` + `@tus/file-store`) on 127.0.0.1, behind a TCP proxy that cuts the connection in the middle of
 * a PATCH body once. The file the server stored must be byte-identical to the source.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { IvcapClient, Upload, UploadSource } from "@ivcap/core"
import { FileStore } from "@tus/file-store"
import { Server } from "@tus/server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import { KiB, MiB, quickRetry, sha256, tempDir, tempFile } from "./utils/upload.js"

const listen = (server: net.Server) =>
  Effect.acquireRelease(
    Effect.async<string>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)))
    }),
    () => Effect.async<void>((resume) => {
      if (server instanceof http.Server) server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )

/** A TCP proxy to `target` that, once, drops both sides when the client has sent `cutAfter` bytes in total. */
const cuttingProxy = (target: string, cutAfter: number) => {
  const state = { forwarded: 0, cut: false, connections: 0 }
  const sockets = new Set<net.Socket>()
  const { hostname, port } = new URL(target)
  const server = net.createServer((client) => {
    state.connections++
    const upstream = net.connect(Number(port), hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on("error", () => undefined)
      s.on("close", () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    upstream.pipe(client)
    client.on("data", (data: Buffer) => {
      if (!state.cut && state.forwarded + data.length >= cutAfter) {
        state.cut = true
        upstream.write(data.subarray(0, cutAfter - state.forwarded), () => {
          client.destroy()
          upstream.destroy()
        })
        return
      }
      state.forwarded += data.length
      upstream.write(data)
    })
  })
  server.on("close", () => sockets.forEach((s) => s.destroy()))
  return { server, state }
}

describe("tus conformance (@tus/server)", () => {
  it.live("the engine uploads to a @tus/server upload URL through a connection cut mid-PATCH, byte-exact", () =>
    Effect.gen(function*() {
      const store = yield* tempDir
      const tus = new Server({ path: "/files", datastore: new FileStore({ directory: store }) })
      const methods: Array<string> = []
      const tusUrl = yield* listen(http.createServer((req, res) => {
        methods.push(req.method ?? "")
        void tus.handle(req, res)
      }))
      const chunkSize = 256 * KiB
      // Cut during the second PATCH's body (the first PATCH's headers and body, then 100 KiB more).
      const proxy = cuttingProxy(tusUrl, chunkSize + 100 * KiB)
      const proxyUrl = yield* listen(proxy.server)

      const { bytes, file } = yield* tempFile(MiB + 12_345)
      // The upload is created with a raw tus creation request, as another client would.
      const created = yield* Effect.promise(() =>
        fetch(`${tusUrl}/files`, { method: "POST", headers: { "tus-resumable": "1.0.0", "upload-length": String(bytes.length) } })
      )
      expect(created.status).toBe(201)
      const location = new URL(created.headers.get("location") ?? "", tusUrl)
      const id = path.basename(location.pathname)

      const length = yield* Upload.resumeAt(`${proxyUrl}${location.pathname}`, yield* UploadSource.fromFile(file), { chunkSize, retry: quickRetry }).pipe(
        Effect.provide(IvcapClient.layer({ url: proxyUrl, token: "tus-test", timeout: "10 seconds" }).pipe(Layer.provide(NodeHttpClient.layerUndici))),
        Effect.provide(NodeContext.layer)
      )
      expect(length).toBe(bytes.length)
      expect(proxy.state.cut).toBe(true)
      expect(proxy.state.connections).toBeGreaterThan(1)
      // HEAD at the start (the engine does not assume an offset on an existing URL) and after the cut.
      expect(methods.filter((m) => m === "HEAD").length).toBe(2)
      expect(sha256(new Uint8Array(fs.readFileSync(path.join(store, id))))).toBe(sha256(bytes))

      // Asking again is a no-op: the server already has every byte.
      const again = yield* Upload.resumeAt(`${tusUrl}${location.pathname}`, yield* UploadSource.fromFile(file), { chunkSize }).pipe(
        Effect.provide(IvcapClient.layer({ url: tusUrl }).pipe(Layer.provide(NodeHttpClient.layerUndici))),
        Effect.provide(NodeContext.layer)
      )
      expect(again).toBe(bytes.length)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})
