/** Paths that belong to the API; every other path is the web app's (its pages and assets). */
export const API_PREFIXES = [
  '/auth',
  '/tenants',
  '/commerce',
  '/api',
  '/webhooks',
  '/health',
  '/graphql',
  '/ws',
  '/metrics',
  '/docs',
  '/openapi.json',
  '/.well-known',
] as const;

export function isApiPath(pathname: string): boolean {
  return API_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(prefix + '/'));
}
