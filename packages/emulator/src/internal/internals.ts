/** What the HTTP app needs from an emulator beyond its public service: state, recording, faults. */
import type { RequestRecord } from "../Emulator.js"
import type * as Faults from "../Faults.js"
import type { OAuthState } from "./oauth.js"
import type { EmulatorState } from "./state.js"

/** Internals shared by `Emulator.make` with the HTTP app. */
export interface Internals {
  readonly state: EmulatorState
  readonly record: (r: RequestRecord) => void
  /** Counts a refused request. */
  readonly rejected: (why: "withoutToken" | "withOtherToken" | "badOrigin") => void
  /** Whether CORS allows this `Origin`. */
  readonly allowsOrigin: (origin: string) => boolean
  /** Adds `delta` to the number of requests in flight. */
  readonly inFlight: (delta: number) => void
  readonly takeFault: (method: string, pathname: string) => Faults.FaultAction | undefined
  readonly oauth: OAuthState
  /** Whether a request's bearer token is accepted now: the fixed token, or a live one the provider issued. */
  readonly authorized: (authorization: string | undefined) => boolean
  /** Bounds of a search evaluation. */
  readonly searchLimits: { readonly maxFacts: number; readonly timeoutMillis: number }
}
