/**
 * Baseline: the same annotation as `bulk-ours` written by hand — a `fetch` loop over the listing's pages feeding a
 * fixed pool of `--concurrency` workers, each `POST /1/aspects` per item — with no checkpoints, no retries, no
 * typed errors. Records memory as `bulk-ours` does.
 */
import { deployment, main, memory, numeric, report, required, stopwatch } from "./common.js"

interface Wire {
  readonly items: ReadonlyArray<{ readonly id: string; readonly content?: Record<string, unknown> }>
  readonly links: ReadonlyArray<{ readonly rel: string; readonly href: string }>
}

main(async () => {
  const { token, url: base } = deployment()
  const schema = required("schema")
  const output = required("output")
  const concurrency = numeric("concurrency")
  const expected = numeric("expected")
  const headers = { authorization: `Bearer ${token}` }
  let atTenth: ReturnType<typeof memory> | undefined
  let done = 0
  // The queue between the page reader and the pool: refilled a page at a time when it runs low.
  const queue: Array<Wire["items"][number]> = []
  let next: URL | undefined = new URL(`${base}/1/aspects?${new URLSearchParams({ schema, limit: "50", "include-content": "true" })}`)
  let reading: Promise<void> | undefined
  const readPage = async () => {
    const url = next!
    const response = await fetch(url, { headers })
    if (response.status !== 200) throw new Error(`GET ${url} -> ${response.status}: ${await response.text()}`)
    const page = JSON.parse(await response.text()) as Wire
    queue.push(...page.items)
    const link = page.links.find((l) => l.rel === "next")
    next = link === undefined ? undefined : new URL(link.href, base)
  }
  const take = async (): Promise<Wire["items"][number] | undefined> => {
    while (queue.length === 0) {
      if (next === undefined && reading === undefined) return undefined
      reading ??= readPage().finally(() => (reading = undefined))
      await reading
    }
    if (queue.length < concurrency && next !== undefined) reading ??= readPage().finally(() => (reading = undefined))
    return queue.shift()
  }
  const worker = async () => {
    for (let item = await take(); item !== undefined; item = await take()) {
      const query = new URLSearchParams({ entity: item.id, schema: output })
      const response = await fetch(`${base}/1/aspects?${query}`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ $schema: output, $entity: item.id, index: item.content?.["index"] ?? null })
      })
      const body = await response.text()
      if (response.status !== 200) throw new Error(`POST /1/aspects -> ${response.status}: ${body}`)
      if (++done >= expected / 10 && atTenth === undefined) atTenth = memory()
    }
  }
  const stop = stopwatch()
  await Promise.all(Array.from({ length: concurrency }, worker))
  report({ items: done, failed: 0, ...stop(), atTenth, atEnd: memory() })
})
