/**
 * `@ivcap/browser`: the IVCAP SDK for browsers — one Layer with `fetch`, `Blob`/`File` uploads and a
 * `localStorage` upload store. Everything else comes from `@ivcap/core`.
 *
 * @module @ivcap/browser
 * @since 0.1.0
 */

/** The one-line Layer for browsers. @since 0.1.0 */
export * as IvcapBrowser from "./IvcapBrowser.js"

/** The package version. @since 0.1.0 */
export const version = "0.1.0"
