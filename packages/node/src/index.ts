/**
 * `@ivcap/node`: the IVCAP SDK for Node.js — one Layer with undici HTTP, files, configuration from options,
 * the environment or the IVCAP CLI, and a file-backed upload store.
 *
 * @since 0.1.0
 */

/** The one-line Layer for Node.js: client, undici HTTP, files and upload state. @since 0.1.0 */
export * as IvcapNode from "./IvcapNode.js"

/** Where the URL, token and account come from: options > environment > the IVCAP CLI's config. @since 0.1.0 */
export * as NodeConfig from "./NodeConfig.js"

/** Files: upload a path (with the official clients' marker), find a file's artifact, download to a path. @since 0.1.0 */
export * as NodeUpload from "./NodeUpload.js"

/** A file as an upload source read with Node streams (less CPU per byte than `UploadSource.fromFile`). @since 0.1.0 */
export * as NodeFileSource from "./NodeFileSource.js"

/** The `.ivcap-<name>.txt` marker (`md5|urn`) shared with the Python client and the CLI. @since 0.1.0 */
export * as Marker from "./Marker.js"

/** The package version. @since 0.1.0 */
export const version = "0.1.0"
