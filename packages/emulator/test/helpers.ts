/** Test helpers: raw HTTP calls (global fetch, i.e. undici) against the emulator server under test. */
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The parsed body (undefined when empty or not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk arbitrary JSON
  readonly body: any
}

/** Calls the server under test; `auth: false` sends no Authorization header. */
export const call = (
  path: string,
  init: RequestInit & { readonly auth?: boolean } = {}
): Effect.Effect<Reply, never, EmulatorServer.EmulatorServer | Emulator.Emulator> =>
  Effect.gen(function*() {
    const { url } = yield* EmulatorServer.EmulatorServer
    const emulator = yield* Emulator.Emulator
    const headers = new Headers(init.headers)
    if (init.auth !== false) headers.set("authorization", `Bearer ${emulator.token}`)
    const target = path.startsWith("http") ? path : `${url}${path}`
    const res = yield* Effect.promise(() => fetch(target, { ...init, headers }))
    const text = yield* Effect.promise(() => res.text())
    let body: unknown = undefined
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = undefined
    }
    return { status: res.status, headers: res.headers, text, body }
  })

/** POST/PUT a JSON body. */
export const send = (method: string, path: string, body: unknown) =>
  call(path, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

/** The path + query of an absolute link (for following `next` links against the same server). */
export const pathOf = (href: string): string => {
  const u = new URL(href)
  return `${u.pathname}${u.search}`
}

/** The `next` link of a list response, if any. */
export const nextLink = (body: { links: ReadonlyArray<{ rel: string; href: string }> }): string | undefined =>
  body.links.find((l) => l.rel === "next")?.href

/** Resets the emulator (seeded state, no faults, counters zero). */
export const reset = Effect.flatMap(Emulator.Emulator, (e) => e.reset)

/** Waits (real time, at most 2 s) until no request is in flight; returns the last count seen. */
export const settledActive = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  let active = yield* emulator.requests.active
  for (let i = 0; i < 40 && active > 0; i++) {
    yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
    active = yield* emulator.requests.active
  }
  return active
})
