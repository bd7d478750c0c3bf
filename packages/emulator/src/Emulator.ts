/**
 * The emulator service: the IVCAP state (services, orders, artifacts, aspects) plus the controls tests need —
 * fault injection, request counters, the emulator clock, bulk seeding and reset. Platform-free: serve it with
 * `EmulatorApp.app`, call it in-process with `EmulatorHttpClient.layer`, or run a real server with
 * `@ivcap/emulator/EmulatorServer`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as BlobStore from "./BlobStore.js"
import * as Faults from "./Faults.js"
import type * as InternalService from "./internal/internals.js"
import { type OAuthOptions, OAuthState, type OAuthStats } from "./internal/oauth.js"
import { defaultMaxUploadBytes, EmulatorState, type Journal } from "./internal/state.js"
import { randomUuid } from "./internal/util.js"
import * as SeedData from "./SeedData.js"

/**
 * One request as it reached the emulator (header names in lower case).
 * @since 0.1.0
 */
export interface RequestRecord {
  readonly method: string
  readonly url: string
  /**
   * The request's headers, except `Authorization` and `Proxy-Authorization` (never kept); values longer than
   * 1 KiB are cut.
   */
  readonly headers: Record<string, string>
  /**
   * What the `Authorization` header carried: the accepted bearer token (`"token"`), nothing (`"none"`) or
   * anything else (`"other"`, possible only on routes that need no token: a request needing one is refused with
   * 401 before it is recorded).
   */
  readonly auth: "token" | "none" | "other"
  /**
   * A short fingerprint of the bearer token (see {@link tokenTag}) — not the token — so tests can tell which of
   * several tokens a request carried; absent without a bearer token.
   */
  readonly tokenTag?: string
  /** Emulator time (epoch millis) of arrival. */
  readonly at: number
}

/**
 * Which requests to count: `method` (case-insensitive) and `path` (string prefix of, or RegExp tested against, the
 * percent-decoded pathname).
 * @since 0.1.0
 */
export interface RequestFilter {
  readonly method?: string
  readonly path?: string | RegExp
}

/**
 * Options of {@link make} / {@link layer}.
 * @since 0.1.0
 */
export interface Options {
  /** The accepted bearer token (default {@link SeedData.defaultToken}). */
  readonly token?: string
  /** Load the seed data (default `true`). */
  readonly seed?: boolean
  /** Emulator time each order lifecycle step takes (default 1000 ms). */
  readonly orderStepMillis?: number
  /**
   * Which IVCAP API to speak (default `"0.48"`): `"0.41"` is a v0.41 deployment — `/1/services2` and the job routes
   * answer 404 as for any unknown path; `"0.48"` serves them too (v0.44–v0.48 shapes).
   */
  readonly apiVersion?: "0.41" | "0.48"
  /** Emulator time each job lifecycle step (pending → scheduled → executing) takes (default 100 ms). */
  readonly jobStepMillis?: number
  /** Where artifact content goes (default: in memory). */
  readonly blobStore?: BlobStore.BlobStore
  /** Durable journal replayed at start (used by the Node server with a data directory). */
  readonly journal?: Journal
  /**
   * The largest artifact accepted, declared or deferred (default 16 GiB, advertised as `Tus-Max-Size`); a larger
   * `X-Content-Length`/`Upload-Length`, or a deferred-length upload growing past it, is answered 413.
   */
  readonly maxUploadBytes?: number
  /**
   * Origins (e.g. `"http://192.168.1.5:8080"`) allowed by CORS besides loopback ones (`localhost`, `127.x.x.x`,
   * `[::1]`, any port), which are always allowed; `"*"` allows every origin. A request from any other origin is
   * answered 403.
   */
  readonly corsOrigins?: ReadonlyArray<string>
  /** How many requests the log keeps, oldest dropped first (default 100 000). */
  readonly requestLogLimit?: number
  /** The identity provider's settings (token lifetime, device polling interval, mid-upload rejection). */
  readonly oauth?: OAuthOptions
  /**
   * Bounds of one `POST /1/search` evaluation (default: 2,000,000 derived facts, 10,000 ms); beyond them the
   * query gets a 400 `query too expensive: …`.
   */
  readonly searchLimits?: { readonly maxFacts?: number; readonly timeoutMillis?: number }
}

export type {
  /** @since 0.1.0 */
  OAuthOptions,
  /** @since 0.1.0 */
  OAuthStats
}

/**
 * The emulator service.
 * @since 0.1.0
 */
export interface EmulatorService {
  /** The accepted bearer token. */
  readonly token: string
  readonly faults: {
    /** Adds a fault rule (rules apply in injection order). */
    readonly inject: (rule: Faults.FaultRule) => Effect.Effect<void>
    /** Removes every fault rule. */
    readonly reset: Effect.Effect<void>
  }
  readonly requests: {
    /** How many recorded requests match `filter` (all when absent). */
    readonly count: (filter?: RequestFilter) => Effect.Effect<number>
    /** The recorded requests (the newest `requestLogLimit`), oldest first. */
    readonly log: Effect.Effect<ReadonlyArray<RequestRecord>>
    /** How many requests were refused (401 for the token, 403 for the origin) since the last reset; they are not logged. */
    readonly rejected: Effect.Effect<RejectedCounts>
    /** Forgets the recorded requests. */
    readonly reset: Effect.Effect<void>
    /**
     * How many requests are being handled right now (until their response starts) — e.g. to check that a
     * stalled request is released once its client gives up.
     */
    readonly active: Effect.Effect<number>
  }
  readonly clock: {
    /** Moves emulator time forward (orders progress with it). */
    readonly advance: (d: Duration.DurationInput) => Effect.Effect<void>
    /** Emulator time: `Date.now()` plus the accumulated offset (never Effect's Clock). */
    readonly now: Effect.Effect<number>
  }
  readonly seed: {
    /** Creates `count` aspects quickly; returns their ids in creation order. */
    readonly aspects: (
      count: number,
      options?: {
        readonly entity?: string
        readonly schema?: string
        readonly content?: (i: number) => object
      }
    ) => Effect.Effect<ReadonlyArray<string>>
    /**
     * Adds a copy of the service `like` under a new id — by default with the same name, so that
     * `Service.getByName(name)` fails with `AmbiguousRequest`. Returns the new id, or `None` when `like` is not a
     * service. Not journaled: gone after `reset` or a restart.
     */
    readonly service: (like: string, options?: { readonly name?: string }) => Effect.Effect<Option.Option<string>>
  }
  /**
   * The identity provider (`/1/authinfo.yaml`, device code, token, JWKS): the API accepts the tokens it issues
   * while they are valid in emulator time, besides the fixed `token`.
   */
  readonly oauth: {
    /** Approves the pending device authorization with this user code (as the user would on the login page). */
    readonly approve: (userCode: string) => Effect.Effect<boolean>
    /** Denies it. */
    readonly deny: (userCode: string) => Effect.Effect<boolean>
    /** The user codes waiting for a decision. */
    readonly pending: Effect.Effect<ReadonlyArray<string>>
    /** Every access token issued so far expires now. */
    readonly expireAccessTokens: Effect.Effect<void>
    /** Every refresh token is revoked (and access tokens expire): the user must log in again. */
    readonly revokeAll: Effect.Effect<void>
    /** Counters: device authorizations, device and refresh grants, refused grants, live access tokens. */
    readonly stats: Effect.Effect<OAuthStats>
    /**
     * Every access and refresh token the identity provider holds (the request log keeps no token values; a test searching its
     * output for leaked tokens takes them from here).
     */
    readonly issued: Effect.Effect<ReadonlyArray<string>>
  }
  /** Back to the seeded state: no orders/uploads/aspects of yours, no faults, counters zero, clock offset zero. */
  readonly reset: Effect.Effect<void>
  /** Internals used by `EmulatorApp` (not a stable API). @internal */
  readonly internal: InternalService.Internals
}

/**
 * @deprecated Not API: the emulator's internals, shared with its HTTP app. Will be removed from the public
 * surface in 0.2.
 * @since 0.1.0
 */
export type Internals = InternalService.Internals

/**
 * The emulator service tag.
 * @since 0.1.0
 */
export class Emulator extends Context.Tag("@ivcap/emulator/Emulator")<Emulator, EmulatorService>() {}

/** Default entity of {@link EmulatorService.seed}`.aspects`. */
const bulkEntity = "urn:ivcap:entity:emulator-bulk"
/** Default schema of {@link EmulatorService.seed}`.aspects`. */
const bulkSchema = "urn:ivcap:schema:emulator-bulk.1"

const matchesRequest = (filter: RequestFilter | undefined, r: RequestRecord, pathname: string) =>
  Faults.matches(filter, r.method, pathname)

const pathnameOf = (url: string): string => {
  let p = url
  const scheme = p.indexOf("://")
  if (scheme !== -1) {
    const slash = p.indexOf("/", scheme + 3)
    p = slash === -1 ? "/" : p.slice(slash)
  }
  const q = p.indexOf("?")
  if (q !== -1) p = p.slice(0, q)
  try {
    return decodeURIComponent(p)
  } catch {
    return p
  }
}

/**
 * Requests refused before they were recorded.
 * @since 0.1.0
 */
export interface RejectedCounts {
  readonly total: number
  /** 401: no `Authorization` header. */
  readonly withoutToken: number
  /** 401: a token that is not accepted. */
  readonly withOtherToken: number
  /** 403: an `Origin` CORS does not allow. */
  readonly badOrigin: number
}

const noRejections: RejectedCounts = { total: 0, withoutToken: 0, withOtherToken: 0, badOrigin: 0 }

/**
 * The fingerprint the request log keeps of a bearer token ({@link RequestRecord.tokenTag}): 8 hex digits of a
 * 32-bit FNV-1a hash, enough to tell tokens apart and far too little to recover one.
 * @since 0.1.0
 */
export const tokenTag = (token: string): string => {
  let h = 0x811c9dc5
  for (let i = 0; i < token.length; i++) {
    h ^= token.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, "0")
}

/** Loopback origins: `localhost` (and `*.localhost`), `127.0.0.0/8`, `[::1]`, any scheme and port. */
const isLoopbackOrigin = (origin: string): boolean => {
  try {
    const host = new URL(origin).hostname
    return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
      /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  } catch {
    return false
  }
}

const originPolicy = (extra: ReadonlyArray<string>) => {
  if (extra.includes("*")) return () => true
  const allowed = new Set(extra.map((o) => o.replace(/\/+$/, "").toLowerCase()))
  return (origin: string) => isLoopbackOrigin(origin) || allowed.has(origin.toLowerCase())
}

/**
 * Builds an emulator (seeded unless `seed: false`; replays `journal` when given).
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<EmulatorService, BlobStore.BlobStoreError> =>
  Effect.gen(function*() {
    const token = options.token ?? SeedData.defaultToken
    const state = new EmulatorState(
      options.blobStore ?? BlobStore.memory(),
      options.orderStepMillis ?? 1000,
      options.journal,
      options.maxUploadBytes ?? defaultMaxUploadBytes
    )
    const logLimit = Math.max(1, options.requestLogLimit ?? 100_000)
    const allowsOrigin = originPolicy(options.corsOrigins ?? [])
    const oauth = new OAuthState(options.oauth ?? {}, () => state.now())
    const bearer = /^\s*bearer\s+(\S+)\s*$/i
    const authorized = (header: string | undefined) => {
      const m = header === undefined ? null : bearer.exec(header)
      return m !== null && (m[1] === token || oauth.accepts(m[1]!))
    }
    state.apiVersion = options.apiVersion ?? "0.48"
    state.jobStepMillis = options.jobStepMillis ?? 100
    const doSeed = options.seed ?? true
    yield* state.seed(doSeed, false)
    yield* state.replay()

    type LiveRule = { rule: Faults.FaultRule; times: number; skip: number }
    let rules: Array<LiveRule> = []
    // the log is `log.slice(head)`: dropping the oldest is O(1), compacted now and then
    let log: Array<RequestRecord & { pathname: string }> = []
    let head = 0
    let rejected = noRejections
    let active = 0
    const retained = () => (head === 0 ? log : log.slice(head))

    const takeFault = (method: string, pathname: string): Faults.FaultAction | undefined => {
      for (const r of rules) {
        if (r.times <= 0 || !Faults.matches(r.rule.match, method, pathname)) continue
        if (r.skip > 0) {
          r.skip--
          continue
        }
        r.times--
        const action = r.rule.action
        rules = rules.filter((x) => x.times > 0)
        return action
      }
      return undefined
    }

    const service: EmulatorService = {
      token,
      faults: {
        inject: (rule) =>
          Effect.sync(() => {
            rules.push({ rule, times: rule.times ?? 1, skip: rule.skip ?? 0 })
          }),
        reset: Effect.sync(() => {
          rules = []
        })
      },
      requests: {
        count: (filter) =>
          Effect.sync(() =>
            filter === undefined ? log.length - head : retained().filter((r) => matchesRequest(filter, r, r.pathname)).length
          ),
        log: Effect.sync(() => retained().map(({ pathname: _p, ...r }) => r)),
        rejected: Effect.sync(() => ({ ...rejected })),
        reset: Effect.sync(() => {
          log = []
          head = 0
          rejected = noRejections
        }),
        active: Effect.sync(() => active)
      },
      clock: {
        advance: (d) =>
          Effect.sync(() => {
            const millis = Duration.toMillis(Duration.decode(d))
            if (millis > 0 && Number.isFinite(millis)) state.advanceClock(millis)
          }),
        now: Effect.sync(() => state.now())
      },
      seed: {
        service: (like, opts) =>
          Effect.sync(() => {
            const original = state.servicesById.get(like)
            if (original === undefined) return Option.none()
            const id = `urn:ivcap:service:${randomUuid()}`
            const copy = { ...original, id, name: opts?.name ?? original.name, seq: state.nextSeq() }
            state.services.push(copy)
            state.servicesById.set(id, copy)
            return Option.some(id)
          }),
        aspects: (count, opts) =>
          Effect.sync(() => state.batch(() => {
            const entity = opts?.entity ?? bulkEntity
            const schema = opts?.schema ?? bulkSchema
            const content = opts?.content ?? ((i: number) => ({ $schema: schema, $entity: entity, index: i }))
            const at = state.aspectTime()
            const ids: Array<string> = []
            for (let i = 0; i < count; i++) {
              const id = `urn:ivcap:aspect:${randomUuid()}`
              ids.push(id)
              state.addAspect({
                seq: state.nextSeq(),
                id,
                entity,
                schema,
                content: { ...content(i) } as Record<string, unknown>,
                asserter: SeedData.principal,
                validFrom: at
              })
            }
            return ids
          }))
      },
      oauth: {
        approve: (userCode) => Effect.sync(() => oauth.decide(userCode, true)),
        deny: (userCode) => Effect.sync(() => oauth.decide(userCode, false)),
        pending: Effect.sync(() => oauth.pendingUserCodes()),
        expireAccessTokens: Effect.sync(() => oauth.expireAccessTokens()),
        revokeAll: Effect.sync(() => oauth.revokeAll()),
        stats: Effect.sync(() => oauth.currentStats()),
        issued: Effect.sync(() => oauth.issuedTokens())
      },
      reset: Effect.gen(function*() {
        rules = []
        oauth.reset()
        log = []
        head = 0
        rejected = noRejections
        state.journal?.clear()
        yield* state.seed(doSeed, true)
      }).pipe(Effect.orDie),
      internal: {
        state,
        record: (r) => {
          log.push({ ...r, pathname: pathnameOf(r.url) })
          if (log.length - head > logLimit) head++
          if (head > 1024 && head * 2 > log.length) {
            log = log.slice(head)
            head = 0
          }
        },
        rejected: (why) => {
          rejected = { ...rejected, total: rejected.total + 1, [why]: rejected[why] + 1 }
        },
        allowsOrigin,
        inFlight: (delta) => {
          active += delta
        },
        takeFault,
        oauth,
        authorized,
        searchLimits: {
          maxFacts: options.searchLimits?.maxFacts ?? 2_000_000,
          timeoutMillis: options.searchLimits?.timeoutMillis ?? 10_000
        }
      }
    }
    return service
  })

/**
 * The emulator as a layer (in memory unless `blobStore` / `journal` say otherwise; platform-free).
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Emulator> =>
  Layer.effect(Emulator, Effect.orDie(make(options)))
