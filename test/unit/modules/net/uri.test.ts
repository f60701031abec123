import { describe, expect, it } from 'vitest';
import uri, { statusCodes, type UriParams, uriArgs, uriParse, uriPlan, uriProbe } from '../../../../src/modules/net/uri.ts';
import { Secret } from '../../../../src/core/secret/secret.ts';
import { ctx, outsideHeredocs, runProbe, shSyntax } from '../helpers.ts';

const URL = 'http://api.example.org/v1/items';
const state = (over: Partial<ReturnType<typeof uriParse>> = {}) => ({ check: false, destExists: false, ...over });

describe('uri plan', () => {
  it('a GET is a one-shot request that changes nothing predictable', () => {
    const plan = uriPlan({ url: URL }, state());
    expect(plan).toEqual([{ summary: `request GET ${URL}`, action: true, op: { kind: 'request' } }]);
  });

  it('another method may change the server: unpredictable', () => {
    const [c] = uriPlan({ url: URL, method: 'post' }, state());
    expect(c).toMatchObject({
      action: true,
      unpredictable: true,
      summary: `request POST ${URL} (its effect on the server cannot be predicted)`,
    });
  });

  it('dest: a missing file is a download; an existing one depends on the server (304 or not)', () => {
    expect(uriPlan({ url: URL, dest: '/tmp/x' }, state())[0]).toMatchObject({ summary: `download GET ${URL} → /tmp/x` });
    expect(uriPlan({ url: URL, dest: '/tmp/x' }, state())[0]!.unpredictable).toBeUndefined();
    expect(uriPlan({ url: URL, dest: '/tmp/x' }, state({ destExists: true }))[0]!.unpredictable).toBe(true);
  });

  it("creates / removes skip the request with Ansible's stdout", () => {
    const p: UriParams = { url: URL, creates: '/etc/done', removes: '/etc/todo' };
    expect(uriParse('creates=1\nremoves=1\n', p)).toMatchObject({ skip: "skipped, since '/etc/done' exists" });
    expect(uriParse('creates=0\nremoves=0\n', p)).toMatchObject({ skip: "skipped, since '/etc/todo' does not exist" });
    expect(uriPlan(p, uriParse('creates=1\nremoves=1\n', p))).toEqual([]);
    expect(uri.registerData!(p, undefined, uriParse('creates=1\n', p))).toEqual({
      stdout: "skipped, since '/etc/done' exists",
      stdout_lines: ["skipped, since '/etc/done' exists"],
    });
  });

  it("check mode: a GET is not sent (Ansible skips uri), a POST is flagged, the result is Ansible's skip", () => {
    const s = uriParse(uriProbe({ url: URL }, true) === 'echo check=1' ? 'check=1\n' : '', { url: URL });
    expect(s.check).toBe(true);
    expect(uriPlan({ url: URL }, s)).toEqual([]);
    expect(uriPlan({ url: URL, method: 'DELETE' }, s)[0]!.unpredictable).toBe(true);
    expect(uri.registerData!({ url: URL }, undefined, s)).toEqual({
      skipped: true,
      msg: 'remote module (ansible.legacy.uri) does not support check mode',
    });
  });

  it('the summary never shows credentials in the URL', () => {
    const [c] = uriPlan({ url: 'https://bob:hunter2@example.org/x' }, state());
    expect(c!.summary).toBe('request GET https://example.org/x');
  });

  it('status_code: one code, a list, strings of digits', () => {
    expect(statusCodes({ url: URL })).toEqual([200]);
    expect(statusCodes({ url: URL, status_code: 201 })).toEqual([201]);
    expect(statusCodes({ url: URL, status_code: ['200', 204] })).toEqual([200, 204]);
  });

  it('secrets (password, header, body) travel inside the heredoc only, never in argv', () => {
    const p: UriParams = {
      url: URL,
      method: 'POST',
      url_password: new Secret('pw-s3cret', 'vault'),
      headers: { Authorization: new Secret('Bearer tok-s3cret', 'vault') as unknown as string },
      body: new Secret('body-s3cret', 'vault'),
    };
    const script = uri.apply(p, undefined, state(), [{ kind: 'request' }], ctx());
    expect(shSyntax(script)).toBe('');
    const outside = outsideHeredocs(script);
    for (const s of ['pw-s3cret', 'tok-s3cret', 'body-s3cret']) {
      expect(script).not.toContain(s); // base64 in the heredoc, not even in clear there
      expect(outside).not.toContain(s);
    }
    const args = uriArgs(p);
    expect(args).toMatchObject({ url_password: 'pw-s3cret', headers: { Authorization: 'Bearer tok-s3cret' }, body: 'body-s3cret' });
  });

  it('the probe is plain sh and reads only the guard paths', () => {
    const probe = uriProbe({ url: URL, creates: '/nonexistent/x', dest: '/nonexistent/y' }, false);
    expect(shSyntax(probe)).toBe('');
    expect(runProbe(probe).stdout).toBe('creates=0\ndest=0\n');
  });
});
