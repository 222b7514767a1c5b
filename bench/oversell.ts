/**
 * No oversell under load: 1,000 concurrent single-unit orders, each on its own connection, against
 * one product with 100 in stock, on a listening API process. Exactly 100 must succeed, the rest
 * answer 409 insufficient_stock, and the stock level must show 100 reserved, 0 available.
 */
import autocannon from 'autocannon';
import type { PlatformProcess } from '../apps/api/test/support/cluster';
import { api, benchCluster, openShop } from './checkout';
import { report } from './lib';

const ATTEMPTS = 1_000;
const STOCK = 100;

export async function benchOversell(): Promise<void> {
  const cluster = await benchCluster();
  try {
    const [apiProcess] = cluster.apis as [PlatformProcess];
    const shop = await openShop(apiProcess, 1, STOCK);
    const [productId] = shop.productIds as [string];
    const started = process.hrtime.bigint();
    const result = await autocannon({
      url: `${apiProcess.url}/commerce/orders`,
      method: 'POST',
      headers: { ...shop.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ lines: [{ product_id: productId, quantity: 1 }] }),
      connections: ATTEMPTS,
      amount: ATTEMPTS,
      timeout: 120,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const level = await api<{ on_hand: number; reserved: number; available: number }>(
      apiProcess.url,
      'GET',
      `/commerce/inventory/${productId}`,
      shop.auth,
    );
    const conflicts = result.statusCodeStats?.['409']?.count ?? 0;
    const verdict = `${result['2xx']} placed, ${conflicts} × 409, ${result['5xx']} × 5xx, ${result.errors} errors; stock ${JSON.stringify(level)}`;
    console.log(`oversell       ${verdict}`);
    if (
      result['2xx'] !== STOCK ||
      conflicts !== ATTEMPTS - STOCK ||
      level.reserved !== STOCK ||
      level.available !== 0
    ) {
      throw new Error(`oversell check failed: ${verdict}`);
    }
    report({
      benchmark: 'oversell',
      metric: `orders placed of ${ATTEMPTS} on stock ${STOCK}`,
      value: result['2xx'],
      unit: 'orders',
      goal: `exactly ${STOCK}`,
    });
    report({
      benchmark: 'oversell',
      metric: `${ATTEMPTS} concurrent attempts took`,
      value: seconds,
      unit: 's',
    });
  } finally {
    await cluster.stop();
  }
}
