/**
 * `@ivcap/emulator`: a faithful local IVCAP REST API v0.41 server — in-process (Layer, HttpApp, a no-socket
 * HttpClient) and, from `@ivcap/emulator/EmulatorServer` or the `ivcap-emulator` bin, over real HTTP.
 *
 * @module @ivcap/emulator
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BlobStore from "./BlobStore.js"
/** @since 0.1.0 */
export * as Emulator from "./Emulator.js"
/** @since 0.1.0 */
export * as EmulatorApp from "./EmulatorApp.js"
/** @since 0.1.0 */
export * as EmulatorHttpClient from "./EmulatorHttpClient.js"
/** @since 0.1.0 */
export * as Faults from "./Faults.js"
/** @since 0.1.0 */
export * as SeedData from "./SeedData.js"
