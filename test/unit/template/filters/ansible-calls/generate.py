#!/usr/bin/python3
"""Asks ansible-core (2.14, Debian's python3) what each filter/test call in calls.txt returns.

Each line of calls.txt is (kind, name, value, [args], {kwargs}) as a Python literal, with the
markers U('x') for an undefined variable x, T(...) for a tuple, F(x) for a float and D((k, v), ...)
for a dict with non-string keys. The result goes to expected.json: the value in a typed encoding
(see ansible-calls.test.ts) or the exception's class and message.

    /usr/bin/python3 test/unit/template/filters/ansible-calls/generate.py

npm test does not run this (nor need Ansible): expected.json is committed.
"""
import datetime
import json
import os
import sys

from ansible.parsing.dataloader import DataLoader
from ansible.template import AnsibleUndefined, Templar
from jinja2.runtime import Undefined

here = os.path.dirname(os.path.abspath(__file__))
env = Templar(loader=DataLoader(), variables={}).environment
ctx = env.context_class(env, {}, 'ansible-calls', {})


def enc(v):
    if isinstance(v, Undefined):
        try:
            str(v)
            return {"undef": ""}
        except Exception as e:
            return {"undef": str(e)}
    if isinstance(v, bool):
        return {"b": v}
    if isinstance(v, float):
        return {"f": repr(v)}
    if isinstance(v, int):
        return {"i": str(v)}
    if isinstance(v, str):
        return {"s": str(v)}
    if isinstance(v, tuple):
        return {"t": [enc(x) for x in v]}
    if isinstance(v, list):
        return {"l": [enc(x) for x in v]}
    if isinstance(v, dict):
        return {"d": [[enc(k), enc(x)] for k, x in v.items()]}
    if v is None:
        return {"n": 1}
    if isinstance(v, datetime.datetime):
        return {"dt": str(v)}
    return {"other": repr(v)}


def dec(v):
    if isinstance(v, dict) and len(v) == 1:
        k, x = next(iter(v.items()))
        if k == 'u':
            return AnsibleUndefined(name=x)
        if k == 't':
            return tuple(dec(i) for i in x)
        if k == 'dk':
            return {dec(a): dec(b) for a, b in x}
        if k == 'f':
            return float(x)
    if isinstance(v, list):
        return [dec(x) for x in v]
    if isinstance(v, dict):
        return {k: dec(x) for k, x in v.items()}
    return v


markers = {
    'U': lambda n: {'u': n},
    'T': lambda *a: {'t': list(a)},
    'F': lambda x: {'f': repr(x)},
    'D': lambda *p: {'dk': [list(x) for x in p]},
}
out = []
with open(os.path.join(here, 'calls.txt')) as f:
    for line in f:
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        kind, name, value, args, kwargs = eval(line, markers)
        try:
            v, a, k = dec(value), [dec(x) for x in args], {kk: dec(x) for kk, x in kwargs.items()}
            r = env.call_filter(name, v, a, k, context=ctx) if kind == 'filter' else env.call_test(name, v, a, k, context=ctx)
            res = {"ok": enc(r)}
        except Exception as e:
            res = {"error": type(e).__name__, "message": str(e).split('\n')[0][:200]}
        out.append({"call": line, "kind": kind, "name": name, "value": value, "args": args, "kwargs": kwargs, "result": res})
with open(os.path.join(here, 'expected.json'), 'w') as f:
    f.write('[\n' + ',\n'.join(json.dumps(c) for c in out) + '\n]\n')
print(len(out), 'calls')
