/**
 * The emulator against hostile or careless callers (issue 16): writes journaled before memory changes, content it
 * cannot store refused, a torn journal tail recovered, readable 413s, a size limit for deferred-length uploads,
 * loopback-only CORS, the token checked before recording or faults, and a bounded log without tokens.
 */
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import { Emulator, Faults } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const token = "hardening-token-3f1c"
const auth = { authorization: `Bearer ${token}` }
const entity = "urn:ivcap:entity:hardening"
const schema = "urn:ivcap:schema:hardening.1"

const dirs: Array<string> = []
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-emulator-hardening-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})

/** Runs `f` against a fresh server, closed afterwards. */
const withServer = async <A>(options: EmulatorServer.Options, f: (s: EmulatorServer.Started) => Promise<A>) => {
  const server = await EmulatorServer.start({ token, ...options })
  try {
    return await f(server)
  } finally {
    await server.close()
  }
}

const addAspect = (url: string, body: string) =>
  fetch(`${url}/1/aspects?entity=${entity}&schema=${schema}`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body
  })

const listContent = async (url: string) => {
  const r = await fetch(`${url}/1/aspects?entity=${entity}&include-content=true&limit=50`, { headers: auth })
  return { status: r.status, body: (await r.json()) as { items: Array<{ id: string }> } }
}

const deep = (depth: number) => `${"{\"a\":".repeat(depth)}1${"}".repeat(depth)}`

describe("durability", () => {
  it("content too deep to store is a 400 and changes nothing (in memory and with a journal)", async () => {
    for (const dataDir of [undefined, tempDir()]) {
      await withServer(dataDir === undefined ? {} : { dataDir }, async ({ url }) => {
        const ok = await addAspect(url, "{\"n\":1}")
        expect(ok.status).toBe(200)
        const r = await addAspect(url, deep(6000))
        expect(r.status).toBe(400)
        expect(((await r.json()) as { message: string }).message).toMatch(/deeper than 256/)
        const list = await listContent(url)
        expect(list.status).toBe(200)
        expect(list.body.items).toHaveLength(1)
      })
    }
  })

  it("a write the journal cannot take is a 500 that leaves memory unchanged", async () => {
    const dataDir = tempDir()
    await withServer({ dataDir }, async ({ url }) => {
      expect((await addAspect(url, "{\"n\":1}")).status).toBe(200)
      // the journal becomes unwritable (a directory where the file was: even root cannot append to it)
      const journal = path.join(dataDir, "journal.jsonl")
      fs.renameSync(journal, `${journal}.bak`)
      fs.mkdirSync(journal)
      const r = await addAspect(url, "{\"n\":2}")
      expect(r.status).toBe(500)
      const list = await listContent(url)
      expect(list.status).toBe(200)
      expect(list.body.items).toHaveLength(1)
      fs.rmdirSync(journal)
      fs.renameSync(`${journal}.bak`, journal)
    })
  })

  it("a torn last journal line is cut on load: the next acknowledged write survives the following restart", async () => {
    const dataDir = tempDir()
    const ids: Array<string> = []
    const add = (url: string, n: number) =>
      addAspect(url, JSON.stringify({ n })).then(async (r) => {
        expect(r.status).toBe(200)
        ids.push(((await r.json()) as { id: string }).id)
      })
    await withServer({ dataDir }, (s) => add(s.url, 1))
    // a crash mid-append (or a full disk) leaves half a line
    fs.appendFileSync(path.join(dataDir, "journal.jsonl"), "{\"e\":\"aspect\",\"r\":{\"seq\":99,\"id\":\"urn:ivcap:asp")
    await withServer({ dataDir }, (s) => add(s.url, 2))
    await withServer({ dataDir }, async ({ url }) => {
      for (const id of ids) expect((await fetch(`${url}/1/aspects/${id}`, { headers: auth })).status).toBe(200)
      await add(url, 3)
    })
    await withServer({ dataDir }, async ({ url }) => {
      expect((await listContent(url)).body.items.map((i) => i.id).sort()).toEqual([...ids].sort())
    })
    expect(fs.readFileSync(path.join(dataDir, "journal.jsonl"), "utf8").split("\n").filter((l) => l !== "").every((l) => {
      JSON.parse(l)
      return true
    })).toBe(true)
  })
})

describe("limits", () => {
  it("an oversized JSON body gets a readable 413 with a JSON message (not a connection reset)", async () => {
    await withServer({}, async ({ url }) => {
      const big = `{"pad":"${"x".repeat(17 * 1024 * 1024)}"}`
      const r = await addAspect(url, big)
      expect(r.status).toBe(413)
      expect(r.headers.get("content-type")).toMatch(/json/)
      expect(((await r.json()) as { message: string }).message).toMatch(/exceeds 16777216 bytes/)
      // the connection is still usable and nothing was stored
      expect((await listContent(url)).body.items).toHaveLength(0)
    })
  })

  it("a tus PATCH past Upload-Length gets a readable 413 and nothing of it is kept", async () => {
    await withServer({}, async ({ url }) => {
      const created = await fetch(`${url}/1/artifacts`, { method: "POST", headers: { ...auth, "x-content-length": "1000" } })
      const href = ((await created.json()) as { "data-href": string })["data-href"]
      const patch = (offset: number, body: Uint8Array<ArrayBuffer>, length?: string) =>
        fetch(href, {
          method: "PATCH",
          headers: { ...auth, "content-type": "application/offset+octet-stream", "upload-offset": String(offset), "tus-resumable": "1.0.0", ...(length ? { "upload-length": length } : {}) },
          body
        })
      const r = await patch(0, new Uint8Array(4 * 1024 * 1024))
      expect(r.status).toBe(413)
      expect(((await r.json()) as { message: string }).message).toMatch(/Upload-Length 1000/)
      const head = await fetch(href, { method: "HEAD", headers: { ...auth, "tus-resumable": "1.0.0" } })
      expect(head.headers.get("upload-offset")).toBe("0")
    })
  })

  it("deferred-length uploads stop at maxUploadBytes (413, advertised as Tus-Max-Size)", async () => {
    await withServer({ maxUploadBytes: 1024 * 1024 }, async ({ url }) => {
      const tooBig = await fetch(`${url}/1/artifacts`, { method: "POST", headers: { ...auth, "x-content-length": String(2 * 1024 * 1024) } })
      expect(tooBig.status).toBe(413)
      expect(((await tooBig.json()) as { message: string }).message).toMatch(/maximum size of 1048576/)
      const created = await fetch(`${url}/1/artifacts`, { method: "POST", headers: { ...auth, "x-content-length": "-1" } })
      expect(created.status).toBe(201)
      const href = ((await created.json()) as { "data-href": string })["data-href"]
      const options = await fetch(href, { method: "OPTIONS" })
      expect(options.headers.get("tus-max-size")).toBe("1048576")
      const headers = { ...auth, "content-type": "application/offset+octet-stream", "tus-resumable": "1.0.0" }
      const first = await fetch(href, { method: "PATCH", headers: { ...headers, "upload-offset": "0" }, body: new Uint8Array(700 * 1024) })
      expect(first.status).toBe(204)
      // a streamed body (no Content-Length) growing past the limit
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 8; i++) c.enqueue(new Uint8Array(128 * 1024))
          c.close()
        }
      })
      const second = await fetch(href, { method: "PATCH", headers: { ...headers, "upload-offset": String(700 * 1024) }, body: stream, duplex: "half" } as RequestInit)
      expect(second.status).toBe(413)
      const head = await fetch(href, { method: "HEAD", headers: { ...auth, "tus-resumable": "1.0.0" } })
      expect(head.headers.get("upload-offset")).toBe(String(700 * 1024))
      const length = await fetch(href, { method: "PATCH", headers: { ...headers, "upload-offset": String(700 * 1024), "upload-length": String(4 * 1024 * 1024) }, body: new Uint8Array(0) })
      expect(length.status).toBe(413)
    })
  })
})

describe("privacy", () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/1/services`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" }
    })

  it("CORS allows loopback origins only, unless widened", async () => {
    await withServer({}, async ({ url }) => {
      for (const origin of ["http://127.0.0.1:5173", "http://localhost:3000", "https://app.localhost", "http://[::1]:8080"]) {
        const r = await preflight(url, origin)
        expect(r.status).toBe(204)
        expect(r.headers.get("access-control-allow-origin")).toBe(origin)
      }
      for (const origin of ["http://evil.example", "null", "http://127.0.0.1.evil.example"]) {
        const r = await preflight(url, origin)
        expect(r.status).toBe(403)
        expect(r.headers.get("access-control-allow-origin")).toBeNull()
      }
      // a page elsewhere cannot reset the emulator, even knowing the (documented) token
      const reset = await fetch(`${url}/_emulator/reset`, { method: "POST", headers: { ...auth, origin: "http://evil.example" } })
      expect(reset.status).toBe(403)
      const read = await fetch(`${url}/1/services?limit=1`, { headers: { ...auth, origin: "http://evil.example" } })
      expect(read.status).toBe(403)
      expect(read.headers.get("access-control-allow-origin")).toBeNull()
    })
    await withServer({ corsOrigins: ["http://lab.example:8080"] }, async ({ url }) => {
      expect((await preflight(url, "http://lab.example:8080")).status).toBe(204)
      expect((await preflight(url, "http://evil.example")).status).toBe(403)
    })
    await withServer({ corsOrigins: ["*"] }, async ({ url }) => {
      const r = await preflight(url, "http://evil.example")
      expect(r.status).toBe(204)
      expect(r.headers.get("access-control-allow-origin")).toBe("http://evil.example")
    })
  })

  it("checks the token before recording a request or letting it match a fault", async () => {
    await withServer({}, async ({ emulator, url }) => {
      await Effect.runPromise(emulator.faults.inject(Faults.status(503, { match: { method: "GET", path: "/1/services" } })))
      for (let i = 0; i < 5; i++) {
        const r = await fetch(`${url}/1/services`, { headers: i % 2 === 0 ? {} : { authorization: "Bearer wrong" } })
        expect(r.status).toBe(401)
      }
      expect(await Effect.runPromise(emulator.requests.count())).toBe(0)
      expect(await Effect.runPromise(emulator.requests.rejected)).toEqual({ total: 5, withoutToken: 3, withOtherToken: 2, badOrigin: 0 })
      // the fault is still there for the authenticated caller
      expect((await fetch(`${url}/1/services`, { headers: auth })).status).toBe(503)
      expect((await fetch(`${url}/1/services`, { headers: auth })).status).toBe(200)
      expect(await Effect.runPromise(emulator.requests.count())).toBe(2)
    })
  })

  it("keeps a bounded request log without Authorization values", async () => {
    await withServer({ requestLogLimit: 100 }, async ({ emulator, url }) => {
      for (let i = 0; i < 250; i++) {
        const r = await fetch(`${url}/1/services?limit=1&i=${i}`, { headers: { ...auth, "x-big": "y".repeat(5000) } })
        await r.arrayBuffer()
      }
      // a public route with some other Authorization is recorded as "other", its value not kept
      await fetch(`${url}/1/artifacts/urn:ivcap:artifact:x/blob`, { method: "OPTIONS", headers: { authorization: "Bearer someone-else" } })
      const log = await Effect.runPromise(emulator.requests.log)
      expect(log).toHaveLength(100)
      expect(log[0]!.url).toMatch(/i=151$/)
      expect(log.slice(0, -1).every((r) => r.auth === "token" && r.tokenTag === Emulator.tokenTag(token))).toBe(true)
      expect(log[log.length - 1]!.tokenTag).toBe(Emulator.tokenTag("someone-else"))
      expect(log[log.length - 1]!.auth).toBe("other")
      const text = JSON.stringify(log)
      expect(text).not.toContain(token)
      expect(text).not.toContain("someone-else")
      expect(log.every((r) => r.headers["authorization"] === undefined)).toBe(true)
      expect(log[0]!.headers["x-big"]!.length).toBeLessThanOrEqual(1025)
      expect(await Effect.runPromise(emulator.requests.count())).toBe(100)
    })
  })
})
