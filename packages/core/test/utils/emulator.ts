/**
 * Test harness: a real emulator on 127.0.0.1 (port 0) and an IvcapClient pointed at it over undici, or the
 * emulator's no-socket HttpClient. Tests get `Emulator.Emulator` too, to inject faults and read counters.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { IvcapClient } from "@ivcap/core"
import { Emulator, EmulatorHttpClient } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** Client options tests may override (timeouts, retry policy). */
export type ClientOverrides = Omit<IvcapClient.Options, "url" | "token">

/** Emulator over real HTTP + an IvcapClient for it. */
export const layerHttp = (overrides: ClientOverrides = {}, serverOptions: Parameters<typeof EmulatorServer.layer>[0] = {}) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const server = yield* EmulatorServer.EmulatorServer
    const emulator = yield* Emulator.Emulator
    return IvcapClient.layer({ url: server.url, token: emulator.token, ...overrides }).pipe(Layer.provide(NodeHttpClient.layerUndici))
  })).pipe(Layer.provideMerge(EmulatorServer.layer(serverOptions)))

/** Emulator in process (no socket) + an IvcapClient for it. */
export const layerInProcess = (overrides: ClientOverrides = {}, emulatorOptions: Parameters<typeof Emulator.layer>[0] = {}) =>
  Layer.unwrapEffect(Effect.map(Emulator.Emulator, (emulator) =>
    IvcapClient.layer({ url: EmulatorHttpClient.baseUrl, token: emulator.token, ...overrides }).pipe(Layer.provide(EmulatorHttpClient.layer))
  )).pipe(Layer.provideMerge(Emulator.layer(emulatorOptions)))
