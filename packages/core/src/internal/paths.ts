/**
 * The API path of each resource (wire doc §3–§9): the one place a module's requests get their path from.
 * Sub-resources are built from these (`${orders}/${id}/products`).
 */

/** `GET` listing and `GET /{id}` of services (v0.41). */
export const services = "/1/services"

/** `GET` listing and `GET /{id}` of services (v0.44+), and their jobs (`/{service}/jobs…`). */
export const services2 = "/1/services2"

/** Orders: list, place, read, products. */
export const orders = "/1/orders"

/** Artifacts: list, read, create (the tus upload's first step). */
export const artifacts = "/1/artifacts"

/** Aspects: list, add, update, read, retract. */
export const aspects = "/1/aspects"

/** Datalog search. */
export const search = "/1/search"

/** Secrets (v0.44+): set and read (`?secret-name=`); the names at `/list`. */
export const secrets = "/1/secrets"
