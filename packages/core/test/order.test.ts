import { describe, expect, it, layer } from "@effect/vitest"
import { Aspect, Order, Service } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { expectFailure, fresh, layerSuite, requestCount } from "./utils/suite.js"

const rich = SeedData.richService.id
const hello = SeedData.helloWorld.id
const unknownOrder = "urn:ivcap:order:00000000-0000-0000-0000-000000000000"
const asRecord = (u: unknown) => u as Record<string, unknown>

/** Moves the emulator clock a step at a time (bounded), so that orders progress while something polls. */
const driveClock = (steps: number) =>
  Effect.flatMap(Emulator.Emulator, (emulator) =>
    Effect.forEach(Array.from({ length: steps }), () => Effect.zipRight(Effect.sleep("25 millis"), emulator.clock.advance("1 second")), { discard: true }))

/** Quick, bounded polling: every 5 ms, at most 400 times. */
const poll = Schedule.spaced("5 millis").pipe(Schedule.intersect(Schedule.recurs(400)))

/** Valid values for every parameter of the rich service, by the names (and `_` aliases) a caller would use. */
const richValues = {
  region: "Blue Mountains",
  threshold: 10,
  max_iterations: 50,
  "use-satellite": true,
  model: "afdrs",
  boundary: SeedData.boundaryArtifact.id,
  weather_stations: "urn:ivcap:collection:stations-2024",
  "api-version": "2",
  verbose: "true"
} as const

layer(layerSuite())("Order", (it) => {
  it.effect("place sends the service's own names with string values and returns the order", () =>
    Effect.gen(function*() {
      yield* fresh
      const order = yield* Order.place(rich, richValues, { name: "fire risk for the Blue Mountains", tags: ["a", "b"] })
      expect(order.id).toMatch(/^urn:ivcap:order:/)
      expect(order.service).toBe(rich)
      expect(order.status).toBe("pending")
      expect(order.name).toBe("fire risk for the Blue Mountains")
      expect(order.tags).toEqual(["a", "b"])
      // The emulator validates the wire values as strings against the same definitions and echoes them.
      expect(Option.getOrThrow(order.parameter("max-iterations"))).toBe("50")
      expect(Option.getOrThrow(order.parameter("weather-stations"))).toBe("urn:ivcap:collection:stations-2024")
      expect(Option.getOrThrow(order.parameter("threshold"))).toBe("10")
      expect(Option.getOrThrow(order.parameter("use-satellite"))).toBe("true")
      expect(Option.isNone(order.parameter("max_iterations"))).toBe(true)
      expect(yield* requestCount({ method: "POST", path: "/1/orders" })).toBe(1)
      const read = yield* Order.get(order.id)
      expect(read.id).toBe(order.id)
      expect(read.parameters).toEqual(order.parameters)
    }))

  it.effect("a service whose parameter list is empty takes an order with no parameters", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      // The Python client crashes on `parameters: []`; `always-fails` has only an optional parameter server-side.
      yield* emulator.faults.inject(Faults.mapBody((json) => ({ ...asRecord(json), parameters: [] }), {
        match: { method: "GET", path: `/1/services/${SeedData.failingService.id}` }
      }))
      const order = yield* Order.place(SeedData.failingService.id, {})
      expect(order.service).toBe(SeedData.failingService.id)
      expect(yield* requestCount({ method: "POST", path: "/1/orders" })).toBe(1)
    }))

  describe("bad parameters are InvalidParameter before the order is sent", () => {
    const cases: ReadonlyArray<readonly [string, Order.Parameters, string, string]> = [
      ["unknown name", { region: "x", colour: "red" }, "colour", "unknown parameter"],
      ["missing mandatory", { threshold: 3 }, "region", "missing mandatory"],
      ["string given a number", { region: 5 }, "region", "expected a string"],
      ["int given a fraction", { region: "x", "max-iterations": 1.5 }, "max-iterations", "integer"],
      ["int given text", { region: "x", max_iterations: "ten" }, "max-iterations", "integer"],
      ["float given text", { region: "x", threshold: "much" }, "threshold", "number"],
      ["float given NaN", { region: "x", threshold: Number.NaN }, "threshold", "finite"],
      ["bool given yes", { region: "x", "use-satellite": "yes" }, "use-satellite", "boolean"],
      ["bool given 1", { region: "x", use_satellite: 1 }, "use-satellite", "boolean"],
      ["option not listed", { region: "x", model: "other" }, "model", "\"mcarthur\", \"afdrs\", \"grassland\""],
      ["artifact given an order URN", { region: "x", boundary: "urn:ivcap:order:1" }, "boundary", "artifact"],
      ["artifact given ftp", { region: "x", boundary: "ftp://host/x" }, "boundary", "artifact"],
      ["collection not a URN", { region: "x", "weather-stations": "stations" }, "weather-stations", "collection"],
      ["constant changed", { region: "x", "api-version": "3" }, "api-version", "constant"],
      ["name and alias together", { region: "x", "max-iterations": 1, max_iterations: 2 }, "max-iterations", "twice"]
    ]
    for (const [title, values, name, text] of cases) {
      it.effect(title, () =>
        Effect.gen(function*() {
          yield* fresh
          const e = yield* expectFailure(Order.place(rich, values), "InvalidParameter")
          expect(e.name).toBe(name)
          expect(e.message).toContain(text)
          if (!title.startsWith("missing")) expect(e.value).toBeDefined()
          expect(yield* requestCount({ method: "POST" })).toBe(0)
        }))
    }
  })

  it.effect("int and float accept integers and numeric strings; float accepts an int", () =>
    Effect.gen(function*() {
      const defs = yield* Service.parameters(rich)
      const sent = yield* Order.validateParameters(defs, { region: "r", threshold: 7, "max-iterations": "12", model: "grassland", "use-satellite": false })
      expect(sent).toEqual([
        { name: "region", value: "r" },
        { name: "threshold", value: "7" },
        { name: "max-iterations", value: "12" },
        { name: "model", value: "grassland" },
        { name: "use-satellite", value: "false" }
      ])
      const base = { region: "r", threshold: 7, model: "grassland", "use-satellite": false }
      const unsafe = yield* expectFailure(Order.validateParameters(defs, { ...base, "max-iterations": 2 ** 60 }), "InvalidParameter")
      expect(unsafe.message).toContain("safe integer")
      const big = yield* Order.validateParameters(defs, { ...base, "max-iterations": "1152921504606846976" })
      expect(big.find((p) => p.name === "max-iterations")?.value).toBe("1152921504606846976")
    }))

  it.effect("a bad service id or policy is InvalidArgument with zero requests", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* expectFailure(Order.place("urn:ivcap:artifact:1", { msg: "x" }), "InvalidArgument")
      const e = yield* expectFailure(Order.place(hello, { msg: "x" }, { policy: "open" }), "InvalidArgument")
      expect(e.argument).toBe("policy")
      expect(yield* requestCount()).toBe(0)
    }))

  it.effect("the server's 422 is InvalidParameter with its name and value", () =>
    Effect.gen(function*() {
      yield* fresh
      const inactive = yield* Stream.runHead(Service.list({ filter: "status = 'inactive'" }))
      const service = Option.getOrThrow(inactive)
      const e = yield* expectFailure(Order.place(service.id, { area: "Hobart" }), "InvalidParameter")
      expect(e.name).toBe("service")
      expect(e.value).toBe(service.id)
      expect(yield* requestCount({ method: "POST", path: "/1/orders" })).toBe(1)
    }))

  it.effect("an unknown service is ResourceNotFound (from reading its definitions)", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* expectFailure(Order.place("urn:ivcap:service:00000000-0000-0000-0000-000000000000", {}), "ResourceNotFound")
      expect(yield* requestCount({ method: "POST" })).toBe(0)
    }))

  it.effect("a POST answered 503 is sent exactly once and fails with ServiceUnavailable", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(503, { match: { method: "POST", path: "/1/orders" }, times: 5 }))
      const e = yield* expectFailure(Order.place(hello, { msg: "once" }), "ServiceUnavailable")
      expect(e.method).toBe("POST")
      expect(yield* requestCount({ method: "POST", path: "/1/orders" })).toBe(1)
    }).pipe(TestServices.provideLive))

  it.effect("a POST answered 400 is BadRequest with the server's message", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject(Faults.status(400, { match: { method: "POST", path: "/1/orders" }, body: JSON.stringify({ message: "bad order" }) }))
      const e = yield* expectFailure(Order.place(hello, { msg: "x" }), "BadRequest")
      expect(e.message).toBe("bad order")
    }))

  it.effect("list, page, get and status", () =>
    Effect.gen(function*() {
      yield* fresh
      const placed = yield* Effect.forEach(["a", "b", "c"], (msg) => Order.place(hello, { msg }))
      const listed = yield* Stream.runCollect(Order.list({ pageSize: 2 }))
      expect(new Set(Chunk.toReadonlyArray(listed).map((o) => o.id))).toEqual(new Set(placed.map((o) => o.id)))
      expect(yield* requestCount({ method: "GET", path: "/1/orders" })).toBe(2)
      const first = yield* Order.page({ pageSize: 2 })
      expect(first.items.length).toBe(2)
      expect(Option.isSome(first.next)).toBe(true)
      expect(yield* Order.status(placed[0]!.id)).toBe("pending")
      const emulator = yield* Emulator.Emulator
      yield* emulator.clock.advance("10 seconds")
      expect(yield* Order.status(placed[0]!.id)).toBe("succeeded")
      const done = yield* Order.get(placed[1]!.id)
      expect(done.isTerminal).toBe(true)
      expect(Option.isSome(Option.fromNullable(done.finishedAt))).toBe(true)
    }))

  it.effect("get of an unknown order is ResourceNotFound; a malformed id is InvalidArgument", () =>
    Effect.gen(function*() {
      yield* fresh
      const e = yield* expectFailure(Order.get(unknownOrder), "ResourceNotFound")
      expect(e.id).toBe(unknownOrder)
      yield* expectFailure(Order.status("urn:ivcap:service:x"), "InvalidArgument")
      expect(yield* requestCount({ path: /^\/1\/orders\/urn:ivcap:service/ })).toBe(0)
    }))

  it.effect("watch emits each status change in lifecycle order and ends at a terminal status", () =>
    Effect.gen(function*() {
      yield* fresh
      const order = yield* Order.place(hello, { msg: "watch" })
      const clock = yield* Effect.fork(driveClock(12))
      const seen = yield* Stream.runCollect(Order.watch(order.id, { schedule: poll }))
      yield* Fiber.interrupt(clock)
      const statuses = Chunk.toReadonlyArray(seen).map((o) => o.status)
      const lifecycle = ["pending", "scheduled", "executing", "succeeded"]
      expect(statuses[0]).toBe("pending")
      expect(statuses.at(-1)).toBe("succeeded")
      expect(statuses.map((s) => lifecycle.indexOf(s))).toEqual([...statuses.map((s) => lifecycle.indexOf(s))].sort())
      expect(new Set(statuses).size).toBe(statuses.length)
    }).pipe(TestServices.provideLive))

  it.effect("waitFor returns the finished order; products lists what it produced", () =>
    Effect.gen(function*() {
      yield* fresh
      const order = yield* Order.place(hello, { msg: "products" })
      const clock = yield* Effect.fork(driveClock(12))
      const done = yield* Order.waitFor(order.id, { schedule: poll })
      yield* Fiber.interrupt(clock)
      expect(done.status).toBe("succeeded")
      const products = Chunk.toReadonlyArray(yield* Stream.runCollect(Order.products(order.id)))
      expect(products.map((p) => [p.name, p.mimeType])).toEqual([["greeting.txt", "text/plain"]])
      expect(products[0]!.dataHref).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/1\/artifacts\//)
      expect(products[0]!.id).toMatch(/^urn:ivcap:artifact:/)
    }).pipe(TestServices.provideLive))

  it.effect("waitFor a failing service's order ends in failed; until stops earlier", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const order = yield* Order.place(SeedData.failingService.id, {})
      const scheduled = yield* Effect.fork(Order.waitFor(order.id, { schedule: poll, until: ["scheduled", "executing"] }))
      yield* emulator.clock.advance("1 second")
      expect((yield* Fiber.join(scheduled)).status).toBe("scheduled")
      yield* emulator.clock.advance("5 seconds")
      const done = yield* Order.waitFor(order.id, { schedule: poll })
      expect(done.status).toBe("failed")
      expect(Chunk.size(yield* Stream.runCollect(Order.products(order.id)))).toBe(0)
    }).pipe(TestServices.provideLive))

  it.effect("waitFor with a schedule that ends returns the order as last read", () =>
    Effect.gen(function*() {
      yield* fresh
      const order = yield* Order.place(hello, { msg: "slow" })
      const last = yield* Order.waitFor(order.id, { schedule: Schedule.recurs(2) })
      expect(last.status).toBe("pending")
      expect(yield* requestCount({ method: "GET", path: `/1/orders/${order.id}` })).toBe(3)
    }).pipe(TestServices.provideLive))

  it.effect("products follows further pages announced by the embedded list, and reads dataRef as dataHref", () =>
    Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const order = yield* Order.place(hello, { msg: "pages" })
      yield* emulator.clock.advance("10 seconds")
      const path = `/1/orders/${order.id}`
      // The record's embedded list announces a next page; that page names its link `dataRef` (wire doc §3.4).
      yield* emulator.faults.inject(Faults.mapBody((json) => {
        const body = asRecord(json)
        const products = asRecord(body["products"])
        return { ...body, products: { ...products, links: [{ rel: "next", type: "application/json", href: `${path}/products?page=p2` }] } }
      }, { match: { method: "GET", path: new RegExp(`^${path}$`) } }))
      yield* emulator.faults.inject(Faults.mapBody((json) => {
        const body = asRecord(json)
        const items = (body["items"] as Array<Record<string, unknown>>).map(({ "data-href": href, ...rest }) => ({ ...rest, dataRef: href }))
        return { ...body, items }
      }, { match: { method: "GET", path: `${path}/products` } }))
      yield* emulator.requests.reset
      const products = Chunk.toReadonlyArray(yield* Stream.runCollect(Order.products(order.id, { pageSize: 5 })))
      expect(products.length).toBe(2)
      expect(products[1]!.dataHref).toBe(products[0]!.dataHref)
      const log = yield* emulator.requests.log
      const shown = (url: string) => decodeURIComponent(`${new URL(url, "http://x").pathname}${new URL(url, "http://x").search}`)
      expect(log.map((r) => `${r.method} ${shown(r.url)}`)).toEqual([
        `GET ${path}`,
        `GET ${path}/products?page=p2&limit=5`
      ])
      // A cursor resumes at that page, without reading the order record.
      yield* emulator.requests.reset
      const resumed = yield* Order.productPages(order.id, { cursor: "p2" }).pipe(Stream.runHead)
      expect(Option.isSome(resumed)).toBe(true)
      expect((yield* emulator.requests.log).map((r) => `${r.method} ${shown(r.url)}`)).toEqual([`GET ${path}/products?page=p2&limit=50`])
      // Taking only the first product reads the order record only.
      yield* emulator.requests.reset
      yield* Stream.runDrain(Order.products(order.id).pipe(Stream.take(1)))
      expect(yield* requestCount()).toBe(1)
    }))

  it.effect("metadata and addMetadata attach aspects to the order", () =>
    Effect.gen(function*() {
      yield* fresh
      const order = yield* Order.place(hello, { msg: "meta" })
      const id = yield* Order.addMetadata(order.id, { $schema: "urn:example:schema:note.1", note: "first" })
      yield* Order.addMetadata(order.id, { note: "second" }, { schema: "urn:example:schema:other.1" })
      const all = Chunk.toReadonlyArray(yield* Stream.runCollect(Order.metadata(order.id)))
      expect(all.map((a) => a.entity)).toEqual([order.id, order.id])
      const note = all.find((a) => a.id === id)!
      expect(note.content).toEqual({ $schema: "urn:example:schema:note.1", $entity: order.id, note: "first" })
      const only = yield* Stream.runCollect(Order.metadata(order.id, { schema: "urn:example:schema:note%" }))
      expect(Chunk.toReadonlyArray(only).map((a) => a.id)).toEqual([id])
      expect((yield* Aspect.get(id)).entity).toBe(order.id)
    }))

  it.effect("metadata of a malformed order id fails before any request", () =>
    Effect.gen(function*() {
      yield* fresh
      yield* expectFailure(Stream.runDrain(Order.metadata("urn:ivcap:artifact:1")), "InvalidArgument")
      yield* expectFailure(Order.addMetadata("order-1", { $schema: "urn:x:y" }), "InvalidArgument")
      expect(yield* requestCount()).toBe(0)
    }))
})

describe("Order (module surface)", () => {
  it("terminal statuses", () => {
    expect([...Order.terminalStatuses].sort()).toEqual(["error", "failed", "succeeded"])
    expect(Order.isTerminal("executing")).toBe(false)
  })
})
