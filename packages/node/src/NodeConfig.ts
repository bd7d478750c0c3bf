/**
 * Where `@ivcap/node` finds its deployment URL, token and account, field by field, first match wins:
 *
 * 1. explicit options (`IvcapNode.layer({ url, token })`);
 * 2. the environment: `IVCAP_URL`, `IVCAP_JWT` (or `IVCAP_ACCESS_TOKEN`, the CLI's name), `IVCAP_ACCOUNT_ID`;
 * 3. in-platform mode: `IVCAP_BASE_URL` (set by the platform inside a service container) when there is no URL
 *    from 1 or 2 — then no token is sent at all (`IVCAP_JWT` and the CLI are ignored, as by the Python client);
 * 4. the active context of the official IVCAP CLI's `config.yaml` (wire doc §8.3), in
 *    `<user config dir>/ivcap-cli/` — or in `cliConfigDir` / `IVCAP_CLI_CONFIG_DIR` when set.
 *
 * The environment is read through Effect `Config`, so `ConfigProvider.fromMap` works in tests. A token taken
 * from the CLI's file is used only for that context's own origin. Once its `access-token-expiry` has passed it is
 * renewed with the context's `refresh-token` (see `NodeLogin.cliCredentials`); without a refresh token,
 * resolution fails with {@link TokenExpired}, which says how to log in again.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { homedir } from "node:os"
import * as Yaml from "yaml"

/** The settings resolution looks at, besides the environment. @since 0.1.0 */
export interface Options {
  /** Deployment root; beats `IVCAP_URL` and the CLI context. */
  readonly url?: string | URL | undefined
  /** Bearer token; beats `IVCAP_JWT` / `IVCAP_ACCESS_TOKEN` and the CLI context. */
  readonly token?: Redacted.Redacted<string> | string | undefined
  /** Account URN; beats `IVCAP_ACCOUNT_ID` and the CLI context. */
  readonly accountId?: string | undefined
  /** Use this CLI context instead of the file's `active-context`. */
  readonly context?: string | undefined
  /** The folder holding the CLI's `config.yaml`; beats `IVCAP_CLI_CONFIG_DIR` and the user config folder. */
  readonly cliConfigDir?: string | undefined
  /** The OS whose config-folder convention applies; default `process.platform`. */
  readonly platform?: NodeJS.Platform | undefined
}

/** Where a resolved value came from. @since 0.1.0 */
export type Source = "option" | "env" | "cli"

/** The outcome of resolution: what to build the client with, and where each value came from. @since 0.1.0 */
export interface Resolved {
  readonly url: string
  /** The bearer token; `undefined` in in-platform mode (no `Authorization` header). */
  readonly token: Redacted.Redacted<string> | undefined
  readonly accountId: string | undefined
  readonly sources: {
    readonly url: Source
    readonly token: Source | undefined
    readonly accountId: Source | undefined
  }
  /** The CLI context used for any value with source `cli`. */
  readonly cliContext: string | undefined
  /** `IVCAP_BASE_URL` without a token: inside the platform, whose sidecar authenticates. */
  readonly inPlatform: boolean
  /**
   * When the token is the CLI's: its file and context, its expiry, and whether it can be renewed (the context has
   * a refresh token). An expired token that can be renewed is returned as it is; the client renews it first.
   */
  readonly cliLogin: {
    readonly file: string
    readonly context: string
    readonly expiresAt: Date | undefined
    readonly renewable: boolean
  } | undefined
}

/**
 * The token saved by the IVCAP CLI has expired. The message says how to renew it; nothing was sent.
 *
 * @since 0.1.0
 */
export class TokenExpired extends Schema.TaggedError<TokenExpired>()("TokenExpired", {
  context: Schema.String,
  url: Schema.String,
  expiredAt: Schema.DateFromSelf,
  configFile: Schema.String
}) {
  override get message() {
    return `The IVCAP CLI's access token for context '${this.context}' (${this.url}) expired at ` +
      `${this.expiredAt.toISOString()} (${this.configFile}). Renew it with \`ivcap context login\`, or refresh it with ` +
      "`ivcap context get access-token --refresh-token`; or set IVCAP_JWT."
  }
}

/** An `access-token-expiry`: an RFC 3339 string (a `Date` if the YAML was read with timestamps). */
const Expiry = Schema.Union(Schema.DateFromSelf, Schema.Date)

/** One context of the CLI's `config.yaml` (only the keys the SDK uses; wire doc §8.3). @since 0.1.0 */
export class CliContext extends Schema.Class<CliContext>("CliContext")({
  name: Schema.String,
  url: Schema.String,
  accountId: Schema.optional(Schema.String).pipe(Schema.fromKey("account-id")),
  accessToken: Schema.optional(Schema.Redacted(Schema.String)).pipe(Schema.fromKey("access-token")),
  accessTokenExpiry: Schema.optional(Expiry).pipe(Schema.fromKey("access-token-expiry")),
  refreshToken: Schema.optional(Schema.Redacted(Schema.String)).pipe(Schema.fromKey("refresh-token"))
}) {}

/** The CLI's `config.yaml` (wire doc §8.3). @since 0.1.0 */
export class CliConfig extends Schema.Class<CliConfig>("CliConfig")({
  activeContext: Schema.optional(Schema.String).pipe(Schema.fromKey("active-context")),
  contexts: Schema.optionalWith(Schema.Array(CliContext), { default: () => [], nullable: true })
}) {}

/** An environment variable (through `Config`) as an `Option`; an empty value counts as unset. @since 0.1.0 */
export const optionalEnv = (name: string): Config.Config<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((s) => s.trim() !== "")))

const optionalRedactedEnv = (name: string) =>
  Config.option(Config.redacted(name)).pipe(Config.map(Option.filter((s) => Redacted.value(s).trim() !== "")))

/**
 * The environment's part: `IVCAP_URL`, `IVCAP_BASE_URL`, `IVCAP_JWT` else `IVCAP_ACCESS_TOKEN`,
 * `IVCAP_ACCOUNT_ID`, `IVCAP_CLI_CONFIG_DIR`. Empty values count as unset.
 *
 * @since 0.1.0
 */
export const env = Config.all({
  url: optionalEnv("IVCAP_URL"),
  baseUrl: optionalEnv("IVCAP_BASE_URL"),
  token: Config.all([optionalRedactedEnv("IVCAP_JWT"), optionalRedactedEnv("IVCAP_ACCESS_TOKEN")]).pipe(
    Config.map(([jwt, access]) => Option.orElse(jwt, () => access))
  ),
  accountId: optionalEnv("IVCAP_ACCOUNT_ID"),
  cliConfigDir: optionalEnv("IVCAP_CLI_CONFIG_DIR")
})

/**
 * The user config folder as Go's `os.UserConfigDir` (which the CLI uses) finds it: `$XDG_CONFIG_HOME` or
 * `~/.config` on Linux and other Unixes, `~/Library/Application Support` on macOS, `%APPDATA%` on Windows.
 *
 * @since 0.1.0
 */
export const userConfigDir = (
  platform: NodeJS.Platform = process.platform
): Effect.Effect<string, ConfigError.ConfigError, Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const home = Effect.map(optionalEnv("HOME"), Option.getOrElse(() => homedir()))
    if (platform === "win32") {
      const appData = yield* optionalEnv("APPDATA")
      return yield* Option.match(appData, {
        onNone: () => Effect.fail(ConfigError.MissingData(["APPDATA"], "%APPDATA% is not set, so the IVCAP CLI's config folder is unknown")),
        onSome: Effect.succeed
      })
    }
    if (platform === "darwin") return path.join(yield* home, "Library", "Application Support")
    const xdg = yield* optionalEnv("XDG_CONFIG_HOME")
    return Option.isSome(xdg) ? xdg.value : path.join(yield* home, ".config")
  })

/**
 * The folder holding the CLI's `config.yaml`: `options.cliConfigDir`, else `IVCAP_CLI_CONFIG_DIR`, else
 * `<user config dir>/ivcap-cli`.
 *
 * @since 0.1.0
 */
export const cliConfigDir = (options: Options = {}): Effect.Effect<string, ConfigError.ConfigError, Path.Path> =>
  Effect.gen(function*() {
    if (options.cliConfigDir !== undefined) return options.cliConfigDir
    const fromEnv = (yield* env).cliConfigDir
    if (Option.isSome(fromEnv)) return fromEnv.value
    return (yield* Path.Path).join(yield* userConfigDir(options.platform), "ivcap-cli")
  })

/** A `ConfigError` about the CLI's config file. @since 0.1.0 */
export const invalidFile = (file: string, message: string): ConfigError.ConfigError => ConfigError.InvalidData(["ivcap-cli", "config.yaml"], `${file}: ${message}`)

/**
 * Reads and decodes the CLI's config file; `None` when there is none. Malformed YAML or content is a
 * `ConfigError` naming the file.
 *
 * @since 0.1.0
 */
export const readCliConfig = (file: string): Effect.Effect<Option.Option<CliConfig>, ConfigError.ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.map(Option.some),
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed(Option.none<string>())),
      Effect.mapError((e) => invalidFile(file, `cannot be read: ${e.message}`))
    )
    if (Option.isNone(text)) return Option.none()
    const parsed = yield* Effect.try({
      try: () => Yaml.parse(text.value) as unknown,
      catch: (e) => invalidFile(file, `is not valid YAML: ${e instanceof Error ? e.message : String(e)}`)
    })
    if (parsed === null || parsed === undefined) return Option.none()
    return yield* Schema.decodeUnknown(CliConfig)(parsed).pipe(
      Effect.map(Option.some),
      Effect.mapError((e) => invalidFile(file, ParseResult.TreeFormatter.formatErrorSync(e)))
    )
  })

const sameOrigin = (a: string, b: string) => {
  try {
    return new URL(a).origin === new URL(b).origin
  } catch {
    return false
  }
}

/** The context to use: `options.context`, else `active-context`; `None` when the file names none. */
const pickContext = (config: CliConfig, file: string, wanted: string | undefined) => {
  const name = wanted ?? config.activeContext
  if (name === undefined || name === "") return Effect.succeed(Option.none<CliContext>())
  const found = config.contexts.find((c) => c.name === name)
  if (found) return Effect.succeed(Option.some(found))
  const known = config.contexts.map((c) => `'${c.name}'`).join(", ") || "none"
  return Effect.fail(invalidFile(file, `context '${name}' is not defined (contexts: ${known})`))
}

const missing = (key: string, what: string, file: string) =>
  ConfigError.MissingData(
    [key],
    `No IVCAP ${what}: pass it as an option, set ${key}${key === "IVCAP_JWT" ? " (or IVCAP_ACCESS_TOKEN)" : ""}, ` +
      `or log in with the IVCAP CLI (\`ivcap context login\`), whose ${file} is read otherwise`
  )

/** The first defined value and its source. */
const first = <A>(...candidates: ReadonlyArray<readonly [Option.Option<A>, Source]>): Option.Option<readonly [A, Source]> => {
  for (const [value, source] of candidates) if (Option.isSome(value)) return Option.some([value.value, source] as const)
  return Option.none()
}

/**
 * Resolves URL, token and account by the precedence above. Fails with a `ConfigError` naming what is missing
 * (and where it looked), or with {@link TokenExpired} when the only token is the CLI's, it has expired and the
 * context has no refresh token to renew it with.
 *
 * @since 0.1.0
 */
export const resolve = (
  options: Options = {}
): Effect.Effect<Resolved, ConfigError.ConfigError | TokenExpired, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fromEnv = yield* env
    const explicit = {
      url: Option.fromNullable(options.url).pipe(Option.map(String), Option.filter((s) => s.trim() !== "")),
      token: Option.fromNullable(options.token).pipe(Option.map((t) => (Redacted.isRedacted(t) ? t : Redacted.make(t)))),
      accountId: Option.fromNullable(options.accountId)
    }
    const explicitOrEnvUrl = Option.isSome(explicit.url) || Option.isSome(fromEnv.url)
    // In-platform mode (wire doc §12): IVCAP_BASE_URL and no URL of ours; only an explicit token is sent then.
    const inPlatform = !explicitOrEnvUrl && Option.isSome(fromEnv.baseUrl)
    if (inPlatform) {
      return {
        url: Option.getOrThrow(fromEnv.baseUrl),
        token: Option.getOrUndefined(explicit.token),
        accountId: Option.getOrUndefined(Option.orElse(explicit.accountId, () => fromEnv.accountId)),
        sources: {
          url: "env" as const,
          token: Option.isSome(explicit.token) ? "option" as const : undefined,
          accountId: Option.isSome(explicit.accountId) ? "option" as const : Option.isSome(fromEnv.accountId) ? "env" as const : undefined
        },
        cliContext: undefined,
        inPlatform: Option.isNone(explicit.token),
        cliLogin: undefined
      }
    }
    const haveToken = Option.isSome(explicit.token) || Option.isSome(fromEnv.token)
    const file = (yield* Path.Path).join(yield* cliConfigDir(options), "config.yaml")
    // The CLI's file is read only when something is still missing, so a broken file never gets in the way of
    // a complete explicit/env configuration.
    const context = explicitOrEnvUrl && haveToken && options.context === undefined
      ? Option.none<CliContext>()
      : yield* readCliConfig(file).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.succeed(Option.none<CliContext>()), onSome: (c) => pickContext(c, file, options.context) }))
      )

    const url = yield* first(
      [explicit.url, "option"],
      [fromEnv.url, "env"],
      [Option.map(context, (c) => c.url), "cli"]
    ).pipe(Option.match({ onNone: () => Effect.fail(missing("IVCAP_URL", "URL", file)), onSome: Effect.succeed }))
    // The CLI's token and account belong to its context's deployment: never hand them to another origin.
    const usable = Option.filter(context, (c) => sameOrigin(c.url, url[0]))
    const renewable = Option.exists(usable, (c) => c.refreshToken !== undefined && Redacted.value(c.refreshToken) !== "")

    const token = yield* first(
      [explicit.token, "option"],
      [fromEnv.token, "env"],
      [Option.flatMap(usable, (c) => Option.fromNullable(c.accessToken)).pipe(Option.filter((t) => Redacted.value(t) !== "")), "cli"]
    ).pipe(
      // A context with a refresh token but no access token (yet) is usable: the first request renews it.
      Option.orElse(() => (renewable ? Option.some([undefined, "cli"] as const) : Option.none())),
      Option.match({ onNone: () => Effect.fail(missing("IVCAP_JWT", "token", file)), onSome: Effect.succeed })
    )
    if (token[1] === "cli" && Option.isSome(usable) && !renewable) yield* checkExpiry(usable.value, file)

    const accountId = first(
      [explicit.accountId, "option"],
      [fromEnv.accountId, "env"],
      [Option.flatMap(usable, (c) => Option.fromNullable(c.accountId)), "cli"]
    )
    const usedCli = url[1] === "cli" || token[1] === "cli" || Option.exists(accountId, ([, s]) => s === "cli")
    return {
      url: url[0],
      token: token[0],
      accountId: Option.getOrUndefined(Option.map(accountId, ([a]) => a)),
      sources: { url: url[1], token: token[1], accountId: Option.getOrUndefined(Option.map(accountId, ([, s]) => s)) },
      cliContext: usedCli ? Option.getOrUndefined(Option.map(context, (c) => c.name)) : undefined,
      inPlatform: false,
      cliLogin: token[1] === "cli" && Option.isSome(usable)
        ? { file, context: usable.value.name, expiresAt: usable.value.accessTokenExpiry, renewable }
        : undefined
    }
  })

/**
 * A context's token is expired once `access-token-expiry` has passed; Go's zero time (no expiry recorded) counts
 * as expired, as it does for the CLI, which then refreshes. No expiry key at all means unknown: the token is used.
 */
const checkExpiry = (context: CliContext, file: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    context.accessTokenExpiry !== undefined && context.accessTokenExpiry.getTime() <= now
      ? Effect.fail(new TokenExpired({ context: context.name, url: context.url, expiredAt: context.accessTokenExpiry, configFile: file }))
      : Effect.void)
