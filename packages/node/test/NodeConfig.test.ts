/**
 * Config precedence of @ivcap/node: explicit options > environment > the IVCAP CLI's config.yaml, with real
 * files in a temp folder and the environment given through ConfigProvider.fromMap.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { describe, expect, it } from "@effect/vitest"
import { NodeConfig } from "@ivcap/node"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"

const Platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

/** "Now" for expiry checks, on the TestClock. */
const NOW = Date.parse("2026-06-01T00:00:00Z")

const cliYaml = (opts: { expiry?: string; active?: string; refresh?: boolean } = {}) => `version: v1
active-context: ${opts.active ?? "dev"}
contexts:
- api-version: 1
  name: dev
  url: https://develop.ivcap.example
  account-id: urn:ivcap:account:11111111-1111-1111-1111-111111111111
  provider-id: urn:ivcap:provider:dev
  host: ""
  email: someone@example.org
  access-token: dev-token
  access-token-expiry: ${opts.expiry ?? "2026-06-01T10:00:00.123456789+10:00"}
${opts.refresh === false ? "" : "  refresh-token: dev-refresh\n"}- api-version: 1
  name: prod
  url: https://prod.ivcap.example
  account-id: urn:ivcap:account:22222222-2222-2222-2222-222222222222
  access-token: prod-token
  access-token-expiry: 2030-01-01T00:00:00Z
`

/** Writes `<dir>/ivcap-cli/config.yaml` in a scoped temp folder and returns `dir`. */
const withCliConfig = (text: string, sub: ReadonlyArray<string> = ["ivcap-cli"]) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "ivcap-node-config-" })
    const folder = path.join(dir, ...sub)
    yield* fs.makeDirectory(folder, { recursive: true })
    yield* fs.writeFileString(path.join(folder, "config.yaml"), text)
    return { dir, folder }
  })

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const resolve = (options: NodeConfig.Options, env: Record<string, string>) =>
  NodeConfig.resolve(options).pipe(withEnv(env), Effect.provide(Platform))

describe("NodeConfig.resolve", () => {
  it.scoped("takes url, token and account from the CLI's active context", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml())
      const r = yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder })
      expect(r.url).toBe("https://develop.ivcap.example")
      expect(Redacted.value(r.token!)).toBe("dev-token")
      expect(r.accountId).toBe("urn:ivcap:account:11111111-1111-1111-1111-111111111111")
      expect(r.sources).toEqual({ url: "cli", token: "cli", accountId: "cli" })
      expect(r.cliContext).toBe("dev")
    }).pipe(Effect.provide(Platform)))

  it.scoped("follows active-context, and the `context` option overrides it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml({ active: "prod" }))
      const active = yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder })
      expect(active.url).toBe("https://prod.ivcap.example")
      expect(Redacted.value(active.token!)).toBe("prod-token")
      const chosen = yield* resolve({ context: "dev" }, { IVCAP_CLI_CONFIG_DIR: folder })
      expect(chosen.url).toBe("https://develop.ivcap.example")
      const unknown = yield* Effect.flip(resolve({ context: "nope" }, { IVCAP_CLI_CONFIG_DIR: folder }))
      expect(unknown).toMatchObject({ _tag: "ConfigError", _op: "InvalidData" })
      expect(String(unknown)).toContain("context 'nope' is not defined (contexts: 'dev', 'prod')")
    }).pipe(Effect.provide(Platform)))

  it.scoped("explicit options beat the environment, which beats the CLI file, field by field", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml())
      const env = {
        IVCAP_CLI_CONFIG_DIR: folder,
        IVCAP_URL: "https://develop.ivcap.example/",
        IVCAP_JWT: "env-token",
        IVCAP_ACCOUNT_ID: "urn:ivcap:account:env"
      }
      const fromEnv = yield* resolve({}, env)
      expect([fromEnv.url, Redacted.value(fromEnv.token!), fromEnv.accountId]).toEqual(["https://develop.ivcap.example/", "env-token", "urn:ivcap:account:env"])
      expect(fromEnv.sources).toEqual({ url: "env", token: "env", accountId: "env" })

      const explicit = yield* resolve({ url: "https://develop.ivcap.example", token: Redacted.make("opt-token"), accountId: "urn:ivcap:account:opt" }, env)
      expect([Redacted.value(explicit.token!), explicit.accountId]).toEqual(["opt-token", "urn:ivcap:account:opt"])
      expect(explicit.sources).toEqual({ url: "option", token: "option", accountId: "option" })

      // Only the URL from the environment: token and account still come from the (same-origin) CLI context.
      const mixed = yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder, IVCAP_URL: "https://develop.ivcap.example" })
      expect(mixed.sources).toEqual({ url: "env", token: "cli", accountId: "cli" })
      expect(Redacted.value(mixed.token!)).toBe("dev-token")
    }).pipe(Effect.provide(Platform)))

  it.effect("reads IVCAP_ACCESS_TOKEN (the CLI's name) when IVCAP_JWT is unset; IVCAP_JWT wins", () =>
    Effect.gen(function*() {
      const base = { IVCAP_URL: "http://127.0.0.1:1", IVCAP_CLI_CONFIG_DIR: "/nonexistent/ivcap-cli" }
      const access = yield* resolve({}, { ...base, IVCAP_ACCESS_TOKEN: "cli-env" })
      expect(Redacted.value(access.token!)).toBe("cli-env")
      const both = yield* resolve({}, { ...base, IVCAP_ACCESS_TOKEN: "cli-env", IVCAP_JWT: "jwt-env" })
      expect(Redacted.value(both.token!)).toBe("jwt-env")
      const emptyJwt = yield* resolve({}, { ...base, IVCAP_ACCESS_TOKEN: "cli-env", IVCAP_JWT: "" })
      expect(Redacted.value(emptyJwt.token!)).toBe("cli-env")
    }))

  it.scoped("never hands the CLI's token to another deployment", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml())
      const error = yield* Effect.flip(resolve({ url: "https://elsewhere.example" }, { IVCAP_CLI_CONFIG_DIR: folder }))
      expect(error).toMatchObject({ _tag: "ConfigError", _op: "MissingData" })
      expect(String(error)).toContain("IVCAP_JWT")
      expect(String(error)).not.toContain("dev-token")
    }).pipe(Effect.provide(Platform)))

  it.scoped("an expired CLI token without a refresh token is a TokenExpired error that says how to renew it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml({ expiry: "2026-05-31T23:59:59Z", refresh: false }))
      const error = yield* Effect.flip(resolve({}, { IVCAP_CLI_CONFIG_DIR: folder }))
      expect(error._tag).toBe("TokenExpired")
      if (error._tag !== "TokenExpired") return
      expect(error.context).toBe("dev")
      expect(error.expiredAt.toISOString()).toBe("2026-05-31T23:59:59.000Z")
      expect(error.message).toContain("ivcap context login")
      expect(error.message).toContain("ivcap context get access-token --refresh-token")
      expect(error.message).toContain(folder)
      expect(error.message).not.toContain("dev-token")
      // The same file is fine one second earlier, and irrelevant once the environment has a token.
      yield* TestClock.setTime(Date.parse("2026-05-31T23:59:58Z"))
      expect(Redacted.value((yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder })).token!)).toBe("dev-token")
      yield* TestClock.setTime(NOW)
      expect(Redacted.value((yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder, IVCAP_JWT: "fresh" })).token!)).toBe("fresh")
    }).pipe(Effect.provide(Platform)))

  it.scoped("an expired CLI token with a refresh token resolves as renewable (the client renews it before use)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml({ expiry: "2026-05-31T23:59:59Z" }))
      const r = yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder })
      expect(r.sources.token).toBe("cli")
      expect(r.cliLogin).toMatchObject({ context: "dev", renewable: true })
      expect(r.cliLogin?.expiresAt?.toISOString()).toBe("2026-05-31T23:59:59.000Z")
      expect(r.cliLogin?.file).toContain(folder)
    }).pipe(Effect.provide(Platform)))

  it.scoped("in-platform mode: IVCAP_BASE_URL without IVCAP_URL sends no token (IVCAP_JWT and the CLI ignored); IVCAP_URL wins", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml())
      const inside = yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder, IVCAP_BASE_URL: "http://ivcap.local", IVCAP_JWT: "ignored" })
      expect(inside).toMatchObject({ url: "http://ivcap.local", token: undefined, inPlatform: true, cliContext: undefined })
      const explicit = yield* resolve({ token: "mine" }, { IVCAP_BASE_URL: "http://ivcap.local" })
      expect(explicit.inPlatform).toBe(false)
      expect(Redacted.value(explicit.token!)).toBe("mine")
      const outside = yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder, IVCAP_BASE_URL: "http://ivcap.local", IVCAP_URL: "https://x.example", IVCAP_JWT: "t" })
      expect(outside).toMatchObject({ url: "https://x.example", inPlatform: false })
    }).pipe(Effect.provide(Platform)))

  it.scoped("Go's zero time (no expiry recorded) counts as expired, as in the CLI", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const { folder } = yield* withCliConfig(cliYaml({ expiry: "0001-01-01T00:00:00Z", refresh: false }))
      const error = yield* Effect.flip(resolve({}, { IVCAP_CLI_CONFIG_DIR: folder }))
      expect(error._tag).toBe("TokenExpired")
    }).pipe(Effect.provide(Platform)))

  it.effect("missing everything is a ConfigError naming IVCAP_URL and the file it looked for", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(resolve({}, { IVCAP_CLI_CONFIG_DIR: "/nonexistent/ivcap-cli" }))
      expect(error).toMatchObject({ _tag: "ConfigError", _op: "MissingData" })
      expect(String(error)).toContain("IVCAP_URL")
      expect(String(error)).toContain("/nonexistent/ivcap-cli/config.yaml")
      const noToken = yield* Effect.flip(resolve({ url: "http://127.0.0.1:1" }, { IVCAP_CLI_CONFIG_DIR: "/nonexistent/ivcap-cli" }))
      expect(String(noToken)).toContain("IVCAP_JWT")
    }))

  it.scoped("a malformed config.yaml is a ConfigError naming the file; it is not read when nothing is missing", () =>
    Effect.gen(function*() {
      const { folder } = yield* withCliConfig("active-context: dev\ncontexts:\n- name: dev\n  url: [unclosed\n")
      const error = yield* Effect.flip(resolve({}, { IVCAP_CLI_CONFIG_DIR: folder }))
      expect(error).toMatchObject({ _tag: "ConfigError", _op: "InvalidData" })
      expect(String(error)).toContain(`${folder}/config.yaml`)
      const badShape = yield* withCliConfig("active-context: dev\ncontexts:\n- name: dev\n")
      expect(String(yield* Effect.flip(resolve({}, { IVCAP_CLI_CONFIG_DIR: badShape.folder })))).toContain("url")
      const ok = yield* resolve({}, { IVCAP_CLI_CONFIG_DIR: folder, IVCAP_URL: "http://127.0.0.1:1", IVCAP_JWT: "t" })
      expect(ok.sources.url).toBe("env")
    }).pipe(Effect.provide(Platform)))

  it.scoped("finds config.yaml in the user config folder of each OS", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const linux = yield* withCliConfig(cliYaml(), ["xdg", "ivcap-cli"])
      const viaXdg = yield* resolve({ platform: "linux" }, { XDG_CONFIG_HOME: `${linux.dir}/xdg`, HOME: "/nonexistent" })
      expect(viaXdg.cliContext).toBe("dev")
      const home = yield* withCliConfig(cliYaml({ active: "prod" }), [".config", "ivcap-cli"])
      expect((yield* resolve({ platform: "linux" }, { HOME: home.dir })).url).toBe("https://prod.ivcap.example")
      const mac = yield* withCliConfig(cliYaml(), ["Library", "Application Support", "ivcap-cli"])
      expect((yield* resolve({ platform: "darwin" }, { HOME: mac.dir })).cliContext).toBe("dev")
      const win = yield* withCliConfig(cliYaml(), ["Roaming", "ivcap-cli"])
      expect((yield* resolve({ platform: "win32" }, { APPDATA: `${win.dir}/Roaming` })).cliContext).toBe("dev")
      // The option beats IVCAP_CLI_CONFIG_DIR, which beats the OS folder.
      const other = yield* withCliConfig(cliYaml({ active: "prod" }))
      expect((yield* resolve({ cliConfigDir: other.folder }, { IVCAP_CLI_CONFIG_DIR: "/nonexistent" })).cliContext).toBe("prod")
      expect((yield* resolve({ platform: "darwin" }, { HOME: mac.dir, IVCAP_CLI_CONFIG_DIR: other.folder })).cliContext).toBe("prod")
    }).pipe(Effect.provide(Platform)))
})
