/**
 * Credentials that renew themselves, end to end over HTTP against the emulator's identity provider, with the
 * program's view captured for the leak check: a device login in a program saved into the CLI's config.yaml and used
 * by the next run; a 256 MiB upload whose token expires three times mid-PATCH, completed byte-exact with exactly
 * three refreshes (each rotated refresh token written back); 50 concurrent requests on an expired token causing
 * one refresh; a revoked refresh token giving LoginRequired with nothing sent afterwards; and no access token,
 * refresh token or device code in any log line, span, error or event.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, expect, layer } from "@effect/vitest"
import { Service, Upload, UploadSource } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import { IvcapNode, NodeConfig, NodeLogin } from "@ivcap/node"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as nodeFs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as H from "./harness.js"

const MiB = 1024 * 1024
const figures: Record<string, unknown> = {}
/** Every secret the provider handed out that the test could see (config.yaml history, request log). */
const secrets = new Set<string>()

const Server = EmulatorServer.layer({ oauth: { rejectExpiredMidUpload: true, deviceIntervalSeconds: 1 } }).pipe(
  Layer.merge(NodeContext.layer),
  Layer.merge(NodeHttpClient.layerUndici)
)

/** A CLI config folder shared by the tests of this file (as the user's ~/.config/ivcap-cli would be). */
const cliDir = path.join(nodeFs.mkdtempSync(path.join(os.tmpdir(), "ivcap-reliability-cli-")), "ivcap-cli")
afterAll(() => nodeFs.rmSync(path.dirname(cliDir), { recursive: true, force: true }))

const env = (extra: Record<string, string> = {}) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ IVCAP_CLI_CONFIG_DIR: cliDir, ...extra }))))

/** Reads the CLI's config and remembers the tokens in it (for the leak check). */
const savedContext = Effect.gen(function*() {
  const config = yield* NodeConfig.readCliConfig(path.join(cliDir, "config.yaml"))
  const context = Option.getOrThrow(Option.flatMap(config, (c) => Option.fromNullable(c.contexts.find((x) => x.name === "emu"))))
  if (context.accessToken) secrets.add(Redacted.value(context.accessToken))
  if (context.refreshToken) secrets.add(Redacted.value(context.refreshToken))
  return context
})

/** Remembers every token the emulator issued (its request log keeps no Authorization values). */
const rememberBearers = Effect.gen(function*() {
  for (const t of yield* (yield* Emulator.Emulator).oauth.issued) secrets.add(t)
})

/** The program's client, configured as a user's program would be: from the CLI's config alone. */
const asProgram = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(H.tempDir, (dir) =>
    effect.pipe(
      Effect.provide(IvcapNode.layer({ timeout: "20 seconds", retry: H.fastRetry, uploadStateDir: path.join(dir, "uploads") })),
      env()
    ))

layer(Server, { timeout: 240_000 })("credentials (reliability)", (it) => {
  it.effect("device login in a program: the prompt is reported, config.yaml is written as the CLI does, the next run uses it", () =>
    H.observed(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { url } = yield* EmulatorServer.EmulatorServer
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory(cliDir, { recursive: true })
      // another context the login must keep, unknown keys included
      yield* fs.writeFileString(path.join(cliDir, "config.yaml"), [
        "version: v1",
        "active-context: other",
        "contexts:",
        "- api-version: 1",
        "  name: other",
        "  url: https://other.example",
        "  access-token: other-token",
        "  future-key: kept",
        ""
      ].join("\n"))
      const events: Array<string> = []
      const tokens = yield* NodeLogin.login({
        url,
        context: "emu",
        onEvent: (event) =>
          Effect.gen(function*() {
            events.push(H.stringify(event))
            if (event._tag === "Prompt") {
              expect(event.verificationUriComplete).toContain(`${url}/activate?user_code=`)
              // the user opens the page and approves
              const page = yield* Effect.promise(() => fetch(event.verificationUri, { method: "POST", body: new URLSearchParams({ user_code: event.userCode, action: "approve" }) }))
              expect(page.status).toBe(200)
            }
          })
      }).pipe(env())
      expect(events.map((e) => JSON.parse(e)._tag)).toEqual(["Prompt", "LoggedIn"])
      expect(tokens.account?.accountId).toMatch(/^urn:ivcap:account:/)
      const text = yield* fs.readFileString(path.join(cliDir, "config.yaml"))
      const mode = (yield* fs.stat(path.join(cliDir, "config.yaml"))).mode & 0o777
      expect(mode).toBe(0o600)
      expect(text).toContain("future-key: kept")
      expect(text).toContain("name: other")
      expect(text).toContain("active-context: other")
      const saved = yield* savedContext
      expect(saved.url).toBe(url)
      expect(saved.accountId).toBe(tokens.account?.accountId)
      expect(saved.refreshToken).toBeDefined()
      // the next run: a program configured from the CLI's file alone, once `emu` is the active context
      yield* switchActive("emu")
      const listed = yield* asProgram(Service.list({ pageSize: 5 }).pipe(Stream.take(2), Stream.runCollect))
      expect(listed.length).toBe(2)
      expect((yield* emulator.oauth.stats).deviceGrants).toBe(1)
      figures["device login"] = { events: events.length, deviceGrants: 1 }
    })))

  it.effect("a 256 MiB upload whose token expires three times mid-PATCH completes byte-exact with exactly three refreshes", () =>
    H.observed(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const fs = yield* FileSystem.FileSystem
      const size = 256 * MiB
      const file = path.join(yield* H.tempDir, "big.bin")
      const bytes = H.randomBytes(size, 12)
      yield* fs.writeFile(file, bytes)
      const before = (yield* emulator.oauth.stats).refreshGrants
      const expiredAt: Array<number> = []
      const marks = [70 * MiB, 134 * MiB, 198 * MiB]
      const started = Date.now()
      const artifact = yield* asProgram(Effect.gen(function*() {
        const source = yield* UploadSource.fromFile(file)
        return yield* Upload.upload(source, {
          name: "big.bin",
          onProgress: (p) =>
            Effect.gen(function*() {
              // the token expires while a PATCH body is on its way (not between PATCHes)
              const next = marks[expiredAt.length]
              if (next !== undefined && p.sent >= next) {
                expiredAt.push(p.sent)
                yield* emulator.oauth.expireAccessTokens
              }
            })
        })
      }))
      const millis = Date.now() - started
      expect(artifact.size).toBe(size)
      expect(expiredAt.length).toBe(3)
      const refreshes = (yield* emulator.oauth.stats).refreshGrants - before
      expect(refreshes).toBe(3)
      const stored = yield* storedContent(artifact.dataHref, emulator.token)
      expect(stored.length).toBe(size)
      expect(H.sha256(stored)).toBe(H.sha256(bytes))
      // the rotated refresh token of the last renewal was written back
      const saved = yield* savedContext
      yield* rememberBearers
      const refused = (yield* H.requestLog).filter((r) => r.method === "PATCH").length
      figures["256 MiB upload, token expired 3× mid-PATCH"] = { refreshes, patches: refused, seconds: millis / 1000, savedExpiry: saved.accessTokenExpiry?.toISOString() }
    })), { timeout: 240_000 })

  it.effect("50 concurrent requests hitting an expired token cause one refresh", () =>
    H.observed(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      yield* asProgram(Effect.gen(function*() {
        yield* Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)
        const before = (yield* emulator.oauth.stats).refreshGrants
        yield* emulator.oauth.expireAccessTokens
        yield* Effect.all(Array.from({ length: 50 }, () => Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)), { concurrency: "unbounded" })
        const refreshes = (yield* emulator.oauth.stats).refreshGrants - before
        expect(refreshes).toBe(1)
        figures["50 concurrent requests on an expired token"] = { refreshes }
      }))
      yield* savedContext
      yield* rememberBearers
    })))

  it.effect("a revoked refresh token is LoginRequired saying how to log in again; nothing is sent with the stale token afterwards", () =>
    H.observed(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      yield* asProgram(Effect.gen(function*() {
        yield* Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)
        yield* emulator.oauth.revokeAll
        const exit = yield* H.exitOf(Service.list({ pageSize: 1 }).pipe(Stream.runDrain))
        expect(H.outcomeOf(exit)).toBe("LoginRequired")
        expect(H.capture.errors.at(-1)).toContain("ivcap context login")
        const sent = yield* H.count({ path: "/1/" })
        for (let i = 0; i < 5; i++) {
          expect(H.outcomeOf(yield* H.exitOf(Service.list({ pageSize: 1 }).pipe(Stream.runDrain)))).toBe("LoginRequired")
        }
        expect(yield* H.count({ path: "/1/" })).toBe(sent)
        figures["revoked refresh token"] = { outcome: "LoginRequired", requestsAfterwards: 0 }
      }))
      yield* rememberBearers
    })))

  it.effect("no access token, refresh token or device code in any log line, span, error or event of this file", () =>
    H.observed(Effect.gen(function*() {
      yield* rememberBearers
      // control: the secrets are known (tokens of every kind were seen)
      expect(secrets.size).toBeGreaterThan(4)
      const found = [
        ...[...secrets].flatMap((s) => H.leaks(s)),
        ...H.leaks("emu-rt-"), // any refresh token the emulator issued
        ...H.leaks("emu-dc-"), // any device code
        ...H.leaks("eyJhbGciOiJSUzI1NiIs") // any JWT (access or ID token) it signed
      ]
      expect(found).toEqual([])
      yield* H.writeSummary("credentials", { figures, capture: H.captureCounts(), secretsChecked: secrets.size, leaks: found.length })
    })))
})

/** Makes `name` the CLI's active context (as `ivcap context set` would). */
const switchActive = (name: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = path.join(cliDir, "config.yaml")
    const text = yield* fs.readFileString(file)
    yield* fs.writeFileString(file, text.replace(/^active-context: .*$/m, `active-context: ${name}`))
  })

/** The content the emulator stored, read with a raw `fetch` and the emulator's fixed token (independent of the SDK). */
const storedContent = (dataHref: string | undefined, token: string) =>
  Effect.gen(function*() {
    if (dataHref === undefined) return yield* Effect.dieMessage("no data-href")
    const response = yield* Effect.promise(() => fetch(dataHref, { headers: { authorization: `Bearer ${token}` } }))
    if (response.status !== 200) return yield* Effect.dieMessage(`GET ${dataHref}: ${response.status}`)
    return new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))
  })
