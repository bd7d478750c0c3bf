/**
 * The former name of {@link NodeTransfer}, which holds downloads as well as uploads: every export is the same
 * value or type.
 *
 * @deprecated Use `NodeTransfer` (same exports). Will be removed in 0.2.
 * @since 0.1.0
 */
export * from "./NodeTransfer.js"
