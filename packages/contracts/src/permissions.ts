/** Roles and the permissions they grant (api-contract.md, "Roles and permissions"); the one table. */
export const PERMISSIONS = [
  'read:products',
  'write:products',
  'read:inventory',
  'write:inventory',
  'read:orders',
  'write:orders',
  'read:payments',
  'write:payments',
  'write:refunds',
  'read:analytics',
  'manage:users',
  'manage:tenant',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'manager', 'staff', 'user'] as const;
export type Role = (typeof ROLES)[number];

const MANAGER: readonly Permission[] = [
  'read:products',
  'write:products',
  'read:inventory',
  'write:inventory',
  'read:orders',
  'write:orders',
  'read:payments',
  'write:payments',
  'write:refunds',
  'read:analytics',
];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: [...MANAGER, 'manage:users', 'manage:tenant'],
  manager: MANAGER,
  staff: [
    'read:products',
    'read:inventory',
    'read:orders',
    'write:orders',
    'read:payments',
    'write:payments',
  ],
  user: ['read:products'],
};

/** The union of the roles' permissions, in the catalogue's order. */
export function permissionsOf(roles: readonly string[]): Permission[] {
  const granted = new Set<Permission>();
  for (const role of roles) {
    for (const permission of ROLE_PERMISSIONS[role as Role] ?? []) granted.add(permission);
  }
  return PERMISSIONS.filter((permission) => granted.has(permission));
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
