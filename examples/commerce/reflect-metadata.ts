/**
 * The slice of the Reflect Metadata API (rbuckton/reflect-metadata) that @peculiar/x509's container
 * uses: the library's README asks for a polyfill, and a dependency for four methods that only the
 * demo's and the tests' certificates need is not worth it. Used by examples/commerce/pki.ts and
 * test/helpers/pki.ts.
 */
export function installReflectMetadata(): void {
  type Key = string | symbol;
  const R = Reflect as unknown as Record<string, unknown>;
  if (typeof R.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<Key | undefined, Map<unknown, unknown>>>();
  const own = (target: object, prop: Key | undefined, create: boolean) => {
    let byProp = store.get(target);
    if (!byProp && create) {
      byProp = new Map();
      store.set(target, byProp);
    }
    let map = byProp?.get(prop);
    if (!map && byProp && create) {
      map = new Map();
      byProp.set(prop, map);
    }
    return map;
  };
  const defineMetadata = (key: unknown, value: unknown, target: object, prop?: Key) => {
    own(target, prop, true)!.set(key, value);
  };
  const getOwnMetadata = (key: unknown, target: object, prop?: Key) => own(target, prop, false)?.get(key);
  const getMetadata = (key: unknown, target: object, prop?: Key): unknown => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
      const map = own(t, prop, false);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
  Object.assign(R, {
    defineMetadata,
    getOwnMetadata,
    getMetadata,
    hasMetadata: (key: unknown, target: object, prop?: Key) => getMetadata(key, target, prop) !== undefined,
    metadata: (key: unknown, value: unknown) => (target: object, prop?: Key) =>
      defineMetadata(key, value, target, prop),
  });
}
