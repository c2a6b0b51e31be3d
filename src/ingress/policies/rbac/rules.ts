/** The route's role table, compiled once: method → roles, plus the roles allowed any method. */
import type { RbacConfig } from './schema.ts';

export interface RoleTable {
  any: ReadonlySet<string>;
  byMethod: ReadonlyMap<string, ReadonlySet<string>>;
}

export function compileRoles(allow: RbacConfig['allow']): RoleTable {
  const any = new Set<string>();
  const byMethod = new Map<string, Set<string>>();
  const add = (method: string, role: string) => {
    let roles = byMethod.get(method);
    if (roles === undefined) {
      roles = new Set();
      byMethod.set(method, roles);
    }
    roles.add(role);
  };
  for (const [role, methods] of Object.entries(allow)) {
    for (const method of methods) {
      if (method === '*') any.add(role);
      else add(method, role);
      // RFC 9110 §9.3.2: HEAD is GET without the content, so who may GET may HEAD.
      if (method === 'GET') add('HEAD', role);
    }
  }
  return { any, byMethod };
}

/** Whether any of the caller's roles may call the route with this method. */
export function allows(table: RoleTable, method: string, roles: readonly string[]): boolean {
  const named = table.byMethod.get(method);
  for (const role of roles) if (table.any.has(role) || named?.has(role)) return true;
  return false;
}
