/**
 * Every example program runs as a real process (the built `dist/*.js`) against an emulator on 127.0.0.1,
 * configured the way users configure it (IVCAP_URL / IVCAP_JWT), and its output is checked against the
 * emulator's state. `pnpm test` builds before it tests, so `dist/` is current.
 */
import { SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import { execFile } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const dist = new URL("../dist/", import.meta.url).pathname

let server: EmulatorServer.Started
let work: string

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ivcap-examples-"))
  server = await EmulatorServer.start({ port: 0, orderStepMillis: 50 })
})
afterAll(async () => {
  await server?.close()
  rmSync(work, { recursive: true, force: true })
})

const example = async (name: string, ...args: Array<string>) => {
  const { stdout } = await run(process.execPath, [join(dist, `${name}.js`), ...args], {
    cwd: work,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? "",
      IVCAP_URL: server.url,
      IVCAP_JWT: server.token,
      IVCAP_UPLOAD_STATE_DIR: join(work, "upload-state"),
      // No CLI login of the machine's user may leak in.
      XDG_CONFIG_HOME: join(work, "config"),
      HOME: work
    }
  })
  return stdout
}


/** An admin or API request to the emulator with the token. */
const api = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (response.status >= 300) throw new Error(`${method} ${path} -> ${response.status}: ${await response.text()}`)
  return response.status === 204 ? undefined : (await response.json()) as unknown
}

interface WireAspect { readonly id: string; readonly entity: string; readonly content?: Record<string, unknown> }

/** Every aspect of `schema` (all pages). */
const aspectsOf = async (schema: string, entity?: string): Promise<Array<WireAspect>> => {
  const out: Array<WireAspect> = []
  let path: string | undefined = `/1/aspects?${new URLSearchParams({ schema, limit: "50", "include-content": "true", ...(entity === undefined ? {} : { entity }) })}`
  while (path !== undefined) {
    const page = await api("GET", path) as { items: Array<WireAspect>; links: Array<{ rel: string; href: string }> }
    out.push(...page.items)
    const next = page.links.find((l) => l.rel === "next")
    path = next === undefined ? undefined : `/1/aspects${new URL(next.href).search}`
  }
  return out
}

/** Runs an example expected to die by a signal; returns the signal. */
const exampleKilled = (name: string, ...args: Array<string>) =>
  example(name, ...args).then(
    () => "exited normally",
    (error: { signal?: string }) => error.signal ?? "no signal"
  )

describe("examples against the emulator", () => {
  it("list-services prints the first N services of the listing", async () => {
    const out = await example("list-services", "12")
    const ids = out.split("\n").filter((l) => l.startsWith("urn:ivcap:service:"))
    expect(ids).toHaveLength(12)
    expect(new Set(ids).size).toBe(12)
  })

  it("find-service shows the parameters of the named service", async () => {
    const out = await example("find-service", SeedData.richService.name)
    expect(out).toContain(SeedData.richService.id)
    for (const p of SeedData.richServiceParameters) expect(out).toContain(`  ${p.name} (${p.type}`)
  })

  it("find-service fails with a clear message for an unknown name", async () => {
    await expect(example("find-service", "no-such-service")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("No service is named 'no-such-service'")
    })
  })

  it("place-order follows the order to success and shows its product", async () => {
    const out = await example("place-order", SeedData.helloWorld.name, "msg=examples")
    expect(out).toMatch(/order urn:ivcap:order:\S+: succeeded/)
    expect(out).toContain("product greeting.txt")
    const orders = await example("list-orders", "5")
    expect(orders).toContain(out.match(/placed (urn:ivcap:order:\S+)/)![1]!)
  })

  it("upload-artifact then download-artifact round-trips the bytes", async () => {
    const file = join(work, "sample.bin")
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    writeFileSync(file, bytes)
    const out = await example("upload-artifact", file)
    const id = out.match(/(urn:ivcap:artifact:\S+) ready/)![1]!
    expect(readFileSync(join(work, ".ivcap-sample.bin.txt"), "utf8")).toContain(`|${id}`)
    const listed = await example("list-artifacts", "50")
    expect(listed).toContain(id)
    const got = await example("download-artifact", id, join(work, "back.bin"))
    const sha = createHash("sha256").update(bytes).digest("hex")
    expect(got).toContain(sha)
    expect(createHash("sha256").update(readFileSync(join(work, "back.bin"))).digest("hex")).toBe(sha)
  })

  it("manage-aspect adds, updates, looks back in time and retracts", async () => {
    const out = await example("manage-aspect", "urn:example:entity:examples-test")
    expect(out).toMatch(/now: \{"\$schema":"urn:example:schema:tag\.1"[^\n]*"final"/)
    expect(out).toMatch(/at [^:]+:[^\n]*"draft"/)
    expect(out).toMatch(/retracted urn:ivcap:aspect:\S+: valid to \d{4}-/)
  })

  it("search-aspects filters by schema prefix and content path, and runs datalog queries against the emulator", async () => {
    const all = await example("search-aspects", "urn:ivcap:schema:artifact%")
    expect(all).toContain(`${SeedData.readmeAspect.id}  ${SeedData.readmeAspect.schema}  ${SeedData.readmeAspect.entity}`)
    expect(all).toContain(`${SeedData.boundaryAspect.id}  ${SeedData.boundaryAspect.schema}  ${SeedData.boundaryAspect.entity}`)
    const some = await example("search-aspects", "urn:ivcap:schema:artifact%", "$.area ? (@ > 1000)")
    expect(some).toContain(SeedData.boundaryAspect.id)
    expect(some).not.toContain(SeedData.readmeAspect.id)
    expect(all).toContain(`datalog: ${SeedData.readmeAspect.entity} has a ${SeedData.readmeAspect.schema} aspect`)
    expect(all).toContain(`datalog: ${SeedData.boundaryAspect.entity} has a ${SeedData.boundaryAspect.schema} aspect`)
    expect(all).toContain("datalog: 2 result(s) for schemas starting with urn:ivcap:schema:artifact")
    // an aspect whose content mentions the README artifact: an edge of the graph
    const review = "urn:example:review:search-aspects"
    const created = await fetch(`${server.url}/1/aspects?entity=${encodeURIComponent(review)}&schema=urn:example:schema:review.1`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ about: { artifact: SeedData.readmeArtifact.id }, stars: 5 })
    })
    expect(created.status).toBe(200)
    const refs = await example("search-aspects", "urn:ivcap:schema:artifact%", "", SeedData.readmeArtifact.id)
    expect(refs).toContain(`datalog: ${review} (urn:example:schema:review.1) refers to ${SeedData.readmeArtifact.id}`)
    expect(refs.match(/refers to/g)).toHaveLength(1)
  })

  it("run-job prints the echo service's result; a bad input names the field and runs nothing", async () => {
    const out = await example("run-job", SeedData.echo.name, `{"message":"from the examples"}`)
    expect(out).toContain(`result: {"message":"from the examples"}`)
    const bad = await example("run-job", SeedData.slow.name, `{"seconds":"ten"}`).then(() => "", (e: { stderr?: string }) => e.stderr ?? "")
    expect(bad).toContain("input rejected at 'seconds'")
    const failed = await example("run-job", SeedData.failingJob.name, `{"reason":"no disk"}`).then(() => "", (e: { stderr?: string }) => e.stderr ?? "")
    expect(failed).toMatch(/job urn:ivcap:job:\S+ failed: no disk/)
  })

  it("request-job returns at once, watches the status to the end, and reads the job back", async () => {
    const out = await example("request-job", SeedData.slow.name, `{"seconds":1,"message":"woke up"}`)
    expect(out).toMatch(/job urn:ivcap:job:\S+ accepted; retry later: \d/)
    expect(out).toContain("status: succeeded")
    expect(out).toContain(`request: {"seconds":1,"message":"woke up"}`)
    expect(out).toContain(`result: {"message":"woke up","slept":1}`)
  })

  it("job-events shows every event of a job live, in order, and ends with the job", async () => {
    const out = await example("job-events", SeedData.slow.name, `{"seconds":2}`)
    const ids = [...out.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]))
    expect(ids.length).toBeGreaterThan(2)
    expect(ids).toEqual(ids.map((_, i) => i + 1))
    expect(out).toMatch(/\d+ events; job succeeded/)
  })

  it("list-jobs lists a service's jobs; tool-schema shows the request schema and checks an input", async () => {
    const job = (await example("run-job", SeedData.echo.name, `{"message":"to be listed"}`)).length
    expect(job).toBeGreaterThan(0)
    const listed = await example("list-jobs", SeedData.echo.name, "50")
    expect(listed).toMatch(/urn:ivcap:job:\S+ +succeeded/)
    const schema = await example("tool-schema", SeedData.slow.name, `{"seconds":-1}`)
    expect(schema).toContain(`"seconds"`)
    expect(schema).toContain("input: invalid at 'seconds'")
  })

  it("manage-collection creates a collection, uploads into it, removes a member, looks back and retracts it", async () => {
    const out = await example("manage-collection", "Examples survey")
    const id = /created (urn:ivcap:collection:\S+) "Examples survey"/.exec(out)?.[1]
    expect(id).toBeDefined()
    const uploaded = [...out.matchAll(/uploaded cast-00\d\.csv as (urn:ivcap:artifact:\S+) into the collection/g)].map((m) => m[1]!)
    expect(uploaded).toHaveLength(2)
    expect(out).toContain(`members: ${uploaded.join(", ")}`)
    expect(out).toContain("found by name: true")
    expect(out).toContain(`removed ${uploaded[0]}: true`)
    expect(out).toContain(`members now: ${uploaded[1]}\n`)
    expect(out).toMatch(new RegExp(`members at [^:]+:\\d\\d:[^ ]+: ${uploaded.join(", ")}`))
    expect(out).toContain("retracted the collection: 2 aspects")
    expect(out).toContain(`gone: collection '${id}' not found`)
  })

  it("use-secret sets, lists and reads a secret without ever printing its value", async () => {
    const value = "examples-secret-value-5e1d"
    const { stdout } = await run(process.execPath, [join(dist, "use-secret.js"), "examples-db"], {
      cwd: work,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? "", IVCAP_URL: server.url, IVCAP_JWT: server.token, SECRET_VALUE: value, XDG_CONFIG_HOME: join(work, "config"), HOME: work }
    })
    expect(stdout).toContain("set examples-db: <redacted>")
    expect(stdout).toMatch(/ {2}examples-db {2}expires \d{4}-\d\d-\d\dT/)
    const hash = createHash("sha256").update(value).digest("hex").slice(0, 10)
    expect(stdout).toContain(`read examples-db: sha256 ${hash}…, ${value.length} characters`)
    expect(stdout).not.toContain(value)
  })

  it("bulk-annotate writes one digest aspect per ready artifact, with the content's sha-256", async () => {
    const out = await example("bulk-annotate", "4")
    const total = Number(out.match(/annotating (\d+) artifacts/)![1])
    expect(total).toBeGreaterThanOrEqual(2)
    expect(out).toMatch(new RegExp(`complete — ${total} succeeded, 0 failed`))
    const digests = await aspectsOf("urn:example:schema:content-digest.1")
    expect(new Set(digests.map((a) => a.entity)).size).toBe(total)
    expect(digests).toHaveLength(total)
    const readme = digests.find((a) => a.entity === SeedData.readmeArtifact.id)!
    const content = Buffer.from(await (await fetch(`${server.url}/1/artifacts/${encodeURIComponent(SeedData.readmeArtifact.id)}/blob`, { headers: { authorization: `Bearer ${server.token}` } })).arrayBuffer())
    expect(readme.content?.["sha256"]).toBe(createHash("sha256").update(content).digest("hex"))
    expect(readme.content?.["bytes"]).toBe(content.length)
  })

  it("bulk-copy-aspects copies and transforms every aspect, and reports the one that does not decode", async () => {
    const from = "urn:example:schema:copy-in.1"
    const to = "urn:example:schema:copy-out.1"
    await api("POST", "/_emulator/seed/aspects", { count: 120, schema: from, entity: "urn:example:entity:copy" })
    await api("POST", `/1/aspects?${new URLSearchParams({ entity: "urn:example:entity:copy-bad", schema: from })}`, { $schema: from, index: "not a number" })
    const out = await example("bulk-copy-aspects", from, to, "8")
    expect(out).toMatch(/complete — 120 succeeded, 1 failed/)
    expect(out).toMatch(/first failure: content of aspect urn:ivcap:aspect:\S+: index: Expected/)
    const copies = await aspectsOf(to)
    expect(copies).toHaveLength(120)
    const sources = new Set((await aspectsOf(from)).map((a) => a.id))
    expect(new Set(copies.map((c) => c.content?.["copiedFrom"])).size).toBe(120)
    for (const c of copies) {
      expect(sources.has(c.content?.["copiedFrom"] as string)).toBe(true)
      expect(c.content?.["label"]).toBe(`item ${c.content?.["index"] as number}`)
    }
  })

  it("bulk-resume: killed half-way (SIGKILL), then resumed, it processes every item exactly once", async () => {
    const input = "urn:example:schema:resume-in.1"
    await api("POST", "/_emulator/seed/aspects", { count: 300, schema: input, entity: "urn:example:entity:resume" })
    expect(await exampleKilled("bulk-resume", input, "--crash-after", "130")).toBe("SIGKILL")
    const before = await aspectsOf("urn:example:schema:bulk-result.1")
    expect(before.length).toBeGreaterThanOrEqual(130)
    expect(before.length).toBeLessThan(300)
    const out = await example("bulk-resume", input)
    expect(out).toContain("resuming bulk-resume")
    expect(out).toMatch(/complete \(resumed\) — 300 succeeded, 0 failed/)
    const results = await aspectsOf("urn:example:schema:bulk-result.1")
    const inputs = (await aspectsOf(input)).map((a) => a.id).sort()
    expect(results.map((r) => r.entity).sort()).toEqual(inputs) // one result per input: none twice, none missing
  }, 120_000)

  it("bulk-jobs fans a CSV out as jobs of the echo service and records every result once", async () => {
    const csv = join(work, "inputs.csv")
    const rows = Array.from({ length: 150 }, (_, i) => `input ${i}`)
    writeFileSync(csv, `message\n${rows.join("\n")}\n`)
    const out = await example("bulk-jobs", csv, SeedData.echo.id, "8")
    expect(out).toContain("150 inputs")
    expect(out).toMatch(/complete — 150 succeeded, 0 failed/)
    const results = await aspectsOf("urn:example:schema:job-result.1")
    expect(results).toHaveLength(150)
    for (const r of results) expect((r.content?.["result"] as { message: string }).message).toBe(r.content?.["input"])
    expect(new Set(results.map((r) => r.content?.["input"])).size).toBe(150)
  }, 120_000)

  it("the demo tour completes (small sizes)", async () => {
    const { stdout } = await run(process.execPath, [join(dist, "demo.js")], {
      cwd: work,
      timeout: 120_000,
      env: { PATH: process.env.PATH ?? "", DEMO_SIZE_MIB: "24", DEMO_ASPECTS: "300", HOME: work, XDG_CONFIG_HOME: join(work, "config") }
    })
    expect(stdout).toContain("event #1 ")
    expect(stdout).toMatch(/job succeeded: \{"message":"hello from the demo"/)
    expect(stdout).toContain("resumed from")
    expect(stdout).toContain("streamed back 300")
    expect(stdout).toContain("matches")
    expect(stdout).toContain("20 requests on the expired token: 1 refresh")
    expect(stdout).toContain("Tour complete.")
  }, 150_000)
})
