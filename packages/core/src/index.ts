/**
 * `@ivcap/core`: the IVCAP REST API as typed Effects and Streams, platform-free.
 *
 * @since 0.1.0
 */

/** The connection to a deployment: base URL, token, timeouts, retries. @since 0.1.0 */
export * as IvcapClient from "./IvcapClient.js"

/** The SDK's typed errors. @since 0.1.0 */
export * as IvcapError from "./IvcapError.js"

/** Paged listings as Streams. @since 0.1.0 */
export * as Paging from "./Paging.js"

/** Services and their parameter definitions. @since 0.1.0 */
export * as Service from "./Service.js"

/** Branded, validated IVCAP URNs. @since 0.1.0 */
export * as Urn from "./Urn.js"

/** The package version. @since 0.1.0 */
export const version = "0.1.0"
