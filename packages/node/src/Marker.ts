/**
 * The "already uploaded" marker of the official Python client and CLI (wire doc §6.4): next to `data/scan.tif`, the
 * file `data/.ivcap-scan.tif.txt` holding one line `<md5-hex of the file>|<artifact urn>`. Written after an upload
 * (with a trailing newline, as the Python client does; the CLI writes none — both are read), and consulted before
 * one: when the file's md5 still matches, the artifact exists already.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type * as UploadSource from "@ivcap/core/UploadSource"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as FileDigest from "./internal/fileDigest.js"
import { MarkerWrites } from "./internal/markerWrites.js"

/** A marker's content. @since 0.1.0 */
export interface Marker {
  /** The lower-case hex md5 of the file when it was uploaded. */
  readonly md5: string
  /** The artifact URN it was uploaded as. */
  readonly artifactId: string
}

/**
 * The marker path of a file: `<dir>/.ivcap-<basename>.txt` (the directory of the absolute path, as the CLI does).
 *
 * @since 0.1.0
 */
export const pathOf = (file: string): Effect.Effect<string, never, Path.Path> =>
  Effect.map(Path.Path, (path) => {
    const absolute = path.resolve(file)
    return path.join(path.dirname(absolute), `.ivcap-${path.basename(absolute)}.txt`)
  })

/**
 * Parses a marker: the first line split at the first `|`, surrounding whitespace (a trailing newline) ignored.
 * `None` unless both halves are non-empty.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Option.Option<Marker> => {
  const line = text.split(/\r?\n/, 1)[0] ?? ""
  const bar = line.indexOf("|")
  if (bar < 0) return Option.none()
  const md5 = line.slice(0, bar).trim().toLowerCase()
  const artifactId = line.slice(bar + 1).trim()
  return md5 !== "" && artifactId !== "" ? Option.some({ md5, artifactId }) : Option.none()
}

/** A marker's text, exactly as the Python client writes it: `<md5>|<urn>\n`. @since 0.1.0 */
export const format = (marker: Marker): string => `${marker.md5}|${marker.artifactId}\n`

/**
 * Reads the marker of a file; `None` when there is none or it cannot be read or parsed. A marker of the file being
 * written in the background (see {@link Background}) is waited for first.
 *
 * @since 0.1.0
 */
export const read = (file: string): Effect.Effect<Option.Option<Marker>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    yield* settled(file)
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.option(fs.readFileString(yield* pathOf(file)))
    return Option.flatMap(text, parse)
  })

/**
 * Writes the marker of a file. Never fails: a folder that cannot be written (read-only, or the marker path taken
 * by a directory) only costs the de-duplication of a later upload, so it is logged as a warning.
 *
 * @since 0.1.0
 */
export const write = (file: string, marker: Marker): Effect.Effect<boolean, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const target = yield* pathOf(file)
    return yield* fs.writeFileString(target, format(marker)).pipe(
      Effect.as(true),
      Effect.catchAll((error) => Effect.as(Effect.logWarning(`could not write the upload marker ${target}: ${error.message}`), false))
    )
  })

/**
 * The md5 of a file as lower-case hex, read 1 MiB at a time (constant memory); a large file is hashed in a worker
 * thread. (The `FileSystem` requirement is kept for compatibility; the file is read with Node's own API.)
 *
 * @since 0.1.0
 */
export const md5File = (file: string): Effect.Effect<string, UploadSource.SourceError, FileSystem.FileSystem> =>
  Effect.map(FileDigest.compute(file, "md5"), (d) => d.digest)

/** The marker writes in flight that {@link Background} holds. @since 0.2.0 */
export interface Writes {
  /** How many may be in flight at once. */
  readonly limit: number
  /** The upload rate (bytes per second) at or above which a marker's md5 waits for the upload to end. */
  readonly yieldAbove: number
  /** Whether another may be left running. */
  readonly hasRoom: boolean
  /**
   * Forks the write of `file`'s marker (an absolute path), to run on after the caller returns, and after the write
   * of the same file in flight, if any.
   */
  readonly fork: <R>(file: string, write: Effect.Effect<void, never, R>) => Effect.Effect<void, never, R>
  /** Waits for the write of `file`'s marker (an absolute path) in flight, if any. */
  readonly settled: (file: string) => Effect.Effect<void>
  /** Waits for every write in flight. */
  readonly all: Effect.Effect<void>
}

/**
 * Where `uploadFile` may leave the marker of a large file (one hashed in a worker thread, over 8 MiB) to be written
 * after it returns, so the marker's md5 costs the upload no wall time: the upload returns once the server has
 * confirmed every byte, and the marker follows when the md5 is done. While the upload runs fast (at or above
 * `yieldAbove`, see {@link BackgroundOptions}) the md5 waits for it to end. `undefined` (the default) writes every marker
 * before `uploadFile` returns. `IvcapNode.layer` provides {@link layerBackground}, whose release waits for every
 * marker in flight. In the meantime {@link read}, `artifactForFile` and `uploadFile` of the same file wait for its
 * marker, and {@link settled} waits for one or all.
 *
 * @since 0.2.0
 */
export class Background extends Context.Reference<Background>()("@ivcap/node/Marker/Background", {
  defaultValue: (): Writes | undefined => undefined
}) {}

/** Options of {@link layerBackground}. @since 0.2.0 */
export interface BackgroundOptions {
  /**
   * How many markers may be in flight at once (default 2); an upload that finds as many in flight writes its own
   * before it returns, so bulk uploads never pile up hashing threads. A value that is not a number is taken as 2.
   */
  readonly limit?: number | undefined
  /**
   * The upload rate, in bytes per second over each quarter second, at or above which a marker's md5 waits until the
   * upload ends (default {@link defaultYieldAbove}, 128 MiB/s). An upload that fast is using the CPUs (a local
   * server, a very fast link) and an md5 beside it slows it down; beside a slower upload the md5 (about 650 MB/s)
   * costs nothing, so it runs and the marker follows the upload at once. It waits from the start, runs once the
   * rate is below half of this (64 MiB/s by default) for half a second (an upload's first quarter second is slower,
   * and an md5 beside a fast upload slows it), and waits again at this rate. `0`: always wait for the end of the
   * upload; `Infinity`: never wait. A value that is not a number is taken as the default.
   */
  readonly yieldAbove?: number | undefined
}

/**
 * The default of {@link BackgroundOptions.yieldAbove}: 128 MiB/s, about 1 Gbit/s. A marker's md5 runs beside an
 * upload below half of it.
 *
 * @since 0.2.0
 */
export const defaultYieldAbove = 128 * 1024 * 1024

/** An option as given, at least 0; `fallback` when it is not a number. */
const orDefault = (given: number | undefined, fallback: number) => given === undefined || Number.isNaN(given) ? fallback : Math.max(0, given)

/**
 * {@link Background} for the layer's lifetime. Its release waits for every marker in flight, unless the program was
 * interrupted: then they are stopped (no marker is written for those files; a later `uploadFile` uploads them
 * again).
 *
 * @since 0.2.0
 */
export const layerBackground = (options: BackgroundOptions = {}): Layer.Layer<Background> =>
  Layer.scoped(
    Background,
    Effect.gen(function*() {
      // The writes' own scope closes after the finalizer below has waited for them (finalizers run last-added first).
      const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const writes = new MarkerWrites(scope, orDefault(options.limit, 2), orDefault(options.yieldAbove, defaultYieldAbove))
      yield* Effect.addFinalizer((exit) => Exit.isInterrupted(exit) ? Effect.void : writes.all)
      return writes
    })
  )

/**
 * Waits for the marker of `file` written in the background (see {@link Background}), or with no `file`, for every
 * one in flight. Returns at once when there is none.
 *
 * @since 0.2.0
 */
export const settled = (file?: string): Effect.Effect<void, never, Path.Path> =>
  Effect.flatMap(Background, (writes) =>
    writes === undefined
      ? Effect.void
      : file === undefined
      ? writes.all
      : Effect.flatMap(Path.Path, (path) => writes.settled(path.resolve(file))))
