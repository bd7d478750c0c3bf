/**
 * The emulator's identity provider on the wire, with raw `fetch` (no SDK): authinfo.yaml as the CLI reads it,
 * device authorization and the token endpoint's Auth0-style 403 errors, RS256 tokens that verify against the JWKS,
 * access tokens that expire in emulator time, rotating refresh tokens with reuse detection, RFC 7009 revocation,
 * and a tus PATCH cut with 401 (keeping what arrived) when its token expires mid-body.
 */
import { expect, layer } from "@effect/vitest"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"

const Server = EmulatorServer.layer({ oauth: { deviceIntervalSeconds: 0, accessTokenSeconds: 60, rejectExpiredMidUpload: true } })

const form = (url: string, body: Record<string, string>) =>
  Effect.promise(async () => {
    const r = await fetch(url, { method: "POST", body: new URLSearchParams(body) })
    return { status: r.status, json: (await r.json().catch(() => undefined)) as Record<string, unknown> | undefined }
  })

const client_id = "ivcap-emulator-cli"

const deviceLogin = Effect.gen(function*() {
  const { url } = yield* EmulatorServer.EmulatorServer
  const emulator = yield* Emulator.Emulator
  const code = yield* form(`${url}/oauth/device/code`, { client_id, scope: "openid profile email offline_access", audience: `${url}/` })
  const pending = yield* form(`${url}/oauth/token`, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: String(code.json?.["device_code"]), client_id })
  yield* emulator.oauth.approve(String(code.json?.["user_code"]))
  const tokens = yield* form(`${url}/oauth/token`, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: String(code.json?.["device_code"]), client_id })
  return { code, pending, tokens }
})

const api = (url: string, token: string) =>
  Effect.promise(() => fetch(`${url}/1/services?limit=1`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status))

layer(Server)("emulator identity provider", (it) => {
  it.effect("authinfo.yaml names the provider as the IVCAP CLI expects it", () =>
    Effect.gen(function*() {
      const { url } = yield* EmulatorServer.EmulatorServer
      const r = yield* Effect.promise(() => fetch(`${url}/1/authinfo.yaml`))
      const text = yield* Effect.promise(() => r.text())
      expect(r.status).toBe(200)
      for (const line of ["version: 1", "default-provider-id: emulator", `token-url: ${url}/oauth/token`, `code-url: ${url}/oauth/device/code`, `jwks-url: ${url}/.well-known/jwks.json`, `client-id: ${client_id}`, `audience: ${url}/`]) {
        expect(text).toContain(line)
      }
    }))

  it.effect("device code → 403 authorization_pending → approved → tokens; the ID token verifies against the JWKS", () =>
    Effect.gen(function*() {
      const { url } = yield* EmulatorServer.EmulatorServer
      const { code, pending, tokens } = yield* deviceLogin
      expect(Object.keys(code.json ?? {}).sort()).toEqual(["device_code", "expires_in", "interval", "user_code", "verification_uri", "verification_uri_complete"])
      expect(pending).toEqual({ status: 403, json: { error: "authorization_pending", error_description: expect.any(String) } })
      expect(tokens.status).toBe(200)
      expect(tokens.json).toMatchObject({ token_type: "Bearer", expires_in: 60, access_token: expect.any(String), refresh_token: expect.any(String), id_token: expect.any(String) })
      const jwks = yield* Effect.promise(() => fetch(`${url}/.well-known/jwks.json`).then((r) => r.json() as Promise<{ keys: Array<crypto.JsonWebKey> }>))
      const [h, p, s] = String(tokens.json?.["id_token"]).split(".")
      const key = crypto.createPublicKey({ key: jwks.keys[0]!, format: "jwk" })
      expect(crypto.verify("RSA-SHA256", Buffer.from(`${h}.${p}`), key, Buffer.from(s!, "base64url"))).toBe(true)
      const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>
      expect(claims).toMatchObject({ aud: client_id, acc: expect.any(String), email: "user@emulator.invalid" })
      expect(yield* api(url, String(tokens.json?.["access_token"]))).toBe(200)
      // a used device code is spent
      const again = yield* form(`${url}/oauth/token`, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: String(code.json?.["device_code"]), client_id })
      expect(again.json?.["error"]).toBe("invalid_grant")
    }))

  it.effect("access tokens expire in emulator time; refresh tokens rotate, and a reused one revokes the family", () =>
    Effect.gen(function*() {
      const { url } = yield* EmulatorServer.EmulatorServer
      const emulator = yield* Emulator.Emulator
      const { tokens } = yield* deviceLogin
      const access = String(tokens.json?.["access_token"])
      yield* emulator.clock.advance("61 seconds")
      expect(yield* api(url, access)).toBe(401)
      const rt1 = String(tokens.json?.["refresh_token"])
      const second = yield* form(`${url}/oauth/token`, { grant_type: "refresh_token", refresh_token: rt1, client_id })
      expect(second.status).toBe(200)
      const rt2 = String(second.json?.["refresh_token"])
      expect(rt2).not.toBe(rt1)
      expect(yield* api(url, String(second.json?.["access_token"]))).toBe(200)
      const reused = yield* form(`${url}/oauth/token`, { grant_type: "refresh_token", refresh_token: rt1, client_id })
      expect(reused).toEqual({ status: 403, json: { error: "invalid_grant", error_description: expect.any(String) } })
      // reuse detection: the rotated-in token of that family is dead too
      const family = yield* form(`${url}/oauth/token`, { grant_type: "refresh_token", refresh_token: rt2, client_id })
      expect(family.json?.["error"]).toBe("invalid_grant")
      // RFC 7009 revocation of another login
      const other = (yield* deviceLogin).tokens
      yield* Effect.promise(() => fetch(`${url}/oauth/revoke`, { method: "POST", body: new URLSearchParams({ token: String(other.json?.["refresh_token"]) }) }))
      const revoked = yield* form(`${url}/oauth/token`, { grant_type: "refresh_token", refresh_token: String(other.json?.["refresh_token"]), client_id })
      expect(revoked.json?.["error"]).toBe("invalid_grant")
      expect((yield* form(`${url}/oauth/token`, { grant_type: "password", client_id })).status).toBe(400)
    }))

  it.effect("a PATCH whose token expires mid-body is cut with 401 and Upload-Offset; what arrived is kept", () =>
    Effect.gen(function*() {
      const { url } = yield* EmulatorServer.EmulatorServer
      const emulator = yield* Emulator.Emulator
      const access = String((yield* deviceLogin).tokens.json?.["access_token"])
      const auth = { authorization: `Bearer ${access}` }
      const size = 8 * 1024 * 1024
      const created = yield* Effect.promise(() =>
        fetch(`${url}/1/artifacts`, { method: "POST", headers: { ...auth, "x-content-length": String(size), "content-type": "application/octet-stream", "x-name": Buffer.from("cut.bin").toString("base64") } }).then((r) => r.json() as Promise<Record<string, unknown>>))
      const dataHref = String(created["data-href"])
      const offsetNow = () =>
        fetch(dataHref, { method: "HEAD", headers: { authorization: `Bearer ${emulator.token}`, "tus-resumable": "1.0.0" } }).then((r) => Number(r.headers.get("upload-offset")))
      let sent = 0
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= size) return controller.close()
          if (sent === 2 * 1024 * 1024) {
            // once the server has stored some of the body, the token expires while the rest is on its way
            for (let i = 0; i < 200 && (await offsetNow()) === 0; i++) await new Promise((r) => setTimeout(r, 10))
            await Effect.runPromise(emulator.oauth.expireAccessTokens)
          }
          controller.enqueue(new Uint8Array(256 * 1024).fill(7))
          sent += 256 * 1024
        }
      })
      const response = yield* Effect.promise(() =>
        fetch(dataHref, { method: "PATCH", headers: { ...auth, "tus-resumable": "1.0.0", "upload-offset": "0", "content-type": "application/offset+octet-stream", "content-length": String(size) }, body, duplex: "half" } as RequestInit)
          .then((r) => ({ status: r.status, offset: r.headers.get("upload-offset"), challenge: r.headers.get("www-authenticate") }))
          .catch((e: unknown) => ({ status: 0, offset: null, challenge: String(e) })))
      const head = yield* Effect.promise(offsetNow)
      expect(head).toBeGreaterThan(0)
      expect(head).toBeLessThan(size)
      if (response.status !== 0) {
        expect(response.status).toBe(401)
        expect(Number(response.offset)).toBe(head)
        expect(response.challenge).toContain("invalid_token")
      }
    }))
})
