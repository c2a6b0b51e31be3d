/**
 * The demo's products service, serving two versions of one resource (API versioning, Q6).
 * v1 is the original shape; v2 renamed `name` to `title`, moved the price to integer minor units with a
 * currency (floats cannot hold cents exactly) and added tags. Both read the same catalog, so the gateway
 * can route `/v1` and `/v2` here side by side while clients migrate.
 */
import http from 'node:http';
import {
  HttpError,
  listen,
  type RouteContext,
  type RunningService,
  router,
  type StartOptions,
  sendJson,
} from './http.ts';

interface Product {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
  tags: string[];
}

export const catalog: readonly Product[] = [
  { id: 'prd_mug', name: 'Junction mug', priceCents: 1250, currency: 'USD', tags: ['kitchen', 'merch'] },
  { id: 'prd_tee', name: 'Gateway T-shirt', priceCents: 2400, currency: 'USD', tags: ['apparel', 'merch'] },
  { id: 'prd_cable', name: 'Patch cable', priceCents: 399, currency: 'USD', tags: ['hardware'] },
];

export const toV1 = (p: Product) => ({ id: p.id, name: p.name, price: p.priceCents / 100 });

export const toV2 = (p: Product) => ({
  id: p.id,
  title: p.name,
  price: { amount: p.priceCents, currency: p.currency },
  tags: [...p.tags],
});

/**
 * Starts the products service.
 * @example
 * const products = await start({ port: 0 });
 * await fetch(`${products.url}/v2/products/prd_mug`); // { id, title, price: { amount: 1250, currency: 'USD' }, tags }
 * await products.close();
 */
export function start(options: StartOptions): Promise<RunningService> {
  const byId = new Map(catalog.map((p) => [p.id, p]));
  const one =
    (shape: (p: Product) => unknown) =>
    ({ res, params }: RouteContext) => {
      const product = byId.get(params.id ?? '');
      if (!product) throw new HttpError(404, 'product_not_found', `no product ${params.id}`);
      sendJson(res, 200, shape(product));
    };
  const list =
    (shape: (p: Product) => unknown) =>
    ({ res }: RouteContext) =>
      sendJson(res, 200, { data: catalog.map(shape) });

  const server = http.createServer(
    router([
      { method: 'GET', path: '/v1/products', handle: list(toV1) },
      { method: 'GET', path: '/v1/products/:id', handle: one(toV1) },
      { method: 'GET', path: '/v2/products', handle: list(toV2) },
      { method: 'GET', path: '/v2/products/:id', handle: one(toV2) },
    ]),
  );
  return listen(server, options);
}
