/**
 * The connection to one IVCAP deployment: base URL, bearer token, timeouts and the retry policy.
 *
 * It needs only `HttpClient.HttpClient`, so the platform decides how bytes move (`@ivcap/node` uses undici,
 * `@ivcap/browser` fetch, tests the emulator's in-process client). Every operation module (`Service`, `Order`,
 * `Artifact`, `Aspect`, `Search`, `Upload`) requires this tag.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { defaultMaxResponseBytes, MaxResponseBytes } from "./internal/body.js"
import * as Credentials from "./Credentials.js"
import { authorize, authorized } from "./internal/authorize.js"
import * as Gate from "./internal/gate.js"
import { scrub } from "./internal/scrub.js"
import { describe, transportError } from "./internal/http.js"
import type { LoginRequired, TransportError } from "./IvcapError.js"
import { isTransient, RequestTimeout, retryAfter } from "./IvcapError.js"

/** A retry schedule; its input is the error of the failed attempt. @since 0.1.0 */
export type RetryPolicy = Schedule.Schedule<unknown, unknown>

/**
 * The default retry policy for idempotent requests: exponential back-off from 250 ms (×2, jittered), each delay
 * capped at 5 s, at most 5 retries. A server's `Retry-After` lengthens a delay, never shortens it.
 *
 * @since 0.1.0
 */
export const defaultRetryPolicy: RetryPolicy = Schedule.exponential("250 millis", 2).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("5 seconds")),
  Schedule.intersect(Schedule.recurs(5))
)

/** The default time one attempt (request, response and body) may take. @since 0.1.0 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/** The default cap of a JSON response body: 64 MiB, far above any real page. @since 0.1.0 */
export { defaultMaxResponseBytes }

/** A `Retry-After` longer than this is not waited for: the error is returned instead. @since 0.1.0 */
export const defaultMaxRetryAfter: Duration.Duration = Duration.seconds(60)

/**
 * Which API a deployment speaks: `"v0.41"` (services at `/1/services`, work run as orders) or `"v0.44"` (v0.44 or
 * later: services at `/1/services2`, work run as jobs). `"auto"` (the default) asks the deployment once per client
 * (`GET /1/services2?limit=1`) and remembers the answer. @since 0.2.0
 */
export type ApiVersion = "v0.41" | "v0.44"

/** How to reach a deployment. @since 0.1.0 */
export interface Options {
  /** Deployment root, e.g. `https://develop.ivcap.net` (a path prefix is kept). */
  readonly url: string | URL
  /**
   * The bearer token (`IVCAP_JWT`); sent only to `url`'s origin. Without it, the token comes from a
   * `Credentials` service in context (a refreshing login, a token provider), and without that no
   * `Authorization` header is sent (in-platform mode).
   */
  readonly token?: Redacted.Redacted<string> | string | undefined
  /** The account URN (`IVCAP_ACCOUNT_ID`), informational: the API takes the account from the token. */
  readonly accountId?: string | undefined
  /** Time limit of one attempt; default 30 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retry policy for idempotent requests (GET, HEAD, PUT, DELETE), or `false`; default `IvcapClient.defaultRetryPolicy`. */
  readonly retry?: RetryPolicy | false | undefined
  /** A longer `Retry-After` ends the retries; default 60 s. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** Send `traceparent`/`b3` headers (off by default: they force CORS preflights in browsers). */
  readonly tracerPropagation?: boolean | undefined
  /** Extra headers for every request (e.g. a `User-Agent`). */
  readonly headers?: Record<string, string> | undefined
  /**
   * The largest JSON response body read (default {@link defaultMaxResponseBytes}, 64 MiB): a longer one — or an
   * endless one — fails with `ResponseTooLarge` once the count passes it, so it never costs more memory than this.
   */
  readonly maxResponseBytes?: number | undefined
  /**
   * Pause every new request of this client while a server's `Retry-After` (on a 429 or 503, up to
   * `maxRetryAfter`) runs, instead of letting each fiber find out by itself; default `true`. See docs/bulk.md.
   */
  readonly sharedBackoff?: boolean | undefined
  /** A client-wide request rate limit, e.g. `{ requests: 50, per: "1 second" }`; default none. */
  readonly rateLimit?: Gate.RateLimit | undefined
  /** A last word on the underlying client (logging, a proxy, …). */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
  /** The API the deployment speaks, or `"auto"` (default): detected once per client, see {@link ApiVersion}. */
  readonly apiVersion?: ApiVersion | "auto" | undefined
}

/** A client-wide request rate limit (see {@link Options.rateLimit}). @since 0.1.0 */
export type RateLimit = Gate.RateLimit

/** Per-call overrides of the client's timeout and retry policy, see {@link withRequestOptions}. @since 0.1.0 */
export interface RequestOptions {
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: RetryPolicy | false | undefined
}

/** The per-call overrides in scope (empty by default). @since 0.1.0 */
export class CurrentRequestOptions extends Context.Reference<CurrentRequestOptions>()(
  "@ivcap/core/IvcapClient/CurrentRequestOptions",
  { defaultValue: (): RequestOptions => ({}) }
) {}

/**
 * Runs an effect with other timeout / retry settings for the requests it makes.
 *
 * @example
 * Service.get(id).pipe(IvcapClient.withRequestOptions({ timeout: "2 seconds", retry: false }))
 * @since 0.1.0
 */
export const withRequestOptions: {
  (options: RequestOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options: RequestOptions): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, options: RequestOptions) =>
  Effect.flatMap(CurrentRequestOptions, (current) => Effect.provideService(self, CurrentRequestOptions, { ...current, ...options })))

/** {@link withRequestOptions} for streams (listings, downloads). @since 0.1.0 */
export const withRequestOptionsStream: {
  (options: RequestOptions): <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>
  <A, E, R>(self: Stream.Stream<A, E, R>, options: RequestOptions): Stream.Stream<A, E, R>
} = dual(2, <A, E, R>(self: Stream.Stream<A, E, R>, options: RequestOptions) =>
  Stream.unwrap(Effect.map(CurrentRequestOptions, (current) => Stream.provideService(self, CurrentRequestOptions, { ...current, ...options }))))

/**
 * The abort signal of the request attempt in progress, for an `HttpClient` that honours it ({@link SignalAware}):
 * {@link IvcapClientService.call} aborts it once the attempt's timeout has passed — the request and the reading of
 * its response's body — instead of racing the attempt against a timer fiber (two fibers per request, the largest
 * single cost of a small request: BENCHMARKS.md, "Listing"). What fails after that is a `RequestTimeout`.
 * `undefined` outside `call`, with other clients (they get the timer fiber), and with a client that offers an
 * {@link AttemptTransport} (it gets the signal as an argument instead).
 *
 * @since 0.2.0
 */
export class AttemptSignal extends Context.Reference<AttemptSignal>()("@ivcap/core/IvcapClient/AttemptSignal", {
  defaultValue: (): AbortSignal | undefined => undefined
}) {}

/**
 * Set to `true` on an `HttpClient` that aborts a request, and the reading of its response's body, when the
 * {@link AttemptSignal} in context aborts (`@ivcap/node`'s `NodeHttp` does). Only the client given to
 * {@link make} counts: with `transformClient` the timer fiber is used, as the transformed client may wait
 * elsewhere.
 *
 * @since 0.2.0
 */
export const SignalAware: unique symbol = Symbol.for("@ivcap/core/IvcapClient/SignalAware") as never

/**
 * Sends one request of an attempt with the attempt's abort signal and the tracer-propagation choice given as
 * arguments; what a {@link SignalAware} client may offer under the {@link AttemptTransport} key. The request stops
 * (and so does the reading of its body) when `signal` aborts or the fiber is interrupted. @since 0.2.0
 */
export type AttemptSend = (
  request: HttpClientRequest.HttpClientRequest,
  signal: AbortSignal,
  propagate: boolean
) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

/**
 * The key under which a {@link SignalAware} client offers an {@link AttemptSend} (`@ivcap/node`'s `NodeHttp` does).
 * {@link IvcapClientService.call} then sends each attempt's requests through it directly — URL, headers and
 * credentials applied, the client's gate passed once, the attempt's signal and the `tracerPropagation` option handed
 * over as arguments — instead of through the layered `httpClient`, whose per-request steps (each setting a fiber
 * reference for the request) were the largest part of a small request's client CPU in a fresh process
 * (BENCHMARKS.md, "Listing"). What is sent, and every guarantee, is the same either way.
 *
 * @since 0.2.0
 */
export const AttemptTransport: unique symbol = Symbol.for("@ivcap/core/IvcapClient/AttemptTransport") as never

/** How a request is sent by {@link IvcapClientService.call}. @since 0.1.0 */
export interface CallOptions {
  /** Retry the whole attempt on transient failures; default: true for GET, HEAD, PUT, DELETE, OPTIONS. */
  readonly idempotent?: boolean | undefined
}

/** The client service. @since 0.1.0 */
export interface IvcapClientService {
  /** The deployment root without a trailing slash. */
  readonly baseUrl: string
  /** The account URN, when configured. */
  readonly accountId: Option.Option<string>
  /** The API version given in the options (`None`: detect it, see {@link ApiVersion}). */
  readonly apiVersion?: Option.Option<ApiVersion> | undefined
  /**
   * The underlying client: relative URLs are resolved against `baseUrl`, the token is added for `baseUrl`'s
   * origin only (and renewed after a `401`, see `Credentials`), no retries, no timeout. For streaming work
   * (uploads, downloads) that manages both itself.
   */
  readonly httpClient: HttpClient.HttpClient.With<HttpClientError.HttpClientError | Credentials.RefreshError>
  /** Resolves a path (or an absolute URL of this deployment) to an absolute URL on `baseUrl`. */
  readonly resolve: (pathOrUrl: string) => string
  /** Whether a URL is on the configured origin (the only one that ever receives the token). */
  readonly isOwnOrigin: (url: string) => boolean
  /**
   * Sends a request and hands the response to `handle`, under the timeout and — for idempotent requests — the
   * retry policy in force. The whole attempt (send, status check, body decode) is timed and retried as one: with
   * a {@link SignalAware} client by aborting the attempt's {@link AttemptSignal} (the request and the reading of
   * its body stop), otherwise by racing the attempt against a timer fiber.
   */
  readonly call: <A, E, R>(
    request: HttpClientRequest.HttpClientRequest,
    handle: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, E, R>,
    options?: CallOptions
  ) => Effect.Effect<A, E | TransportError | RequestTimeout | LoginRequired, R>
  /** The timeout and retry policy in force for the current fiber. */
  readonly requestOptions: Effect.Effect<{ readonly timeout: Duration.Duration; readonly retry: RetryPolicy | false; readonly maxRetryAfter: Duration.Duration }>
}

/** The tag of the client service. @since 0.1.0 */
export class IvcapClient extends Context.Tag("@ivcap/core/IvcapClient")<IvcapClient, IvcapClientService>() {}

const idempotentMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])

/** The longest delay a host timer takes (about 24.8 days); a longer timeout is no timeout. */
const maxTimerMillis = 2 ** 31 - 1

/**
 * `attempt` given a signal that aborts once `timeout` has passed (one host timer, no fiber): a failure after that is
 * `onTimeout()`. A success that arrives anyway is kept.
 */
const withTimeoutSignal = <A, E, R>(timeout: Duration.Duration, onTimeout: () => RequestTimeout, attempt: (signal: AbortSignal) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    // A controller per attempt even without a timer: a transport may leave a listener on its signal.
    const controller = new AbortController()
    const millis = Duration.toMillis(timeout)
    if (!(millis <= maxTimerMillis)) return attempt(controller.signal)
    let expired = false
    const timer = setTimeout(() => {
      expired = true
      controller.abort()
    }, millis)
    return attempt(controller.signal).pipe(
      Effect.mapError((e): E | RequestTimeout => (expired ? onTimeout() : e)),
      Effect.ensuring(Effect.sync(() => clearTimeout(timer)))
    )
  })

/**
 * {@link withTimeoutSignal} with the signal as the {@link AttemptSignal} in context: for a {@link SignalAware} client
 * without an {@link AttemptTransport}.
 */
const withSignalTimeout = <A, E, R>(effect: Effect.Effect<A, E, R>, timeout: Duration.Duration, onTimeout: () => RequestTimeout) =>
  withTimeoutSignal(timeout, onTimeout, (signal) => Effect.provideService(effect, AttemptSignal, signal))

/** Each policy's schedule with `Retry-After`, built once. */
const withRetryAfter = new WeakMap<RetryPolicy, Schedule.Schedule<unknown, unknown>>()

/**
 * `Effect.retry(attempt, { schedule, while })` whose schedule is started only after a first failure worth retrying:
 * the same attempts and delays, without a schedule driver per request that succeeds at once (most of them).
 */
const retryFailed = <A, E, R>(attempt: Effect.Effect<A, E, R>, policy: RetryPolicy, retryable: (e: E) => boolean): Effect.Effect<A, E, R> =>
  Effect.catchAll(attempt, (first) => {
    if (!retryable(first)) return Effect.fail(first)
    let schedule = withRetryAfter.get(policy)
    if (schedule === undefined) withRetryAfter.set(policy, schedule = retryWithRetryAfter(policy))
    return Effect.flatMap(Schedule.driver(schedule), (driver) => {
      const after = (e: E): Effect.Effect<A, E, R> =>
        Effect.matchEffect(driver.next(e), {
          onFailure: () => Effect.fail(e),
          onSuccess: () => Effect.catchAll(attempt, (next) => (retryable(next) ? after(next) : Effect.fail(next)))
        })
      return after(first)
    })
  })

const normaliseBase = (url: string | URL): Either.Either<URL, string> => {
  try {
    const u = new URL(url.toString())
    if (u.protocol !== "http:" && u.protocol !== "https:") return Either.left(`must be an http(s) URL, got ${u.protocol}`)
    if (u.search || u.hash) return Either.left("must not have a query or fragment")
    return Either.right(u)
  } catch {
    return Either.left(`not a URL: ${JSON.stringify(String(url))}`)
  }
}

/**
 * Builds the service; fails with `ConfigError` when `url` is not an http(s) URL.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<IvcapClientService, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const base = yield* Either.match(normaliseBase(options.url), {
      onLeft: (message) => Effect.fail(ConfigError.InvalidData(["url"], `IVCAP url ${message}`)),
      onRight: Effect.succeed
    })
    const baseUrl = base.toString().replace(/\/+$/, "")
    const origin = base.origin
    const credentials = options.token === undefined
      ? yield* Option.match(yield* Effect.serviceOption(Credentials.Credentials), { onNone: () => Credentials.none, onSome: Effect.succeed })
      : yield* Credentials.fixed(options.token)
    const originSlash = `${origin}/`
    const isOwnOrigin = (url: string) => {
      // A URL this client resolved (most of them) starts with its origin and a slash: that needs no parse.
      if (url.startsWith(originSlash)) return true
      try {
        return new URL(url, baseUrl).origin === origin
      } catch {
        return false
      }
    }
    const resolve = (pathOrUrl: string) => (/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl) ? pathOrUrl : `${baseUrl}${pathOrUrl.startsWith("/") ? "" : "/"}${pathOrUrl}`)

    const underlying = yield* HttpClient.HttpClient
    // Timeouts by aborting the attempt's signal (no fiber), when the transport honours it.
    const signalAware = (underlying as unknown as { readonly [SignalAware]?: boolean })[SignalAware] === true && options.transformClient === undefined
    const extraHeaders = options.headers
    const withUrl = (request: HttpClientRequest.HttpClientRequest) => HttpClientRequest.setUrl(request, resolve(request.url))
    const withHeaders = (request: HttpClientRequest.HttpClientRequest) => (extraHeaders ? HttpClientRequest.setHeaders(request, extraHeaders) : request)
    const propagate = options.tracerPropagation ?? false
    const configured = underlying.pipe(
      HttpClient.mapRequest((request) => withHeaders(withUrl(request))),
      HttpClient.withTracerPropagation(propagate)
    )
    // Every request on the wire passes the client's gate (shared back-off, rate limit; internal/gate).
    const gate = Gate.make({ sharedBackoff: options.sharedBackoff ?? true, rateLimit: options.rateLimit, maxPause: Duration.decode(options.maxRetryAfter ?? defaultMaxRetryAfter) })
    const gated = Gate.client(gate, options.transformClient ? options.transformClient(configured) : configured)
    // The token goes to the configured origin only (wire doc §12: data-href may name another host).
    const httpClient = authorize(credentials, gated, isOwnOrigin)
    // With an AttemptTransport, `call` takes the same steps as `httpClient` without its layers: credentials for the
    // resolved URL, then the extra headers, each response reported to the gate it passed once (see `call`).
    const attemptSend = signalAware ? (underlying as unknown as { readonly [AttemptTransport]?: AttemptSend })[AttemptTransport] : undefined
    const credentialed = authorized(credentials, isOwnOrigin)
    const sendDirect = attemptSend === undefined ? undefined : (request: HttpClientRequest.HttpClientRequest, signal: AbortSignal, observe: Gate.Observe) =>
      credentialed((r) => Effect.tap(attemptSend(withHeaders(r), signal, propagate), Gate.observeResponse(observe)))(withUrl(request))

    const maxResponseBytes = options.maxResponseBytes ?? defaultMaxResponseBytes
    if (!(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0)) {
      return yield* Effect.fail(ConfigError.InvalidData(["maxResponseBytes"], `maxResponseBytes must be a positive integer, got ${maxResponseBytes}`))
    }
    const defaults = {
      timeout: Duration.decode(options.timeout ?? defaultTimeout),
      retry: options.retry ?? defaultRetryPolicy,
      maxRetryAfter: Duration.decode(options.maxRetryAfter ?? defaultMaxRetryAfter)
    }
    const resolveOptions = (current: RequestOptions) => ({
      timeout: current.timeout === undefined ? defaults.timeout : Duration.decode(current.timeout),
      retry: current.retry === undefined ? defaults.retry : current.retry,
      maxRetryAfter: defaults.maxRetryAfter
    })
    const requestOptions = Effect.map(CurrentRequestOptions, resolveOptions)

    const call = <A, E, R>(
      request: HttpClientRequest.HttpClientRequest,
      handle: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, E, R>,
      callOptions?: CallOptions
    ): Effect.Effect<A, E | TransportError | RequestTimeout | LoginRequired, R> =>
      Effect.flatMap(CurrentRequestOptions, (current) => {
        const { maxRetryAfter, retry, timeout } = resolveOptions(current)
        const onTimeout = () => new RequestTimeout({ method: request.method, url: describe(HttpClientRequest.setUrl(request, resolve(request.url))).url, timeout })
        const handled = (sent: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError | Credentials.RefreshError>) =>
          Effect.flatMap(Effect.mapError(sent, (e) => (HttpClientError.isHttpClientError(e) ? transportError(e) : e)), (response) =>
            // The cap is set only where it differs: setting a service per request costs more than reading it.
            withoutToken(response, Effect.flatMap(MaxResponseBytes, (cap) => (cap === maxResponseBytes ? handle(response) : Effect.provideService(handle(response), MaxResponseBytes, maxResponseBytes)))))
        // The wait at the gate is not part of the attempt's timeout.
        const layered = () => handled(httpClient.execute(request))
        const attempt = sendDirect !== undefined
          ? gate.enter((observe) => withTimeoutSignal(timeout, onTimeout, (signal) => handled(sendDirect(request, signal, observe))))
          : Gate.admitted(gate, signalAware ? withSignalTimeout(layered(), timeout, onTimeout) : Effect.timeoutFail(layered(), { duration: timeout, onTimeout }))
        const idempotent = callOptions?.idempotent ?? idempotentMethods.has(request.method)
        if (!idempotent || retry === false) return attempt
        return retryFailed(attempt, retry, (e) => isTransient(e) && Option.match(retryAfter(e), { onNone: () => true, onSome: (d) => Duration.lessThanOrEqualTo(d, maxRetryAfter) }))
      })

    const apiVersion = options.apiVersion === undefined || options.apiVersion === "auto" ? Option.none() : Option.some(options.apiVersion)
    return IvcapClient.of({ baseUrl, accountId: Option.fromNullable(options.accountId), apiVersion, httpClient, resolve, isOwnOrigin, call, requestOptions })
  })

/**
 * What a handler makes of `response`, with the token its request carried taken out of its error (a server echoing
 * the request's headers in an answer the error quotes).
 */
const withoutToken = <A, E, R>(response: HttpClientResponse.HttpClientResponse, handling: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const authorization = response.request.headers["authorization"]
  return authorization?.startsWith("Bearer ") ? Effect.mapError(handling, scrub(authorization.slice("Bearer ".length))) : handling
}

/**
 * A policy whose delays are at least the `Retry-After` of the error being retried.
 *
 * @since 0.1.0
 */
export const retryWithRetryAfter = (policy: RetryPolicy): Schedule.Schedule<unknown, unknown> =>
  Schedule.intersect(policy, Schedule.identity<unknown>()).pipe(
    Schedule.modifyDelay(([, error], delay) =>
      Option.match(retryAfter(error), { onNone: () => delay, onSome: (ra) => Duration.max(delay, ra) })
    )
  )

/** A layer from explicit options. @since 0.1.0 */
export const layer = (options: Options): Layer.Layer<IvcapClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(IvcapClient, make(options))

/**
 * `IVCAP_API_VERSION`: `v0.41`, `v0.44` or `auto` (the default when unset); another value is a `ConfigError`
 * naming it. See {@link ApiVersion}. @since 0.2.0
 */
export const apiVersionConfig: Config.Config<ApiVersion | "auto"> = Config.literal("v0.41", "v0.44", "auto")("IVCAP_API_VERSION").pipe(
  Config.withDefault("auto" as const)
)

/**
 * Options read from configuration: `IVCAP_URL` with `IVCAP_JWT` (redacted), or — inside the platform —
 * `IVCAP_BASE_URL` alone (no `Authorization` header; `IVCAP_JWT` is then ignored, as the Python client does);
 * `IVCAP_URL` wins when both are set. `IVCAP_ACCOUNT_ID` is optional, and so is `IVCAP_API_VERSION` (`v0.41`,
 * `v0.44` or `auto`, the default; see {@link ApiVersion}).
 *
 * @since 0.1.0
 */
export const defaultConfig: Config.Config<Options> = Config.all({
  url: Config.option(Config.string("IVCAP_URL")),
  baseUrl: Config.option(Config.string("IVCAP_BASE_URL")),
  token: Config.option(Config.redacted("IVCAP_JWT")),
  accountId: Config.option(Config.string("IVCAP_ACCOUNT_ID")),
  apiVersion: apiVersionConfig
}).pipe(Config.mapOrFail(({ accountId, apiVersion, baseUrl, token, url }): Either.Either<Options, ConfigError.ConfigError> => {
  const account = { accountId: Option.getOrUndefined(accountId), apiVersion }
  if (Option.isSome(url)) {
    return Option.isSome(token)
      ? Either.right({ url: url.value, token: token.value, ...account })
      : Either.left(ConfigError.MissingData(["IVCAP_JWT"], "Expected IVCAP_JWT to be set (IVCAP_URL is set)"))
  }
  if (Option.isSome(baseUrl)) return Either.right({ url: baseUrl.value, ...account })
  return Either.left(ConfigError.MissingData(["IVCAP_URL"], "Expected IVCAP_URL (with IVCAP_JWT), or IVCAP_BASE_URL inside the platform, to be set"))
}))

/**
 * A layer whose options come from `Config` — by default {@link defaultConfig}; a missing `IVCAP_URL` (and no
 * `IVCAP_BASE_URL`) or a missing `IVCAP_JWT` is a `ConfigError` naming it.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<Options> = defaultConfig
): Layer.Layer<IvcapClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(IvcapClient, Effect.flatMap(config, make))
