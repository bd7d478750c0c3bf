/**
 * Baseline: a plain `fetch` + `JSON.parse` loop over a listing, following `links[rel=next]` with the same page
 * size and the same `Authorization` header as the SDK. Counts items; records RSS after a tenth of them and at
 * the end (to show whether memory grows with the listing).
 */
import { deployment, main, numeric, report, required } from "./common.js"

interface Wire {
  readonly items: ReadonlyArray<unknown>
  readonly links: ReadonlyArray<{ readonly rel: string; readonly href: string }>
}

main(async () => {
  const { token, url: base } = deployment()
  const limit = String(numeric("limit"))
  const expected = numeric("expected")
  const headers = { authorization: `Bearer ${token}` }
  let url: URL | undefined = new URL(`${base}${required("path")}`)
  url.searchParams.set("limit", limit)
  let count = 0
  let pages = 0
  let rssAtTenth = Number.NaN
  const started = performance.now()
  while (url !== undefined) {
    const response = await fetch(url, { headers })
    if (response.status !== 200) throw new Error(`GET ${url} -> ${response.status}: ${await response.text()}`)
    const page = JSON.parse(await response.text()) as Wire
    count += page.items.length
    pages++
    if (Number.isNaN(rssAtTenth) && count >= expected / 10) rssAtTenth = process.memoryUsage.rss()
    const next = page.links.find((l) => l.rel === "next")
    if (next === undefined) url = undefined
    else {
      url = new URL(next.href, base)
      url.searchParams.set("limit", limit)
    }
  }
  report({ items: count, pages, ms: performance.now() - started, rssAtTenth, rssAtEnd: process.memoryUsage.rss() })
})
