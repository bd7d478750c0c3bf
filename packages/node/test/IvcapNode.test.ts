/**
 * IvcapNode.layer end to end: configuration from the IVCAP CLI's config.yaml (written to a temp folder) and from
 * a custom Config, undici against the emulator over HTTP, and the file-backed upload store resuming an upload in
 * a fresh layer (a new "process").
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { expect, layer } from "@effect/vitest"
import { Credentials, Service } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import { IvcapNode, Marker, NodeTransfer } from "@ivcap/node"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"

const MiB = 1024 * 1024

/** An env for the layer: only what is given (no real environment, no real CLI config). */
const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** A scoped temp folder with the CLI's config.yaml naming the emulator, under a chosen expiry. */
const cliFolder = (expiry: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { url } = yield* EmulatorServer.EmulatorServer
    const { token } = yield* Emulator.Emulator
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "ivcap-node-layer-" })
    yield* fs.writeFileString(path.join(dir, "config.yaml"), [
      "version: v1",
      "active-context: local",
      "contexts:",
      "- name: local",
      `  url: ${url}`,
      `  access-token: ${token}`,
      `  access-token-expiry: ${expiry}`,
      "  account-id: urn:ivcap:account:00000000-0000-0000-0000-00000000000a",
      ""
    ].join("\n"))
    return dir
  })

const names = Effect.map(Stream.runCollect(Service.list({ pageSize: 50 })), (c) => Chunk.toReadonlyArray(c).map((s) => s.name))

/** Real time: the expiry check and the emulator both use the wall clock here. */
const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => TestServices.provideLive(Effect.scoped(effect))

layer(EmulatorServer.layer().pipe(Layer.provideMerge(NodeFileSystem.layer), Layer.provideMerge(NodePath.layer)))("IvcapNode.layer", (it) => {
  it.effect("works from the IVCAP CLI's login alone, sending its token", () =>
    live(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      yield* emulator.requests.reset
      const dir = yield* cliFolder("2999-01-01T00:00:00Z")
      const listed = yield* names.pipe(Effect.provide(IvcapNode.layer()), withEnv({ IVCAP_CLI_CONFIG_DIR: dir }))
      expect(listed.length).toBeGreaterThan(50)
      const log = yield* emulator.requests.log
      expect(log.length).toBeGreaterThan(1)
      expect(log.every((r) => r.auth === "token" && r.headers["authorization"] === undefined)).toBe(true)
      expect(log.every((r) => r.headers["traceparent"] === undefined)).toBe(true)
    })))

  it.effect("an expired CLI login fails the layer with TokenExpired before any request", () =>
    live(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      yield* emulator.requests.reset
      const dir = yield* cliFolder("2001-01-01T00:00:00Z")
      const error = yield* Effect.flip(names.pipe(Effect.provide(IvcapNode.layer()), withEnv({ IVCAP_CLI_CONFIG_DIR: dir })))
      expect(error._tag).toBe("TokenExpired")
      expect(error.message).toContain("ivcap context login")
      expect(yield* emulator.requests.count()).toBe(0)
      // An explicit token still wins over the expired file.
      const listed = yield* names.pipe(Effect.provide(IvcapNode.layer({ token: emulator.token })), withEnv({ IVCAP_CLI_CONFIG_DIR: dir }))
      expect(listed.length).toBeGreaterThan(0)
    })))

  it.effect("layerConfig reads the options from an application's own keys and passes client options through", () =>
    live(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const config = Config.all({ url: Config.string("MYAPP_URL"), token: Config.redacted("MYAPP_TOKEN") }).pipe(
        Config.map((o): IvcapNode.Options => ({ ...o, timeout: "300 millis", retry: false, cliConfigDir: "/nonexistent" }))
      )
      const env = withEnv({ MYAPP_URL: url, MYAPP_TOKEN: emulator.token })
      expect((yield* names.pipe(Effect.provide(IvcapNode.layerConfig(config)), env)).length).toBeGreaterThan(0)
      yield* emulator.faults.inject({ match: { method: "GET", path: "/1/services" }, action: { _tag: "Delay", millis: 1500 } })
      const error = yield* Effect.flip(names.pipe(Effect.provide(IvcapNode.layerConfig(config)), env))
      expect(error._tag).toBe("RequestTimeout")
      yield* emulator.faults.reset
    })))

  it.effect("the markers option configures the layer's Marker.Background (limit, yieldAbove); the defaults otherwise", () =>
    live(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const env = withEnv({ IVCAP_URL: url, IVCAP_JWT: emulator.token, IVCAP_CLI_CONFIG_DIR: "/nonexistent" })
      const background = Effect.map(Marker.Background, (writes) => ({ limit: writes?.limit, yieldAbove: writes?.yieldAbove }))
      expect(yield* background.pipe(Effect.provide(IvcapNode.layer({ markers: { limit: 1, yieldAbove: Infinity } })), env))
        .toEqual({ limit: 1, yieldAbove: Infinity })
      expect(yield* background.pipe(Effect.provide(IvcapNode.layer()), env)).toEqual({ limit: 2, yieldAbove: Marker.defaultYieldAbove })
      expect(yield* background.pipe(Effect.provide(IvcapNode.layerPlatform({ markers: { yieldAbove: 0 } })), env))
        .toEqual({ limit: 2, yieldAbove: 0 })
    })))

  it.effect("provides its Credentials: a token set after a refusal is the one the next request sends", () =>
    live(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const env = withEnv({ IVCAP_URL: url, IVCAP_JWT: "not-the-emulator-token", IVCAP_CLI_CONFIG_DIR: "/nonexistent" })
      yield* Effect.gen(function*() {
        expect((yield* Effect.flip(names))._tag).toBe("Unauthorized")
        const credentials = yield* Credentials.Credentials
        yield* credentials.set({ accessToken: Redacted.make(emulator.token) })
        expect((yield* names).length).toBeGreaterThan(0)
      }).pipe(Effect.provide(IvcapNode.layer({ retry: false })), env)
    })))

  it("re-exports every module of @ivcap/core", async () => {
    const core = await import("@ivcap/core")
    const node: Record<string, unknown> = await import("@ivcap/node")
    for (const name of Object.keys(core)) expect([name, node[name]]).toEqual([name, (core as Record<string, unknown>)[name]])
  })

  it.effect("reads IVCAP_API_VERSION (an apiVersion option wins; a bad value is a ConfigError naming it)", () =>
    live(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const base = { IVCAP_URL: url, IVCAP_JWT: emulator.token, IVCAP_CLI_CONFIG_DIR: "/nonexistent" }
      const paths = Effect.map(emulator.requests.log, (log) => log.map((r) => new URL(r.url, url).pathname))
      // v0.41 from the environment: the services come from /1/services, with no probe of /1/services2.
      yield* emulator.requests.reset
      yield* names.pipe(Effect.provide(IvcapNode.layer()), withEnv({ ...base, IVCAP_API_VERSION: "v0.41" }))
      expect(yield* paths).toContain("/1/services")
      expect((yield* paths).filter((p) => p.startsWith("/1/services2"))).toEqual([])
      // Unset: auto, one probe of /1/services2 and the listing from there (the emulator speaks v0.48).
      yield* emulator.requests.reset
      yield* names.pipe(Effect.provide(IvcapNode.layer()), withEnv(base))
      expect((yield* paths).every((p) => p.startsWith("/1/services2"))).toBe(true)
      // The option wins over the environment.
      yield* emulator.requests.reset
      yield* names.pipe(Effect.provide(IvcapNode.layer({ apiVersion: "v0.44" })), withEnv({ ...base, IVCAP_API_VERSION: "v0.41" }))
      expect((yield* paths).every((p) => p.startsWith("/1/services2"))).toBe(true)
      // A value it does not know fails the layer before any request.
      yield* emulator.requests.reset
      const error = yield* Effect.flip(names.pipe(Effect.provide(IvcapNode.layer()), withEnv({ ...base, IVCAP_API_VERSION: "0.48" })))
      expect(error._tag).toBe("ConfigError")
      expect(String(error)).toContain("IVCAP_API_VERSION")
      expect(yield* emulator.requests.count()).toBe(0)
    })))

  it.effect("keeps upload state in files, created on first use, so a new layer resumes an interrupted upload", () =>
    live(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "ivcap-node-state-" })
      const stateDir = path.join(dir, "state", "uploads")
      const file = path.join(dir, "three.bin")
      yield* fs.writeFile(file, new Uint8Array(3 * MiB).map((_, i) => (i * 31) & 0xff))
      const env = withEnv({ IVCAP_URL: url, IVCAP_JWT: emulator.token, IVCAP_UPLOAD_STATE_DIR: stateDir, IVCAP_CLI_CONFIG_DIR: "/nonexistent" })
      const options = { chunkSize: MiB, retry: Schedule.recurs(0) }

      yield* names.pipe(Effect.provide(IvcapNode.layer()), env)
      expect(yield* fs.exists(stateDir)).toBe(false)

      yield* emulator.requests.reset
      yield* emulator.faults.inject({ match: { method: "PATCH" }, skip: 1, action: { _tag: "Status", status: 403 } })
      const failed = yield* Effect.flip(NodeTransfer.uploadFile(file, options).pipe(Effect.provide(IvcapNode.layer()), env))
      expect(failed._tag).toBe("Forbidden")
      expect((yield* fs.readDirectory(stateDir)).length).toBe(1)

      // A fresh layer, as a new process would build it: the record on disk leads it to the same artifact.
      const artifact = yield* NodeTransfer.uploadFile(file, options).pipe(Effect.provide(IvcapNode.layer()), env)
      expect(artifact.size).toBe(3 * MiB)
      expect(yield* emulator.requests.count({ method: "POST", path: "/1/artifacts" })).toBe(1)
      const patches = (yield* emulator.requests.log).filter((r) => r.method === "PATCH")
      expect(patches.length).toBe(4)
      // Every chunk is sent with its length: no chunked transfer encoding.
      expect(patches.every((r) => r.headers["content-length"] !== undefined && r.headers["transfer-encoding"] === undefined)).toBe(true)
      expect(yield* fs.readDirectory(stateDir)).toEqual([])
    })))
})
