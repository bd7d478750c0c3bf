/**
 * One Layer for Node.js programs: the IVCAP client configured by {@link NodeConfig} (options > environment >
 * the IVCAP CLI's login), HTTP (`NodeHttp`: undici, with uploads and downloads on direct connections), the Node
 * file system and path services, and the file-backed stores that let interrupted uploads and `Bulk` pipelines
 * resume across runs.
 *
 * @example
 * import { IvcapNode } from "@ivcap/node"
 * import { Service } from "@ivcap/core"
 * Service.list().pipe(Stream.take(5), Stream.runCollect, Effect.provide(IvcapNode.layer()), NodeRuntime.runMain)
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Path from "@effect/platform/Path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Bulk from "@ivcap/core/Bulk"
import * as Credentials from "@ivcap/core/Credentials"
import * as IvcapClient from "@ivcap/core/IvcapClient"
import * as UploadSource from "@ivcap/core/UploadSource"
import * as UploadStore from "@ivcap/core/UploadStore"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Marker from "./Marker.js"
import * as NodeConfig from "./NodeConfig.js"
import * as NodeHttp from "./NodeHttp.js"
import * as NodeLogin from "./NodeLogin.js"

/**
 * Options of {@link layer}: the settings of {@link NodeConfig.Options} (each optional, filled from the
 * environment and the CLI's config), the client's timeouts and retries, and where upload state is kept.
 *
 * @since 0.1.0
 */
export interface Options extends NodeConfig.Options, Omit<IvcapClient.Options, "url" | "token" | "accountId"> {
  /**
   * The folder for resumable-upload state; beats `IVCAP_UPLOAD_STATE_DIR`; default
   * `<user config dir>/ivcap-sdk/uploads`. Created on first use.
   */
  readonly uploadStateDir?: string | undefined
  /**
   * The folder for the checkpoints of `Bulk` pipelines; beats `IVCAP_BULK_STATE_DIR`; default
   * `<user config dir>/ivcap-sdk/bulk`. Created on first use.
   */
  readonly bulkStateDir?: string | undefined
  /**
   * The options of the `Marker.layerBackground` the layer provides: how many markers may be left to finish after
   * `uploadFile` returns (`limit`, default 2) and the upload rate at which their md5 waits for the upload
   * (`yieldAbove`, default 128 MiB/s; `Infinity` hashes beside every upload, for the shortest total time).
   */
  readonly markers?: Marker.BackgroundOptions | undefined
}

/** Everything {@link layer} provides (`Credentials` too, so a program can `set` a new token after a re-login). @since 0.1.0 */
export type Services =
  | IvcapClient.IvcapClient
  | Credentials.Credentials
  | HttpClient.HttpClient
  | FileSystem.FileSystem
  | Path.Path
  | UploadStore.UploadStore
  | Bulk.ProgressStore
  | UploadSource.IterableBodies
  | Marker.Background

/**
 * Why {@link layer} can fail to build: missing or invalid configuration, or an expired CLI login that cannot be
 * renewed (no refresh token). @since 0.1.0
 */
export type LayerError = ConfigError.ConfigError | NodeConfig.TokenExpired

/**
 * HTTP (`NodeHttp`: undici, with an upload's requests and a download's on direct connections; a file source's
 * buffers are sent as they are read: `UploadSource.IterableBodies`), the Node file system, `Path`, and
 * `Marker.layerBackground()` (a large file's upload marker written after `uploadFile` returns; the layer's release
 * waits for those in flight).
 */
const layerRuntime = (
  markers: Marker.BackgroundOptions | undefined
): Layer.Layer<HttpClient.HttpClient | UploadSource.IterableBodies | FileSystem.FileSystem | Path.Path | Marker.Background> =>
  Layer.mergeAll(
    NodeHttp.layer,
    Layer.succeed(UploadSource.IterableBodies, true),
    NodeFileSystem.layer,
    NodePath.layer,
    Marker.layerBackground(markers)
  )

/**
 * The folder for resumable-upload state: `uploadStateDir`, else `IVCAP_UPLOAD_STATE_DIR`, else
 * `<user config dir>/ivcap-sdk/uploads`.
 *
 * @since 0.1.0
 */
export const uploadStateDir = (
  options: Pick<Options, "uploadStateDir" | "platform"> = {}
): Effect.Effect<string, ConfigError.ConfigError, Path.Path> =>
  Effect.gen(function*() {
    if (options.uploadStateDir !== undefined) return options.uploadStateDir
    const fromEnv = yield* NodeConfig.optionalEnv("IVCAP_UPLOAD_STATE_DIR")
    if (Option.isSome(fromEnv)) return fromEnv.value
    return (yield* Path.Path).join(yield* NodeConfig.userConfigDir(options.platform), "ivcap-sdk", "uploads")
  })

/**
 * The folder for `Bulk` pipeline checkpoints: `bulkStateDir`, else `IVCAP_BULK_STATE_DIR`, else
 * `<user config dir>/ivcap-sdk/bulk`.
 *
 * @since 0.1.0
 */
export const bulkStateDir = (
  options: Pick<Options, "bulkStateDir" | "platform"> = {}
): Effect.Effect<string, ConfigError.ConfigError, Path.Path> =>
  Effect.gen(function*() {
    if (options.bulkStateDir !== undefined) return options.bulkStateDir
    const fromEnv = yield* NodeConfig.optionalEnv("IVCAP_BULK_STATE_DIR")
    if (Option.isSome(fromEnv)) return fromEnv.value
    return (yield* Path.Path).join(yield* NodeConfig.userConfigDir(options.platform), "ivcap-sdk", "bulk")
  })

/**
 * The `Bulk.ProgressStore` (pipeline checkpoints, for resuming across runs) on files in `directory`, created on
 * first write. Each checkpoint is written to a temporary file and renamed over the old one, so a process killed
 * mid-write leaves the previous checkpoint intact, never half a file.
 *
 * @since 0.1.0
 */
export const layerProgressStore = (directory: string): Layer.Layer<Bulk.ProgressStore, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    Bulk.ProgressStore,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = (key: string) => path.join(directory, key)
      let made = false
      return {
        get: (key) =>
          fs.readFileString(file(key)).pipe(
            Effect.map(Option.some),
            Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeedNone)
          ),
        set: (key, value) =>
          Effect.gen(function*() {
            if (!made) yield* fs.makeDirectory(directory, { recursive: true })
            made = true
            const tmp = `${file(key)}.${process.pid}.tmp`
            yield* fs.writeFileString(tmp, value)
            yield* fs.rename(tmp, file(key))
          }),
        remove: (key) => fs.remove(file(key), { force: true })
      }
    })
  )

/**
 * A `KeyValueStore` on files in `directory`, which is created when the first value is written (so a read-only
 * home folder only matters to programs that upload).
 *
 * @since 0.1.0
 */
export const layerFileStore = (directory: string): Layer.Layer<KeyValueStore.KeyValueStore, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    KeyValueStore.KeyValueStore,
    Effect.gen(function*() {
      // KeyValueStore.layerFileSystem creates its folder when built: build it on first use, once.
      const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
      const store = yield* Effect.cached(Layer.build(KeyValueStore.layerFileSystem(directory)).pipe(
        Effect.scoped,
        Effect.map(Context.get(KeyValueStore.KeyValueStore)),
        Effect.provide(context)
      ))
      const use = <A, E>(f: (s: KeyValueStore.KeyValueStore) => Effect.Effect<A, E>) => Effect.flatMap(store, f)
      return KeyValueStore.make({
        get: (key) => use((s) => s.get(key)),
        getUint8Array: (key) => use((s) => s.getUint8Array(key)),
        set: (key, value) => use((s) => s.set(key, value)),
        remove: (key) => use((s) => s.remove(key)),
        clear: use((s) => s.clear),
        size: use((s) => s.size)
      })
    })
  )

/**
 * Node's runtime services without a client: HTTP (`NodeHttp`), `FileSystem`, `Path` and the upload-state store. For
 * programs that build their `IvcapClient` themselves (`IvcapClient.layer(...).pipe(Layer.provide(...))`).
 *
 * @since 0.1.0
 */
export const layerPlatform = (
  options: Pick<Options, "uploadStateDir" | "bulkStateDir" | "platform" | "markers"> = {}
): Layer.Layer<Exclude<Services, IvcapClient.IvcapClient | Credentials.Credentials>, ConfigError.ConfigError> =>
  Layer.merge(
    Layer.unwrapEffect(Effect.map(uploadStateDir(options), layerUploadStore)),
    Layer.unwrapEffect(Effect.map(bulkStateDir(options), layerProgressStore))
  ).pipe(Layer.provideMerge(layerRuntime(options.markers)))

/**
 * The `UploadStore` (unfinished uploads, for resuming across runs) on files in `directory`.
 *
 * @since 0.1.0
 */
export const layerUploadStore = (directory: string): Layer.Layer<UploadStore.UploadStore, never, FileSystem.FileSystem | Path.Path> =>
  UploadStore.layer.pipe(Layer.provide(layerFileStore(directory)))

/**
 * The credentials of a resolution: none in in-platform mode, the CLI's login (renewed with its refresh token,
 * written back to its `config.yaml`) when the token is the CLI's, else the fixed token.
 *
 * @since 0.1.0
 */
export const layerCredentials = (
  resolved: NodeConfig.Resolved
): Layer.Layer<Credentials.Credentials, ConfigError.ConfigError, HttpClient.HttpClient | FileSystem.FileSystem | Path.Path> => {
  if (resolved.sources.token === "cli" && resolved.cliLogin !== undefined) {
    const { context, file } = resolved.cliLogin
    return Layer.scoped(Credentials.Credentials, NodeLogin.cliCredentials({ file, context, url: resolved.url }))
  }
  return resolved.token === undefined ? Credentials.layerNone : Credentials.layerFixed(resolved.token)
}

/** The `apiVersion` option, else `IVCAP_API_VERSION` (`v0.41`, `v0.44` or `auto`), else `"auto"`. */
const apiVersionConfig = (option: IvcapClient.ApiVersion | "auto" | undefined) =>
  option !== undefined ? Effect.succeed(option) : IvcapClient.apiVersionConfig

/**
 * The client and everything it needs on Node, configured by precedence (explicit options > `IVCAP_URL` /
 * `IVCAP_JWT` / `IVCAP_ACCESS_TOKEN` / `IVCAP_ACCOUNT_ID` > `IVCAP_BASE_URL` (in-platform, no token) > the IVCAP
 * CLI's active context, whose login is renewed with its refresh token when it expires). The API version is the
 * `apiVersion` option, else `IVCAP_API_VERSION` (`v0.41`, `v0.44` or `auto`; default `auto`).
 *
 * @example
 * Effect.provide(program, IvcapNode.layer())                                      // environment or CLI login
 * Effect.provide(program, IvcapNode.layer({ url: "https://develop.ivcap.net", timeout: "10 seconds" }))
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Services, LayerError> => {
  const { accountId: _a, bulkStateDir: _b, cliConfigDir: _c, context: _x, markers: _m, platform: _p, token: _t, uploadStateDir: _u, url: _url, ...client } = options
  const clientLayer = Layer.unwrapEffect(
    Effect.map(Effect.all([NodeConfig.resolve(options), apiVersionConfig(options.apiVersion)]), ([resolved, apiVersion]) =>
      IvcapClient.layer({ ...client, apiVersion, url: resolved.url, accountId: resolved.accountId }).pipe(
        Layer.provideMerge(layerCredentials(resolved))
      ))
  )
  return clientLayer.pipe(Layer.provideMerge(layerPlatform(options)))
}

/**
 * {@link layer} with its options read from `Config` (for example your application's own keys), then completed
 * by the same precedence.
 *
 * @example
 * IvcapNode.layerConfig(Config.all({ url: Config.string("MYAPP_IVCAP_URL"), token: Config.redacted("MYAPP_IVCAP_TOKEN") }))
 * @since 0.1.0
 */
export const layerConfig = (config: Config.Config<Options>): Layer.Layer<Services, LayerError> =>
  Layer.unwrapEffect(Effect.map(config, layer))
