/**
 * The upload store on a real `KeyValueStore`: records are per deployment and fingerprint, keys are short and
 * file-name safe, and a broken store or record never fails an upload (it just resumes nothing).
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as PlatformError from "@effect/platform/Error"
import { describe, expect, it } from "@effect/vitest"
import { UploadStore, Urn } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const record = (baseUrl: string, fingerprint: string) =>
  new UploadStore.UploadRecord({
    baseUrl,
    fingerprint,
    artifactId: Urn.ArtifactUrn.make("urn:ivcap:artifact:1"),
    dataHref: `${baseUrl}/1/artifacts/urn:ivcap:artifact:1/blob`,
    length: 10,
    createdAt: 0
  })

describe("UploadStore", () => {
  it.effect("keeps records per deployment and fingerprint; keys are short and file-name safe", () =>
    Effect.gen(function*() {
      const store = yield* UploadStore.UploadStore
      const fingerprint = `file|/data/${"very long folder name/".repeat(30)}scan.tif|10|1700000000000`
      yield* store.set(record("https://a.example", fingerprint))
      expect(Option.map(yield* store.get("https://a.example", fingerprint), (r) => r.artifactId)).toEqual(Option.some("urn:ivcap:artifact:1"))
      expect(Option.isNone(yield* store.get("https://b.example", fingerprint))).toBe(true)
      expect(Option.isNone(yield* store.get("https://a.example", `${fingerprint}x`))).toBe(true)
      const key = UploadStore.keyOf("https://a.example", fingerprint)
      expect(key).toMatch(/^upload-[0-9a-f]{24}$/)
      expect(UploadStore.keyOf("https://b.example", fingerprint)).not.toBe(key)
      yield* store.remove("https://a.example", fingerprint)
      expect(Option.isNone(yield* store.get("https://a.example", fingerprint))).toBe(true)
    }).pipe(Effect.provide(UploadStore.layerMemory)))

  it.effect("a record that does not decode reads as none", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      yield* kv.set(UploadStore.keyOf("https://a.example", "f"), "{not json")
      const store = yield* UploadStore.make
      expect(Option.isNone(yield* store.get("https://a.example", "f"))).toBe(true)
    }).pipe(Effect.provide(KeyValueStore.layerMemory)))

  it.effect("records are plain JSON under keyOf, the same whatever holds the strings", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      yield* (yield* UploadStore.make).set(record("https://a.example", "f"))
      const key = UploadStore.keyOf("https://a.example", "f")
      const text = Option.getOrThrow(yield* kv.get(key))
      expect(JSON.parse(text)).toEqual({ ...record("https://a.example", "f") })
      const strings = UploadStore.memoryStrings()
      const other = UploadStore.fromStrings(strings)
      expect(Option.isNone(yield* other.get("https://a.example", "f"))).toBe(true)
      yield* strings.set(key, text)
      expect(Option.map(yield* other.get("https://a.example", "f"), (r) => r.dataHref)).toEqual(Option.some("https://a.example/1/artifacts/urn:ivcap:artifact:1/blob"))
      yield* strings.set(key, JSON.stringify({ ...JSON.parse(text), length: -1 }))
      expect(Option.isNone(yield* other.get("https://a.example", "f"))).toBe(true)
    }).pipe(Effect.provide(KeyValueStore.layerMemory)))

  it.effect("a store that fails is treated as empty, never as an error", () =>
    Effect.gen(function*() {
      const store = yield* UploadStore.make
      yield* store.set(record("https://a.example", "f"))
      expect(Option.isNone(yield* store.get("https://a.example", "f"))).toBe(true)
      yield* store.remove("https://a.example", "f")
    }).pipe(Effect.provide(Layer.succeed(KeyValueStore.KeyValueStore, KeyValueStore.makeStringOnly({
      get: () => Effect.fail(broken),
      set: () => Effect.fail(broken),
      remove: () => Effect.fail(broken),
      clear: Effect.fail(broken),
      size: Effect.fail(broken)
    })))))

  it.effect("uploads find the store: the UploadStore tag first, else the KeyValueStore in context, else none", () =>
    Effect.gen(function*() {
      expect(Option.isNone(yield* UploadStore.current)).toBe(true)
      const viaKv = yield* UploadStore.current.pipe(Effect.provide(KeyValueStore.layerMemory))
      expect(Option.isSome(viaKv)).toBe(true)
      const tagged = yield* UploadStore.UploadStore.pipe(Effect.provide(UploadStore.layerMemory))
      const viaTag = yield* UploadStore.current.pipe(Effect.provideService(UploadStore.UploadStore, tagged), Effect.provide(KeyValueStore.layerMemory))
      expect(Option.getOrNull(viaTag)).toBe(tagged)
    }))
})

const broken = new PlatformError.SystemError({ reason: "PermissionDenied", module: "KeyValueStore", method: "get", description: "read-only" })
