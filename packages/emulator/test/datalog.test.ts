/**
 * The Datalog engine of `POST /1/search` on its own: parser, evaluator and the IVCAP facts over a real emulator
 * state (records added as the HTTP handlers add them).
 */
import { describe, expect, it } from "@effect/vitest"
import { Emulator, SeedData } from "@ivcap/emulator"
import * as Effect from "effect/Effect"
import { DatalogError, type Value } from "../src/internal/datalog/ast.js"
import { evaluateSync, type Facts, type Limits, toJson } from "../src/internal/datalog/evaluator.js"
import * as Ivcap from "../src/internal/datalog/ivcap.js"
import { parse } from "../src/internal/datalog/parser.js"
import type { AspectRec } from "../src/internal/model.js"
import type { EmulatorState } from "../src/internal/state.js"

/** Facts from plain tables (no aspects). */
const tables = (t: Record<string, { columns: ReadonlyArray<string>; rows: ReadonlyArray<ReadonlyArray<Value>> }>): Facts => ({
  predicates: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { columns: v.columns, facts: () => v.rows }])),
  aspects: () => []
})

const items = (src: string, facts: Facts, limits?: Limits) => {
  const r = evaluateSync(parse(src), facts, limits)
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, toJson(row[i]!)])))
}

const failure = (f: () => unknown): DatalogError => {
  try {
    f()
  } catch (e) {
    if (e instanceof DatalogError) return e
    throw e
  }
  throw new Error("expected a DatalogError")
}

const state = (): Promise<EmulatorState> => Effect.runPromise(Effect.map(Emulator.make(), (e) => e.internal.state))

let n = 0
const addAspect = (s: EmulatorState, entity: string, schema: string, content: Record<string, unknown>, at = s.aspectTime()): AspectRec => {
  const rec: AspectRec = { seq: s.nextSeq(), id: `urn:ivcap:aspect:test-${++n}`, entity, schema, content, asserter: SeedData.principal, validFrom: at }
  s.addAspect(rec)
  return rec
}

const now = (s: EmulatorState) => Ivcap.facts(s, { t: s.now(), seq: s.seq })

const edges = (pairs: ReadonlyArray<readonly [string, string]>) => tables({ edge: { columns: ["From", "To"], rows: pairs } })

describe("Datalog engine", () => {
  it("runs the spec's example query (POST /1/search) with its :load_aspect paths", async () => {
    const s = await state()
    const order = "urn:ivcap:order:550e8400-e29b-41d4-a716-446655440000"
    addAspect(s, order, "urn:ivcap:schema:order-placed.1", {
      parameters: [{ name: "images", value: "urn:ivcap:collection:c1" }, { name: "threshold", value: "0.5" }]
    })
    addAspect(s, "urn:ivcap:order:other", "urn:ivcap:schema:order-placed.1", { parameters: [{ name: "images", value: "urn:ivcap:collection:c2" }] })
    addAspect(s, "urn:ivcap:collection:c1", "urn:ivcap:schema:artifact-collection.1", {
      collection: "urn:ivcap:collection:c1",
      artifacts: ["urn:ivcap:artifact:a1", "urn:ivcap:artifact:a2"]
    })
    addAspect(s, "urn:ivcap:collection:c2", "urn:ivcap:schema:artifact-collection.1", {
      collection: "urn:ivcap:collection:c2",
      artifacts: ["urn:ivcap:artifact:b1"]
    })
    const spec = `
# Find all the artifacts in the input collection for a specific order
#

# order_parameter(orderID, parameterName, parameterValue)
:load_aspect(/order_parameter, "urn:ivcap:schema:order-placed.1", ["entity", ".parameters[*].name|value"]).
# collection(collectionID, artifactID)
:load_aspect(/collection, "urn:ivcap:schema:artifact-collection.1", [".collection", ".artifacts[*]"]).

query(Artifact) :-
  # The collection ID is the 'image' parameter of the order
  order_parameter("urn:ivcap:order:550e8400-e29b-41d4-a716-446655440000", "images", Collection),
  collection(Collection, Artifact).
`
    expect(items(spec, now(s))).toEqual([{ Artifact: "urn:ivcap:artifact:a1" }, { Artifact: "urn:ivcap:artifact:a2" }])
    // the multi-column path gives one row per parameter, not a cross product
    expect(items(`${spec.split("query(")[0]} :- order_parameter("${order}", Name, Value).`, now(s))).toEqual([
      { Name: "images", Value: "urn:ivcap:collection:c1" },
      { Name: "threshold", Value: "0.5" }
    ])
  })

  it("has every built-in predicate, each over the emulator's records", async () => {
    const s = await state()
    expect(items(`:- ivcap_artifact(Id, Name, MimeType), MimeType = "text/markdown".`, now(s))).toEqual([
      { Id: SeedData.readmeArtifact.id, Name: "README.md", MimeType: "text/markdown" }
    ])
    expect(items(`:- ivcap_service(Id, "${SeedData.helloWorld.name}").`, now(s))).toEqual([{ Id: SeedData.helloWorld.id }])
    expect(items(`:- ivcap_service(_, Name).`, now(s))).toHaveLength((SeedData.services().length + SeedData.toolServices().length))
    expect(items(`:- ivcap_aspect("${SeedData.boundaryArtifact.id}", Schema, Content).`, now(s))).toEqual([
      { Schema: SeedData.boundaryAspect.schema, Content: SeedData.boundaryAspect.content }
    ])
    addAspect(s, "urn:ex:review:1", "urn:ex:schema:review.1", { about: { artifact: SeedData.readmeArtifact.id }, by: "urn:ex:person:al" })
    expect(items(`:- ivcap_aspect_ref(Entity, Schema, "${SeedData.readmeArtifact.id}").`, now(s))).toEqual([
      { Entity: "urn:ex:review:1", Schema: "urn:ex:schema:review.1" }
    ])
    // an order of hello-world placed 10 s ago: succeeded (3 steps of 1 s) with a greeting product
    const orderId = "urn:ivcap:order:test-1"
    s.addOrder({
      seq: s.nextSeq(),
      id: orderId,
      service: SeedData.helloWorld.id,
      account: SeedData.account,
      parameters: [{ name: "msg", value: "datalog" }],
      orderedAt: s.now() - 10_000,
      stepMillis: 1000,
      outcome: "succeeded"
    })
    await Effect.runPromise(Effect.orDie(s.materialiseProducts()))
    expect(items(`:- ivcap_order(Id, Status, "${SeedData.helloWorld.id}").`, now(s))).toEqual([{ Id: orderId, Status: "succeeded" }])
    const produced = items(`:- ivcap_artifact_produced_by(A, "${orderId}"), ivcap_artifact(A, Name, Type).`, now(s))
    expect(produced).toEqual([{ A: expect.stringMatching(/^urn:ivcap:artifact:/), Name: "greeting.txt", Type: "text/plain" }])
    // before the order finished (at-time), it was executing and had no product yet
    const earlier = Ivcap.facts(s, { t: s.now() - 7_500, seq: s.seq })
    expect(items(`:- ivcap_order(Id, Status, _).`, earlier)).toEqual([{ Id: orderId, Status: "executing" }])
    expect(items(`:- ivcap_artifact_produced_by(A, O).`, earlier)).toEqual([])
  })

  it("evaluates a three-level recursive rule (and mutual recursion) bottom-up", () => {
    const facts = edges([["a", "b"], ["b", "c"], ["c", "d"], ["x", "y"]])
    const program = `
      reach(X, Y) :- edge(X, Y).
      reach(X, Z) :- edge(X, Y), reach(Y, Z).
      query(To) :- reach("a", To).`
    expect(items(program, facts)).toEqual([{ To: "b" }, { To: "c" }, { To: "d" }])
    // even/odd distance by mutual recursion
    const parity = `
      odd(X, Y) :- edge(X, Y).
      even(X, Z) :- odd(X, Y), edge(Y, Z).
      odd(X, Z) :- even(X, Y), edge(Y, Z).
      :- even("a", To).`
    expect(items(parity, facts)).toEqual([{ To: "c" }])
  })

  it("terminates on a cycle", () => {
    const facts = edges([["a", "b"], ["b", "c"], ["c", "a"], ["c", "c"]])
    const r = items(`reach(X, Y) :- edge(X, Y). reach(X, Z) :- reach(X, Y), reach(Y, Z). :- reach(X, Y).`, facts)
    expect(r).toHaveLength(9)
  })

  it("allows negation across strata, rejects it through recursion", () => {
    const facts = edges([["a", "b"], ["b", "c"], ["b", "d"]])
    const leaves = `
      node(X) :- edge(X, _).
      node(Y) :- edge(_, Y).
      inner(X) :- edge(X, _).
      leaf(X) :- node(X), !inner(X).
      :- leaf(X).`
    expect(items(leaves, facts)).toEqual([{ X: "c" }, { X: "d" }])
    const e = failure(() => items(`p(X) :- edge(X, _), !q(X). q(X) :- p(X). :- p(X).`, facts))
    expect(e.message).toMatch(/not stratifiable/)
    expect(e.message).toMatch(/^line 1, column 21:/)
  })

  it("compares numbers and strings, binds with =, and has string and JSON built-ins", () => {
    const facts = tables({ item: { columns: ["Name", "Size"], rows: [["a.csv", 10], ["b.csv", 2000], ["c.txt", 3.5]] } })
    expect(items(`:- item(N, S), S > 5, S <= 2000, S != 2000.`, facts)).toEqual([{ N: "a.csv", S: 10 }])
    expect(items(`:- item(N, _), :string:ends_with(N, ".csv"), !:string:starts_with(N, "a").`, facts)).toEqual([{ N: "b.csv" }])
    expect(items(`:- X = "k", item(N, S), :lt(S, 5).`, facts)).toEqual([{ X: "k", N: "c.txt", S: 3.5 }])
    expect(items(`:- :list:member(X, [1, 2, /three]).`, facts)).toEqual([{ X: 1 }, { X: 2 }, { X: "/three" }])
    const json = tables({ doc: { columns: ["C"], rows: [[{ a: { b: 1 } }], [{ a: 2 }]] } })
    expect(items(`:- doc(C), :match_field(C, /a, A), :match_field(A, "b", B).`, json)).toEqual([{ C: { a: { b: 1 } }, A: { b: 1 }, B: 1 }])
  })

  it("reports a syntax error with its line and column", () => {
    const e = failure(() => parse(`query(X) :-\n  ivcap_artifact(X, _, _)\n  ivcap_service(X, _).`))
    expect(e.kind).toBe("syntax")
    expect(e.pos).toEqual({ line: 3, column: 3 })
    expect(e.message).toBe("line 3, column 3: expected ',' or '.' (the end of the rule) but found 'ivcap_service'")
    expect(failure(() => parse(`:- p("unterminated).`)).message).toMatch(/^line 1, column 6: unterminated string/)
    expect(failure(() => parse(`:- p(X) |> do fn:count().`)).message).toMatch(/^line 1, column 9: transforms/)
  })

  it("rejects unknown predicates, wrong arities and unsafe rules with positions", () => {
    const facts = edges([["a", "b"]])
    expect(failure(() => items(`:- edges(X, Y).`, facts)).message).toMatch(/^line 1, column 4: unknown predicate edges \(known: edge\(From, To\)/)
    expect(failure(() => items(`:- edge(X).`, facts)).message).toMatch(/edge has 1 argument\(s\) here but 2/)
    expect(failure(() => items(`p(X, Y) :- edge(X, _).\n:- p(A, B).`, facts)).message).toMatch(/variable Y of the head of p is not bound/)
    expect(failure(() => items(`:- edge(X, _), !edge(Y, X).`, facts)).message).toMatch(/variable Y is not bound/)
    expect(failure(() => items(`p(X) :- edge(X, _).`, facts)).message).toMatch(/has no query/)
  })

  it("honours at-time: the past state of an updated aspect", async () => {
    const s = await state()
    const t0 = s.aspectTime()
    const first = addAspect(s, "urn:ex:doc:1", "urn:ex:schema:status.1", { status: "draft" }, t0)
    s.retractAspect(first, t0 + 1000, SeedData.principal)
    addAspect(s, "urn:ex:doc:1", "urn:ex:schema:status.1", { status: "final" }, t0 + 1000)
    const q = `:load_aspect(/status, "urn:ex:schema:status.1", ["entity", ".status", "valid-from"]).\n:- status(E, S, _).`
    const at = (t: number) => items(q, Ivcap.facts(s, { t, seq: s.seq }))
    expect(at(t0 + 500)).toEqual([{ E: "urn:ex:doc:1", S: "draft" }])
    expect(at(t0 + 1500)).toEqual([{ E: "urn:ex:doc:1", S: "final" }])
    expect(at(t0 - 1)).toEqual([])
    // a `%` wildcard in the schema, and record fields as columns
    addAspect(s, "urn:ex:doc:2", "urn:ex:schema:status.2", { status: "new" }, t0 + 2000)
    const wild = `:load_aspect(/st, "urn:ex:schema:status.%", ["entity", "schema", ".status"]).\n:- st(E, Schema, S).`
    expect(items(wild, Ivcap.facts(s, { t: t0 + 2500, seq: s.seq }))).toEqual([
      { E: "urn:ex:doc:1", Schema: "urn:ex:schema:status.1", S: "final" },
      { E: "urn:ex:doc:2", Schema: "urn:ex:schema:status.2", S: "new" }
    ])
  })

  it("stops an exploding query at the fact and time limits", () => {
    const facts = tables({ n: { columns: ["X"], rows: Array.from({ length: 200 }, (_, i) => [i]) } })
    const e = failure(() => items(`:- n(A), n(B), n(C).`, facts, { maxFacts: 100_000, timeoutMillis: 60_000 }))
    expect(e.kind).toBe("limit")
    expect(e.message).toMatch(/more than 100000 facts/)
    const slow = failure(() => items(`:- n(A), n(B), n(C), n(D).`, facts, { maxFacts: 1e9, timeoutMillis: 200 }))
    expect(slow.kind).toBe("limit")
    expect(slow.message).toMatch(/time limit of 200 ms/)
  })
})
