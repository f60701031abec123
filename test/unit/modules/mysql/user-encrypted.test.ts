import { describe, expect, it } from 'vitest';
import { wantedHash } from '../../../../src/modules/mysql/mysql_user.ts';
import { nativePasswordHash } from '../../../../src/modules/mysql/sql.ts';

describe("mysql_user encrypted (Ansible's: password is a mysql_native_password hash)", () => {
  it('takes the hash as it is', () => {
    const hash = nativePasswordHash('s3cret-pw');
    expect(wantedHash({ name: 'app', password: hash.toLowerCase(), encrypted: true })?.reveal()).toBe(hash);
  });
  it('hashes a cleartext password without it', () => {
    expect(wantedHash({ name: 'app', password: 's3cret-pw' })?.reveal()).toBe(nativePasswordHash('s3cret-pw'));
  });
  it('refuses a password that is not a hash, and encrypted with password_hash', () => {
    expect(() => wantedHash({ name: 'app', password: 'plain', encrypted: true })).toThrow(
      /password \(encrypted: true\) must be a mysql_native_password hash/,
    );
    expect(() => wantedHash({ name: 'app', password_hash: nativePasswordHash('x'), encrypted: true })).toThrow(/give one of them/);
  });
});
