/**
 * `@ivcap/core`: the IVCAP REST API as typed Effects and Streams, platform-free.
 *
 * @module @ivcap/core
 * @since 0.1.0
 */

/** Artifact records and their metadata. @since 0.1.0 */
export * as Artifact from "./Artifact.js"

/** Aspects: bitemporal JSON metadata about entities. @since 0.1.0 */
export * as Aspect from "./Aspect.js"

/** Collections: named groups of URNs, kept on aspects. @since 0.1.0 */
export * as Collection from "./Collection.js"

/** Where the bearer token comes from: fixed, refreshing (single-flight), a token provider, or none. @since 0.1.0 */
export * as Credentials from "./Credentials.js"

/** Artifact content as resumable, verified Streams. @since 0.1.0 */
export * as Download from "./Download.js"

/** Resumable bulk pipelines: bounded concurrency, checkpoints, failure reports, progress. @since 0.1.0 */
export * as Bulk from "./Bulk.js"

/** The connection to a deployment: base URL, token, timeouts, retries. @since 0.1.0 */
export * as IvcapClient from "./IvcapClient.js"

/** The SDK's typed errors. @since 0.1.0 */
export * as IvcapError from "./IvcapError.js"

/** Jobs (API v0.44+): request, wait, run, read, list, output, and live events as a Stream. @since 0.2.0 */
export * as Job from "./Job.js"

/** Orders: place, follow, read, with products and metadata. @since 0.1.0 */
export * as Order from "./Order.js"

/** Paged listings as Streams. @since 0.1.0 */
export * as Paging from "./Paging.js"

/** Datalog search. @since 0.1.0 */
export * as Search from "./Search.js"

/** The account's secrets, their values `Redacted`. @since 0.1.0 */
export * as Secret from "./Secret.js"

/** Services and their parameter definitions. @since 0.1.0 */
export * as Service from "./Service.js"

/** Uploading artifact content: resumable tus uploads with progress. @since 0.1.0 */
export * as Upload from "./Upload.js"

/** What an upload reads from: files, Blobs, bytes, one-pass Streams. @since 0.1.0 */
export * as UploadSource from "./UploadSource.js"

/** Unfinished uploads remembered across restarts. @since 0.1.0 */
export * as UploadStore from "./UploadStore.js"

/** Branded, validated IVCAP URNs. @since 0.1.0 */
export * as Urn from "./Urn.js"

/** The package version. @since 0.1.0 */
export const version = "0.1.0"
