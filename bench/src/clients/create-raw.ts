/**
 * Reference: the same aspect creations as `create-ours` with plain `fetch` (`POST /1/aspects?entity=&schema=`,
 * JSON body), `--concurrency` requests in flight. Shows how much of the time per request is the SDK's.
 */
import { deployment, main, numeric, report, required, stopwatch } from "./common.js"

main(async () => {
  const { token, url } = deployment()
  const count = numeric("count")
  const concurrency = numeric("concurrency")
  const schema = required("schema")
  const prefix = required("entity-prefix")
  const ids = new Set<string>()
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      const entity = `${prefix}${i}`
      const query = new URLSearchParams({ entity, schema })
      const response = await fetch(`${url}/1/aspects?${query}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ $schema: schema, $entity: entity, index: i, label: `bench aspect ${i}`, tags: ["bench", "create"] })
      })
      const body = await response.text()
      if (response.status !== 200) throw new Error(`POST /1/aspects -> ${response.status}: ${body}`)
      ids.add((JSON.parse(body) as { id: string }).id)
    }
  }
  const stop = stopwatch()
  await Promise.all(Array.from({ length: concurrency }, worker))
  report({ created: ids.size, ...stop() })
})
