/**
 * The caps of response-body reading (the reading itself is in `http.ts`): JSON bodies up to the client's
 * `maxResponseBytes`, error bodies up to their excerpt.
 */
import * as Context from "effect/Context"

/** The default cap of a JSON response body: 64 MiB, far above any real page (50 items). */
export const defaultMaxResponseBytes = 64 * 1024 * 1024

/** The cap in force (set by `IvcapClient.call` from the client's `maxResponseBytes`). */
export class MaxResponseBytes extends Context.Reference<MaxResponseBytes>()("@ivcap/core/internal/MaxResponseBytes", {
  defaultValue: (): number => defaultMaxResponseBytes
}) {}

/** How much of an error body is read: what its excerpt and its JSON need. */
export const errorBodyBytes = 4096

