import { describe, expect, it } from "@effect/vitest"
import { IvcapError } from "@ivcap/core"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

describe("the error union as a value", () => {
  it("tags and isIvcapError come from the one Schema", () => {
    expect([...IvcapError.tags].sort()).toEqual(IvcapError.IvcapError.members.map((m) => m._tag).sort())
    expect(IvcapError.tags.has("AmbiguousRequest")).toBe(true)
    expect(IvcapError.isIvcapError(new IvcapError.PagingError({ url: "http://127.0.0.1/1/services", message: "loop" }))).toBe(true)
    // The right tag on a plain object is not an SDK error, nor is an Error with another tag.
    expect(IvcapError.isIvcapError({ _tag: "ResourceNotFound", id: "x", message: "y" })).toBe(false)
    expect(IvcapError.isIvcapError(Object.assign(new Error("x"), { _tag: "SomethingElse" }))).toBe(false)
  })

  it("errors encode and decode through the union Schema (e.g. across a worker boundary)", () => {
    const limited = new IvcapError.RateLimited({ method: "GET", url: "http://127.0.0.1/1/orders", retryAfter: Option.some(Duration.seconds(3)) })
    const wire = Schema.encodeSync(IvcapError.IvcapError)(limited)
    const back = Schema.decodeUnknownSync(IvcapError.IvcapError)(JSON.parse(JSON.stringify(wire)))
    expect(back).toBeInstanceOf(IvcapError.RateLimited)
    expect(IvcapError.retryAfter(back).pipe(Option.map(Duration.toMillis))).toEqual(Option.some(3000))
    expect(IvcapError.isTransient(back)).toBe(true)
  })

  it("a DecodeError made without a request has no method or URL", () => {
    const e = new IvcapError.DecodeError({ message: "content of aspect x: title: is missing" })
    expect(e.method).toBeUndefined()
    expect(e.url).toBeUndefined()
  })
})
