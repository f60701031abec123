/**
 * Python's pprint.pformat (width 80, indent 1, sorted dict keys), which Jinja2's `pprint` filter
 * returns: the repr when it fits, otherwise one item per line and long strings split into
 * adjacent literals.
 */
import { PyError, PyTuple, pyCompare, pyRepr, strRepr, typeName } from '../jinja/value.ts';
import { codePoints, splitlines } from './py.ts';

const WIDTH = 80;

/** pprint's _safe_key ordering: natural order, else by type name (ids are not stable: refused). */
function safeCompare(a: unknown, b: unknown): number {
  try {
    return pyCompare(a, b);
  } catch (e) {
    if (!(e instanceof PyError) || e.pyType !== 'TypeError') throw e;
    const ta = `<class '${typeName(a)}'>`;
    const tb = `<class '${typeName(b)}'>`;
    if (ta !== tb) return ta < tb ? -1 : 1;
    throw new PyError('NotSupported', `pprint orders these ${typeName(a)} keys by object id in Python; Kiln cannot reproduce that order`);
  }
}

function sortedItems(d: Map<unknown, unknown>): [unknown, unknown][] {
  return [...d].sort((x, y) => safeCompare(x[0], y[0]) || safeCompare(x[1], y[1]));
}

/** pprint's _safe_repr: repr with dict keys sorted, at every depth. */
function safeRepr(v: unknown): string {
  if (v instanceof Map) {
    if (!v.size) return '{}';
    return `{${sortedItems(v)
      .map(([k, x]) => `${safeRepr(k)}: ${safeRepr(x)}`)
      .join(', ')}}`;
  }
  if (v instanceof PyTuple) {
    if (!v.length) return '()';
    return v.length === 1 ? `(${safeRepr(v[0])},)` : `(${v.map(safeRepr).join(', ')})`;
  }
  if (Array.isArray(v)) return v.length ? `[${v.map(safeRepr).join(', ')}]` : '[]';
  return pyRepr(v);
}

export function pformat(v: unknown): string {
  let out = '';
  const write = (s: string) => {
    out += s;
  };

  const format = (obj: unknown, indent: number, allowance: number, level: number): void => {
    const rep = safeRepr(obj);
    const maxWidth = WIDTH - indent - allowance;
    if (codePoints(rep) > maxWidth) {
      if (obj instanceof Map) return pprintDict(obj, indent, allowance, level + 1);
      if (obj instanceof PyTuple) return pprintTuple(obj, indent, allowance, level + 1);
      if (Array.isArray(obj)) return pprintList(obj, indent, allowance, level + 1);
      if (typeof obj === 'string') return pprintStr(obj, indent, allowance, level + 1);
    }
    write(rep);
  };

  const pprintDict = (d: Map<unknown, unknown>, indent: number, allowance: number, level: number) => {
    write('{');
    if (d.size) {
      const items = sortedItems(d);
      const ind = indent + 1;
      const delimnl = `,\n${' '.repeat(ind)}`;
      items.forEach(([k, x], i) => {
        const last = i === items.length - 1;
        const rep = safeRepr(k);
        write(rep);
        write(': ');
        format(x, ind + codePoints(rep) + 2, last ? allowance + 1 : 1, level);
        if (!last) write(delimnl);
      });
    }
    write('}');
  };

  const formatItems = (items: readonly unknown[], indent: number, allowance: number, level: number) => {
    const ind = indent + 1;
    const delimnl = `,\n${' '.repeat(ind)}`;
    items.forEach((x, i) => {
      const last = i === items.length - 1;
      if (i > 0) write(delimnl);
      format(x, ind, last ? allowance : 1, level);
    });
  };

  const pprintList = (l: readonly unknown[], indent: number, allowance: number, level: number) => {
    write('[');
    formatItems(l, indent, allowance + 1, level);
    write(']');
  };

  const pprintTuple = (t: readonly unknown[], indent: number, allowance: number, level: number) => {
    write('(');
    const end = t.length === 1 ? ',)' : ')';
    formatItems(t, indent, allowance + end.length, level);
    write(end);
  };

  const pprintStr = (s: string, indent: number, allowance: number, level: number) => {
    const lines = splitlines(s, true);
    let ind = indent;
    let allow = allowance;
    if (level === 1) {
      ind += 1;
      allow += 1;
    }
    const maxWidth = WIDTH - ind;
    let maxWidth1 = maxWidth;
    const chunks: string[] = [];
    let rep = '';
    lines.forEach((line, i) => {
      rep = strRepr(line);
      if (i === lines.length - 1) maxWidth1 -= allow;
      if (codePoints(rep) <= maxWidth1) {
        chunks.push(rep);
        return;
      }
      const parts = line.match(/\S*\s*/gu)!.filter((p, j, all) => p !== '' || j < all.length - 1);
      let maxWidth2 = maxWidth;
      let current = '';
      parts.forEach((part, j) => {
        const candidate = current + part;
        if (j === parts.length - 1 && i === lines.length - 1) maxWidth2 -= allow;
        if (codePoints(strRepr(candidate)) > maxWidth2) {
          if (current) chunks.push(strRepr(current));
          current = part;
        } else current = candidate;
      });
      if (current) chunks.push(strRepr(current));
    });
    if (chunks.length === 1) {
      write(rep);
      return;
    }
    if (level === 1) write('(');
    chunks.forEach((c, i) => {
      if (i > 0) write(`\n${' '.repeat(ind)}`);
      write(c);
    });
    if (level === 1) write(')');
  };

  format(v, 0, 0, 0);
  return out;
}
