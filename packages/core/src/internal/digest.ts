/** Short, stable, file-name-safe digests of text (store keys). */

/** 32-bit FNV-1a of the UTF-16 code units, from `basis`: stable across versions (unlike a runtime's hash). */
const fnv1a = (text: string, basis: number): number => {
  let h = basis
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h
}

/** `prefix` + 24 hex digits of `text` (two FNV-1a variants and the length). */
export const digestKey = (prefix: string, text: string): string => {
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0")
  return `${prefix}${hex(fnv1a(text, 0x811c9dc5))}${hex(fnv1a(text, 0x01000193))}${hex(text.length)}`
}
