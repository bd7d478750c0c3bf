/**
 * `@ivcap/node`: the IVCAP SDK for Node.js — one Layer with undici HTTP, files, configuration from options,
 * the environment or the IVCAP CLI, and a file-backed upload store.
 *
 * @since 0.1.0
 */

/** Where the URL, token and account come from: options > environment > the IVCAP CLI's config. @since 0.1.0 */
export * as NodeConfig from "./NodeConfig.js"

/** The package version. @since 0.1.0 */
export const version = "0.1.0"
