import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CompatibilityMode, checkCompatibility, describeIssues } from './compat.ts';

const order = {
  type: 'object',
  required: ['id', 'total', 'customer'],
  properties: {
    id: { type: 'string' },
    total: { type: 'integer', minimum: 0 },
    status: { enum: ['open', 'paid'] },
    note: { type: 'string', maxLength: 200 },
    customer: {
      type: 'object',
      required: ['email'],
      properties: { email: { type: 'string', format: 'email' }, name: { type: 'string' } },
    },
    lines: {
      type: 'array',
      items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } },
    },
  },
};

// biome-ignore lint/suspicious/noExplicitAny: the tests edit schema documents freely.
type Doc = any;

/** A deep copy of `order` changed by `edit`. */
function changed(edit: (s: Doc) => void): Record<string, unknown> {
  const copy = structuredClone(order);
  edit(copy);
  return copy;
}

function paths(previous: unknown, next: unknown, mode: CompatibilityMode = 'backward') {
  return checkCompatibility(previous, next, mode).map((i) => `${i.direction} ${i.path}`);
}

describe('backward (default)', () => {
  test('the same schema passes every mode', () => {
    for (const mode of ['backward', 'forward', 'full', 'none'] as const) {
      assert.deepEqual(checkCompatibility(order, structuredClone(order), mode), []);
    }
  });

  test('adding an optional field passes', () => {
    const next = changed((s) => {
      s.properties.currency = { type: 'string' };
    });
    assert.deepEqual(paths(order, next), []);
  });

  test('adding a required field is refused, naming it', () => {
    const next = changed((s) => {
      s.properties.currency = { type: 'string' };
      s.required.push('currency');
    });
    const issues = checkCompatibility(order, next);
    assert.deepEqual(
      issues.map((i) => i.path),
      ['/currency'],
    );
    assert.match(issues[0]!.message, /required by the new version, not by the previous version/);
  });

  test('removing a required field is refused, nested too', () => {
    const top = changed((s) => {
      delete s.properties.total;
      s.required = ['id', 'customer'];
    });
    assert.deepEqual(paths(order, top), ['backward /total']);
    assert.match(
      describeIssues(checkCompatibility(order, top)),
      /\/total \(backward\): required field removed/,
    );
    const nested = changed((s) => {
      delete s.properties.customer.properties.email;
      s.properties.customer.required = [];
    });
    assert.deepEqual(paths(order, nested), ['backward /customer/email']);
    const inItems = changed((s) => {
      s.properties.lines.items.required = [];
    });
    assert.deepEqual(paths(order, inItems), ['backward /lines/*/sku']);
  });

  test('making a required field optional is refused', () => {
    const next = changed((s) => {
      s.required = ['id', 'customer'];
    });
    assert.match(describeIssues(checkCompatibility(order, next)), /\/total .*became optional/);
  });

  test('removing an optional field passes in an open object, not in a closed one', () => {
    const open = changed((s) => {
      delete s.properties.note;
    });
    assert.deepEqual(paths(order, open), []);
    const closed = changed((s) => {
      delete s.properties.note;
      s.additionalProperties = false;
    });
    assert.ok(paths(order, closed).includes('backward /note'));
  });

  test('retyping a field is refused; widening integer to number passes', () => {
    const retyped = changed((s) => {
      s.properties.total = { type: 'string' };
    });
    const issues = checkCompatibility(order, retyped);
    assert.deepEqual(
      issues.map((i) => i.path),
      ['/total'],
    );
    assert.match(issues[0]!.message, /previous version allows type integer, the new version only string/);
    const widened = changed((s) => {
      s.properties.total = { type: 'number', minimum: 0 };
    });
    assert.deepEqual(paths(order, widened), []);
    const nullable = changed((s) => {
      s.properties.id = { type: ['string', 'null'] };
    });
    assert.deepEqual(paths(order, nullable), []);
  });

  test('a nested field retyped is reported at its path', () => {
    const next = changed((s) => {
      s.properties.customer.properties.name = { type: 'integer' };
    });
    assert.deepEqual(paths(order, next), ['backward /customer/name']);
  });

  test('narrowing an enum is refused, widening passes', () => {
    const narrowed = changed((s) => {
      s.properties.status = { enum: ['open'] };
    });
    const issues = checkCompatibility(order, narrowed);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, /"paid"/);
    const widened = changed((s) => {
      s.properties.status = { enum: ['open', 'paid', 'refunded'] };
    });
    assert.deepEqual(paths(order, widened), []);
    const restricted = changed((s) => {
      s.properties.note = { type: 'string', enum: ['a'] };
    });
    assert.deepEqual(paths(order, restricted), ['backward /note']);
  });

  test('tightening bounds is refused, loosening passes', () => {
    const tighter = changed((s) => {
      s.properties.note.maxLength = 100;
      s.properties.total.minimum = 1;
    });
    assert.deepEqual(paths(order, tighter).sort(), ['backward /note', 'backward /total']);
    const looser = changed((s) => {
      s.properties.note.maxLength = 1000;
      delete s.properties.total.minimum;
    });
    assert.deepEqual(paths(order, looser), []);
  });

  test('array items follow the same rules', () => {
    const next = changed((s) => {
      s.properties.lines.items.properties.sku = { type: 'integer' };
    });
    assert.deepEqual(paths(order, next), ['backward /lines/*/sku']);
    const minItems = changed((s) => {
      s.properties.lines.minItems = 1;
    });
    assert.deepEqual(paths(order, minItems), ['backward /lines']);
  });

  test('closing additionalProperties is refused; a new format or pattern too', () => {
    const closed = changed((s) => {
      s.additionalProperties = false;
    });
    assert.deepEqual(paths(order, closed), ['backward ']);
    const pattern = changed((s) => {
      s.properties.id.pattern = '^ord_';
    });
    assert.deepEqual(paths(order, pattern), ['backward /id']);
  });

  test('a keyword it cannot reason about must stay identical', () => {
    const withAnyOf = changed((s) => {
      s.properties.note = { anyOf: [{ type: 'string' }, { type: 'null' }] };
    });
    assert.deepEqual(paths(withAnyOf, structuredClone(withAnyOf)), []);
    const next = structuredClone(withAnyOf) as Doc;
    next.properties.note.anyOf.push({ type: 'integer' });
    const issues = checkCompatibility(withAnyOf, next);
    assert.match(issues[0]!.message, /anyOf differs/);
  });

  test('boolean schemas', () => {
    assert.deepEqual(paths(true, true), []);
    assert.deepEqual(paths(false, order), []);
    assert.deepEqual(paths(order, true), ['backward /id', 'backward /total', 'backward /customer']);
    assert.deepEqual(paths(order, true, 'forward'), [
      'forward ',
      'forward /id',
      'forward /total',
      'forward /customer',
    ]);
    assert.equal(paths({ type: 'object' }, false).length, 1);
    assert.throws(() => checkCompatibility([], order), TypeError);
  });
});

describe('forward', () => {
  test('adding an optional field passes in an open object, not in a closed one', () => {
    const next = changed((s) => {
      s.properties.currency = { type: 'string' };
    });
    assert.deepEqual(paths(order, next, 'forward'), []);
    const closedOld = changed((s) => {
      s.additionalProperties = false;
    });
    const closedNew = structuredClone(closedOld) as Doc;
    closedNew.properties.currency = { type: 'string' };
    assert.deepEqual(paths(closedOld, closedNew, 'forward'), ['forward /currency']);
    assert.match(
      checkCompatibility(closedOld, closedNew, 'forward')[0]!.message,
      /previous version does not/,
    );
  });

  test('adding a required field passes; removing one is refused', () => {
    const added = changed((s) => {
      s.properties.currency = { type: 'string' };
      s.required.push('currency');
    });
    assert.deepEqual(paths(order, added, 'forward'), []);
    const removed = changed((s) => {
      s.required = ['id', 'customer'];
    });
    assert.deepEqual(paths(order, removed, 'forward'), ['forward /total']);
  });

  test('widening an enum or a type is refused', () => {
    const enumWide = changed((s) => {
      s.properties.status = { enum: ['open', 'paid', 'refunded'] };
    });
    assert.deepEqual(paths(order, enumWide, 'forward'), ['forward /status']);
    const typeWide = changed((s) => {
      s.properties.total = { type: 'number', minimum: 0 };
    });
    assert.deepEqual(paths(order, typeWide, 'forward'), ['forward /total']);
  });
});

describe('full and none', () => {
  test('full reports both directions', () => {
    const next = changed((s) => {
      s.properties.status = { enum: ['open', 'refunded'] };
    });
    assert.deepEqual(paths(order, next, 'full'), ['backward /status', 'forward /status']);
  });

  test('none allows anything', () => {
    assert.deepEqual(paths(order, { type: 'string' }, 'none'), []);
  });
});
