/**
 * The emulator as a real HTTP server (Node): `layer` for Effect users, `start` for everyone else. With `dataDir`,
 * artifact content is streamed to files there and every mutation is appended to a JSONL journal that is replayed
 * at start, so state survives a restart.
 *
 * @since 0.1.0
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import * as Emulator from "./Emulator.js"
import * as EmulatorApp from "./EmulatorApp.js"
import type { Journal, JournalEvent } from "./internal/state.js"
import * as NodeBlobStore from "./NodeBlobStore.js"

/**
 * Where the server listens.
 * @since 0.1.0
 */
export class EmulatorServer extends Context.Tag("@ivcap/emulator/EmulatorServer")<EmulatorServer, {
  /** `http://HOST:PORT`, no trailing slash. */
  readonly url: string
}>() {}

/**
 * Options of {@link layer} / {@link start}.
 * @since 0.1.0
 */
export interface Options {
  /** Interface to bind (default `127.0.0.1`). */
  readonly host?: string
  /** Port (default 0: any free port). */
  readonly port?: number
  /** Persist blobs and state here (created if missing). */
  readonly dataDir?: string
  /** Accepted bearer token (default `SeedData.defaultToken`). */
  readonly token?: string
  /** Emulator time per order lifecycle step (default 1000 ms). */
  readonly orderStepMillis?: number
  /** Load the seed data (default true). */
  readonly seed?: boolean
  /** The largest artifact accepted (default 16 GiB), see `Emulator.Options`. */
  readonly maxUploadBytes?: number
  /** Origins CORS allows besides loopback ones (`"*"`: all), see `Emulator.Options`. */
  readonly corsOrigins?: ReadonlyArray<string>
  /** How many requests the log keeps (default 100 000). */
  readonly requestLogLimit?: number
  /** The identity provider's settings (token lifetime, device polling interval, mid-upload rejection). */
  readonly oauth?: Emulator.OAuthOptions
  /** `"0.41"`: a v0.41 deployment (no `/1/services2`, no jobs); default `"0.48"`. */
  readonly apiVersion?: "0.41" | "0.48"
  /** Emulator time per job lifecycle step (default 100 ms). */
  readonly jobStepMillis?: number
  /** Bounds of one `POST /1/search` evaluation (see `Emulator.Options`). */
  readonly searchLimits?: Emulator.Options["searchLimits"]
}

/**
 * An append-only JSONL journal in `dir/journal.jsonl`. A torn last line (a crash or a full disk mid-append) is cut
 * off on load, so the next append starts a line of its own; an append that fails part-way is cut back the same way
 * before the error is reported.
 */
const fileJournal = (dir: string): Journal => {
  const file = path.join(dir, "journal.jsonl")
  const size = () => (fs.existsSync(file) ? fs.statSync(file).size : 0)
  return {
    load: () => {
      if (!fs.existsSync(file)) return []
      const bytes = fs.readFileSync(file)
      const complete = bytes.lastIndexOf(0x0a) + 1
      // the torn tail was never acknowledged (an append returns only once it is whole)
      if (complete < bytes.length) fs.truncateSync(file, complete)
      const out: Array<JournalEvent> = []
      for (const line of bytes.subarray(0, complete).toString("utf8").split("\n")) {
        if (line.trim() === "") continue
        try {
          out.push(JSON.parse(line) as JournalEvent)
        } catch {
          // a line damaged by hand: skipped
        }
      }
      return out
    },
    append: (lines) => {
      const before = size()
      try {
        fs.appendFileSync(file, lines)
      } catch (e) {
        try {
          fs.truncateSync(file, before)
        } catch {
          // load() cuts the torn tail at the next start
        }
        throw e
      }
    },
    clear: () => fs.writeFileSync(file, "")
  }
}

const emulatorLayer = (options: Options): Layer.Layer<Emulator.Emulator> =>
  Layer.effect(
    Emulator.Emulator,
    Effect.gen(function*() {
      const base = {
        ...(options.token !== undefined ? { token: options.token } : {}),
        ...(options.orderStepMillis !== undefined ? { orderStepMillis: options.orderStepMillis } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.maxUploadBytes !== undefined ? { maxUploadBytes: options.maxUploadBytes } : {}),
        ...(options.corsOrigins !== undefined ? { corsOrigins: options.corsOrigins } : {}),
        ...(options.requestLogLimit !== undefined ? { requestLogLimit: options.requestLogLimit } : {}),
        ...(options.oauth !== undefined ? { oauth: options.oauth } : {}),
        ...(options.apiVersion !== undefined ? { apiVersion: options.apiVersion } : {}),
        ...(options.jobStepMillis !== undefined ? { jobStepMillis: options.jobStepMillis } : {}),
        ...(options.searchLimits !== undefined ? { searchLimits: options.searchLimits } : {})
      }
      if (options.dataDir === undefined) return yield* Emulator.make(base)
      const dir = options.dataDir
      yield* Effect.sync(() => fs.mkdirSync(dir, { recursive: true }))
      const blobStore = yield* NodeBlobStore.make(path.join(dir, "blobs"))
      return yield* Emulator.make({ ...base, blobStore, journal: fileJournal(dir) })
    }).pipe(Effect.orDie)
  )

/** The app, with a `Connection` that drops the request's socket (after flushing what was written). */
const nodeApp = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
  Effect.provideService(EmulatorApp.app, EmulatorApp.Connection, {
    destroy: Effect.async<void>((resume) => {
      const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
      // flush what the response wrote (ServerResponse corks the socket), then drop the connection
      while (socket.writableCorked > 0) socket.uncork()
      if (socket.destroyed || !socket.writable) {
        socket.destroy()
        return resume(Effect.void)
      }
      socket.write(new Uint8Array(0), () => {
        socket.destroy()
        resume(Effect.void)
      })
    })
  }))

/**
 * A real HTTP server serving the emulator (default `127.0.0.1`, any free port).
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Emulator.Emulator | EmulatorServer> => {
  const server = NodeHttpServer.layer(
    // no request timeout: multi-GiB uploads in one PATCH are fine
    () => http.createServer({ requestTimeout: 0 }),
    { port: options.port ?? 0, host: options.host ?? "127.0.0.1" }
  )
  const info = Layer.effect(EmulatorServer, HttpServer.addressFormattedWith((url) => Effect.succeed({ url })))
  return Layer.mergeAll(HttpServer.serve(nodeApp), info).pipe(
    Layer.provide(server),
    // a port already in use is a defect (ServeError) rather than a typed error
    Layer.orDie,
    Layer.provideMerge(emulatorLayer(options))
  )
}

/**
 * A running server, for non-Effect users.
 * @since 0.1.0
 */
export interface Started {
  readonly url: string
  readonly token: string
  readonly emulator: Emulator.EmulatorService
  /** Stops the server (and closes its files). */
  readonly close: () => Promise<void>
}

/**
 * Starts a server; `close()` stops it.
 * @since 0.1.0
 */
export const start = async (options: Options = {}): Promise<Started> => {
  const runtime = ManagedRuntime.make(layer(options))
  try {
    const { emulator, server } = await runtime.runPromise(
      Effect.all({ emulator: Emulator.Emulator, server: EmulatorServer })
    )
    return { url: server.url, token: emulator.token, emulator, close: () => runtime.dispose() }
  } catch (e) {
    await runtime.dispose()
    throw e
  }
}
