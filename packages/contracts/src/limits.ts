/**
 * Limits of the API's requests that clients check before sending (api-contract.md). Without
 * runtime dependencies, so that the web app can import them (`@tessera/contracts/limits`).
 */

/** The largest amount in minor units: exact in JSON numbers and in bigint columns. */
export const MAX_MINOR_UNITS = Number.MAX_SAFE_INTEGER;
/** The longest text of a product's fields, in characters. */
export const PRODUCT_TEXT_LIMITS = { sku: 64, name: 200, description: 5000 } as const;
/** The largest quantity of one order line. */
export const MAX_LINE_QUANTITY = 1_000_000;
/** The most lines one order may have. */
export const MAX_ORDER_LINES = 100;
/** The longest period one export covers (orders, payments): a year, leap or not, in days. */
export const MAX_EXPORT_DAYS = 366;
