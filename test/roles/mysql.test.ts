import { describe, expect, it } from 'vitest';
import { roleValidator } from '../helpers/roles.ts';

describe('roles/mysql', () => {
  it('rejects bad values', () => {
    const v = roleValidator('mysql');
    expect(v({ mysql_port: 70000 })).toBe(false);
    expect(v({ mysql_app_password: 'short' })).toBe(false);
    expect(v({ mysql_app_client_hosts: ["10.77.0.%'; DROP"] })).toBe(false);
    expect(v({ mysql_server_id: 32, mysql_app_client_hosts: ['10.77.0.%'] })).toBe(true);
  });
});
