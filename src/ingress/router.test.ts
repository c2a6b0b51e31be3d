import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApiConfig, MatchConfig, RouteConfig } from '../config/schema.ts';
import { JunctionError } from '../core/errors.ts';
import { mediaTypeVersion, Router } from './router.ts';

type Headers = Record<string, string | string[] | undefined>;

function route(name: string, match: MatchConfig): { route: string; config: RouteConfig } {
  return { route: name, config: { name, match, respond: { status: 200 } } as RouteConfig };
}

function router(routes: { route: string; config: RouteConfig }[], apis: Record<string, ApiConfig> = {}) {
  const r = new Router(routes, apis);
  return {
    r,
    name: (method: string, path: string, headers: Headers = {}, host = 'gw.local') =>
      r.match(method, path, host, headers).route,
  };
}

/** The JunctionError a match throws. */
function failure(fn: () => unknown): JunctionError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof JunctionError, `expected a JunctionError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the match to throw');
}

const commerce: ApiConfig = {
  header: 'Api-Version',
  mediaType: 'vnd.commerce',
  pathPrefix: true,
  default: '2',
  versions: { '1': {}, '2': {} },
};

describe('paths', () => {
  test('an exact path matches only itself, not a trailing slash or a longer path', () => {
    const { name, r } = router([route('users', { path: '/users' })]);
    assert.equal(name('GET', '/users'), 'users');
    assert.equal(failure(() => r.match('GET', '/users/', 'h', {})).code, 'route_not_found');
    assert.equal(failure(() => r.match('GET', '/users/1', 'h', {})).code, 'route_not_found');
    assert.equal(failure(() => r.match('GET', '/Users', 'h', {})).code, 'route_not_found');
  });

  test('a parameter captures one segment', () => {
    const { r } = router([route('user', { path: '/users/:id' })]);
    const m = r.match('GET', '/users/42', 'h', {});
    assert.equal(m.route, 'user');
    assert.deepEqual({ ...m.params }, { id: '42' });
    assert.equal(failure(() => r.match('GET', '/users/42/orders', 'h', {})).code, 'route_not_found');
  });

  test('a prefix matches every deeper path and captures the rest', () => {
    const { r } = router([route('files', { path: '/files/*' })]);
    const m = r.match('GET', '/files/a/b/c.txt', 'h', {});
    assert.equal(m.route, 'files');
    assert.equal(m.params['*'], 'a/b/c.txt');
    assert.equal(r.match('GET', '/files/', 'h', {}).route, 'files');
    assert.equal(failure(() => r.match('GET', '/filesystem', 'h', {})).code, 'route_not_found');
  });

  test('static beats parameter beats wildcard, whatever the config order', () => {
    const { name } = router([
      route('wild', { path: '/items/*' }),
      route('param', { path: '/items/:id' }),
      route('static', { path: '/items/new' }),
    ]);
    assert.equal(name('GET', '/items/new'), 'static');
    assert.equal(name('GET', '/items/7'), 'param');
    assert.equal(name('GET', '/items/7/parts'), 'wild');
  });
});

describe('methods', () => {
  test('a method filter lets listed methods through and answers 405 with Allow for the others', () => {
    const { name, r } = router([
      route('read', { path: '/things', methods: ['GET', 'HEAD'] }),
      route('write', { path: '/things', methods: ['POST'] }),
    ]);
    assert.equal(name('GET', '/things'), 'read');
    assert.equal(name('HEAD', '/things'), 'read');
    assert.equal(name('POST', '/things'), 'write');
    const err = failure(() => r.match('DELETE', '/things', 'h', {}));
    assert.equal(err.code, 'method_not_allowed');
    assert.equal(err.status, 405);
    assert.deepEqual(err.headers?.allow?.split(', ').sort(), ['GET', 'HEAD', 'POST']);
  });

  test('a method the router does not know is a 405 too, and an unknown path stays a 404', () => {
    const { r } = router([route('read', { path: '/things', methods: ['GET'] })]);
    const err = failure(() => r.match('PROPFIND', '/things', 'h', {}));
    assert.equal(err.code, 'method_not_allowed');
    assert.equal(err.headers?.allow, 'GET, HEAD');
    assert.equal(failure(() => r.match('DELETE', '/other', 'h', {})).code, 'route_not_found');
  });

  test('a route that answers GET answers HEAD too (RFC 9110 §9.3.2)', () => {
    const { r } = router([route('read', { path: '/things', methods: ['GET'] })]);
    assert.equal(r.match('HEAD', '/things', 'h', {}).route, 'read');
    const { r: postOnly } = router([route('write', { path: '/things', methods: ['POST'] })]);
    assert.equal(failure(() => postOnly.match('HEAD', '/things', 'h', {})).code, 'method_not_allowed');
  });

  test('without a method filter every method matches', () => {
    const { name } = router([route('any', { path: '/any' })]);
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
      assert.equal(name(m, '/any'), 'any');
  });
});

describe('hosts', () => {
  const { name, r } = router([
    route('ported', { path: '/', hosts: ['api.example.com:8443'] }),
    route('api', { path: '/', hosts: ['api.example.com'] }),
    route('tenants', { path: '/', hosts: ['*.example.com'] }),
    route('other', { path: '/' }),
  ]);

  test('an exact host matches case-insensitively and on any port when the pattern has none', () => {
    assert.equal(name('GET', '/', {}, 'api.example.com'), 'api');
    assert.equal(name('GET', '/', {}, 'API.Example.COM'), 'api');
    assert.equal(name('GET', '/', {}, 'api.example.com:8080'), 'api');
  });

  test('a pattern with a port matches only that port', () => {
    assert.equal(name('GET', '/', {}, 'api.example.com:8443'), 'ported');
    assert.equal(name('GET', '/', {}, 'api.example.com:9443'), 'api');
  });

  test('a wildcard matches subdomains at any depth but not the bare domain or a look-alike', () => {
    assert.equal(name('GET', '/', {}, 'acme.example.com'), 'tenants');
    assert.equal(name('GET', '/', {}, 'a.b.example.com:8080'), 'tenants');
    assert.equal(name('GET', '/', {}, 'example.com'), 'other');
    assert.equal(name('GET', '/', {}, 'badexample.com'), 'other');
    assert.equal(name('GET', '/', {}, 'example.com.evil.net'), 'other');
  });

  test('a request whose host no candidate accepts is a 404, not a 405', () => {
    const only = new Router([route('api', { path: '/', hosts: ['api.example.com'] })], {});
    assert.equal(failure(() => only.match('GET', '/', 'www.example.com', {})).code, 'route_not_found');
    void r;
  });
});

describe('headers', () => {
  const { name } = router([
    route('beta', { path: '/h', headers: { 'X-Channel': 'beta' } }),
    route('anonymous', { path: '/h', headers: { authorization: { present: false } } }),
    route('rest', { path: '/h' }),
  ]);

  test('a header value must be equal (names case-insensitive, values case-sensitive)', () => {
    assert.equal(name('GET', '/h', { 'x-channel': 'beta', authorization: 'x' }), 'beta');
    assert.equal(name('GET', '/h', { 'x-channel': 'Beta', authorization: 'x' }), 'rest');
    assert.equal(name('GET', '/h', { 'x-channel': 'stable', authorization: 'x' }), 'rest');
  });

  test('{ present: false } matches only when the header is absent', () => {
    assert.equal(name('GET', '/h', {}), 'anonymous');
    assert.equal(name('GET', '/h', { authorization: 'Bearer t' }), 'rest');
    assert.equal(name('GET', '/h', { authorization: '' }), 'rest');
  });
});

describe('versions', () => {
  const routes = [
    route('v1', { path: '/products/:id', version: { api: 'commerce', is: '1' } }),
    route('v2', { path: '/products/:id', version: { api: 'commerce', is: '2' } }),
  ];
  const { r } = router(routes, { commerce });
  const v = (path: string, headers: Headers = {}) => {
    const m = r.match('GET', path, 'h', headers);
    return { route: m.route, version: m.version, prefix: m.versionPrefix, params: { ...m.params } };
  };

  test('by path prefix, with the prefix reported for stripping', () => {
    assert.deepEqual(v('/v1/products/9'), { route: 'v1', version: '1', prefix: '/v1', params: { id: '9' } });
    assert.deepEqual(v('/v2/products/9'), { route: 'v2', version: '2', prefix: '/v2', params: { id: '9' } });
  });

  test('by header, by media type, and by the default', () => {
    assert.deepEqual(v('/products/9', { 'api-version': '1' }), {
      route: 'v1',
      version: '1',
      prefix: undefined,
      params: { id: '9' },
    });
    assert.equal(v('/products/9', { 'api-version': ' 1 ' }).route, 'v1');
    assert.equal(v('/products/9', { accept: 'application/vnd.commerce.v1+json' }).route, 'v1');
    assert.equal(v('/products/9').route, 'v2');
    assert.equal(v('/products/9').version, '2');
  });

  test('precedence: path over header over media type over default', () => {
    const both = { 'api-version': '2', accept: 'application/vnd.commerce.v2+json' };
    assert.equal(v('/v1/products/9', both).route, 'v1');
    assert.equal(
      v('/products/9', { 'api-version': '1', accept: 'application/vnd.commerce.v2+json' }).route,
      'v1',
    );
    assert.equal(v('/products/9', { accept: 'application/vnd.commerce.v1+json' }).route, 'v1');
    // An empty header names no version: the media type decides.
    assert.equal(
      v('/products/9', { 'api-version': '', accept: 'application/vnd.commerce.v1+json' }).route,
      'v1',
    );
  });

  test('an unknown version is a 400 api_version_unknown that lists the versions', () => {
    for (const headers of [{ 'api-version': '9' }, { accept: 'application/vnd.commerce.v9+json' }]) {
      const err = failure(() => r.match('GET', '/products/9', 'h', headers));
      assert.equal(err.code, 'api_version_unknown');
      assert.equal(err.status, 400);
      assert.deepEqual(err.extensions?.versions, ['1', '2']);
    }
  });

  test('no version and no default is a 400 api_version_required that lists the versions', () => {
    const { default: _, ...noDefault } = commerce;
    const strict = new Router(routes, { commerce: noDefault });
    const err = failure(() => strict.match('GET', '/products/9', 'h', { accept: 'application/json' }));
    assert.equal(err.code, 'api_version_required');
    assert.deepEqual(err.extensions?.versions, ['1', '2']);
    assert.equal(strict.match('GET', '/v1/products/9', 'h', {}).route, 'v1');
  });

  test('with pathPrefix: false the /v<n> paths do not exist', () => {
    const noPrefix = new Router(routes, { commerce: { ...commerce, pathPrefix: false } });
    assert.equal(failure(() => noPrefix.match('GET', '/v1/products/9', 'h', {})).code, 'route_not_found');
    assert.equal(noPrefix.match('GET', '/products/9', 'h', { 'api-version': '1' }).route, 'v1');
  });

  test('two APIs on one path each resolve their own version', () => {
    const apis: Record<string, ApiConfig> = {
      alpha: { header: 'Alpha-Version', pathPrefix: false, versions: { '1': {}, '2': {} } },
      beta: { header: 'Beta-Version', pathPrefix: false, default: '7', versions: { '7': {} } },
    };
    const two = new Router(
      [
        route('alpha', { path: '/shared', version: { api: 'alpha', is: '1' } }),
        route('beta', { path: '/shared', version: { api: 'beta', is: '7' } }),
      ],
      apis,
    );
    assert.equal(two.match('GET', '/shared', 'h', { 'alpha-version': '1' }).route, 'alpha');
    // alpha's version 2 is not beta's version: beta reads its own header.
    assert.equal(
      two.match('GET', '/shared', 'h', { 'alpha-version': '2', 'beta-version': '7' }).route,
      'beta',
    );
    // alpha cannot tell (no header, no default); the next candidate still gets its turn.
    assert.equal(two.match('GET', '/shared', 'h', { 'beta-version': '7' }).route, 'beta');
    assert.equal(two.match('GET', '/shared', 'h', {}).route, 'beta');
    // When no candidate matches, the version error is the answer, not a 404.
    const err = failure(() =>
      two.match('GET', '/shared', 'h', { 'alpha-version': '2', 'beta-version': '8' }),
    );
    assert.equal(err.code, 'api_version_unknown');
  });
});

describe('mediaTypeVersion', () => {
  test('reads the version from a vendor media type among others, with parameters', () => {
    assert.equal(mediaTypeVersion('application/vnd.x.v2+json;q=0.9, */*', 'vnd.x'), '2');
    assert.equal(mediaTypeVersion('text/html, application/vnd.x.v3+json , */*;q=0.1', 'vnd.x'), '3');
    assert.equal(mediaTypeVersion('application/vnd.x.v2', 'vnd.x'), '2');
    assert.equal(mediaTypeVersion('application/vnd.x.v2 ; charset=utf-8', 'vnd.x'), '2');
  });

  test('multi-digit and dotted versions are read whole', () => {
    assert.equal(mediaTypeVersion('application/vnd.x.v10+json', 'vnd.x'), '10');
    assert.equal(mediaTypeVersion('application/vnd.x.v2.1+json', 'vnd.x'), '2.1');
  });

  test('media types are case-insensitive (RFC 9110 §8.3.1)', () => {
    assert.equal(mediaTypeVersion('APPLICATION/VND.X.V2+JSON', 'vnd.x'), '2');
    assert.equal(mediaTypeVersion('Application/Vnd.X.v2+Json', 'vnd.x'), '2');
  });

  test('the preferred range wins and q=0 means "not this one" (RFC 9110 §12.4.2)', () => {
    assert.equal(
      mediaTypeVersion('application/vnd.x.v1+json;q=0.2, application/vnd.x.v2+json;q=0.8', 'vnd.x'),
      '2',
    );
    assert.equal(mediaTypeVersion('application/vnd.x.v1+json;q=0, application/vnd.x.v2+json', 'vnd.x'), '2');
    assert.equal(mediaTypeVersion('application/vnd.x.v1+json;q=0', 'vnd.x'), undefined);
    assert.equal(mediaTypeVersion('application/vnd.x.v1+json, application/vnd.x.v2+json', 'vnd.x'), '1');
  });

  test('other media types and near misses name no version', () => {
    assert.equal(mediaTypeVersion(undefined, 'vnd.x'), undefined);
    assert.equal(mediaTypeVersion('', 'vnd.x'), undefined);
    assert.equal(mediaTypeVersion('application/json, */*', 'vnd.x'), undefined);
    assert.equal(mediaTypeVersion('application/vnd.xy.v2+json', 'vnd.x'), undefined);
    assert.equal(mediaTypeVersion('application/vnd.x.v+json', 'vnd.x'), undefined);
    assert.equal(mediaTypeVersion('text/vnd.x.v2', 'vnd.x'), undefined);
  });
});
