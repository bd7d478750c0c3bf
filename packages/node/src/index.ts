/**
 * `@ivcap/node`: the IVCAP SDK for Node.js — one Layer with HTTP (undici; direct connections for transfers), files, configuration from options,
 * the environment or the IVCAP CLI, and a file-backed upload store.
 *
 * @module @ivcap/node
 * @since 0.1.0
 */

/** The one-line Layer for Node.js: client, HTTP (`NodeHttp`), files and upload state. @since 0.1.0 */
export * as IvcapNode from "./IvcapNode.js"

/** Where the URL, token and account come from: options > environment > the IVCAP CLI's config. @since 0.1.0 */
export * as NodeConfig from "./NodeConfig.js"

/** The IVCAP login: discovery, device-code flow, refresh, the CLI's config.yaml written back. @since 0.1.0 */
export * as NodeLogin from "./NodeLogin.js"

/** Files: upload a path (with the official clients' marker), find a file's artifact, download to a path. @since 0.2.0 */
export * as NodeTransfer from "./NodeTransfer.js"

/** @deprecated The former name of `NodeTransfer` (same exports). Will be removed in 0.2. @since 0.1.0 */
export * as NodeUpload from "./NodeUpload.js"

/** A file as an upload source read with Node streams (less CPU per byte than `UploadSource.fromFile`). @since 0.1.0 */
export * as NodeFileSource from "./NodeFileSource.js"

/** The layers' HttpClient: undici, with uploads and downloads on direct connections. @since 0.2.0 */
export * as NodeHttp from "./NodeHttp.js"

/** The `.ivcap-<name>.txt` marker (`md5|urn`) shared with the Python client and the CLI. @since 0.1.0 */
export * as Marker from "./Marker.js"

// The whole of @ivcap/core, so that a Node program needs one import: `import { IvcapNode, Service } from "@ivcap/node"`.

/** Artifacts: records, listings, metadata. @since 0.1.0 */
export * as Artifact from "@ivcap/core/Artifact"
/** Aspects: bitemporal metadata. @since 0.1.0 */
export * as Aspect from "@ivcap/core/Aspect"
/** Resumable bulk pipelines. @since 0.1.0 */
export * as Bulk from "@ivcap/core/Bulk"
/** Collections: named groups of URNs, kept on aspects. @since 0.1.0 */
export * as Collection from "@ivcap/core/Collection"
/** Where the bearer token comes from (fixed, refreshing, a provider, none). @since 0.1.0 */
export * as Credentials from "@ivcap/core/Credentials"
/** Verified, resuming downloads. @since 0.1.0 */
export * as Download from "@ivcap/core/Download"
/** The client service and its options. @since 0.1.0 */
export * as IvcapClient from "@ivcap/core/IvcapClient"
/** Jobs (API v0.44+): request, wait, events, output. @since 0.2.0 */
export * as Job from "@ivcap/core/Job"
/** The SDK's typed errors. @since 0.1.0 */
export * as IvcapError from "@ivcap/core/IvcapError"
/** Orders: place, follow, products. @since 0.1.0 */
export * as Order from "@ivcap/core/Order"
/** Paged listings as Streams. @since 0.1.0 */
export * as Paging from "@ivcap/core/Paging"
/** Datalog search. @since 0.1.0 */
export * as Search from "@ivcap/core/Search"
/** The account's secrets, values `Redacted`. @since 0.1.0 */
export * as Secret from "@ivcap/core/Secret"
/** Services and their parameters. @since 0.1.0 */
export * as Service from "@ivcap/core/Service"
/** Resumable tus uploads. @since 0.1.0 */
export * as Upload from "@ivcap/core/Upload"
/** What an upload reads from. @since 0.1.0 */
export * as UploadSource from "@ivcap/core/UploadSource"
/** Where unfinished uploads are remembered. @since 0.1.0 */
export * as UploadStore from "@ivcap/core/UploadStore"
/** Branded, validated IVCAP URNs. @since 0.1.0 */
export * as Urn from "@ivcap/core/Urn"

/** The package version. @since 0.1.0 */
export const version = "0.1.0"
