/** Device logins done by hand against the emulator's identity provider (independent of the SDK). */
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import { expect } from "vitest"

/** A raw form POST to the emulator. */
export const post = (url: string, form: Record<string, string>) =>
  Effect.promise(async () => {
    const response = await fetch(url, { method: "POST", body: new URLSearchParams(form) })
    return { status: response.status, body: await response.json() as Record<string, unknown> }
  })

/** A device login approved at once: the first access and refresh tokens. */
export const loginRaw = Effect.gen(function*() {
  const { url } = yield* EmulatorServer.EmulatorServer
  const emulator = yield* Emulator.Emulator
  const code = yield* post(`${url}/oauth/device/code`, { client_id: "ivcap-emulator-cli", scope: "openid offline_access" })
  yield* emulator.oauth.approve(String(code.body["user_code"]))
  const tokens = yield* post(`${url}/oauth/token`, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: String(code.body["device_code"]), client_id: "ivcap-emulator-cli" })
  expect(tokens.status).toBe(200)
  return { access: String(tokens.body["access_token"]), refresh: String(tokens.body["refresh_token"]) }
})
