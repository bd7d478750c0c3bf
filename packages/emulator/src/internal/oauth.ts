/**
 * The emulator's identity provider (wire doc §8.3), for tests and demos, on the emulator's own origin:
 *
 * - `GET /1/authinfo.yaml` — the discovery document the IVCAP CLI reads (one provider, `emulator`);
 * - `POST /oauth/device/code` — RFC 8628 device authorization (form `client_id`, `scope`, `audience`);
 * - `GET|POST /activate` — the "login page" of `verification_uri`: approve or deny a user code;
 * - `POST /oauth/token` — grants `urn:ietf:params:oauth:grant-type:device_code` and `refresh_token`;
 * - `POST /oauth/revoke` — RFC 7009 revocation of a refresh token;
 * - `GET /.well-known/jwks.json` — the RSA key the ID and access tokens are signed with (RS256).
 *
 * Errors of the token endpoint are `403 {"error", "error_description"}` as Auth0 answers them (the IVCAP CLI reads
 * `authorization_pending` / `slow_down` only from a 403; RFC 8628 says 400). Access tokens expire after
 * `accessTokenSeconds` of emulator time (`clock.advance` expires them); refresh tokens rotate: each is good for
 * one grant, and presenting a rotated-out one revokes its whole family (Auth0's reuse detection). With
 * `rejectExpiredMidUpload`, a tus PATCH whose token expires while its body arrives is cut: what arrived is kept and
 * the answer is `401`. The signed tokens carry real-time `iat`/`exp` claims (for outside verifiers such as the
 * CLI); validity in the emulator follows its own clock. Nothing here is real or leaves the loopback.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as SeedData from "../SeedData.js"
import { badRequest, bodyText, HttpFail, json } from "./http.js"
import type { Ctx, Handler } from "./route.js"
import { bytesToBase64, utf8 } from "./util.js"

/**
 * Options of the identity provider.
 * @since 0.1.0
 */
export interface OAuthOptions {
  /** Lifetime of access tokens, in seconds of emulator time (default 3600). */
  readonly accessTokenSeconds?: number
  /** The polling interval a device authorization announces, in seconds (default 5). */
  readonly deviceIntervalSeconds?: number
  /** How long a device code can be approved, in seconds (default 600). */
  readonly deviceCodeSeconds?: number
  /** Cut a tus PATCH whose token expires (or is revoked) while its body arrives, answering 401 (default false). */
  readonly rejectExpiredMidUpload?: boolean
  /** The client id the device flow expects (default {@link clientId}). */
  readonly clientId?: string
}

/** The default OAuth client id of the emulator's provider. */
export const clientId = "ivcap-emulator-cli"

/** Counters of what the provider did. */
export interface OAuthStats {
  readonly deviceAuthorizations: number
  readonly deviceGrants: number
  readonly refreshGrants: number
  readonly refusedGrants: number
  readonly activeAccessTokens: number
}

interface DeviceRec {
  readonly deviceCode: string
  readonly userCode: string
  readonly expiresAt: number
  interval: number
  lastPoll: number | undefined
  state: "pending" | "approved" | "denied" | "used"
}

interface RefreshRec {
  readonly family: string
  active: boolean
}

const randomToken = (bytes: number): string => {
  const b = new Uint8Array(bytes)
  globalThis.crypto.getRandomValues(b)
  return bytesToBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

const b64url = (bytes: Uint8Array): string => bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
const randomUserCode = (): string => {
  const b = new Uint8Array(8)
  globalThis.crypto.getRandomValues(b)
  const chars = [...b].map((x) => userCodeAlphabet[x % userCodeAlphabet.length])
  return `${chars.slice(0, 4).join("")}-${chars.slice(4).join("")}`
}

/** The provider's state: codes, tokens, the signing key. */
export class OAuthState {
  readonly accessTokenMillis: number
  readonly interval: number
  readonly deviceMillis: number
  readonly rejectMidUpload: boolean
  readonly clientId: string
  private access = new Map<string, { expiresAt: number }>()

  /** Every access and refresh token issued (for leak checks in tests). */
  issuedTokens(): ReadonlyArray<string> {
    return [...this.access.keys(), ...this.refresh.keys()]
  }
  private refresh = new Map<string, RefreshRec>()
  private revokedFamilies = new Set<string>()
  private devices = new Map<string, DeviceRec>()
  private byUserCode = new Map<string, string>()
  private key: Promise<{ readonly privateKey: CryptoKey; readonly jwk: JsonWebKey; readonly kid: string }> | undefined
  stats = { deviceAuthorizations: 0, deviceGrants: 0, refreshGrants: 0, refusedGrants: 0 }

  constructor(options: OAuthOptions, readonly now: () => number) {
    this.accessTokenMillis = Math.max(1, options.accessTokenSeconds ?? 3600) * 1000
    this.interval = Math.max(0, options.deviceIntervalSeconds ?? 5)
    this.deviceMillis = Math.max(1, options.deviceCodeSeconds ?? 600) * 1000
    this.rejectMidUpload = options.rejectExpiredMidUpload ?? false
    this.clientId = options.clientId ?? clientId
  }

  /** Whether `token` is an access token issued here and still valid (emulator time). */
  accepts(token: string): boolean {
    const rec = this.access.get(token)
    return rec !== undefined && rec.expiresAt > this.now()
  }

  /** Every access token issued so far expires now. */
  expireAccessTokens(): void {
    const now = this.now()
    for (const rec of this.access.values()) rec.expiresAt = Math.min(rec.expiresAt, now)
  }

  /** Every refresh token (and every access token) is revoked: the user must log in again. */
  revokeAll(): void {
    for (const rec of this.refresh.values()) {
      rec.active = false
      this.revokedFamilies.add(rec.family)
    }
    this.expireAccessTokens()
  }

  /** Approves (or denies) the device authorization with this user code; false when there is none pending. */
  decide(userCode: string, approve: boolean): boolean {
    const code = this.byUserCode.get(userCode.trim().toUpperCase())
    const rec = code === undefined ? undefined : this.devices.get(code)
    if (rec === undefined || rec.state !== "pending" || rec.expiresAt <= this.now()) return false
    rec.state = approve ? "approved" : "denied"
    return true
  }

  /** The user codes waiting for a decision. */
  pendingUserCodes(): ReadonlyArray<string> {
    const now = this.now()
    return [...this.devices.values()].filter((d) => d.state === "pending" && d.expiresAt > now).map((d) => d.userCode)
  }

  currentStats(): OAuthStats {
    const now = this.now()
    let active = 0
    for (const rec of this.access.values()) if (rec.expiresAt > now) active++
    return { ...this.stats, activeAccessTokens: active }
  }

  reset(): void {
    this.access.clear()
    this.refresh.clear()
    this.revokedFamilies.clear()
    this.devices.clear()
    this.byUserCode.clear()
    this.stats = { deviceAuthorizations: 0, deviceGrants: 0, refreshGrants: 0, refusedGrants: 0 }
  }

  private signingKey() {
    if (this.key === undefined) {
      this.key = (async () => {
        const pair = await globalThis.crypto.subtle.generateKey(
          { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
          true,
          ["sign", "verify"]
        )
        const jwk = await globalThis.crypto.subtle.exportKey("jwk", pair.publicKey)
        return { privateKey: pair.privateKey, jwk, kid: `emulator-${randomToken(6)}` }
      })()
    }
    return this.key
  }

  /** The JWKS document. */
  jwks(): Effect.Effect<unknown> {
    return Effect.promise(async () => {
      const { jwk, kid } = await this.signingKey()
      return { keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, alg: "RS256", use: "sig", kid }] }
    })
  }

  private sign(claims: Record<string, unknown>): Effect.Effect<string> {
    return Effect.promise(async () => {
      const { kid, privateKey } = await this.signingKey()
      const header = b64url(utf8(JSON.stringify({ alg: "RS256", typ: "JWT", kid })))
      const payload = b64url(utf8(JSON.stringify(claims)))
      const signature = await globalThis.crypto.subtle.sign("RSASSA-PKCS1-v1_5", privateKey, new Uint8Array(utf8(`${header}.${payload}`)))
      return `${header}.${payload}.${b64url(new Uint8Array(signature))}`
    })
  }

  /** Issues an access token, an ID token and a refresh token (of `family`, a new one when absent). */
  issue(base: string, family: string | undefined): Effect.Effect<Record<string, unknown>> {
    return Effect.gen(this, function*() {
      const seconds = Math.round(this.accessTokenMillis / 1000)
      const iat = Math.floor(Date.now() / 1000)
      const acc = SeedData.account.replace(/^urn:ivcap:account:/, "")
      const common = { iss: `${base}/`, sub: `emulator|${acc}`, iat, exp: iat + seconds }
      const accessToken = yield* this.sign({ ...common, aud: [`${base}/`], scope: "openid profile email offline_access", jti: randomToken(12) })
      const idToken = yield* this.sign({
        ...common,
        aud: this.clientId,
        name: "Emulator User",
        nickname: "emulator",
        email: "user@emulator.invalid",
        email_verified: true,
        acc
      })
      const refreshToken = `emu-rt-${randomToken(24)}`
      this.access.set(accessToken, { expiresAt: this.now() + this.accessTokenMillis })
      this.refresh.set(refreshToken, { family: family ?? randomToken(9), active: true })
      return {
        access_token: accessToken,
        refresh_token: refreshToken,
        id_token: idToken,
        token_type: "Bearer",
        expires_in: seconds,
        scope: "openid profile email offline_access"
      }
    })
  }

  /** A device authorization for `base` (RFC 8628 §3.2). */
  authorizeDevice(base: string): Record<string, unknown> {
    const deviceCode = `emu-dc-${randomToken(24)}`
    let userCode = randomUserCode()
    while (this.byUserCode.has(userCode)) userCode = randomUserCode()
    this.devices.set(deviceCode, {
      deviceCode,
      userCode,
      expiresAt: this.now() + this.deviceMillis,
      interval: this.interval,
      lastPoll: undefined,
      state: "pending"
    })
    this.byUserCode.set(userCode, deviceCode)
    this.stats.deviceAuthorizations++
    return {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: `${base}/activate`,
      verification_uri_complete: `${base}/activate?user_code=${encodeURIComponent(userCode)}`,
      expires_in: Math.round(this.deviceMillis / 1000),
      interval: this.interval
    }
  }

  /** The device-code grant: an error code, or the token response. */
  deviceGrant(base: string, deviceCode: string): Effect.Effect<Record<string, unknown> | string> {
    const rec = this.devices.get(deviceCode)
    const now = this.now()
    if (rec === undefined || rec.state === "used") return Effect.succeed("invalid_grant")
    if (rec.expiresAt <= now) return Effect.succeed("expired_token")
    if (rec.state === "denied") return Effect.succeed("access_denied")
    const tooSoon = rec.lastPoll !== undefined && now - rec.lastPoll < rec.interval * 1000
    rec.lastPoll = now
    if (tooSoon) {
      rec.interval += 5
      return Effect.succeed("slow_down")
    }
    if (rec.state === "pending") return Effect.succeed("authorization_pending")
    rec.state = "used"
    this.byUserCode.delete(rec.userCode)
    this.stats.deviceGrants++
    return this.issue(base, undefined)
  }

  /** The refresh-token grant (rotating): an error code, or the token response. */
  refreshGrant(base: string, token: string): Effect.Effect<Record<string, unknown> | string> {
    const rec = this.refresh.get(token)
    if (rec === undefined || this.revokedFamilies.has(rec.family)) return Effect.succeed("invalid_grant")
    if (!rec.active) {
      // a rotated-out refresh token presented again: revoke the family (reuse detection)
      this.revokedFamilies.add(rec.family)
      return Effect.succeed("invalid_grant")
    }
    rec.active = false
    this.stats.refreshGrants++
    return this.issue(base, rec.family)
  }

  /** RFC 7009: revokes a refresh token's family. */
  revoke(token: string): void {
    const rec = this.refresh.get(token)
    if (rec !== undefined) {
      rec.active = false
      this.revokedFamilies.add(rec.family)
    }
  }
}

const describeError: Record<string, string> = {
  authorization_pending: "User has yet to authorize device code.",
  slow_down: "You are polling faster than allowed. Try again in a few seconds.",
  expired_token: "The device code has expired. Start over.",
  access_denied: "The user denied the authorization.",
  invalid_grant: "Unknown or invalid refresh token.",
  invalid_client: "Unknown client.",
  unsupported_grant_type: "Unsupported grant type."
}

/** An OAuth error answer (403 as Auth0 does; 400 for a malformed request). */
const oauthError = (code: string, status = 403) =>
  json({ error: code, error_description: describeError[code] ?? code }, status, { "cache-control": "no-store" })

const form = (ctx: Ctx) =>
  Effect.map(bodyText(ctx.request), (text) => new URLSearchParams(text))

const oauth = (ctx: Ctx) => ctx.emu.internal.oauth

/** `GET /1/authinfo.yaml`: the discovery document (wire doc §8.3). */
export const authInfo: Handler = (ctx) =>
  Effect.succeed(HttpServerResponse.text(
    [
      "version: 1",
      "auth:",
      "  default-provider-id: emulator",
      "  providers:",
      "    emulator:",
      "      id: emulator",
      `      login-url: ${ctx.base}/activate`,
      `      token-url: ${ctx.base}/oauth/token`,
      `      code-url: ${ctx.base}/oauth/device/code`,
      `      jwks-url: ${ctx.base}/.well-known/jwks.json`,
      `      client-id: ${oauth(ctx).clientId}`,
      `      audience: ${ctx.base}/`,
      ""
    ].join("\n"),
    { contentType: "application/yaml" }
  ))

/** `GET /.well-known/jwks.json`. */
export const jwks: Handler = (ctx) => Effect.map(oauth(ctx).jwks(), (doc) => json(doc))

/** `POST /oauth/device/code`. */
export const deviceCode: Handler = (ctx) =>
  Effect.gen(function*() {
    const params = yield* form(ctx)
    if (params.get("client_id") !== oauth(ctx).clientId) return oauthError("invalid_client", 401)
    return json(oauth(ctx).authorizeDevice(ctx.base), 200, { "cache-control": "no-store" })
  })

/** `POST /oauth/token`. */
export const token: Handler = (ctx) =>
  Effect.gen(function*() {
    const params = yield* form(ctx)
    const provider = oauth(ctx)
    const grant = params.get("grant_type")
    let result: Record<string, unknown> | string
    if (grant === "urn:ietf:params:oauth:grant-type:device_code") {
      if (params.get("client_id") !== provider.clientId) return oauthError("invalid_client", 401)
      result = yield* provider.deviceGrant(ctx.base, params.get("device_code") ?? "")
    } else if (grant === "refresh_token") {
      if (params.get("client_id") !== provider.clientId) return oauthError("invalid_client", 401)
      result = yield* provider.refreshGrant(ctx.base, params.get("refresh_token") ?? "")
    } else {
      return oauthError("unsupported_grant_type", 400)
    }
    if (typeof result === "string") {
      if (result === "invalid_grant" || result === "expired_token" || result === "access_denied") provider.stats.refusedGrants++
      return oauthError(result)
    }
    return json(result, 200, { "cache-control": "no-store", pragma: "no-cache" })
  })

/** `POST /oauth/revoke` (RFC 7009): always 200. */
export const revoke: Handler = (ctx) =>
  Effect.map(form(ctx), (params) => {
    oauth(ctx).revoke(params.get("token") ?? "")
    return HttpServerResponse.empty({ status: 200 })
  })

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const page = (body: string, status = 200) =>
  HttpServerResponse.text(
    `<!doctype html><html><head><meta charset="utf-8"><title>IVCAP emulator login</title></head><body>${body}</body></html>`,
    { status, contentType: "text/html; charset=utf-8", headers: { "cache-control": "no-store" } }
  )

/** `GET /activate?user_code=…`: the login page (a form to approve or deny). */
export const activatePage: Handler = (ctx) =>
  Effect.sync(() => {
    const code = escapeHtml(ctx.q.get("user_code") ?? "")
    return page(
      `<h1>IVCAP emulator</h1><form method="post" action="/activate"><label>Code <input name="user_code" value="${code}"></label>` +
        `<button name="action" value="approve">Log in as Emulator User</button> <button name="action" value="deny">Deny</button></form>`
    )
  })

/** `POST /activate` (form `user_code`, `action=approve|deny`). */
export const activate: Handler = (ctx) =>
  Effect.gen(function*() {
    const params = yield* form(ctx)
    const approve = (params.get("action") ?? "approve") !== "deny"
    if (!oauth(ctx).decide(params.get("user_code") ?? "", approve)) {
      return page("<p>That code is unknown, expired or already used.</p>", 400)
    }
    return page(approve ? "<p>You are logged in. You can close this window.</p>" : "<p>Login denied.</p>")
  })

/** `POST /_emulator/oauth/approve` `{"user-code", "deny"?}` (tests). */
export const adminDecide: Handler = (ctx) =>
  Effect.gen(function*() {
    const text = yield* bodyText(ctx.request)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return yield* badRequest("body must be JSON {\"user-code\": \"…\"}")
    }
    const code = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["user-code"] : undefined
    if (typeof code !== "string") return yield* badRequest("'user-code' must be a string")
    const deny = (body as Record<string, unknown>)["deny"] === true
    if (!oauth(ctx).decide(code, !deny)) return yield* Effect.fail(new HttpFail({ response: json({ message: "no pending device authorization with that user code" }, 404) }))
    return HttpServerResponse.empty({ status: 204 })
  })

/** `POST /_emulator/oauth/expire`: every access token issued so far expires now. */
export const adminExpire: Handler = (ctx) =>
  Effect.sync(() => {
    oauth(ctx).expireAccessTokens()
    return HttpServerResponse.empty({ status: 204 })
  })

/** `POST /_emulator/oauth/revoke`: every refresh token is revoked (log in again). */
export const adminRevoke: Handler = (ctx) =>
  Effect.sync(() => {
    oauth(ctx).revokeAll()
    return HttpServerResponse.empty({ status: 204 })
  })

/** `GET /_emulator/oauth`: counters and pending user codes. */
export const adminStats: Handler = (ctx) =>
  Effect.sync(() => {
    const s = oauth(ctx).currentStats()
    return json({
      "device-authorizations": s.deviceAuthorizations,
      "device-grants": s.deviceGrants,
      "refresh-grants": s.refreshGrants,
      "refused-grants": s.refusedGrants,
      "active-access-tokens": s.activeAccessTokens,
      "pending-user-codes": oauth(ctx).pendingUserCodes()
    })
  })
