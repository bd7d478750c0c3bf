/**
 * The abstract syntax of the Mangle subset the emulator evaluates (see parser.ts for the grammar), and the values
 * facts are made of.
 */

/** A position in the query text (1-based). */
export interface Pos {
  readonly line: number
  readonly column: number
}

/** A Mangle name constant such as `/teaching` (distinct from every string). */
export class Name {
  constructor(readonly name: string) {}
  toString(): string {
    return this.name
  }
}

/**
 * A value of a fact: a string, a number, a boolean (`/true`, `/false`; JSON booleans of aspect content), a name,
 * or a JSON array or object (aspect content), compared structurally.
 */
export type Value = string | number | boolean | Name | ReadonlyArray<unknown> | { readonly [k: string]: unknown }

/** A term of a clause. */
export type Term =
  | { readonly kind: "var"; readonly name: string; readonly pos: Pos }
  | { readonly kind: "const"; readonly value: Value; readonly pos: Pos }

/** `pred(args…)`. */
export interface Atom {
  readonly pred: string
  readonly args: ReadonlyArray<Term>
  readonly pos: Pos
}

/** The comparison operators of a body. */
export type CmpOp = "=" | "!=" | "<" | "<=" | ">" | ">="

/** A body literal: an atom (maybe negated with `!`) or a comparison. */
export type Literal =
  | { readonly kind: "atom"; readonly atom: Atom; readonly negated: boolean; readonly pos: Pos }
  | { readonly kind: "cmp"; readonly op: CmpOp; readonly left: Term; readonly right: Term; readonly pos: Pos }

/** `head :- body.`, a fact `head.`, or (no head) the query `:- body.` */
export interface Clause {
  readonly head: Atom | undefined
  readonly body: ReadonlyArray<Literal>
  readonly pos: Pos
}

/** `:load_aspect(/name, "schema", ["path", …]).` */
export interface LoadAspect {
  readonly pred: string
  readonly schema: string
  readonly paths: ReadonlyArray<{ readonly path: string; readonly pos: Pos }>
  readonly pos: Pos
}

/** A parsed program. */
export interface Program {
  readonly clauses: ReadonlyArray<Clause>
  readonly loads: ReadonlyArray<LoadAspect>
}

/** An error in a query, with where it is. */
export class DatalogError extends Error {
  constructor(readonly kind: "syntax" | "semantic" | "limit", message: string, readonly pos?: Pos) {
    super(pos === undefined ? message : `line ${pos.line}, column ${pos.column}: ${message}`)
  }
}
