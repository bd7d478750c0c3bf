/**
 * Files on Node: upload a path (skipping files the official clients' marker says are uploaded already), find the
 * artifact of a file (`artifactForFile`, the Python `IVCAP.artifact_for_file`), and download an artifact to a path
 * (written to a temporary file, verified, then renamed into place).
 *
 * Everything needs `IvcapClient`, `FileSystem` and `Path`, which `IvcapNode.layer` provides (with the file-backed
 * upload store that lets an interrupted `uploadFile` resume in a later run).
 *
 * Formerly `NodeTransfer` (still exported under that name, deprecated).
 *
 * @since 0.2.0
 */
import { createHash, randomBytes } from "node:crypto"
import { writeSync, writevSync } from "node:fs"
import { open as openFile } from "node:fs/promises"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type * as IvcapClient from "@ivcap/core/IvcapClient"
import * as Artifact from "@ivcap/core/Artifact"
import * as Download from "@ivcap/core/Download"
import * as Upload from "@ivcap/core/Upload"
import type * as UploadSource from "@ivcap/core/UploadSource"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { CurrentSlabs, Slabs } from "./internal/direct.js"
import * as FileDigest from "./internal/fileDigest.js"
import * as Marker from "./Marker.js"
import * as NodeFileSource from "./NodeFileSource.js"

/** The services of this module. @since 0.1.0 */
export type Requirements = IvcapClient.IvcapClient | FileSystem.FileSystem | Path.Path

/** The errors of {@link artifactForFile}: reading the file, or reading the record (other than "not found"). @since 0.1.0 */
export type ArtifactForFileError = UploadSource.SourceError | Artifact.GetError

/**
 * The artifact a file was uploaded as: its marker (`.ivcap-<name>.txt`) exists and the file's md5 still matches
 * → the record, read fresh. `None` when there is no marker, the file changed, or the artifact no longer exists.
 *
 * @since 0.1.0
 */
export const artifactForFile = (file: string): Effect.Effect<Option.Option<Artifact.ArtifactDetails>, ArtifactForFileError, Requirements> =>
  Effect.map(lookup(file), (found) => found.artifact).pipe(Effect.withSpan("ivcap.NodeTransfer.artifactForFile"))

/** What a file's marker says: the artifact when the file's md5 still matches and it exists, and the md5 computed to tell. */
interface Lookup {
  readonly artifact: Option.Option<Artifact.ArtifactDetails>
  readonly md5: Option.Option<FileDigest.Digest>
}

const lookup = (file: string): Effect.Effect<Lookup, ArtifactForFileError, Requirements> =>
  Effect.flatMap(Marker.read(file), (marker) =>
    Option.match(marker, {
      onNone: () => Effect.succeed<Lookup>({ artifact: Option.none(), md5: Option.none() }),
      onSome: ({ artifactId, md5 }) =>
        Effect.flatMap(FileDigest.compute(file, "md5"), (digest): Effect.Effect<Lookup, Artifact.GetError, IvcapClient.IvcapClient> => {
          const stale = { artifact: Option.none(), md5: Option.some(digest) }
          return digest.digest !== md5
            ? Effect.succeed(stale)
            : Artifact.get(artifactId).pipe(
              Effect.map((artifact) => ({ artifact: Option.some(artifact), md5: Option.some(digest) })),
              // A marker naming an artifact that is gone (or not an artifact URN) is stale, not an error.
              Effect.catchTags({ ResourceNotFound: () => Effect.succeed(stale), InvalidArgument: () => Effect.succeed(stale) })
            )
        })
    }))

/** Options of {@link uploadFile}. @since 0.1.0 */
export interface UploadFileOptions extends Upload.UploadOptions {
  /** Upload even when the marker says the file was uploaded already (the Python `force_upload`). */
  readonly force?: boolean | undefined
}

/**
 * Uploads a file, unless its marker shows the same content is uploaded already (then that artifact is returned,
 * without any upload request), and writes the marker. The name defaults to the file's base name and the content type
 * to a guess from its extension. With the upload store of `IvcapNode.layer`, an interrupted upload of the file
 * resumes.
 *
 * The marker's md5 of a large file (over 8 MiB) is computed in a worker thread that reads the file while the upload
 * runs. Under `Marker.Background` (which `IvcapNode.layer` provides) the call returns once the server has confirmed
 * the upload, even when the md5 (about 650 MB/s) is not done, and the marker follows (that md5 runs at the lowest
 * CPU priority, on Linux, and waits while the upload runs at or above `yieldAbove`, see `Marker.BackgroundOptions`):
 * `Marker.settled(file)` waits for it, as `artifactForFile`, `Marker.read` and another
 * `uploadFile` of the file do, and the layer's release waits for every one. Without it, or with as many markers in
 * flight as its limit, the call writes the marker before it returns. A small file's md5 is computed on this thread
 * after the upload, and its marker written before the call returns. When a marker was there but stale (the file
 * changed), the md5 computed to tell is the new marker's: the file is hashed once. A marker that cannot be written
 * (a read-only folder), or a file that changed size or could no longer be read meanwhile, is logged, not an error:
 * the upload is returned.
 *
 * @example
 * NodeTransfer.uploadFile("data/scan.tif", { policy: "urn:ivcap:policy:ivcap.open.artifact" }).pipe(Effect.provide(IvcapNode.layer()))
 * @since 0.1.0
 */
export const uploadFile = (
  file: string,
  options: UploadFileOptions = {}
): Effect.Effect<Artifact.ArtifactDetails, Upload.UploadError | UploadSource.SourceError, Requirements> =>
  Effect.gen(function*() {
    const absolute = (yield* Path.Path).resolve(file)
    const background = yield* Marker.Background
    // A marker of this file still being written comes first (artifactForFile waits for it too).
    if (background !== undefined) yield* background.settled(absolute)
    // A stale marker's check computes the file's md5: the new marker reuses it instead of hashing the file again.
    let known = Option.none<FileDigest.Digest>()
    if (options.force !== true) {
      const found = yield* lookup(file).pipe(Effect.withSpan("ivcap.NodeTransfer.artifactForFile"))
      if (Option.isSome(found.artifact)) return found.artifact.value
      known = found.md5
    }
    const source = yield* NodeFileSource.fromFile(file, { name: options.name, contentType: options.contentType })
    const uploaded = yield* Deferred.make<Artifact.ArtifactDetails>()
    // Whatever ends this call without an upload (a failure, an interruption) stops the marker's md5.
    yield* Effect.addFinalizer(() => Deferred.interrupt(uploaded))
    const large = Option.exists(source.size, (size) => size > FileDigest.inThreadBytes)
    const left = background !== undefined && large && Option.isNone(known) && background.hasRoom
    // A marker left to finish later hashes only while the upload is slow enough not to mind (FileDigest.Pace).
    const pace = left ? new FileDigest.Pace(background.yieldAbove) : undefined
    const write = writeMarker(file, source.size, Deferred.await(uploaded), known, pace)
    const writing = left ? undefined : yield* Effect.forkScoped(write)
    if (left) yield* background.fork(absolute, write)
    const artifact = yield* (pace === undefined ? Upload.upload(source, options) : paced(pace, source, options))
    yield* Deferred.succeed(uploaded, artifact)
    if (writing !== undefined) yield* Fiber.join(writing)
    return artifact
  }).pipe(Effect.scoped, Effect.withSpan("ivcap.NodeTransfer.uploadFile"))

/**
 * The upload, its bytes sent sampled into `pace` every quarter second, and `pace` released once it is done. (An
 * upload that fails stops the md5 with the marker's fiber instead, so no worker starts only to be stopped.)
 */
const paced = (pace: FileDigest.Pace, source: UploadSource.UploadSource, options: Upload.UploadOptions) =>
  Effect.suspend(() => {
    let sent = 0
    const sample = Effect.sync(() => pace.sample(sent, performance.now()))
    const onProgress = (progress: Upload.Progress) => {
      sent = progress.sent
      return options.onProgress?.(progress) ?? Effect.void
    }
    return Effect.zipRight(
      Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(Duration.millis(FileDigest.paceWindowMillis)))),
      Upload.upload(source, { ...options, onProgress })
    ).pipe(Effect.scoped, Effect.zipLeft(Effect.sync(() => pace.release())))
  })

/**
 * The marker of `file` once `uploaded` gives its artifact: the md5 `known` already, else started at once (a large
 * file's in a worker thread, stopped when `uploaded` does not come; with a `pace` when the marker is left to finish
 * after the call), the marker written when both are known. Never fails: what stops it is logged.
 */
const writeMarker = (
  file: string,
  sent: Option.Option<number>,
  uploaded: Effect.Effect<Artifact.ArtifactDetails>,
  known: Option.Option<FileDigest.Digest>,
  pace: FileDigest.Pace | undefined
): Effect.Effect<void, never, FileSystem.FileSystem | Path.Path> =>
  Effect.scoped(Effect.gen(function*() {
    yield* Effect.annotateCurrentSpan("ivcap.marker.md5", Option.isSome(known) ? "reused" : "computed")
    const md5 = Option.isSome(known) ? Effect.succeed(known.value) : yield* FileDigest.start(file, "md5", { pace })
    const artifact = yield* uploaded
    // How far the md5 was when the upload ended (it waits while the upload runs fast; its worker starts late).
    if (pace?.atRelease !== undefined) {
      yield* Effect.annotateCurrentSpan("ivcap.marker.md5.hashed_at_upload_end", pace.atRelease.hashed)
      yield* Effect.annotateCurrentSpan("ivcap.marker.md5.worker_started_during_upload", pace.atRelease.started)
    }
    const { digest, size } = yield* md5
    // A file that changed size meanwhile gets no marker: its md5 would not be the uploaded content's.
    if (Option.isSome(sent) && size !== sent.value) {
      return yield* Effect.logWarning(`no upload marker for ${file}: it changed while it was uploaded (${sent.value} bytes sent, ${size} now)`)
    }
    yield* Marker.write(file, { md5: digest, artifactId: artifact.id })
  })).pipe(
    Effect.catchAll((error) => Effect.logWarning(`no upload marker for ${file}: ${error.message}`)),
    Effect.withSpan("ivcap.NodeTransfer.uploadFile.marker")
  )

/** A local file operation failed. @since 0.1.0 */
export class FileError extends Schema.TaggedError<FileError>()("FileError", {
  path: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** Options of {@link downloadToFile}. @since 0.1.0 */
export interface DownloadFileOptions extends Download.DownloadOptions {
  /** The expected md5 (hex); a different one fails with `DownloadMismatch` (`checksum`). */
  readonly md5?: string | undefined
  /** The expected sha-256 (hex); a different one fails with `DownloadMismatch` (`checksum`). */
  readonly sha256?: string | undefined
  /**
   * Compute the sha-256 of the content for {@link DownloadedFile.sha256} even without an expected one to check
   * (about 0.7 CPU s per GiB). Default `false`: the sha-256 is computed only when `sha256` is given.
   */
  readonly computeSha256?: boolean | undefined
}

/** A finished download. @since 0.1.0 */
export interface DownloadedFile {
  readonly path: string
  readonly size: number
  /**
   * The lower-case hex md5 of what was written, when it was checked (an `md5` option, or an md5-shaped `ETag`);
   * `None` otherwise, as it is not computed then.
   */
  readonly md5: Option.Option<string>
  /**
   * The lower-case hex sha-256 of what was written, when it was computed (a `sha256` to check, or
   * `computeSha256: true`); `None` otherwise.
   */
  readonly sha256: Option.Option<string>
  readonly artifact: Artifact.ArtifactDetails
}

/** Writes `pieces` (`bytes` in all) at `position` with one vectored write, completing a short one (rare for a regular file). */
const writeAllAt = (fd: number, pieces: ReadonlyArray<Uint8Array>, bytes: number, position: number): void => {
  let done = writevSync(fd, pieces as Array<Uint8Array>, position)
  if (done === bytes) return
  let offset = 0
  for (const piece of pieces) {
    const end = offset + piece.length
    while (done < end) done += writeSync(fd, piece, done - offset, end - done, position + done)
    offset = end
  }
}

/** An `ETag` that is an md5 (32 hex digits, as S3-style stores send): worth checking. */
const md5Etag = (etag: string | undefined): Option.Option<string> =>
  Option.map(Option.fromNullable(/^(?:W\/)?"?([0-9a-f]{32})"?$/i.exec(etag ?? "")?.[1]), (s) => s.toLowerCase())

/**
 * Downloads an artifact's content to `file`: streamed (resuming dropped connections) into a temporary file next to
 * it in ~1 MiB vectored writes, checked — byte count against the record's size, md5 against an md5-shaped `etag`,
 * and `md5`/`sha256` when given — then renamed over `file`. A digest is computed only when it is checked (or
 * `computeSha256` asks for the sha-256), while the write before it is in flight. Nothing is left behind on failure or interruption. When a dropped connection
 * cannot be resumed safely (the server sent no `ETag` or `Last-Modified`, or the content changed), the temporary
 * file is truncated and the content written again from byte 0 — never two versions spliced together; a restart
 * counts as progress for the `retry` schedule only once it gets past the furthest byte reached before, so a server
 * that cuts every answer at the same point ends the download (its transport error) when the schedule is spent.
 *
 * @since 0.1.0
 */
export const downloadToFile = (
  artifact: Download.ArtifactRef,
  file: string,
  options: DownloadFileOptions = {}
): Effect.Effect<DownloadedFile, Download.DownloadError | FileError, Requirements> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const details = yield* Download.record(artifact)
    const target = path.resolve(file)
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.part`)
    const fileError = (message: string) => (cause: unknown) =>
      new FileError({ path: target, message: `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })
    yield* Effect.addFinalizer(() => fs.remove(temp, { force: true }).pipe(Effect.ignore))
    const url = yield* Download.contentUrlOf(details)
    const wantMd5 = options.md5?.toLowerCase() ?? Option.getOrUndefined(md5Etag(details.etag))
    let md5 = wantMd5 === undefined ? undefined : createHash("md5")
    const wantSha256 = options.sha256?.toLowerCase()
    // A digest is computed only when there is one to check or it is asked for: each costs 0.7–1.5 CPU s per GiB.
    const hashSha256 = wantSha256 !== undefined || options.computeSha256 === true
    let sha256 = hashSha256 ? createHash("sha256") : undefined
    let size = 0
    // The file is closed (scope) before it is renamed into place.
    yield* Effect.scoped(Effect.gen(function*() {
      const handle = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => openFile(temp, "w"), catch: fileError("cannot write") }),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      )
      let position = 0
      // A truncation that failed is reported by the next write (the download's errors cannot carry a FileError).
      let restartFailure: Option.Option<FileError> = Option.none()
      const onRestart = Effect.tryPromise({ try: () => handle.truncate(0), catch: fileError("cannot truncate") }).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            md5 = wantMd5 === undefined ? undefined : createHash("md5")
            sha256 = hashSha256 ? createHash("sha256") : undefined
            size = 0
            position = 0
          })
        ),
        Effect.catchAll((e) => Effect.sync(() => restartFailure = Option.some(e)))
      )
      // One vectored write per batch the download hands over (~1 MiB), synchronous like curl's: an asynchronous
      // write per batch left the thread idle between batches, which made V8 run a full GC every ~30 MiB and cost
      // twice the CPU (BENCHMARKS.md, "Download"); a write to the page cache takes under a millisecond.
      // With NodeHttp, the socket reads into slabs this loop gives back once written: no fresh memory per MiB.
      const slabs = new Slabs()
      yield* Download.stream(details, { ...options, onRestart }).pipe(
        Stream.provideService(CurrentSlabs, slabs),
        Stream.runForEachChunk((chunk) =>
          Effect.suspend(() => {
            if (Option.isSome(restartFailure)) return Effect.fail(restartFailure.value)
            const pieces = Chunk.toReadonlyArray(chunk)
            let bytes = 0
            for (const piece of pieces) bytes += piece.length
            return Effect.try({ try: () => writeAllAt(handle.fd, pieces, bytes, position), catch: fileError("cannot write") }).pipe(
              Effect.map(() => {
                position += bytes
                size += bytes
                for (const piece of pieces) {
                  md5?.update(piece)
                  sha256?.update(piece)
                  slabs.done(piece)
                }
              })
            )
          })
        )
      )
    }))
    const digests = { md5: md5?.digest("hex"), sha256: sha256?.digest("hex") }
    const expected: Array<["md5" | "sha256", string | undefined]> = [["md5", wantMd5], ["sha256", wantSha256]]
    for (const [name, want] of expected) {
      const got = digests[name]
      if (want !== undefined && want !== got) {
        return yield* new Download.DownloadMismatch({ url, reason: "checksum", message: `${name} of the content is ${got}, expected ${want}` })
      }
    }
    yield* fs.rename(temp, target).pipe(Effect.mapError(fileError("cannot move the download into place")))
    return { path: target, size, md5: Option.fromNullable(digests.md5), sha256: Option.fromNullable(digests.sha256), artifact: details }
  }).pipe(Effect.scoped, Effect.withSpan("ivcap.NodeTransfer.downloadToFile"))
