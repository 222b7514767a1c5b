import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app';
import { registerTenant, type TestTenant } from './support/auth';
import { arbitraryFor, type JsonSchema } from './support/schema-arbitrary';
import { serviceAvailable } from './support/services';

/**
 * Property-based requests generated from the OpenAPI document against every route, with valid,
 * invalid and missing tokens and with another tenant's ids: never a 5xx, every error is
 * problem+json, and no answer to tenant A ever carries tenant B's data.
 */
const postgresUp = await serviceAvailable('postgres');
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const CONCURRENCY = 6;
const CHUNK = 300;

interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: string; required?: boolean; schema: JsonSchema }[];
  body?: JsonSchema;
}

const SKIPPED = [/^\/ws$/, /^\/docs/, /^\/openapi\.json$/];

function operationsOf(document: {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Operation['parameters'];
        requestBody?: { content?: Record<string, { schema: JsonSchema }> };
      }
    >
  >;
}): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    if (SKIPPED.some((pattern) => pattern.test(path))) continue;
    for (const [method, operation] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const body = operation.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        ...(body ? { body } : {}),
      });
    }
  }
  return operations;
}

const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** The JSON body of an answer, or null for other content (metrics text, NDJSON exports). */
function jsonOf(response: { headers: Record<string, unknown>; body: string }): unknown {
  const header = response.headers['content-type'];
  const type = typeof header === 'string' ? header : '';
  return /application\/(problem\+)?json/.test(type) && response.body ? JSON.parse(response.body) : null;
}

/** Every id-looking string in a JSON value. */
function idsIn(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const match of value.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi))
      into.add(match[0].toLowerCase());
  } else if (Array.isArray(value)) value.forEach((item) => idsIn(item, into));
  else if (value && typeof value === 'object') Object.values(value).forEach((item) => idsIn(item, into));
  return into;
}

describe.runIf(postgresUp)('fuzzing every route from the OpenAPI document', () => {
  let testApp: TestApp;
  let tenantA: TestTenant;
  let tenantB: TestTenant;
  let operations: Operation[];
  const idsOfB = new Set<string>();
  const idsOfA = new Set<string>();

  beforeAll(async () => {
    testApp = await createTestApp({
      env: {
        RATE_LIMIT_USER_PER_MINUTE: '1000000',
        RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
        RATE_LIMIT_IP_PER_MINUTE: '1000000',
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000000',
        RATE_LIMIT_REGISTER_PER_HOUR: '1000000',
      },
    });
    tenantA = await registerTenant(testApp);
    tenantB = await registerTenant(testApp);
    operations = operationsOf(testApp.app.swagger() as never);
    idsOf(tenantB, idsOfB);
    idsOf(tenantA, idsOfA);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  function idsOf(tenant: TestTenant, into: Set<string>) {
    into.add(tenant.tenant.id.toLowerCase());
    into.add(tenant.user.id.toLowerCase());
  }

  function requestArbitrary(tokens: fc.Arbitrary<string | undefined>, ids: () => string[]) {
    const knownIds = fc.constant(null).chain(() => {
      const pool = ids();
      return pool.length ? fc.constantFrom(...pool) : fc.uuid();
    });
    const pick = { ids: knownIds };
    return fc.constantFrom(...operations).chain((operation) => {
      const pathParams = operation.parameters.filter((parameter) => parameter.in === 'path');
      const queryParams = operation.parameters.filter((parameter) => parameter.in === 'query');
      return fc.record({
        operation: fc.constant(operation),
        token: tokens,
        path: fc.tuple(
          ...pathParams.map((parameter) =>
            fc.oneof(
              { weight: 5, arbitrary: arbitraryFor(parameter.schema, pick) },
              { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
            ),
          ),
        ),
        query: fc.record(
          Object.fromEntries(
            queryParams.map((parameter) => [parameter.name, arbitraryFor(parameter.schema, pick)]),
          ),
          {
            requiredKeys: [],
          },
        ),
        body: operation.body
          ? fc.oneof(
              { weight: 4, arbitrary: arbitraryFor(operation.body, pick) },
              { weight: 1, arbitrary: fc.jsonValue() },
            )
          : fc.constant(undefined),
      });
    });
  }

  async function send(request: {
    operation: Operation;
    token: string | undefined;
    path: unknown[];
    query: Record<string, unknown>;
    body: unknown;
  }) {
    let index = 0;
    const url = request.operation.path.replace(/\{[^}]+\}/g, () =>
      // A lone surrogate cannot be put in a URL (URLSearchParams makes it U+FFFD, as here).
      encodeURIComponent(asText(request.path[index++] ?? 'x').replace(/[\uD800-\uDFFF]/gu, '\uFFFD')),
    );
    const query = new URLSearchParams(
      Object.entries(request.query).map(([name, value]): [string, string] => [
        name,
        typeof value === 'string' ? value : JSON.stringify(value),
      ]),
    ).toString();
    return testApp.app.inject({
      method: request.operation.method as 'GET',
      url: query ? `${url}?${query}` : url,
      headers: {
        ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(request.body === undefined ? {} : { payload: JSON.stringify(request.body) }),
    });
  }

  function checkAnswer(response: Awaited<ReturnType<typeof send>>, label: string) {
    expect(
      response.statusCode,
      `${label} answered ${response.statusCode}: ${response.body.slice(0, 300)}`,
    ).toBeLessThan(500);
    const type = response.headers['content-type'];
    const graphql = / \/graphql /.test(label) && /^application\/json/.test(String(type));
    // GraphQL answers errors inside a 200 too: none may be an internal one.
    if (graphql) expect(response.body, label).not.toContain('"internal_error"');
    if (response.statusCode < 400) return;
    // GraphQL speaks GraphQL over HTTP: a refused query is an `errors` array.
    if (graphql) {
      const errors = response.json().errors as { extensions?: { code?: string } }[];
      expect(errors.length, label).toBeGreaterThan(0);
      return;
    }
    expect(type, label).toMatch(/^application\/problem\+json/);
    expect(typeof response.json().code, label).toBe('string');
  }

  /**
   * Sends `count` generated requests, several at a time (as clients do), in chunks so that ids
   * created by earlier answers feed later requests. Failures are collected, not thrown mid-flight.
   */
  async function fuzz<T>(
    arbitrary: () => fc.Arbitrary<T>,
    count: number,
    handle: (request: T) => Promise<void>,
  ) {
    for (let done = 0; done < count; done += CHUNK) {
      const requests = fc.sample(arbitrary(), Math.min(CHUNK, count - done));
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < requests.length) await handle(requests[next++]!);
        }),
      );
    }
  }

  it(`${RUNS} requests: no 5xx, problem+json errors, no other tenant's data`, async () => {
    expect(operations.length).toBeGreaterThan(5);
    const failures: string[] = [];
    const check = (response: Awaited<ReturnType<typeof send>>, label: string) => {
      try {
        checkAnswer(response, label);
      } catch (error) {
        failures.push((error as Error).message);
      }
    };
    // Tenant B's own traffic first, to create rows whose ids tenant A then probes.
    const asB = Math.floor(RUNS * 0.3);
    await fuzz(
      () => requestArbitrary(fc.constant(tenantB.accessToken), () => [...idsOfB]),
      asB,
      async (request) => {
        const response = await send(request);
        check(response, `${request.operation.method} ${request.operation.path} as B`);
        if (response.statusCode < 300) idsIn(jsonOf(response), idsOfB);
      },
    );
    for (const id of idsOfA) idsOfB.delete(id);
    const tokens = fc.oneof(
      { weight: 6, arbitrary: fc.constant<string | undefined>(tenantA.accessToken) },
      { weight: 1, arbitrary: fc.constant<string | undefined>(undefined) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      { weight: 1, arbitrary: fc.constant(tenantA.accessToken.slice(0, -4) + 'AAAA') },
      { weight: 1, arbitrary: fc.constant('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.') },
    );
    const leaks: string[] = [];
    await fuzz(
      () => requestArbitrary(tokens, () => [...idsOfB, ...idsOfA]),
      RUNS - asB,
      async (request) => {
        const response = await send(request);
        const label = `${request.operation.method} ${request.operation.path} as A`;
        check(response, label);
        if (response.statusCode < 300 && response.body && request.token === tenantA.accessToken) {
          const seen = idsIn(jsonOf(response) ?? response.body);
          const sentIds = idsIn([request.path, request.query, request.body]);
          for (const id of seen) if (idsOfB.has(id) && !sentIds.has(id)) leaks.push(`${label}: ${id}`);
        }
      },
    );
    expect(failures.slice(0, 5), `${failures.length} bad answers`).toEqual([]);
    expect(leaks).toEqual([]);
  }, 600_000);
});
