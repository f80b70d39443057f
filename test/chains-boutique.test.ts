// The boutique checkout chain end to end on a real gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { readChainsFile } from '../engine/chains/chains-file.ts';
import { buildFixture, ROOT } from './http-fixtures.ts';

let gw: Gateway;
let url: string;
const post = async (path: string, body: string) => {
  const r = await request(url + path, { method: 'POST', body });
  return { status: r.statusCode, text: await r.body.text() };
};

beforeAll(async () => {
  gw = await createGateway({ token: 'b', threads: 2, logger: silentLogger });
  url = await gw.listen(0);
  const r = await request(`${url}/v1/bundles/boutique`, { method: 'PUT', body: await buildFixture('functions/boutique'), headers: { authorization: 'Bearer b' } });
  expect(r.statusCode, await r.body.text()).toBe(201);
  for (const [route, spec] of Object.entries(readChainsFile(join(ROOT, 'functions/boutique/roam.chains.json')))) gw.registry.putChain(route, spec);
});
afterAll(async () => {
  await gw?.close();
});

describe('boutique chain', () => {
  it('places an order: cart, catalog and currency per item, shipping, payment, email, priced in the chosen currency', async () => {
    const r = await post('/chain/checkout/', 'user=u42\ncurrency=EUR\nitems=OLJCESPC7Z:2,9SIQT8TOJO:1\n');
    expect(r.status, r.text).toBe(200);
    const order = JSON.parse(r.text);
    expect(order).toMatchObject({ user: 'u42', currency: 'EUR' });
    expect(order.items).toEqual([
      { id: 'OLJCESPC7Z', name: 'Sunglasses', quantity: 2, price: '17.68' },
      { id: '9SIQT8TOJO', name: 'Bamboo Glass Jar', quantity: 1, price: '4.85' },
    ]);
    // exact nanos: 2 × 17.6824 + 4.8562 + shipping (5.99 + 3 × 1.50 USD = 10.49 USD = 9.2791 EUR) = 49.5002
    expect(order.shipping).toBe('9.27');
    expect(order.total).toBe('49.50');
    expect(order.tracking).toMatch(/^RM-\d{5}-\d{7}$/);
    expect(order.order).toMatch(/^[0-9a-f]{16}$/);
    expect(order.transaction).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers the same order when every hop is an HTTP request', async () => {
    gw.registry.putChain('checkout-http', { ...gw.registry.chain('checkout')!, hops: 'http' });
    const body = 'user=u42\ncurrency=EUR\nitems=OLJCESPC7Z:2,9SIQT8TOJO:1\n';
    expect((await post('/chain/checkout-http/', body)).text).toBe((await post('/chain/checkout/', body)).text);
  });

  it('refuses a bad card at the payment service with its reason', async () => {
    const r = await post('/chain/checkout/', 'user=u42\ncard=4432-8015-6152-0455\n');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ function: 'payment', message: expect.stringMatching(/card number is invalid/) });
  });

  it('derives a cart for a user who sent none, and refuses a bad request at the frontend', async () => {
    const r = await post('/chain/checkout/', 'user=someone\n');
    expect(JSON.parse(r.text).items.length).toBeGreaterThan(0);
    const bad = await post('/chain/checkout/', 'currency=EUR\n');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ function: 'frontend', message: expect.stringMatching(/user is required/) });
  });

  it('renders the home page: currencies, every product priced in the session currency, cart size, an ad', async () => {
    const page = JSON.parse((await post('/chain/home/', 'user=u1\ncurrency=JPY\n')).text);
    expect(page.products.length).toBe(9);
    expect(page.products[0]).toEqual({ id: 'OLJCESPC7Z', name: 'Sunglasses', price: expect.stringMatching(/^\d+\.\d\d$/) });
    expect(page).toMatchObject({ currency: 'JPY', currencies: 'EUR,USD,JPY,GBP,CAD', cartSize: 3, ad: expect.any(String) });
  });
});
