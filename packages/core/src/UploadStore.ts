/**
 * Where unfinished uploads are remembered, so that uploading the same source again — after a crash, in a new
 * process, with a new client — resumes it instead of starting over.
 *
 * Records are kept as JSON strings under a key derived from the deployment URL and the source's fingerprint, in a
 * `@effect/platform/KeyValueStore` or any other store of strings ({@link fromStrings}): {@link layerMemory} here, a
 * folder of files on node (`@ivcap/node`), Web Storage in browsers (`@ivcap/browser`). A record is written right
 * after the artifact is created and removed when the upload completes. The store is an optimisation: when it cannot be read or written the upload goes on without
 * it (with a warning in the log).
 *
 * @since 0.1.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { digestKey } from "./internal/digest.js"
import * as Urn from "./Urn.js"

/** An unfinished upload. @since 0.1.0 */
export class UploadRecord extends Schema.Class<UploadRecord>("UploadRecord")({
  /** The deployment (client base URL) the artifact lives on. */
  baseUrl: Schema.String,
  /** The source's fingerprint. */
  fingerprint: Schema.String,
  artifactId: Urn.ArtifactUrn,
  /** The tus upload URL as the server gave it (`data-href`). */
  dataHref: Schema.String,
  /** The total size in bytes. */
  length: Schema.NonNegativeInt,
  /** When the upload was created (epoch milliseconds). */
  createdAt: Schema.Number
}) {}

/** The store. Failures to read or write are logged and treated as "nothing stored". @since 0.1.0 */
export interface UploadStoreService {
  readonly get: (baseUrl: string, fingerprint: string) => Effect.Effect<Option.Option<UploadRecord>>
  readonly set: (record: UploadRecord) => Effect.Effect<void>
  readonly remove: (baseUrl: string, fingerprint: string) => Effect.Effect<void>
}

/** The tag of the upload store; uploads use it when it is provided. @since 0.1.0 */
export class UploadStore extends Context.Tag("@ivcap/core/UploadStore")<UploadStore, UploadStoreService>() {}

/**
 * The key of a record: a short, file-name-safe digest of deployment and fingerprint (fingerprints hold paths,
 * too long and too revealing for a file name). Collisions are harmless: the record holds both in full and is
 * checked against them.
 *
 * @since 0.1.0
 */
export const keyOf = (baseUrl: string, fingerprint: string): string => digestKey("upload-", `${baseUrl}\n${fingerprint}`)

/**
 * What a store needs of its backend: strings by key (a `KeyValueStore`, Web Storage, a `Map`). Failures of any
 * type are logged and treated as "nothing stored".
 *
 * @since 0.1.0
 */
export interface StringStore {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, unknown>
  readonly set: (key: string, value: string) => Effect.Effect<void, unknown>
  readonly remove: (key: string) => Effect.Effect<void, unknown>
}

const encodeRecord = Schema.encodeSync(UploadRecord)
const decodeRecord = Schema.decodeUnknown(UploadRecord)

/**
 * The store on strings by key: each record as plain JSON under {@link keyOf} (the format `make` has always
 * written, so records survive a change of backend code).
 *
 * @since 0.1.0
 */
export const fromStrings = (strings: StringStore): UploadStoreService => {
  const warn = (action: string) => (error: unknown) =>
    Effect.logWarning(`upload store: could not ${action}; uploads go on without resume information`, error)
  return UploadStore.of({
    get: (baseUrl, fingerprint) =>
      strings.get(keyOf(baseUrl, fingerprint)).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (text) => Effect.asSome(Effect.flatMap(Effect.try(() => JSON.parse(text) as unknown), decodeRecord))
        })),
        Effect.map(Option.filter((r) => r.baseUrl === baseUrl && r.fingerprint === fingerprint)),
        Effect.catchAll((e) => Effect.as(warn("read a record")(e), Option.none()))
      ),
    set: (record) =>
      Effect.suspend(() => strings.set(keyOf(record.baseUrl, record.fingerprint), JSON.stringify(encodeRecord(record)))).pipe(
        Effect.catchAll(warn("write a record"))
      ),
    remove: (baseUrl, fingerprint) => strings.remove(keyOf(baseUrl, fingerprint)).pipe(Effect.catchAll(warn("remove a record")))
  })
}

/**
 * Strings in a `Map` of this process (what {@link layerMemory} keeps its records in).
 *
 * @since 0.1.0
 */
export const memoryStrings = (): StringStore => {
  const map = new Map<string, string>()
  return {
    get: (key) => Effect.sync(() => Option.fromNullable(map.get(key))),
    set: (key, value) => Effect.sync(() => void map.set(key, value)),
    remove: (key) => Effect.sync(() => void map.delete(key))
  }
}

/**
 * The store on a `KeyValueStore`.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<UploadStoreService, never, KeyValueStore.KeyValueStore> = Effect.map(KeyValueStore.KeyValueStore, fromStrings)

/**
 * The store uploads use: the `UploadStore` in context, else one on the `KeyValueStore` in context (which the
 * `@ivcap/node` and `@ivcap/browser` layers provide), else none (no resume across restarts).
 *
 * @since 0.1.0
 */
export const current: Effect.Effect<Option.Option<UploadStoreService>> = Effect.flatMap(
  Effect.serviceOption(UploadStore),
  Option.match({
    onSome: (store) => Effect.succeedSome(store),
    onNone: () =>
      Effect.flatMap(Effect.serviceOption(KeyValueStore.KeyValueStore), (kv) =>
        Option.match(kv, {
          onNone: () => Effect.succeedNone,
          onSome: (kv) => Effect.map(Effect.provideService(make, KeyValueStore.KeyValueStore, kv), Option.some)
        }))
  })
)

/** The store on the `KeyValueStore` in context. @since 0.1.0 */
export const layer: Layer.Layer<UploadStore, never, KeyValueStore.KeyValueStore> = Layer.effect(UploadStore, make)

/** A store in memory: resumes within one process only (tests, short-lived scripts). @since 0.1.0 */
export const layerMemory: Layer.Layer<UploadStore> = Layer.sync(UploadStore, () => fromStrings(memoryStrings()))
