/**
 * The IVCAP login, as the official CLI does it (wire doc §8.3), for Node programs:
 *
 * - {@link discover}: the identity provider from `<url>/1/authinfo.yaml`;
 * - {@link deviceLogin}: the OAuth device-code flow (RFC 8628) as an Effect — the user code and URL are reported
 *   through `onEvent` (or as a Stream with {@link deviceLoginEvents}), polling honours `authorization_pending` and
 *   `slow_down` (+5 s), ends when the code expires, and stops when interrupted;
 * - {@link refresh}: the refresh-token grant (a refused refresh token is `LoginRequired`);
 * - {@link saveLogin}: the tokens written back to the CLI's `config.yaml` as the CLI does — under a lock
 *   (`config.yaml.lock`), re-read just before writing, only this context's keys changed (everything else, other
 *   contexts and unknown keys included, is kept), written to a temp file and renamed over the old one (mode 0600);
 * - {@link cliCredentials}: a refreshing `Credentials` service for a CLI context, which `IvcapNode.layer` uses: an
 *   expired access token is renewed with the context's refresh token (adopting a token another process saved
 *   meanwhile instead of spending the refresh token, which the provider rotates).
 *
 * No token, refresh token or device code is ever logged, traced, put in an error or an event.
 *
 * @example
 * NodeLogin.login({ url: "https://develop.ivcap.net", onEvent: (e) => e._tag === "Prompt" ? Console.log(`Open ${e.verificationUriComplete}`) : Effect.void })
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Path from "@effect/platform/Path"
import * as Credentials from "@ivcap/core/Credentials"
import { LoginRequired, RequestTimeout, TransportError } from "@ivcap/core/IvcapError"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createPublicKey, verify } from "node:crypto"
import * as Yaml from "yaml"
import * as NodeConfig from "./NodeConfig.js"

/**
 * The device login did not complete: denied, expired, or the identity provider answered something unusable.
 * Carries no token or device code.
 * @since 0.1.0
 */
export class LoginFailed extends Schema.TaggedError<LoginFailed>()("LoginFailed", {
  reason: Schema.String
}) {
  override get message() {
    return `IVCAP login failed: ${this.reason}`
  }
}

/** One identity provider of `/1/authinfo.yaml` (wire doc §8.3). @since 0.1.0 */
export class Provider extends Schema.Class<Provider>("Provider")({
  id: Schema.optional(Schema.String),
  loginUrl: Schema.String.pipe(Schema.propertySignature, Schema.fromKey("login-url")),
  tokenUrl: Schema.String.pipe(Schema.propertySignature, Schema.fromKey("token-url")),
  codeUrl: Schema.String.pipe(Schema.propertySignature, Schema.fromKey("code-url")),
  jwksUrl: Schema.String.pipe(Schema.propertySignature, Schema.fromKey("jwks-url")),
  clientId: Schema.String.pipe(Schema.propertySignature, Schema.fromKey("client-id")),
  audience: Schema.optional(Schema.String)
}) {}

const AuthInfo = Schema.Struct({
  version: Schema.Number,
  auth: Schema.Struct({
    "default-provider-id": Schema.optional(Schema.String),
    providers: Schema.Record({ key: Schema.String, value: Provider })
  })
})

/** The tokens of a login or refresh, and what the ID token says about the account. @since 0.1.0 */
export interface Tokens {
  readonly accessToken: Redacted.Redacted<string>
  /** Epoch millis: now + `expires_in` − 10 s (as the CLI stores it). */
  readonly expiresAt: number
  readonly refreshToken: Redacted.Redacted<string> | undefined
  readonly account: Account | undefined
}

/** The account as the (verified) ID token describes it. @since 0.1.0 */
export interface Account {
  /** `urn:ivcap:account:<acc>`. */
  readonly accountId: string
  /** `urn:ivcap:provider:<ivcap/claims/provider or acc>`. */
  readonly providerId: string
  readonly name: string | undefined
  readonly nickname: string | undefined
  readonly email: string | undefined
}

/** What the device login reports while it runs. @since 0.1.0 */
export type LoginEvent = Data.TaggedEnum<{
  /** Show this to the user: open `verificationUriComplete` (or `verificationUri` and type `userCode`). */
  Prompt: {
    readonly userCode: string
    readonly verificationUri: string
    readonly verificationUriComplete: string | undefined
    readonly expiresIn: Duration.Duration
  }
  /** Polled; the user has not finished yet. */
  Pending: { readonly remaining: Duration.Duration }
  /** The provider asked to poll less often; the new interval. */
  SlowDown: { readonly interval: Duration.Duration }
  /** Logged in. */
  LoggedIn: { readonly account: Account | undefined; readonly expiresAt: Date }
}>

/** Constructors of {@link LoginEvent}. @since 0.1.0 */
export const LoginEvent = Data.taggedEnum<LoginEvent>()

/** The time one request to the identity provider may take, its answer's body included. */
const requestTimeout = Duration.seconds(30)

/**
 * The time the requests of one renewal of a CLI login may take together (discovery and the refresh grant): a
 * renewal holds up requests, so a provider that does not answer must not hold them for long.
 */
const renewalTimeout = Duration.seconds(10)

/** The largest answer read from the identity provider (its documents and tokens are a few KiB). */
const maxAnswerBytes = 1024 * 1024

/** The longest access-token lifetime believed (`expires_in` beyond it, e.g. 1e13, is cut to it). */
const maxLifetimeSeconds = 365 * 24 * 3600

/** The lifetime assumed when `expires_in` is missing or not a finite number (RFC 6749 makes it optional). */
const defaultLifetimeSeconds = 3600

/** The longest polling interval of a device login, and the longest a device code is believed to be valid. */
const maxPollSeconds = 60
const maxCodeSeconds = 3600

type HttpError = TransportError | RequestTimeout

/** The body of `response` as text; more than {@link maxAnswerBytes} is a `TransportError` (reading stops there). */
const readCapped = (request: HttpClientRequest.HttpClientRequest, response: HttpClientResponse.HttpClientResponse): Effect.Effect<string, TransportError> => {
  const tooLarge = () => new TransportError({ method: request.method, url: request.url, reason: `the identity provider's answer exceeds ${maxAnswerBytes} bytes` })
  const declared = Number(response.headers["content-length"])
  if (declared > maxAnswerBytes) return Effect.fail(tooLarge())
  return Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return response.stream.pipe(
      Stream.mapError((e) => new TransportError({ method: request.method, url: request.url, reason: e.message })),
      Stream.runForEach((chunk) => {
        size += chunk.length
        if (size > maxAnswerBytes) return Effect.fail(tooLarge())
        chunks.push(chunk)
        return Effect.void
      }),
      Effect.map(() => Buffer.concat(chunks).toString("utf8"))
    )
  })
}

/**
 * Sends a request (no token: these endpoints are public) and reads the body as text (at most 1 MiB), the whole
 * under `timeout`.
 */
const exchange = (
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.Duration = requestTimeout
): Effect.Effect<{ readonly status: number; readonly text: string }, HttpError, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(request).pipe(
      Effect.mapError((e) => new TransportError({ method: request.method, url: request.url, reason: e.message })),
      Effect.flatMap((response: HttpClientResponse.HttpClientResponse) => Effect.map(readCapped(request, response), (text) => ({ status: response.status, text }))),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new RequestTimeout({ method: request.method, url: request.url, timeout, reason: `the identity provider did not answer within ${Duration.format(timeout)}` })
      })
    ))

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The identity provider of a deployment, from `<url>/1/authinfo.yaml`: `default-provider-id`, else the first one.
 * An unreadable or unusable document is `LoginFailed`.
 * @since 0.1.0
 */
export const discover = (url: string): Effect.Effect<Provider, LoginFailed | HttpError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const at = `${url.replace(/\/+$/, "")}/1/authinfo.yaml`
    const { status, text } = yield* exchange(HttpClientRequest.get(at))
    if (status !== 200) return yield* new LoginFailed({ reason: `GET ${at} answered ${status}` })
    const parsed = yield* Effect.try({ try: () => Yaml.parse(text) as unknown, catch: () => new LoginFailed({ reason: `${at} is not YAML` }) })
    const info = yield* Schema.decodeUnknown(AuthInfo)(parsed).pipe(
      Effect.mapError((e) => new LoginFailed({ reason: `${at}: ${e.message.split("\n").slice(-2).join(" ")}` }))
    )
    if (info.version !== 1) return yield* new LoginFailed({ reason: `${at}: version ${info.version} is not supported (1 is)` })
    const wanted = info.auth["default-provider-id"]
    // own keys only: `__proto__` or `constructor` is not a declared provider
    const provider = wanted !== undefined && wanted !== ""
      ? (Object.prototype.hasOwnProperty.call(info.auth.providers, wanted) ? info.auth.providers[wanted] : undefined)
      : Object.values(info.auth.providers)[0]
    if (provider === undefined) return yield* new LoginFailed({ reason: `${at} names no usable provider${wanted ? ` ('${wanted}' is not declared)` : ""}` })
    for (const [name, value] of [["token-url", provider.tokenUrl], ["code-url", provider.codeUrl], ["jwks-url", provider.jwksUrl]] as const) {
      if (!/^https?:\/\//.test(value)) return yield* new LoginFailed({ reason: `${at}: ${name} is not an http(s) URL` })
    }
    return provider
  })

const TokenResponse = Schema.Struct({
  access_token: Schema.NonEmptyString,
  refresh_token: Schema.optional(Schema.String),
  id_token: Schema.optional(Schema.String),
  // a number, a numeric string (some providers send one), or missing: see `lifetimeOf`
  expires_in: Schema.optional(Schema.Unknown)
})

/** A number of seconds the provider sent, within `min` … `max`; `fallback` when it is not a finite number. */
const secondsWithin = (value: number | undefined, min: number, max: number, fallback: number): number =>
  value !== undefined && Number.isFinite(value) ? Math.min(Math.max(value, min), max) : fallback

/**
 * An `expires_in` as seconds the SDK can rely on: a number or numeric string, within 0 … 1 year; missing or not a
 * finite number (`1e400`, `"soon"`) counts as the usual hour. Never throws, so issued tokens are never lost to it.
 */
const lifetimeOf = (expiresIn: unknown): number =>
  secondsWithin(
    typeof expiresIn === "number" ? expiresIn : typeof expiresIn === "string" && expiresIn.trim() !== "" ? Number(expiresIn) : undefined,
    0,
    maxLifetimeSeconds,
    defaultLifetimeSeconds
  )

const OAuthErrorBody = Schema.Struct({ error: Schema.String, error_description: Schema.optional(Schema.String) })

const DeviceAuthorization = Schema.Struct({
  device_code: Schema.String,
  user_code: Schema.String,
  verification_uri: Schema.String,
  verification_uri_complete: Schema.optional(Schema.String),
  expires_in: Schema.Union(Schema.Number, Schema.NumberFromString),
  interval: Schema.optional(Schema.Union(Schema.Number, Schema.NumberFromString))
})

/**
 * A token endpoint answer: tokens, or the OAuth error code (never the body: it may hold tokens). `temporary`: an
 * answer that says nothing about the grant (408, 429, 5xx, a 200 or an error that is no OAuth JSON — a proxy's
 * page, a cut body — or the OAuth codes for "later"), so the same grant may succeed when asked again.
 */
type Grant =
  | { readonly _tag: "Tokens"; readonly body: typeof TokenResponse.Type }
  | { readonly _tag: "Error"; readonly error: string; readonly description: string | undefined; readonly status: number; readonly temporary: boolean }

const temporaryErrors: ReadonlySet<string> = new Set(["temporarily_unavailable", "server_error"])

/** Statuses that are no verdict on the grant. */
const temporaryStatus = (status: number) => status === 408 || status === 429 || status >= 500

const postForm = (url: string, form: Record<string, string>, timeout?: Duration.Duration) =>
  exchange(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUrlParams(form), HttpClientRequest.acceptJson), timeout)

const grant = (provider: Provider, form: Record<string, string>, timeout?: Duration.Duration): Effect.Effect<Grant, HttpError, HttpClient.HttpClient> =>
  Effect.map(postForm(provider.tokenUrl, { ...form, client_id: provider.clientId }, timeout), ({ status, text }): Grant => {
    const json = parseJson(text)
    if (status === 200) {
      const ok = Schema.decodeUnknownOption(TokenResponse)(json)
      if (Option.isSome(ok)) return { _tag: "Tokens", body: ok.value }
      return { _tag: "Error", error: "invalid_response", description: "the answer is not a token response (no access_token)", status, temporary: true }
    }
    return Option.match(Schema.decodeUnknownOption(OAuthErrorBody)(json), {
      onNone: () => ({ _tag: "Error", error: `status ${status}`, description: undefined, status, temporary: true }),
      onSome: (e) => ({
        _tag: "Error",
        error: e.error.slice(0, 100),
        description: e.error_description,
        status,
        temporary: temporaryStatus(status) || temporaryErrors.has(e.error)
      })
    })
  })

/**
 * The provider's error code and description for an error message, with `secrets` (the refresh token or device
 * code the request carried, which a provider may echo) taken out in every form the form body had them, and cut
 * to a readable length.
 */
const describeError = (answer: { readonly error: string; readonly description: string | undefined }, secrets: ReadonlyArray<string>): string => {
  let text = `${answer.error}${answer.description ? `: ${answer.description}` : ""}`
  for (const secret of secrets) {
    if (secret === "") continue
    const forms = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])
    for (const form of forms) text = text.split(form).join("<redacted>")
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

const base64UrlJson = (part: string | undefined): unknown => (part === undefined ? undefined : parseJson(Buffer.from(part, "base64url").toString("utf8")))

/** Verifies an ID token's RS256 signature against the provider's JWKS and reads the account claims. */
const verifyIdToken = (provider: Provider, idToken: string): Effect.Effect<Account, LoginFailed | HttpError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const [h, p, s] = idToken.split(".")
    const header = base64UrlJson(h) as { alg?: string; kid?: string } | undefined
    const claims = base64UrlJson(p) as Record<string, unknown> | undefined
    if (h === undefined || p === undefined || s === undefined || header === undefined || claims === undefined || claims === null) {
      return yield* new LoginFailed({ reason: "the ID token is malformed" })
    }
    if (header.alg !== "RS256") return yield* new LoginFailed({ reason: `the ID token is signed with ${String(header.alg)}, not RS256` })
    const { status, text } = yield* exchange(HttpClientRequest.get(provider.jwksUrl))
    const keys = (parseJson(text) as { keys?: Array<Record<string, unknown>> } | undefined)?.keys
    if (status !== 200 || !Array.isArray(keys)) return yield* new LoginFailed({ reason: `the JWKS at ${provider.jwksUrl} is unreadable (${status})` })
    const jwk = keys.find((k) => header.kid === undefined || k["kid"] === header.kid)
    const valid = jwk !== undefined && (() => {
      try {
        return verify("RSA-SHA256", Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk as never, format: "jwk" }), Buffer.from(s, "base64url"))
      } catch {
        return false
      }
    })()
    if (!valid) return yield* new LoginFailed({ reason: "the ID token's signature does not verify against the provider's JWKS" })
    const acc = typeof claims["acc"] === "string" ? claims["acc"] : undefined
    if (acc === undefined) return yield* new LoginFailed({ reason: "the ID token has no 'acc' (account) claim" })
    const str = (k: string) => (typeof claims[k] === "string" ? (claims[k] as string) : undefined)
    return {
      accountId: `urn:ivcap:account:${acc}`,
      providerId: `urn:ivcap:provider:${str("ivcap/claims/provider") ?? acc}`,
      name: str("name"),
      nickname: str("nickname"),
      email: str("email")
    }
  })

/** The account of a grant's answer: its ID token verified, if it has one. */
const accountOf = (provider: Provider, body: typeof TokenResponse.Type) =>
  body.id_token === undefined ? Effect.succeed(undefined) : verifyIdToken(provider, body.id_token)

/**
 * The tokens of a grant's answer, with the account `verified` gives. A refresh grant's tokens are kept even when
 * its ID token cannot be verified now (the account is then left out): the provider has already spent the old
 * refresh token, so dropping the new one would lose the login.
 */
const tokensOf = <E, R>(body: typeof TokenResponse.Type, previousRefresh: Redacted.Redacted<string> | undefined, verified: Effect.Effect<Account | undefined, E, R>) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const account = yield* verified
    const tokens: Tokens = {
      accessToken: Redacted.make(body.access_token),
      // as the CLI: 10 s early, for clock differences and transport time
      expiresAt: now + Math.max(0, lifetimeOf(body.expires_in) - 10) * 1000,
      refreshToken: body.refresh_token !== undefined && body.refresh_token !== "" ? Redacted.make(body.refresh_token) : previousRefresh,
      account
    }
    return tokens
  })

/** Advice in `LoginRequired` for a CLI login. */
const loginAdvice = (context: string | undefined) =>
  `run \`ivcap context login\`${context !== undefined ? ` (context '${context}')` : ""} or NodeLogin.login(...) in your program, or set IVCAP_JWT`

/**
 * The refresh-token grant: new tokens (the refresh token too, when the provider rotates it). A refused refresh
 * token (`invalid_grant`: revoked, expired, already used) is `LoginRequired`.
 * @since 0.1.0
 */
export const refresh = (
  provider: Provider,
  refreshToken: Redacted.Redacted<string>,
  options: {
    readonly context?: string | undefined
    /** The time the grant may take, its answer included; default 30 s. */
    readonly timeout?: Duration.DurationInput | undefined
  } = {}
): Effect.Effect<Tokens, LoginRequired | HttpError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const timeout = options.timeout === undefined ? requestTimeout : Duration.decode(options.timeout)
    const answer = yield* grant(provider, { grant_type: "refresh_token", refresh_token: Redacted.value(refreshToken) }, timeout)
    if (answer._tag === "Error") {
      const described = describeError(answer, [Redacted.value(refreshToken)])
      // not a verdict on the refresh token (rate limit, outage, a proxy's page): the next request tries again
      if (answer.temporary) {
        return yield* new TransportError({ method: "POST", url: provider.tokenUrl, reason: `the identity provider answered ${answer.status} (${described}); the token was not renewed` })
      }
      return yield* new LoginRequired({
        reason: `the identity provider refused the refresh token (${described})`,
        login: loginAdvice(options.context)
      })
    }
    return yield* tokensOf(answer.body, refreshToken, Effect.catchAll(accountOf(provider, answer.body), (e) =>
      Effect.as(Effect.logWarning(`login: the renewed ID token is not used (${e._tag === "LoginFailed" ? e.reason : e.message}); the tokens are kept`), undefined)))
  }).pipe(Effect.withSpan("NodeLogin.refresh"))

/** Options of {@link deviceLogin}. @since 0.1.0 */
export interface DeviceLoginOptions {
  /** The deployment root (its `/1/authinfo.yaml` names the provider); or give `provider`. */
  readonly url?: string | undefined
  readonly provider?: Provider | undefined
  /** Called with each {@link LoginEvent}: show the `Prompt` to the user. */
  readonly onEvent?: ((event: LoginEvent) => Effect.Effect<void>) | undefined
  /** Scopes; default `openid profile email offline_access` (as the CLI; `offline_access` brings a refresh token). */
  readonly scope?: string | undefined
}

/**
 * The OAuth device-code flow (RFC 8628): asks for a code, reports the `Prompt`, polls the token endpoint every
 * `interval` seconds (+5 s after each `slow_down`), and returns the tokens once the user approved. Fails with
 * `LoginFailed` when the user denies or the code expires; interrupting it stops the polling.
 * @since 0.1.0
 */
export const deviceLogin = (options: DeviceLoginOptions): Effect.Effect<Tokens, LoginFailed | HttpError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const emit = options.onEvent ?? (() => Effect.void)
    const provider = options.provider ?? (options.url !== undefined ? yield* discover(options.url) : yield* new LoginFailed({ reason: "give a url or a provider" }))
    const { status, text } = yield* postForm(provider.codeUrl, {
      client_id: provider.clientId,
      scope: options.scope ?? "openid profile email offline_access",
      ...(provider.audience !== undefined && provider.audience !== "" ? { audience: provider.audience } : options.url !== undefined ? { audience: `${options.url.replace(/\/+$/, "")}/` } : {})
    })
    const authorization = Schema.decodeUnknownOption(DeviceAuthorization)(parseJson(text))
    if (status !== 200 || Option.isNone(authorization)) {
      return yield* new LoginFailed({ reason: `the device authorization at ${provider.codeUrl} failed (${status})` })
    }
    const device = authorization.value
    const deviceCode = Redacted.make(device.device_code)
    const start = yield* Clock.currentTimeMillis
    // the provider's numbers within reason: a code valid for at most an hour, polled at least once a minute
    const expiresIn = secondsWithin(device.expires_in, 0, maxCodeSeconds, maxCodeSeconds)
    const deadline = start + expiresIn * 1000
    let interval = secondsWithin(device.interval, 1, maxPollSeconds, 5)
    yield* emit(LoginEvent.Prompt({
      userCode: device.user_code,
      verificationUri: device.verification_uri,
      verificationUriComplete: device.verification_uri_complete,
      expiresIn: Duration.seconds(expiresIn)
    }))
    while (true) {
      // never past the code's expiry
      const before = yield* Clock.currentTimeMillis
      yield* Effect.sleep(Duration.millis(Math.max(0, Math.min(interval * 1000, deadline - before))))
      const now = yield* Clock.currentTimeMillis
      if (now >= deadline) return yield* new LoginFailed({ reason: "the login code expired before it was approved; start the login again" })
      const answer = yield* grant(provider, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: Redacted.value(deviceCode) })
      if (answer._tag === "Tokens") {
        const tokens = yield* tokensOf(answer.body, undefined, accountOf(provider, answer.body))
        yield* emit(LoginEvent.LoggedIn({ account: tokens.account, expiresAt: new Date(tokens.expiresAt) }))
        return tokens
      }
      switch (answer.error) {
        case "authorization_pending":
          yield* emit(LoginEvent.Pending({ remaining: Duration.millis(Math.max(0, deadline - now)) }))
          break
        case "slow_down":
          interval = Math.min(interval + 5, maxPollSeconds)
          yield* emit(LoginEvent.SlowDown({ interval: Duration.seconds(interval) }))
          break
        case "expired_token":
          return yield* new LoginFailed({ reason: "the login code expired before it was approved; start the login again" })
        case "access_denied":
          return yield* new LoginFailed({ reason: "the login was denied" })
        default:
          if (answer.temporary) {
            yield* Effect.logDebug(`login: the identity provider answered ${answer.status}; polling on`)
            break
          }
          return yield* new LoginFailed({ reason: `the identity provider answered ${describeError(answer, [Redacted.value(deviceCode)])}` })
      }
    }
  }).pipe(Effect.withSpan("NodeLogin.deviceLogin"))

/**
 * {@link deviceLogin} as a Stream of its events, ending after `LoggedIn` (the tokens are saved with `login`, or
 * use {@link deviceLogin} to get them).
 * @since 0.1.0
 */
export const deviceLoginEvents = (options: Omit<DeviceLoginOptions, "onEvent">): Stream.Stream<LoginEvent, LoginFailed | HttpError, HttpClient.HttpClient> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<LoginEvent, LoginFailed | HttpError>()
    yield* deviceLogin({ ...options, onEvent: (e) => Effect.asVoid(mailbox.offer(e)) }).pipe(
      Effect.exit,
      Effect.flatMap((exit) => mailbox.done(Exit.asVoid(exit))),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  }))

// ---------------------------------------------------------------------------------------------------------------
// config.yaml

/** Where the CLI keeps its login: the file and the context. @since 0.1.0 */
export interface CliLocation {
  /** The CLI's `config.yaml`. */
  readonly file: string
  /** The context's name. */
  readonly context: string
}

const lockStale = 30_000

/** Runs `effect` holding `<file>.lock` (a directory: creating one is atomic); a lock older than 30 s is broken. */
const withLock = <A, E, R>(file: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const lock = `${file}.lock`
    // the CLI's folder may not exist yet (a first login): as the CLI, create it (0750)
    yield* Effect.ignore(fs.makeDirectory((yield* Path.Path).dirname(file), { recursive: true, mode: 0o750 }))
    const take: Effect.Effect<boolean> = fs.makeDirectory(lock).pipe(
      Effect.as(true),
      Effect.catchAll(() =>
        fs.stat(lock).pipe(
          Effect.flatMap((info) =>
            Effect.map(Clock.currentTimeMillis, (now) => Option.exists(info.mtime, (m) => now - m.getTime() > lockStale))
          ),
          Effect.flatMap((stale) => (stale ? Effect.as(Effect.ignore(fs.remove(lock, { recursive: true })), false) : Effect.succeed(false))),
          Effect.orElseSucceed(() => false)
        )
      )
    )
    let attempts = 0
    while (!(yield* take)) {
      if (++attempts > 400) return yield* Effect.dieMessage(`could not lock ${lock} within 20 s (remove it if no other program is logging in)`)
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.ensuring(effect, Effect.ignore(fs.remove(lock, { recursive: true })))
  })

/**
 * RFC 3339 as Go's yaml writes `time.Time` (UTC here). An expiry no `Date` can hold is written as Go's zero time,
 * which the CLI and the SDK read as "expired": the token is then renewed, never lost to an exception.
 */
const rfc3339 = (millis: number) => {
  const date = new Date(millis)
  return Number.isNaN(date.getTime()) ? "0001-01-01T00:00:00Z" : date.toISOString()
}

/**
 * Writes tokens into a context of the CLI's `config.yaml`, as the CLI does after a login or refresh: under the lock,
 * on the file as it is now (re-read), changing only this context's token and account keys — or adding the
 * context (with `url`) when it is missing, and making it active when none is. Atomic: a temp file renamed over
 * the old one, mode 0600.
 * @since 0.1.0
 */
export const saveLogin = (
  location: CliLocation & { readonly url: string },
  tokens: Tokens
): Effect.Effect<void, ConfigError.ConfigError, FileSystem.FileSystem | Path.Path> => withLock(location.file, writeLogin(location, tokens))

/** {@link saveLogin} without taking the lock (the caller holds it). */
const writeLogin = (
  location: CliLocation & { readonly url: string },
  tokens: Tokens
): Effect.Effect<void, ConfigError.ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const text = yield* fs.readFileString(location.file).pipe(
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed("")),
      Effect.mapError((e) => NodeConfig.invalidFile(location.file, `cannot be read: ${e.message}`))
    )
    const doc = text.trim() === "" ? new Yaml.Document({ version: "v1", "active-context": location.context, contexts: [] }) : Yaml.parseDocument(text)
    if (doc.errors.length > 0) return yield* Effect.fail(NodeConfig.invalidFile(location.file, `is not valid YAML: ${doc.errors[0]!.message}`))
    if (!Yaml.isSeq(doc.get("contexts"))) doc.set("contexts", doc.createNode([]))
    const contexts = doc.get("contexts") as Yaml.YAMLSeq
    let context = contexts.items.find((i): i is Yaml.YAMLMap => Yaml.isMap(i) && i.get("name") === location.context)
    if (context === undefined) {
      context = doc.createNode({ "api-version": 1, name: location.context, url: location.url.replace(/\/+$/, "") }) as Yaml.YAMLMap
      contexts.add(context)
    }
    const active = doc.get("active-context")
    if (active === undefined || active === null || active === "") doc.set("active-context", location.context)
    if (tokens.account !== undefined) {
      context.set("account-id", tokens.account.accountId)
      context.set("provider-id", tokens.account.providerId)
      if (tokens.account.name !== undefined) context.set("account-name", tokens.account.name)
      if (tokens.account.nickname !== undefined) context.set("account-nickname", tokens.account.nickname)
      if (tokens.account.email !== undefined) context.set("email", tokens.account.email)
    }
    context.set("access-token", Redacted.value(tokens.accessToken))
    context.set("access-token-expiry", rfc3339(tokens.expiresAt))
    if (tokens.refreshToken !== undefined) context.set("refresh-token", Redacted.value(tokens.refreshToken))
    const dir = path.dirname(location.file)
    yield* fs.makeDirectory(dir, { recursive: true, mode: 0o750 }).pipe(Effect.ignore)
    const temp = path.join(dir, `.config.yaml.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
    const write = Effect.zipRight(
      fs.writeFileString(temp, doc.toString(), { mode: 0o600 }),
      fs.rename(temp, location.file)
    ).pipe(
      Effect.tapError(() => Effect.ignore(fs.remove(temp))),
      Effect.mapError((e) => NodeConfig.invalidFile(location.file, `cannot be written: ${e.message}`))
    )
    yield* write
  })

/** Options of {@link login}. @since 0.1.0 */
export interface LoginOptions extends DeviceLoginOptions {
  /** Save into this CLI context (created when missing); default: the active context, else `default`. */
  readonly context?: string | undefined
  /** The folder of the CLI's `config.yaml`; as in `NodeConfig` (`IVCAP_CLI_CONFIG_DIR`, the user config folder). */
  readonly cliConfigDir?: string | undefined
  /** Do not write `config.yaml` (just return the tokens). */
  readonly save?: boolean | undefined
}

/**
 * `ivcap context login` in a program: the device login for `url` (default: the context's URL), saved into the
 * CLI's `config.yaml`, so that the next run — of this program or of the CLI — uses it.
 * @since 0.1.0
 */
export const login = (
  options: LoginOptions
): Effect.Effect<Tokens, LoginFailed | HttpError | ConfigError.ConfigError, HttpClient.HttpClient | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const file = path.join(yield* NodeConfig.cliConfigDir(options), "config.yaml")
    const config = yield* NodeConfig.readCliConfig(file)
    const name = options.context ?? Option.getOrUndefined(Option.flatMap(config, (c) => Option.fromNullable(c.activeContext))) ?? "default"
    const existing = Option.flatMap(config, (c) => Option.fromNullable(c.contexts.find((x) => x.name === name)))
    const url = options.url ?? Option.getOrUndefined(Option.map(existing, (c) => c.url))
    if (url === undefined && options.provider === undefined) {
      return yield* new LoginFailed({ reason: `no URL to log in to: give one, or create the context '${name}' with the CLI` })
    }
    const tokens = yield* deviceLogin({ ...options, ...(url !== undefined ? { url } : {}) })
    if (options.save !== false && url !== undefined) yield* saveLogin({ file, context: name, url }, tokens)
    return tokens
  })

/** Options of {@link cliCredentials}. @since 0.1.0 */
export interface CliCredentialsOptions extends CliLocation {
  /** The context's deployment URL (its `/1/authinfo.yaml` names the provider). */
  readonly url: string
  /** Renew this long before expiry (default 30 s). */
  readonly refreshBefore?: Duration.DurationInput | undefined
}

/**
 * Refreshing credentials for a CLI context: starts from the context's access token (renewed before use when it
 * has expired), and renews with its refresh token — under the `config.yaml` lock, adopting a fresher token another
 * process saved meanwhile instead of spending the refresh token — writing the new tokens back. A refused refresh
 * token is `LoginRequired` ("run `ivcap context login`").
 * @since 0.1.0
 */
export const cliCredentials = (
  options: CliCredentialsOptions
): Effect.Effect<Credentials.CredentialsService, ConfigError.ConfigError, HttpClient.HttpClient | FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const services = yield* Effect.context<HttpClient.HttpClient | FileSystem.FileSystem | Path.Path>()
    const readContext = Effect.map(NodeConfig.readCliConfig(options.file), (config) =>
      Option.flatMap(config, (c) => Option.fromNullable(c.contexts.find((x) => x.name === options.context))))
    const initial = yield* readContext
    const tokenOf = (c: NodeConfig.CliContext): Credentials.Token | undefined =>
      c.accessToken === undefined || Redacted.value(c.accessToken) === ""
        ? undefined
        : { accessToken: c.accessToken, expiresAt: c.accessTokenExpiry?.getTime() ?? undefined }
    let provider: Provider | undefined
    const advice = loginAdvice(options.context)
    const renew = (previous: Option.Option<Credentials.Token>): Effect.Effect<Credentials.Token, Credentials.RefreshError> =>
      withLock(options.file, Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const saved = yield* readContext.pipe(
          Effect.mapError((e) => new LoginRequired({ reason: `the CLI's config cannot be read: ${e.message}`, login: advice }))
        )
        if (Option.isNone(saved)) return yield* new LoginRequired({ reason: `the CLI context '${options.context}' is gone from ${options.file}`, login: advice })
        // Another process (or the CLI) may have renewed already: its token, if newer and valid, is used as is.
        const theirs = tokenOf(saved.value)
        const ours = Option.getOrUndefined(previous)
        if (
          theirs !== undefined && (ours === undefined || Redacted.value(theirs.accessToken) !== Redacted.value(ours.accessToken)) &&
          theirs.expiresAt !== undefined && theirs.expiresAt > now + 5_000
        ) {
          return theirs
        }
        const refreshToken = saved.value.refreshToken
        if (refreshToken === undefined || Redacted.value(refreshToken) === "") {
          return yield* new LoginRequired({ reason: `the CLI context '${options.context}' has no refresh token`, login: advice })
        }
        // discovery and the grant together within `renewalTimeout` (each alone would have 30 s): requests wait for this renewal
        const tokens = yield* Effect.gen(function*() {
          if (provider === undefined) {
            provider = yield* discover(options.url).pipe(
              Effect.catchTag("LoginFailed", (e) => new LoginRequired({ reason: e.reason, login: advice }))
            )
          }
          return yield* refresh(provider, refreshToken, { context: options.context })
        }).pipe(
          Effect.timeoutFail({
            duration: renewalTimeout,
            onTimeout: () =>
              new RequestTimeout({
                method: "POST",
                url: provider?.tokenUrl ?? options.url,
                timeout: renewalTimeout,
                reason: `the identity provider did not answer within ${Duration.format(renewalTimeout)}; the access token was not renewed`
              })
          })
        )
        // the new tokens are used even if they cannot be saved (the provider has spent the old refresh token)
        yield* writeLogin({ file: options.file, context: options.context, url: options.url }, tokens).pipe(
          Effect.catchAll((e) => Effect.logWarning(`login: the renewed token could not be saved to the CLI's config: ${e.message}`)),
          Effect.catchAllDefect((d) => Effect.logWarning(`login: the renewed token could not be saved to the CLI's config: ${d instanceof Error ? d.message : String(d)}`))
        )
        yield* Effect.logDebug(`login: renewed the access token of CLI context '${options.context}'`)
        return { accessToken: tokens.accessToken, expiresAt: tokens.expiresAt }
      })).pipe(Effect.provide(services))
    const start = Option.flatMap(initial, (c) => Option.fromNullable(tokenOf(c)))
    return yield* Credentials.make({
      ...(Option.isSome(start) ? { initial: start.value } : {}),
      ...(options.refreshBefore !== undefined ? { refreshBefore: options.refreshBefore } : {}),
      refresh: renew
    })
  })
