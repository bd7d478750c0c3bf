/**
 * Bottom-up, semi-naive evaluation of a parsed program over the facts a {@link Facts} source gives:
 *
 * 1. Checks: every predicate is known (a rule head, a `:load_aspect` or a built-in) and used with one arity; every
 *    rule is safe (each variable is bound by a positive atom, or by `=`, before a negation, a comparison or the head
 *    needs it); negation only across strata (a predicate never depends negatively on itself through recursion).
 * 2. Strata in dependency order (Tarjan's strongly connected components); inside each, the rules run once on
 *    everything, then again only on the facts the previous round added (semi-naive), until nothing is new — so
 *    recursion over cycles terminates.
 * 3. Joins are nested loops over hash indexes built on demand for the positions a body atom has bound; the body
 *    is planned per rule (filters as soon as their variables are bound, equality with a constant first, then
 *    the atom with the most bound arguments; the new-facts atom first in the semi-naive rounds).
 *
 * Bounded: more than `maxFacts` derived facts, or more than `timeoutMillis`, fail with `DatalogError("limit")`.
 * {@link evaluate} is a generator that yields every few milliseconds so a server can let other requests through.
 */
import { type Atom, type CmpOp, DatalogError, type Literal, Name, type Pos, type Program, type Term, type Value } from "./ast.js"
import { type AspectView, compilePath, type CompiledPath, projectAspect } from "./paths.js"
import { Interner, type Key, Relation, type Tuple } from "./values.js"

/** A built-in predicate backed by the caller's data. */
export interface BuiltinPredicate {
  /** Column names, e.g. `["Id", "Name", "MimeType"]` (the arity). */
  readonly columns: ReadonlyArray<string>
  readonly facts: () => Iterable<ReadonlyArray<Value>>
}

/** Where the facts come from. */
export interface Facts {
  readonly predicates: Readonly<Record<string, BuiltinPredicate>>
  /** The aspects of a schema visible to the query (for `:load_aspect`). */
  readonly aspects: (schema: string) => Iterable<AspectView>
}

/** Bounds of one evaluation. */
export interface Limits {
  readonly maxFacts: number
  readonly timeoutMillis: number
}

/** The default bounds: 2,000,000 derived facts, 10 s. */
export const defaultLimits: Limits = { maxFacts: 2_000_000, timeoutMillis: 10_000 }

/** The answer: one row per distinct solution, sorted, with the column (variable) names. */
export interface QueryResult {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<Value>>
}

// ---------------------------------------------------------------------------------------------------------------
// body built-ins (`:lt(A, B)`, `:string:contains(S, T)`, …)

interface BodyBuiltin {
  readonly arity: number
  /** Positions that must be bound before it runs. */
  readonly inputs: ReadonlyArray<number>
  /** Complete argument rows for the given (partly bound) arguments. */
  readonly run: (args: ReadonlyArray<Value | undefined>) => Array<ReadonlyArray<Value>>
}

const compare = (a: Value, b: Value): number | undefined =>
  typeof a === "number" && typeof b === "number"
    ? a - b
    : typeof a === "string" && typeof b === "string"
    ? (a < b ? -1 : a > b ? 1 : 0)
    : undefined

const cmpTest = (op: CmpOp, a: Value, b: Value): boolean => {
  const c = compare(a, b)
  if (c === undefined) return false
  switch (op) {
    case "<":
      return c < 0
    case "<=":
      return c <= 0
    case ">":
      return c > 0
    case ">=":
      return c >= 0
    default:
      return false
  }
}

const test2 = (f: (a: Value, b: Value) => boolean): BodyBuiltin => ({
  arity: 2,
  inputs: [0, 1],
  run: (args) => (f(args[0]!, args[1]!) ? [args as ReadonlyArray<Value>] : [])
})

const strTest = (f: (s: string, t: string) => boolean) =>
  test2((a, b) => typeof a === "string" && typeof b === "string" && f(a, b))

const fieldOf = (s: Value, k: Value): Value | undefined => {
  if (s === null || typeof s !== "object" || Array.isArray(s) || s instanceof Name) return undefined
  const key = k instanceof Name ? k.name.slice(1) : typeof k === "string" ? k : undefined
  if (key === undefined || !Object.prototype.hasOwnProperty.call(s, key)) return undefined
  const v = (s as Record<string, unknown>)[key]
  return v === null || v === undefined ? undefined : (v as Value)
}

const bodyBuiltins: Record<string, BodyBuiltin> = {
  ":lt": test2((a, b) => cmpTest("<", a, b)),
  ":le": test2((a, b) => cmpTest("<=", a, b)),
  ":gt": test2((a, b) => cmpTest(">", a, b)),
  ":ge": test2((a, b) => cmpTest(">=", a, b)),
  ":string:starts_with": strTest((s, t) => s.startsWith(t)),
  ":string:ends_with": strTest((s, t) => s.endsWith(t)),
  ":string:contains": strTest((s, t) => s.includes(t)),
  ":match_field": {
    arity: 3,
    inputs: [0, 1],
    run: (args) => {
      const v = fieldOf(args[0]!, args[1]!)
      return v === undefined ? [] : [[args[0]!, args[1]!, v]]
    }
  },
  ":list:member": {
    arity: 2,
    inputs: [1],
    run: (args) => {
      const list = args[1]
      if (!Array.isArray(list)) return []
      return (list as ReadonlyArray<unknown>).filter((e) => e !== null && e !== undefined).map((e) => [e as Value, list])
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// compiled rules

/** An argument: a variable slot, a constant id, or `_`. */
type Arg = { readonly v: number } | { readonly c: number } | { readonly w: true }

interface CLit {
  readonly lit: Literal
  /** for atoms and comparisons: their arguments */
  readonly args: ReadonlyArray<Arg>
  /** variable slots used (not `_`) */
  readonly vars: ReadonlyArray<number>
}

interface CRule {
  readonly head: string
  readonly headArgs: ReadonlyArray<Arg>
  readonly body: ReadonlyArray<CLit>
  readonly varNames: ReadonlyArray<string>
  readonly pos: Pos
  readonly plans: Map<number, ReadonlyArray<Step>>
}

type Step =
  | {
    readonly k: "scan"
    readonly pred: string
    readonly delta: boolean
    readonly mask: number
    /** per position: a slot to read the key from (constant or bound variable), or undefined */
    readonly keyArgs: ReadonlyArray<Arg>
    /** [position, slot] of variables bound by this atom */
    readonly binds: ReadonlyArray<readonly [number, number]>
    /** [position, slot] of variables bound earlier in this atom (p(X, X)) */
    readonly checks: ReadonlyArray<readonly [number, number]>
  }
  | { readonly k: "neg"; readonly pred: string; readonly mask: number; readonly keyArgs: ReadonlyArray<Arg> }
  | { readonly k: "cmp"; readonly op: CmpOp; readonly left: Arg; readonly right: Arg }
  | { readonly k: "bind"; readonly slot: number; readonly from: Arg }
  | { readonly k: "builtin"; readonly name: string; readonly args: ReadonlyArray<Arg>; readonly negated: boolean }

const isVar = (a: Arg): a is { v: number } => "v" in a

/** The name of the query predicate made from `:- body.` */
const anonymousQuery = " query"

/** Prepares a program: checks it and compiles its rules. Throws `DatalogError` on a bad program. */
const compile = (program: Program, facts: Facts, interner: Interner) => {
  const arities = new Map<string, { arity: number; pos: Pos; what: string }>()
  const declare = (pred: string, arity: number, pos: Pos, what: string) => {
    const known = arities.get(pred)
    if (known === undefined) arities.set(pred, { arity, pos, what })
    else if (known.arity !== arity) {
      throw new DatalogError(
        "semantic",
        `${pred} has ${arity} argument(s) here but ${known.arity} ${known.what} (line ${known.pos.line}, column ${known.pos.column})`,
        pos
      )
    }
  }

  // loaded predicates
  const loads = new Map<string, Array<{ schema: string; paths: Array<CompiledPath> }>>()
  for (const l of program.loads) {
    if (facts.predicates[l.pred] !== undefined) {
      throw new DatalogError("semantic", `/${l.pred} is a built-in predicate and cannot be loaded`, l.pos)
    }
    const paths = l.paths.map((p) => compilePath(p.path, p.pos))
    declare(l.pred, paths.reduce((n, p) => n + p.columns, 0), l.pos, "where it is loaded")
    const list = loads.get(l.pred) ?? []
    list.push({ schema: l.schema, paths })
    loads.set(l.pred, list)
  }

  // the query
  const queries = program.clauses.filter((c) => c.head === undefined)
  if (queries.length > 1) {
    throw new DatalogError("semantic", `only one ':- …' query per program (another one is at line ${queries[0]!.pos.line})`, queries[1]!.pos)
  }
  const clauses = program.clauses.map((c) => {
    if (c.head !== undefined) return { head: c.head, body: c.body, pos: c.pos }
    const names: Array<string> = []
    const seen = (t: Term) => {
      if (t.kind === "var" && t.name !== "_" && !names.includes(t.name)) names.push(t.name)
    }
    for (const l of c.body) {
      if (l.kind === "atom") l.atom.args.forEach(seen)
      else {
        seen(l.left)
        seen(l.right)
      }
    }
    const head: Atom = { pred: anonymousQuery, args: names.map((name) => ({ kind: "var", name, pos: c.pos })), pos: c.pos }
    return { head, body: c.body, pos: c.pos }
  })
  const idb = new Set(clauses.map((c) => c.head.pred))
  const queryPred = queries.length === 1 ? anonymousQuery : "query"
  if (!idb.has(queryPred)) {
    throw new DatalogError(
      "semantic",
      "the program has no query: end it with ':- body.' (its variables are the result) or define query(…) :- body."
    )
  }
  for (const c of clauses) {
    if (facts.predicates[c.head.pred] !== undefined || loads.has(c.head.pred)) {
      throw new DatalogError("semantic", `${c.head.pred} is ${loads.has(c.head.pred) ? "loaded with :load_aspect" : "a built-in predicate"} and cannot be defined by a rule`, c.head.pos)
    }
    declare(c.head.pred, c.head.args.length, c.head.pos, "in a rule head")
  }
  const known = () =>
    [...Object.entries(facts.predicates).map(([p, b]) => `${p}(${b.columns.join(", ")})`), ...loads.keys(), ...[...idb].filter((p) => p !== anonymousQuery)]
      .join(", ")
  for (const c of clauses) {
    for (const l of c.body) {
      if (l.kind !== "atom") continue
      const a = l.atom
      if (a.pred.startsWith(":")) {
        const b = bodyBuiltins[a.pred]
        if (b === undefined) {
          throw new DatalogError("semantic", `unknown built-in ${a.pred} (supported: ${Object.keys(bodyBuiltins).join(", ")})`, a.pos)
        }
        if (b.arity !== a.args.length) throw new DatalogError("semantic", `${a.pred} takes ${b.arity} arguments, not ${a.args.length}`, a.pos)
        continue
      }
      const builtin = facts.predicates[a.pred]
      if (builtin !== undefined) {
        const arity = builtin.columns.length
        if (a.args.length !== arity) {
          throw new DatalogError("semantic", `${a.pred} has ${a.args.length} argument(s) here but ${arity}: ${a.pred}(${builtin.columns.join(", ")})`, a.pos)
        }
        declare(a.pred, arity, a.pos, "as a built-in")
        continue
      }
      if (!idb.has(a.pred) && !loads.has(a.pred)) {
        throw new DatalogError("semantic", `unknown predicate ${a.pred} (known: ${known()})`, a.pos)
      }
      declare(a.pred, a.args.length, a.pos, "elsewhere")
    }
  }
  for (const [pred, { arity, pos }] of arities) {
    if (arity > 30) throw new DatalogError("semantic", `${pred} has more than 30 arguments`, pos)
  }

  // rules
  const rules: Array<CRule> = clauses.map((c) => {
    const varNames: Array<string> = []
    const arg = (t: Term): Arg => {
      if (t.kind === "const") return { c: interner.id(t.value) }
      if (t.name === "_") return { w: true }
      let i = varNames.indexOf(t.name)
      if (i === -1) {
        varNames.push(t.name)
        i = varNames.length - 1
      }
      return { v: i }
    }
    const body: Array<CLit> = c.body.map((lit) => {
      const args = lit.kind === "atom" ? lit.atom.args.map(arg) : [arg(lit.left), arg(lit.right)]
      return { lit, args, vars: [...new Set(args.filter(isVar).map((a) => a.v))] }
    })
    const headArgs = c.head.args.map(arg)
    for (const [i, a] of headArgs.entries()) {
      if ("w" in a) throw new DatalogError("semantic", `'_' cannot be an argument of the head of ${c.head.pred}`, c.head.args[i]!.pos)
    }
    return { head: c.head.pred, headArgs, body, varNames, pos: c.pos, plans: new Map() }
  })
  for (const r of rules) plan(r, -1, idb)
  return { rules, idb, loads, queryPred, arities, queryClauses: clauses.filter((c) => c.head.pred === queryPred) }
}

/** Orders a rule body into steps (`delta` = index of the literal that reads new facts, -1 for none). */
const plan = (rule: CRule, delta: number, idb: ReadonlySet<string>): ReadonlyArray<Step> => {
  const cached = rule.plans.get(delta)
  if (cached !== undefined) return cached
  const bound = new Set<number>()
  const isBound = (a: Arg) => !isVar(a) || bound.has(a.v)
  const remaining = rule.body.map((_, i) => i)
  const steps: Array<Step> = []
  const keyOf = (args: ReadonlyArray<Arg>) => {
    let mask = 0
    const keyArgs: Array<Arg> = []
    args.forEach((a, i) => {
      if ("w" in a || (isVar(a) && !bound.has(a.v))) return
      mask |= 1 << i
      keyArgs.push(a)
    })
    return { mask, keyArgs }
  }
  const ready = (i: number): boolean => {
    const { lit, args } = rule.body[i]!
    if (lit.kind === "cmp") return lit.op === "=" ? isBound(args[0]!) || isBound(args[1]!) : isBound(args[0]!) && isBound(args[1]!)
    if (lit.atom.pred.startsWith(":")) {
      const b = bodyBuiltins[lit.atom.pred]!
      return lit.negated ? args.every(isBound) : b.inputs.every((p) => isBound(args[p]!))
    }
    if (lit.negated) return args.every(isBound)
    return false
  }
  while (remaining.length > 0) {
    let pick = remaining.find(ready)
    if (pick === undefined) {
      const atoms = remaining.filter((i) => {
        const l = rule.body[i]!.lit
        return l.kind === "atom" && !l.negated && !l.atom.pred.startsWith(":")
      })
      if (atoms.length === 0) {
        const i = remaining[0]!
        const { lit, args } = rule.body[i]!
        const unbound = args.find((a) => isVar(a) && !bound.has(a.v)) as { v: number } | undefined
        const name = unbound === undefined ? "?" : rule.varNames[unbound.v]!
        throw new DatalogError(
          "semantic",
          `variable ${name} is not bound by a positive atom, so this ${lit.kind === "cmp" ? "comparison" : lit.negated ? "negation" : "built-in"} cannot be evaluated (unsafe rule)`,
          lit.pos
        )
      }
      pick = atoms.includes(delta) ? delta : atoms.reduce((best, i) => {
        const score = (j: number) => rule.body[j]!.args.filter((a) => !("w" in a) && isBound(a)).length
        return score(i) > score(best) ? i : best
      }, atoms[0]!)
    }
    remaining.splice(remaining.indexOf(pick), 1)
    const { lit, args } = rule.body[pick]!
    if (lit.kind === "cmp") {
      const [l, r] = args as [Arg, Arg]
      if (lit.op === "=" && !isBound(l)) {
        steps.push({ k: "bind", slot: (l as { v: number }).v, from: r })
        bound.add((l as { v: number }).v)
      } else if (lit.op === "=" && !isBound(r)) {
        steps.push({ k: "bind", slot: (r as { v: number }).v, from: l })
        bound.add((r as { v: number }).v)
      } else {
        steps.push({ k: "cmp", op: lit.op, left: l, right: r })
      }
      continue
    }
    const pred = lit.atom.pred
    if (pred.startsWith(":")) {
      steps.push({ k: "builtin", name: pred, args, negated: lit.negated })
      for (const a of args) if (isVar(a)) bound.add(a.v)
      continue
    }
    if (lit.negated) {
      const { keyArgs, mask } = keyOf(args)
      steps.push({ k: "neg", pred, mask, keyArgs })
      continue
    }
    const { keyArgs, mask } = keyOf(args)
    const binds: Array<readonly [number, number]> = []
    const checks: Array<readonly [number, number]> = []
    args.forEach((a, i) => {
      if (!isVar(a) || (mask & (1 << i)) !== 0) return
      if (bound.has(a.v)) checks.push([i, a.v])
      else {
        binds.push([i, a.v])
        bound.add(a.v)
      }
    })
    steps.push({ k: "scan", pred, delta: pick === delta && idb.has(pred), mask, keyArgs, binds, checks })
  }
  for (const [i, a] of rule.headArgs.entries()) {
    if (isVar(a) && !bound.has(a.v)) {
      throw new DatalogError(
        "semantic",
        `variable ${rule.varNames[a.v]} of the head of ${rule.head === anonymousQuery ? "the query" : rule.head} is not bound by a positive atom of the body (unsafe rule; argument ${i + 1})`,
        rule.pos
      )
    }
  }
  rule.plans.set(delta, steps)
  return steps
}

/** Strongly connected components of the predicate graph, dependencies first (Tarjan). */
const strata = (rules: ReadonlyArray<CRule>, idb: ReadonlySet<string>): Array<Array<string>> => {
  const edges = new Map<string, Set<string>>()
  for (const p of idb) edges.set(p, new Set())
  for (const r of rules) {
    for (const { lit } of r.body) if (lit.kind === "atom" && idb.has(lit.atom.pred)) edges.get(r.head)!.add(lit.atom.pred)
  }
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const on = new Set<string>()
  const out: Array<Array<string>> = []
  let n = 0
  const visit = (v: string) => {
    index.set(v, n)
    low.set(v, n)
    n++
    stack.push(v)
    on.add(v)
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const scc: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      out.push(scc)
    }
  }
  for (const p of idb) if (!index.has(p)) visit(p)
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// evaluation

/**
 * Evaluates a program; yields now and then (every ~10 ms of work) so the caller can let others run. Throws
 * `DatalogError` for a bad program or an exceeded limit.
 */
export function* evaluate(program: Program, facts: Facts, limits: Limits = defaultLimits): Generator<void, QueryResult> {
  const started = Date.now()
  const deadline = started + limits.timeoutMillis
  let lastYield = started
  const interner = new Interner()
  const { arities, idb, loads, queryClauses, queryPred, rules } = compile(program, facts, interner)
  const sccs = strata(rules, idb)
  const sccOf = new Map<string, number>()
  sccs.forEach((scc, i) => scc.forEach((p) => sccOf.set(p, i)))
  for (const r of rules) {
    for (const { lit } of r.body) {
      if (lit.kind === "atom" && lit.negated && sccOf.get(lit.atom.pred) === sccOf.get(r.head) && idb.has(lit.atom.pred)) {
        throw new DatalogError(
          "semantic",
          `the program is not stratifiable: ${r.head === anonymousQuery ? "the query" : r.head} depends on !${lit.atom.pred} through recursion (negation must not be part of a cycle)`,
          lit.pos
        )
      }
    }
  }

  let work = 0
  const checkTime = () => {
    if (Date.now() > deadline) {
      throw new DatalogError("limit", `the query did not finish within the time limit of ${limits.timeoutMillis} ms`)
    }
  }
  let derived = 0
  const full = new Map<string, Relation>()
  const edb = (pred: string): Relation => {
    let rel = full.get(pred)
    if (rel !== undefined) return rel
    rel = new Relation(arities.get(pred)!.arity)
    full.set(pred, rel)
    const add = (row: ReadonlyArray<Value>) => {
      rel!.add(row.map((v) => interner.id(v)))
      if ((++work & 0xfff) === 0) checkTime()
    }
    const builtin = facts.predicates[pred]
    if (builtin !== undefined) {
      for (const row of builtin.facts()) add(row)
    } else {
      for (const l of loads.get(pred) ?? []) {
        for (const a of facts.aspects(l.schema)) for (const row of projectAspect(l.paths, a)) add(row)
      }
    }
    return rel
  }
  for (const r of rules) {
    if (!full.has(r.head)) full.set(r.head, new Relation(r.headArgs.length))
  }
  const relation = (pred: string) => (idb.has(pred) ? full.get(pred)! : edb(pred))

  /** Runs a rule's plan; `deltaRel` is what a `delta` scan reads; calls `emit` per head fact. */
  const run = (rule: CRule, steps: ReadonlyArray<Step>, deltaRel: Relation | undefined, emit: (t: Tuple) => void) => {
    const env: Array<number> = new Array(rule.varNames.length).fill(-1)
    const idOf = (a: Arg): number => ("c" in a ? a.c : env[(a as { v: number }).v]!)
    const keyFor = (keyArgs: ReadonlyArray<Arg>): Key =>
      keyArgs.length === 1
        ? idOf(keyArgs[0]!)
        : keyArgs.length === 2
        ? idOf(keyArgs[0]!) * 67_108_864 + idOf(keyArgs[1]!)
        : keyArgs.map(idOf).join(",")
    const go = (i: number): void => {
      if ((++work & 0xfff) === 0) checkTime()
      if (i === steps.length) {
        emit(rule.headArgs.map(idOf))
        return
      }
      const s = steps[i]!
      switch (s.k) {
        case "scan": {
          const rel = s.delta ? deltaRel! : relation(s.pred)
          const tuples = rel.lookup(s.mask, s.mask === 0 ? 0 : keyFor(s.keyArgs))
          outer: for (let t = 0; t < tuples.length; t++) {
            const tuple = tuples[t]!
            for (const [p, slot] of s.binds) env[slot] = tuple[p]!
            for (const [p, slot] of s.checks) if (env[slot] !== tuple[p]) continue outer
            go(i + 1)
          }
          for (const [, slot] of s.binds) env[slot] = -1
          return
        }
        case "neg": {
          const rel = relation(s.pred)
          if (s.mask === 0 ? rel.size === 0 : rel.lookup(s.mask, keyFor(s.keyArgs)).length === 0) go(i + 1)
          return
        }
        case "cmp": {
          const l = idOf(s.left)
          const r = idOf(s.right)
          const ok = s.op === "=" ? l === r : s.op === "!=" ? l !== r : cmpTest(s.op, interner.value(l), interner.value(r))
          if (ok) go(i + 1)
          return
        }
        case "bind": {
          env[s.slot] = idOf(s.from)
          go(i + 1)
          env[s.slot] = -1
          return
        }
        case "builtin": {
          const b = bodyBuiltins[s.name]!
          const args = s.args.map((a) => ("w" in a ? undefined : idOf(a) === -1 ? undefined : interner.value(idOf(a))))
          const rows = b.run(args)
          if (s.negated) {
            const match = rows.some((row) => row.every((v, p) => args[p] === undefined || interner.id(v) === interner.id(args[p]!)))
            if (!match) go(i + 1)
            return
          }
          const fresh = s.args.map((a, p) => (isVar(a) && args[p] === undefined ? a.v : -1))
          row: for (const row of rows) {
            for (let p = 0; p < row.length; p++) {
              if (args[p] === undefined && fresh[p]! < 0) continue // `_`
              const id = interner.id(row[p]!)
              if (fresh[p]! >= 0) {
                const slot = fresh[p]!
                // the same fresh variable twice (:list:member(X, X) is not useful, but stay correct)
                if (fresh.indexOf(slot) < p && env[slot] !== id) continue row
                env[slot] = id
              } else if (id !== idOf(s.args[p]!)) continue row
            }
            go(i + 1)
          }
          for (const slot of fresh) if (slot >= 0) env[slot] = -1
          return
        }
      }
    }
    go(0)
  }

  const maybeYield = function*() {
    const now = Date.now()
    if (now - lastYield >= 10) {
      checkTime()
      yield
      lastYield = Date.now()
    }
  }

  for (const scc of sccs) {
    const members = new Set(scc)
    const sccRules = rules.filter((r) => members.has(r.head))
    const recursivePositions = (r: CRule) =>
      r.body.flatMap(({ lit }, i) => (lit.kind === "atom" && !lit.negated && members.has(lit.atom.pred) ? [i] : []))
    let pending = new Map<string, Relation>()
    const emitTo = (pred: string) => (t: Tuple) => {
      const rel = full.get(pred)!
      if (rel.has(t)) return
      let p = pending.get(pred)
      if (p === undefined) pending.set(pred, p = new Relation(rel.arity))
      if (p.add(t) && ++derived > limits.maxFacts) {
        throw new DatalogError("limit", `the query derived more than ${limits.maxFacts} facts (the emulator's limit); narrow it down`)
      }
    }
    const flush = (): Map<string, Relation> => {
      const delta = pending
      pending = new Map()
      for (const [pred, rel] of delta) for (const t of rel.tuples) full.get(pred)!.add(t)
      return delta
    }
    for (const r of sccRules) {
      run(r, plan(r, -1, idb), undefined, emitTo(r.head))
      yield* maybeYield()
    }
    let delta = flush()
    const recursive = sccRules.filter((r) => recursivePositions(r).length > 0)
    while (recursive.length > 0 && delta.size > 0) {
      for (const r of recursive) {
        for (const i of recursivePositions(r)) {
          const lit = r.body[i]!.lit as Extract<Literal, { kind: "atom" }>
          const d = delta.get(lit.atom.pred)
          if (d === undefined || d.size === 0) continue
          run(r, plan(r, i, idb), d, emitTo(r.head))
          yield* maybeYield()
        }
      }
      delta = flush()
    }
  }

  // the answer
  const answer = full.get(queryPred)!
  const columns = answer.arity === 0 ? [] : Array.from({ length: answer.arity }, (_, i) => {
    for (const c of queryClauses) {
      const t = c.head.args[i]!
      if (t.kind === "var") return t.name
    }
    return `_${i}`
  })
  const rows = answer.tuples.map((t) => t.map((id) => interner.value(id)))
  rows.sort(compareRows)
  return { columns: dedupeNames(columns), rows }
}

const dedupeNames = (names: ReadonlyArray<string>): Array<string> => {
  const seen = new Map<string, number>()
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1
    seen.set(n, k)
    return k === 1 ? n : `${n}_${k}`
  })
}

const rank = (v: Value): number =>
  typeof v === "number" ? 0 : typeof v === "string" ? 1 : typeof v === "boolean" ? 2 : v instanceof Name ? 3 : 4

const compareValues = (a: Value, b: Value): number => {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (typeof a === "number") return a - (b as number)
  const x = typeof a === "object" && !(a instanceof Name) ? JSON.stringify(a) : String(a)
  const y = typeof b === "object" && !(b instanceof Name) ? JSON.stringify(b) : String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

const compareRows = (a: ReadonlyArray<Value>, b: ReadonlyArray<Value>): number => {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i]!, b[i]!)
    if (c !== 0) return c
  }
  return 0
}

/** Evaluates to the end without yielding (tests, small programs). */
export const evaluateSync = (program: Program, facts: Facts, limits?: Limits): QueryResult => {
  const gen = evaluate(program, facts, limits)
  for (;;) {
    const r = gen.next()
    if (r.done === true) return r.value
  }
}

/** A result value as JSON: names as their text (`/foo`), everything else as it is. */
export const toJson = (v: Value): unknown => (v instanceof Name ? v.name : v)
