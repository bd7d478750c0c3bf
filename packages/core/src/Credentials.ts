/**
 * Where the bearer token comes from: a swappable service that `IvcapClient` asks before every request to its own
 * origin, and again after a `401`.
 *
 * - {@link none}: no `Authorization` header (inside the platform, where a sidecar authenticates);
 * - {@link fixed}: one token, never renewed (`IVCAP_JWT`);
 * - {@link make} / {@link layerRefreshing}: a token that knows its expiry and a way to get a new one (the IVCAP
 *   login's refresh-token grant in `@ivcap/node`, the application's own login in a browser via {@link fromProvider}).
 *
 * A refreshing token is renewed **once for all fibers**: when it is about to expire, or when a request sent with
 * it got `401`, one refresh runs and every other fiber that needs a token meanwhile waits for it. The refresh runs
 * in the layer's scope, so interrupting one waiting request does not cancel it for the others. A refresh that
 * fails with {@link LoginRequired} is final: every later request fails with it at once and nothing more is sent
 * with the old token, until {@link CredentialsService.set} installs a new one (after logging in again).
 * Transport failures of a refresh are not final: the request fails with them (and idempotent requests retry), a
 * token that has not expired yet goes on being used, and the next refresh is tried after a pause as long as the
 * failed one took (1–30 s; the requests meanwhile fail with the same error at once, without asking the provider).
 *
 * Bounds against a misbehaving provider or server: a renewed token whose lifetime is under 10 s (an `expires_in`
 * of a few seconds, or already past) is used until the server rejects it rather than renewed before every request;
 * and a renewed token that the server rejects before it accepted any request with it is not renewed again until
 * it is 30 s old — the `401` stands meanwhile (`Unauthorized`), instead of a renewal per request.
 *
 * @example
 * // bring your own token provider
 * const credentials = Credentials.layerProvider(async (reason) => ({ token: await myLogin.accessToken(reason !== "initial"), expiresAt: myLogin.expiry }))
 * IvcapClient.layer({ url }).pipe(Layer.provide(credentials))
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { LoginRequired, type RequestTimeout, type TransportError } from "./IvcapError.js"

export {
  /** @since 0.1.0 */
  LoginRequired
}

/** An access token and, when known, when it expires. @since 0.1.0 */
export interface Token {
  readonly accessToken: Redacted.Redacted<string>
  /** Expiry as epoch milliseconds; absent: unknown (renewed only after a `401`). */
  readonly expiresAt?: number | undefined
}

/** The token to send and which renewal it came from (to tell, after a `401`, whether someone renewed since). @since 0.1.0 */
export interface Stamp {
  readonly token: Redacted.Redacted<string>
  readonly generation: number
}

/** Why renewing a token can fail: for good ({@link LoginRequired}) or for now (transport, timeout). @since 0.1.0 */
export type RefreshError = LoginRequired | TransportError | RequestTimeout

/** The credentials service. @since 0.1.0 */
export interface CredentialsService {
  /**
   * The token to send now — renewed first (once, shared by all fibers) when it is about to expire; `None` to send
   * no `Authorization` header.
   */
  readonly current: Effect.Effect<Option.Option<Stamp>, RefreshError>
  /**
   * After a `401` to a request sent with `stamp`: a newer token — the one another fiber obtained meanwhile, or a
   * renewal run now (once, shared). `None` when these credentials cannot be renewed (the `401` stands).
   */
  readonly renew: (stamp: Stamp) => Effect.Effect<Option.Option<Stamp>, RefreshError>
  /** Installs a token obtained elsewhere (after logging in again); clears a failed renewal. */
  readonly set: (token: Token) => Effect.Effect<void>
  /** How many renewals ran so far (successful or not). */
  readonly refreshes: Effect.Effect<number>
  /**
   * Told (synchronously, on the request path) that the server accepted a request sent with `stamp`: a renewed
   * token rejected before it was ever accepted is not renewed again at once (see the module comment). Optional.
   */
  readonly accepted?: ((stamp: Stamp) => void) | undefined
}

/** The tag of the credentials service. @since 0.1.0 */
export class Credentials extends Context.Tag("@ivcap/core/Credentials")<Credentials, CredentialsService>() {}

const redact = (token: Redacted.Redacted<string> | string): Redacted.Redacted<string> =>
  Redacted.isRedacted(token) ? token : Redacted.make(token)

/** A token that cannot be renewed: `current` gives it, a `401` stands. */
const unrenewable = (initial: Option.Option<Token>): Effect.Effect<CredentialsService> =>
  Effect.sync(() => {
    let token = initial
    let generation = 0
    const stamp = () => Option.map(token, (t): Stamp => ({ token: t.accessToken, generation }))
    return {
      current: Effect.sync(stamp),
      renew: (seen) => Effect.sync(() => (seen.generation < generation ? stamp() : Option.none())),
      set: (next) =>
        Effect.sync(() => {
          token = Option.some(next)
          generation++
        }),
      refreshes: Effect.succeed(0)
    }
  })

/** No `Authorization` header (in-platform mode: `IVCAP_BASE_URL` without a token). @since 0.1.0 */
export const none: Effect.Effect<CredentialsService> = unrenewable(Option.none())

/** One token, never renewed: a `401` is reported as `Unauthorized`. @since 0.1.0 */
export const fixed = (token: Redacted.Redacted<string> | string): Effect.Effect<CredentialsService> =>
  unrenewable(Option.some({ accessToken: redact(token) }))

/** The default margin before expiry at which a token is renewed: 30 s. @since 0.1.0 */
export const defaultRefreshBefore: Duration.Duration = Duration.seconds(30)

/** Why a token is renewed: there is none yet, it is about to expire, or the server answered `401` to it. @since 0.1.0 */
export type RefreshReason = "initial" | "expiring" | "rejected"

/** Options of {@link make}. @since 0.1.0 */
export interface Options {
  /** The token to start with; absent: the first request renews (e.g. an expired login's refresh token). */
  readonly initial?: Token | undefined
  /**
   * Gets a new token, given the one in use (if any) and why; fails with {@link LoginRequired} when that is
   * impossible.
   */
  readonly refresh: (previous: Option.Option<Token>, reason: RefreshReason) => Effect.Effect<Token, RefreshError>
  /**
   * Renew this long before expiry; default 30 s, at most half the token's lifetime (so a short-lived token is not
   * renewed on every request).
   */
  readonly refreshBefore?: Duration.DurationInput | undefined
}

/** A renewed token with a shorter lifetime is used until the server rejects it, not renewed before each request. */
const minimumLifetime = 10_000

/** A renewed token rejected before it was ever accepted is not renewed again until it is this old (milliseconds). */
const rejectedPause = 30_000

/** After a renewal failed for now, the next one waits as long as that one took, within these bounds (milliseconds). */
const minimumRetryPause = 1_000
const maximumRetryPause = 30_000

/** Where the token in use came from: given (`initial`, `set`) or a renewal for this reason. */
type Origin = "given" | RefreshReason

/**
 * Credentials that renew themselves. Renewals run in the current scope (closing it interrupts one in flight).
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<CredentialsService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const before = Duration.toMillis(Duration.decode(options.refreshBefore ?? defaultRefreshBefore))
    let token: Option.Option<Token> = Option.fromNullable(options.initial)
    let obtainedAt = yield* Clock.currentTimeMillis
    let origin: Origin = "given"
    let accepted = false
    let generation = 0
    let failed: LoginRequired | undefined
    /** The last renewal's failure for now, and until when no new renewal is started. */
    let pause: { readonly error: RefreshError; readonly until: number } | undefined
    let inflight: Deferred.Deferred<Stamp, RefreshError> | undefined
    let refreshes = 0

    const stampOf = (t: Token): Stamp => ({ token: t.accessToken, generation })
    const fresh = (t: Token, now: number) => {
      if (t.expiresAt === undefined) return true
      const lifetime = t.expiresAt - obtainedAt
      // a provider's token that is expired or about to be at once: renewing it before every request would not help
      if (origin !== "given" && !(lifetime >= minimumLifetime)) return true
      const margin = Math.min(before, Math.max(0, lifetime / 2))
      return now < t.expiresAt - margin
    }

    /** One renewal for everyone: joins the one in flight, or starts it in the layer's scope. */
    const renewal = (reason: RefreshReason, now: number): Effect.Effect<Stamp, RefreshError> => {
      if (failed !== undefined) return Effect.fail(failed)
      if (inflight !== undefined) return Deferred.await(inflight)
      if (pause !== undefined && now < pause.until) return Effect.fail(pause.error)
      const deferred = Deferred.unsafeMake<Stamp, RefreshError>(FiberId.none)
      inflight = deferred
      refreshes++
      const run = Effect.suspend(() => options.refresh(token, reason)).pipe(
        Effect.flatMap((next) =>
          Effect.map(Clock.currentTimeMillis, (at) => {
            token = Option.some(next)
            obtainedAt = at
            origin = reason
            accepted = false
            pause = undefined
            generation++
            return stampOf(next)
          })
        ),
        Effect.tapError((e) =>
          Effect.map(Clock.currentTimeMillis, (at) => {
            if (e._tag === "LoginRequired") failed = e
            else pause = { error: e, until: at + Math.min(maximumRetryPause, Math.max(minimumRetryPause, at - now)) }
          })
        ),
        Effect.onExit((exit) =>
          Effect.suspend(() => {
            inflight = undefined
            return Deferred.done(deferred, exit)
          })
        )
      )
      return Effect.zipRight(Effect.forkIn(Effect.exit(run), scope), Deferred.await(deferred))
    }

    const service: CredentialsService = {
      current: Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (failed !== undefined) return Effect.fail(failed)
        if (Option.isNone(token)) return Effect.asSome(renewal("initial", now))
        const t = token.value
        if (inflight === undefined && fresh(t, now)) return Effect.succeed(Option.some(stampOf(t)))
        const renewed = Effect.asSome(renewal("expiring", now))
        if (t.expiresAt === undefined || now >= t.expiresAt) return renewed
        // not expired yet: a renewal that fails for now does not fail the request
        const stamp = stampOf(t)
        return Effect.catchIf(renewed, (e) => e._tag !== "LoginRequired", () => Effect.succeed(Option.some(stamp)))
      }),
      renew: (seen) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          if (failed !== undefined) return Effect.fail(failed)
          if (seen.generation < generation && Option.isSome(token)) return Effect.succeed(Option.some(stampOf(token.value)))
          // A renewed token refused before the server accepted anything sent with it: another renewal now would most
          // likely be refused too (the server rejects every token), so the 401 stands until this one is older.
          if (
            inflight === undefined && seen.generation === generation && (origin === "expiring" || origin === "rejected") && !accepted &&
            now - obtainedAt < rejectedPause
          ) {
            return Effect.succeed(Option.none())
          }
          return Effect.asSome(renewal("rejected", now))
        }),
      set: (next) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          token = Option.some(next)
          obtainedAt = now
          origin = "given"
          accepted = false
          generation++
          failed = undefined
          pause = undefined
        }),
      refreshes: Effect.sync(() => refreshes),
      accepted: (stamp) => {
        if (stamp.generation === generation) accepted = true
      }
    }
    return service
  })

/** What a token provider may return: the token alone, or with its expiry. @since 0.1.0 */
export type ProvidedToken = string | { readonly token: string; readonly expiresAt?: number | Date | undefined }

/**
 * Credentials from the application's own login (a browser app, a secret store): `provider` is asked for a token
 * at first use (`"initial"`), shortly before the one it gave expires (`"expiring"`), and after a `401`
 * (`"rejected"`) — one call at a time, shared by all fibers. A provider that throws or rejects ends in
 * {@link LoginRequired} with `login` as the advice.
 *
 * @since 0.1.0
 */
export const fromProvider = (
  provider: (reason: RefreshReason) => ProvidedToken | PromiseLike<ProvidedToken>,
  options: ProviderOptions = {}
): Effect.Effect<CredentialsService, never, Scope.Scope> => {
  const login = options.login ?? "sign in to the application again"
  return make({
    ...(options.refreshBefore !== undefined ? { refreshBefore: options.refreshBefore } : {}),
    refresh: (_previous, reason) =>
      Effect.tryPromise({
        try: async () => await provider(reason),
        catch: (e) => new LoginRequired({ reason: `the token provider failed: ${e instanceof Error ? e.message : String(e)}`, login })
      }).pipe(Effect.map((p): Token => {
        if (typeof p === "string") return { accessToken: Redacted.make(p) }
        const at = p.expiresAt instanceof Date ? p.expiresAt.getTime() : p.expiresAt
        return { accessToken: Redacted.make(p.token), ...(at !== undefined ? { expiresAt: at } : {}) }
      }))
  })
}

/** Options of {@link fromProvider}. @since 0.1.0 */
export interface ProviderOptions {
  /** Ask this long before expiry (default 30 s, at most half the token's lifetime). */
  readonly refreshBefore?: Duration.DurationInput | undefined
  /** The advice in {@link LoginRequired} when the provider fails; default "sign in to the application again". */
  readonly login?: string | undefined
}

/** A layer of {@link none}. @since 0.1.0 */
export const layerNone: Layer.Layer<Credentials> = Layer.effect(Credentials, none)

/** A layer of {@link fixed}. @since 0.1.0 */
export const layerFixed = (token: Redacted.Redacted<string> | string): Layer.Layer<Credentials> => Layer.effect(Credentials, fixed(token))

/** A layer of {@link make}. @since 0.1.0 */
export const layerRefreshing = (options: Options): Layer.Layer<Credentials> => Layer.scoped(Credentials, make(options))

/** A layer of {@link fromProvider}. @since 0.1.0 */
export const layerProvider = (
  provider: (reason: RefreshReason) => ProvidedToken | PromiseLike<ProvidedToken>,
  options?: ProviderOptions
): Layer.Layer<Credentials> => Layer.scoped(Credentials, fromProvider(provider, options))
