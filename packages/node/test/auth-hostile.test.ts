/**
 * The CLI login against a hostile identity provider: a scripted server on 127.0.0.1 that is both the API (401 to
 * the stale token `OLD`) and the provider. Absurd or string `expires_in`, temporary failures (429, 408, 503, a
 * proxy's HTML page), an `error_description` echoing the form, endless or dripping answers, device codes with
 * absurd intervals and lifetimes, a token that expires at once, and an API that refuses every token. Every
 * server loop is bounded; each test counts the requests the server saw.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Artifact } from "@ivcap/core"
import { IvcapNode, NodeLogin } from "@ivcap/node"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const ART = "urn:ivcap:artifact:b83f35b3-f1c0-495a-896f-b4795c78abad"
const REFRESH = "REFRESH/1+yy=secret"

const artifactRecord = (base: string) => ({
  id: ART,
  name: "a.bin",
  status: "ready",
  "mime-type": "application/octet-stream",
  size: 10,
  "created-at": "2026-12-02T17:44:54.079Z",
  "last-modified-at": "2026-12-02T17:44:54.079Z",
  "data-href": `${base}/1/artifacts/${ART}/blob`,
  account: "urn:ivcap:account:d35eec91-8459-4d88-ae4a-ca6f613f5cc6",
  policy: "urn:ivcap:policy:ivcap.open.artifact",
  links: []
})

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = typeof body === "string" ? body : JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers }).end(text)
}

/** Writes up to `maxMiB` MiB of `byte` (bounded), counting what the socket took; stops when the client goes. */
const endless = (res: http.ServerResponse, contentType: string, byte: number, maxMiB: number, count: (n: number) => void) => {
  const chunk = Buffer.alloc(1 << 20, byte)
  res.writeHead(200, { "content-type": contentType })
  let sent = 0
  const pump = () => {
    while (!res.destroyed && sent < maxMiB && res.write(chunk)) count(++sent)
    if (!res.destroyed && sent < maxMiB) res.once("drain", pump)
    else res.end()
  }
  res.on("error", () => undefined)
  pump()
}

interface Script {
  /** The n-th (from 1) POST to the token endpoint, with its form. */
  readonly token: (n: number, form: URLSearchParams, res: http.ServerResponse) => void
  readonly api?: ((authorization: string | undefined, res: http.ServerResponse, base: string) => void) | undefined
  readonly info?: ((res: http.ServerResponse) => void) | undefined
  readonly code?: ((res: http.ServerResponse) => void) | undefined
}

const authinfo = (base: string) =>
  `version: 1\nauth:\n  default-provider-id: p\n  providers:\n    p:\n      login-url: ${base}/login\n      token-url: ${base}/oauth/token\n` +
  `      code-url: ${base}/oauth/device/code\n      jwks-url: ${base}/jwks\n      client-id: cid\n`

/** The API and its identity provider on 127.0.0.1:0, closed with the scope. */
const idpServer = (script: Script) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: http.Server; readonly tokenPosts: () => number; readonly apiRequests: () => number }>((resume) => {
      let tokenPosts = 0
      let apiRequests = 0
      let base = ""
      const server = http.createServer((req, res) => {
        const parts: Array<Buffer> = []
        req.on("data", (b: Buffer) => parts.push(b))
        req.on("error", () => undefined)
        req.on("end", () => {
          const url = req.url ?? ""
          if (url === "/1/authinfo.yaml") return script.info ? script.info(res) : res.writeHead(200, { "content-type": "application/yaml" }).end(authinfo(base))
          if (url === "/oauth/token") return script.token(++tokenPosts, new URLSearchParams(Buffer.concat(parts).toString("utf8")), res)
          if (url === "/oauth/device/code") {
            return script.code ? script.code(res) : json(res, 200, { device_code: "DEVICE-CODE/42+x", user_code: "UC", verification_uri: "http://x/v", expires_in: 600, interval: 1 })
          }
          if (url === "/jwks") return json(res, 200, { keys: [] })
          apiRequests++
          if (script.api) return script.api(req.headers.authorization, res, base)
          return req.headers.authorization === "Bearer OLD" ? json(res, 401, { message: "expired" }) : json(res, 200, artifactRecord(base))
        })
      })
      server.listen(0, "127.0.0.1", () => {
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        resume(Effect.succeed({ url: base, server, tokenPosts: () => tokenPosts, apiRequests: () => apiRequests }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )

/** A temp CLI folder whose context `t` has the stale access token `OLD` (expiring at `expiry`) and {@link REFRESH}. */
const cliFolder = (url: string, expiry = "2099-01-01T00:00:00Z") =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-auth-hostile-"))
      fs.writeFileSync(
        path.join(dir, "config.yaml"),
        `version: v1\nactive-context: t\ncontexts:\n  - name: t\n    url: ${url}\n    access-token: OLD\n    access-token-expiry: ${expiry}\n    refresh-token: ${JSON.stringify(REFRESH)}\n`
      )
      return dir
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const savedConfig = (dir: string) => fs.readFileSync(path.join(dir, "config.yaml"), "utf8")

/** No environment: only the CLI folder configures the layer. */
const noEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))

const client = (dir: string, options: Partial<IvcapNode.Options> = {}) =>
  IvcapNode.layer({ cliConfigDir: dir, apiVersion: "v0.44", ...options })

/** `n` sequential GETs: each one's outcome ("ok" or the error's tag). */
const gets = (n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.either(Artifact.get(ART)), { concurrency: 1 }).pipe(
    Effect.map((results) => results.map((r) => (r._tag === "Right" ? "ok" : r.left._tag)))
  )

const realPause = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Advances the TestClock by `step` (with real I/O in between) until `fiber` is done; at most `rounds` times. */
const driveUntilDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: Duration.DurationInput, rounds: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < rounds; i++) {
      if ((yield* Fiber.poll(fiber))._tag === "Some") break
      yield* realPause(20)
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.poll(fiber)
  })

const tokens = (n: number, expiresIn: unknown) => ({ access_token: `AT-${n}`, refresh_token: `RT-${n}`, expires_in: expiresIn })

describe("NodeLogin against a hostile identity provider", () => {
  it.live("expires_in 1e13 during a renewal: the tokens are used and saved, their expiry cut to a year", () =>
    Effect.gen(function*() {
      const server = yield* idpServer({ token: (n, _form, res) => json(res, 200, tokens(n, 1e13)) })
      const dir = yield* cliFolder(server.url, "2020-01-01T00:00:00Z")
      expect(yield* gets(3).pipe(Effect.provide(client(dir)), noEnv)).toEqual(["ok", "ok", "ok"])
      expect(server.tokenPosts()).toBe(1)
      const saved = savedConfig(dir)
      expect(saved).toContain("access-token: AT-1")
      expect(saved).toMatch(/refresh-token: "?RT-1/)
      const expiry = Date.parse(/access-token-expiry: "?([^"\n]+)/.exec(saved)![1]!)
      expect(expiry).toBeGreaterThan(Date.now() + 364 * 86_400_000)
      expect(expiry).toBeLessThan(Date.now() + 366 * 86_400_000)
    }).pipe(Effect.scoped))

  it.live("NodeLogin.login with expires_in 1e13 saves the login instead of dying after the user approved", () =>
    Effect.gen(function*() {
      const server = yield* idpServer({ token: (_n, _form, res) => json(res, 200, { access_token: "AT", refresh_token: "RT", expires_in: 1e13 }) })
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-auth-hostile-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const provider = yield* NodeLogin.discover(server.url)
      const result = yield* NodeLogin.login({ url: server.url, provider, cliConfigDir: dir, context: "t" })
      expect(result.expiresAt).toBeLessThanOrEqual(Date.now() + 365 * 86_400_000)
      expect(savedConfig(dir)).toContain("access-token: AT")
    }).pipe(Effect.provide(Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici)), Effect.scoped))

  it.live("429, 408, 503 or a proxy's HTML page from the token endpoint is a TransportError, and a later request renews", () =>
    Effect.gen(function*() {
      const answers: Array<[string, (res: http.ServerResponse) => void]> = [
        ["429", (res) => json(res, 429, { error: "rate_limited" }, { "retry-after": "1" })],
        ["408", (res) => json(res, 408, "")],
        ["503", (res) => json(res, 503, { error: "temporarily_unavailable" })],
        ["html", (res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>captive portal</html>")]
      ]
      for (const [name, bad] of answers) {
        const server = yield* idpServer({ token: (n, _form, res) => (n === 1 ? bad(res) : json(res, 200, tokens(n, 3600))) })
        const dir = yield* cliFolder(server.url)
        const outcome = yield* Effect.gen(function*() {
          const first = yield* gets(1)
          // a failed renewal is tried again after a pause as long as it took (at least 1 s)
          yield* realPause(1100)
          const second = yield* gets(1)
          return [...first, ...second]
        }).pipe(Effect.provide(client(dir, { retry: false })), noEnv)
        expect([name, ...outcome]).toEqual([name, "TransportError", "ok"])
        expect(server.tokenPosts()).toBe(2)
        expect(savedConfig(dir)).toContain("access-token: AT-2")
      }
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("expires_in as a numeric string is accepted: the tokens are used and saved", () =>
    Effect.gen(function*() {
      const server = yield* idpServer({ token: (n, _form, res) => json(res, 200, tokens(n, "3600")) })
      const dir = yield* cliFolder(server.url)
      expect(yield* gets(3).pipe(Effect.provide(client(dir)), noEnv)).toEqual(["ok", "ok", "ok"])
      expect(server.tokenPosts()).toBe(1)
      expect(savedConfig(dir)).toMatch(/refresh-token: "?RT-1/)
    }).pipe(Effect.scoped))

  it.live("an error_description echoing the form shows neither the refresh token nor the device code", () =>
    Effect.gen(function*() {
      const echo = (_n: number, form: URLSearchParams, res: http.ServerResponse) =>
        json(res, 400, { error: form.get("grant_type") === "refresh_token" ? "invalid_grant" : "invalid_request", error_description: `bad: ${form.toString()} raw: ${[...form.values()].join(" ")}` })
      const server = yield* idpServer({ token: echo })
      const dir = yield* cliFolder(server.url)
      const refused = yield* Effect.flip(Artifact.get(ART).pipe(Effect.provide(client(dir)), noEnv))
      expect(refused._tag).toBe("LoginRequired")
      expect(refused.message).toContain("invalid_grant")
      const shown = `${refused.message} ${JSON.stringify(refused)}`
      for (const form of [REFRESH, encodeURIComponent(REFRESH), new URLSearchParams({ s: REFRESH }).toString().slice(2)]) expect(shown).not.toContain(form)

      const provider = yield* NodeLogin.discover(server.url).pipe(Effect.provide(NodeHttpClient.layerUndici))
      const failed = yield* Effect.flip(NodeLogin.deviceLogin({ provider }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
      expect(failed._tag).toBe("LoginFailed")
      expect(failed.message).toContain("invalid_request")
      const code = "DEVICE-CODE/42+x"
      const shownLogin = `${failed.message} ${JSON.stringify(failed)}`
      for (const form of [code, encodeURIComponent(code), new URLSearchParams({ s: code }).toString().slice(2)]) expect(shownLogin).not.toContain(form)
    }).pipe(Effect.scoped))

  it.live("an endless token answer or authinfo.yaml stops at 1 MiB with a TransportError", () =>
    Effect.gen(function*() {
      let tokenMiB = 0
      const server = yield* idpServer({ token: (_n, _form, res) => endless(res, "application/json", 0x61, 256, (n) => (tokenMiB = n)) })
      const dir = yield* cliFolder(server.url)
      const error = yield* Effect.flip(Artifact.get(ART).pipe(Effect.provide(client(dir, { retry: false })), noEnv))
      expect(error._tag).toBe("TransportError")
      expect(error.message).toContain("exceeds 1048576 bytes")
      expect(tokenMiB).toBeLessThan(64)

      let infoMiB = 0
      const info = yield* idpServer({ token: (n, _form, res) => json(res, 200, tokens(n, 3600)), info: (res) => endless(res, "application/yaml", 0x23, 256, (n) => (infoMiB = n)) })
      const failed = yield* Effect.flip(NodeLogin.discover(info.url).pipe(Effect.provide(NodeHttpClient.layerUndici)))
      expect(failed._tag).toBe("TransportError")
      expect(infoMiB).toBeLessThan(64)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.effect("a token endpoint that sends headers and then drips: the renewal ends after 10 s, one token request per call", () =>
    Effect.gen(function*() {
      const server = yield* idpServer({
        token: (_n, _form, res) => {
          res.writeHead(200, { "content-type": "application/json" })
          const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(" ")), 100)
          res.on("close", () => clearInterval(timer))
        }
      })
      const dir = yield* cliFolder(server.url)
      // a 3 s attempt timeout (real time), the client's default retries (on the TestClock)
      const fiber = yield* Effect.fork(Effect.flip(Artifact.get(ART).pipe(Effect.provide(client(dir, { timeout: "3 seconds" })), noEnv)))
      const done = yield* driveUntilDone(fiber, "500 millis", 200)
      expect(done._tag).toBe("Some")
      const error = yield* Fiber.join(fiber)
      expect(error.message).toContain("did not answer within 10s")
      // the retries met the failed renewal's pause: one token request for the whole call
      expect(server.tokenPosts()).toBe(1)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("expires_in 5 or -3600: the renewed token is used until rejected, not renewed before every request", () =>
    Effect.gen(function*() {
      for (const expiresIn of [5, -3600]) {
        const server = yield* idpServer({ token: (n, _form, res) => json(res, 200, tokens(n, expiresIn)) })
        const dir = yield* cliFolder(server.url, "2020-01-01T00:00:00Z")
        expect(yield* gets(10).pipe(Effect.provide(client(dir)), noEnv)).toEqual(Array(10).fill("ok"))
        expect([expiresIn, server.tokenPosts()]).toEqual([expiresIn, 1])
        expect(server.apiRequests()).toBe(10)
      }
    }).pipe(Effect.scoped))

  it.live("an API that refuses every token: one renewal for 10 requests, each Unauthorized", () =>
    Effect.gen(function*() {
      const server = yield* idpServer({ token: (n, _form, res) => json(res, 200, tokens(n, 3600)), api: (_auth, res) => json(res, 401, { message: "no" }) })
      const dir = yield* cliFolder(server.url)
      expect(yield* gets(10).pipe(Effect.provide(client(dir)), noEnv)).toEqual(Array(10).fill("Unauthorized"))
      expect(server.tokenPosts()).toBe(1)
      // the first request twice (the old token, then the renewed one), the others once
      expect(server.apiRequests()).toBe(11)
    }).pipe(Effect.scoped))

  it.effect("device login: a code expiring in 3 s with interval 100000 ends at its expiry; expires_in 1e300 is cut to an hour, the interval to a minute", () =>
    Effect.gen(function*() {
      const pending = (_n: number, _form: URLSearchParams, res: http.ServerResponse) => json(res, 400, { error: "authorization_pending" })
      const short = yield* idpServer({ token: pending, code: (res) => json(res, 200, { device_code: "DC-1", user_code: "UC", verification_uri: "http://x/v", expires_in: 3, interval: 100000 }) })
      const shortProvider = yield* NodeLogin.discover(short.url)
      const first = yield* Effect.fork(Effect.flip(NodeLogin.deviceLogin({ provider: shortProvider })))
      const firstDone = yield* driveUntilDone(first, "1 second", 50)
      expect(firstDone._tag).toBe("Some")
      expect((yield* Fiber.join(first)).message).toContain("expired")

      const long = yield* idpServer({ token: pending, code: (res) => json(res, 200, { device_code: "DC-2", user_code: "UC", verification_uri: "http://x/v", expires_in: 1e300, interval: 100000 }) })
      const longProvider = yield* NodeLogin.discover(long.url)
      const prompts: Array<number> = []
      const second = yield* Effect.fork(Effect.flip(NodeLogin.deviceLogin({
        provider: longProvider,
        onEvent: (e) => Effect.sync(() => (e._tag === "Prompt" ? prompts.push(Duration.toSeconds(e.expiresIn)) : undefined))
      })))
      // steps shorter than one poll's 30 s limit: the code is given up after an hour (about 60 polls, each a minute apart)
      const secondDone = yield* driveUntilDone(second, "29 seconds", 200)
      expect(secondDone._tag).toBe("Some")
      expect((yield* Fiber.join(second)).message).toContain("expired")
      expect(prompts).toEqual([3600])
      expect(long.tokenPosts()).toBeGreaterThanOrEqual(55)
      expect(long.tokenPosts()).toBeLessThanOrEqual(61)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped), { timeout: 30_000 })

  it.live("default-provider-id __proto__ or constructor is not declared", () =>
    Effect.gen(function*() {
      for (const id of ["__proto__", "constructor"]) {
        const server = yield* idpServer({
          token: (n, _form, res) => json(res, 200, tokens(n, 3600)),
          info: (res) =>
            res.writeHead(200).end(
              `version: 1\nauth:\n  default-provider-id: ${id}\n  providers:\n    p: {login-url: 'http://a', token-url: 'http://a', code-url: 'http://a', jwks-url: 'http://a', client-id: c}\n`
            )
        })
        const failed = yield* Effect.flip(NodeLogin.discover(server.url))
        expect(failed.message).toContain(`'${id}' is not declared`)
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped))
})
