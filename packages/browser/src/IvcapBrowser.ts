/**
 * One Layer for browsers: the IVCAP client over `fetch` — with trace-header propagation off, so that a
 * cross-origin call needs no preflight for `traceparent`/`b3` — and the `localStorage` store that lets an
 * interrupted `File`/`Blob` upload resume after a page reload.
 *
 * Uploads read `Blob`/`File` sources with `slice` (core `UploadSource.fromBlob`): each tus PATCH carries one
 * chunk as a plain body, because browsers allow streaming request bodies only over HTTP/2. Progress is reported
 * from the offsets the server confirmed.
 *
 * The token: a fixed `token`, or — when the application owns its login and tokens expire — a `tokenProvider`
 * function, asked at first use, shortly before the token it gave expires, and after a `401`; one call at a time,
 * shared by every request in flight (core `Credentials.fromProvider`).
 *
 * @example
 * import { IvcapBrowser } from "@ivcap/browser"
 * Effect.runPromise(program.pipe(Effect.provide(IvcapBrowser.layer({ url: "https://develop.ivcap.net", token }))))
 * IvcapBrowser.layer({ url, tokenProvider: async (reason) => ({ token: await auth.getAccessToken({ force: reason !== "initial" }), expiresAt: auth.expiresAt }) })
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Credentials from "@ivcap/core/Credentials"
import * as IvcapClient from "@ivcap/core/IvcapClient"
import * as UploadStore from "@ivcap/core/UploadStore"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** Where unfinished uploads are remembered. @since 0.1.0 */
export type UploadStateStorage = "localStorage" | "sessionStorage" | "memory"

/** Options of {@link layer}: the client's, plus the upload-state storage and an optional `fetch`. @since 0.1.0 */
export interface Options extends IvcapClient.Options {
  /**
   * Where unfinished uploads are remembered: `localStorage` (default; resumes across reloads),
   * `sessionStorage` (this tab only) or `memory` (this page only). Where the Web Storage API is missing or
   * blocked (workers, some sandboxed frames) memory is used.
   */
  readonly uploadState?: UploadStateStorage | undefined
  /** The `fetch` to use instead of `globalThis.fetch` (a wrapper that logs, for instance). */
  readonly fetch?: typeof globalThis.fetch | undefined
  /**
   * Where tokens come from when they expire (instead of `token`): called with why (`"initial"`, `"expiring"`,
   * `"rejected"` after a `401`); returns the token, or `{ token, expiresAt }`. A provider that throws ends in
   * `LoginRequired`, and nothing more is sent with the old token.
   */
  readonly tokenProvider?: ((reason: Credentials.RefreshReason) => Credentials.ProvidedToken | PromiseLike<Credentials.ProvidedToken>) | undefined
  /** The advice in `LoginRequired` when the provider fails; default "sign in to the application again". */
  readonly loginAdvice?: string | undefined
}

/** Everything {@link layer} provides. @since 0.1.0 */
export type Services = IvcapClient.IvcapClient | HttpClient.HttpClient | UploadStore.UploadStore

/** Web Storage, or `undefined` where it is missing or blocked. */
const webStorage = (name: "localStorage" | "sessionStorage"): Storage | undefined => {
  try {
    // Reading the property can throw (a SecurityError in sandboxed frames with storage blocked).
    return globalThis[name] ?? undefined
  } catch {
    return undefined
  }
}

/** Strings in Web Storage, under the keys as given (records are plain JSON, readable in the devtools). */
const storageStrings = (storage: Storage): UploadStore.StringStore => ({
  get: (key) => Effect.try(() => Option.fromNullable(storage.getItem(key))),
  set: (key, value) => Effect.try(() => storage.setItem(key, value)),
  remove: (key) => Effect.try(() => storage.removeItem(key))
})

/**
 * The `UploadStore` (unfinished uploads, for resuming) on Web Storage, or in memory where that is unavailable.
 * Web Storage is used directly, not through `KeyValueStore` (which would add its base64 and schema-store code to
 * the bundle).
 *
 * @since 0.1.0
 */
export const layerUploadStore = (storage: UploadStateStorage = "localStorage"): Layer.Layer<UploadStore.UploadStore> =>
  Layer.sync(UploadStore.UploadStore, () => {
    const web = storage === "memory" ? undefined : webStorage(storage)
    return UploadStore.fromStrings(web === undefined ? UploadStore.memoryStrings() : storageStrings(web))
  })

/** `fetch` as the HttpClient, optionally a given one. @since 0.1.0 */
export const layerFetch = (fetch?: typeof globalThis.fetch): Layer.Layer<HttpClient.HttpClient> =>
  fetch === undefined ? FetchHttpClient.layer : FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetch)))

/**
 * The client and everything it needs in a browser. Trace propagation stays off unless `tracerPropagation` is
 * set (and then the API's CORS configuration must allow `traceparent` and `b3`).
 *
 * @example
 * IvcapBrowser.layer({ url: "https://develop.ivcap.net", token: await getToken() })
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Services, ConfigError.ConfigError> => {
  const { fetch, loginAdvice, tokenProvider, uploadState, ...client } = options
  const clientLayer = IvcapClient.layer({ ...client, tracerPropagation: client.tracerPropagation ?? false })
  const withCredentials = tokenProvider === undefined
    ? clientLayer
    : clientLayer.pipe(Layer.provide(Credentials.layerProvider(tokenProvider, loginAdvice !== undefined ? { login: loginAdvice } : {})))
  return withCredentials.pipe(
    Layer.provideMerge(Layer.merge(layerFetch(fetch), layerUploadStore(uploadState)))
  )
}

/**
 * {@link layer} with its options read from `Config` (for a `ConfigProvider` your application sets up).
 *
 * @since 0.1.0
 */
export const layerConfig = (config: Config.Config<Options>): Layer.Layer<Services, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(config, layer))
