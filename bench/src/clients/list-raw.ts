/**
 * Baseline: a plain `fetch` + `JSON.parse` loop over a listing, following `links[rel=next]` with the same page
 * size and the same `Authorization` header as the SDK. Counts items; records the live heap and RSS after a full
 * GC at a tenth of them and at the end (to show whether memory grows with the listing). `--rounds n` lists n times and
 * reports the last round as the warm figure.
 */
import { deployment, flag, main, memory, numeric, report, required, stopwatch } from "./common.js"

interface Wire {
  readonly items: ReadonlyArray<unknown>
  readonly links: ReadonlyArray<{ readonly rel: string; readonly href: string }>
}

main(async () => {
  const { token, url: base } = deployment()
  const limit = String(numeric("limit"))
  const expected = numeric("expected")
  const headers = { authorization: `Bearer ${token}` }
  let atTenth: ReturnType<typeof memory> | undefined
  const listOnce = async () => {
    let url: URL | undefined = new URL(`${base}${required("path")}`)
    url.searchParams.set("limit", limit)
    let count = 0
    let pages = 0
    const stop = stopwatch()
    while (url !== undefined) {
      const response = await fetch(url, { headers })
      if (response.status !== 200) throw new Error(`GET ${url} -> ${response.status}: ${await response.text()}`)
      const page = JSON.parse(await response.text()) as Wire
      count += page.items.length
      pages++
      if (atTenth === undefined && count >= expected / 10) atTenth = memory()
      const next = page.links.find((l) => l.rel === "next")
      if (next === undefined) url = undefined
      else {
        url = new URL(next.href, base)
        url.searchParams.set("limit", limit)
      }
    }
    return { items: count, pages, ...stop() }
  }
  // `--rounds n`: n listings in one process; the last is the warm figure (as in list-ours).
  const rounds = Math.max(1, Number(flag("rounds") ?? "1"))
  const first = await listOnce()
  let last = first
  for (let i = 1; i < rounds; i++) last = await listOnce()
  report({ ...first, warm: { items: last.items, ms: last.ms, cpuMs: last.cpuMs }, atTenth, atEnd: memory() })
})
