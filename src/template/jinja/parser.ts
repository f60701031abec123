/**
 * Jinja2's parser (jinja2/parser.py, 3.1), ported method for method: the same grammar and operator
 * precedence, the same statements (no extensions: Ansible enables none, so `break`, `continue`
 * and `do` are unknown tags), the same error messages. Produces the tree of ./nodes.ts.
 */
import { JinjaSyntaxError } from './errors.ts';
import { describeToken, describeTokenExpr, type LexerOptions, type Token, tokenize } from './lexer.ts';
import type { At, BinOpKind, CallArgs, CompareOp, Expr, ExprOf, Keyword, Stmt, StmtOf, TemplateData, TemplateNode } from './nodes.ts';
import { strRepr } from './value.ts';

const STATEMENT_KEYWORDS = new Set([
  'for',
  'if',
  'block',
  'extends',
  'print',
  'macro',
  'include',
  'from',
  'import',
  'set',
  'with',
  'autoescape',
]);
const COMPARE_OPERATORS = new Set(['eq', 'ne', 'lt', 'lteq', 'gt', 'gteq']);
const MATH: Record<string, BinOpKind> = { add: 'add', sub: 'sub', mul: 'mul', div: 'div', floordiv: 'floordiv', mod: 'mod' };

/** Token expressions (`name:endfor`) split once. */
const EXPR_CACHE = new Map<string, [string, string | null]>();

class TokenStream {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  get current(): Token {
    return this.tokens[this.i]!;
  }

  look(): Token {
    return this.tokens[Math.min(this.i + 1, this.tokens.length - 1)]!;
  }

  next(): Token {
    const t = this.current;
    if (t.type !== 'eof') this.i++;
    return t;
  }

  skip(n = 1): void {
    for (let k = 0; k < n; k++) this.next();
  }

  get eos(): boolean {
    return this.current.type === 'eof';
  }

  test(expr: string, t: Token = this.current): boolean {
    if (t.type === expr) return true;
    let split = EXPR_CACHE.get(expr);
    if (!split) {
      const i = expr.indexOf(':');
      split = i >= 0 ? [expr.slice(0, i), expr.slice(i + 1)] : [expr, null];
      EXPR_CACHE.set(expr, split);
    }
    return split[1] !== null && t.type === split[0] && t.value === split[1];
  }

  testAny(exprs: readonly string[], t: Token = this.current): boolean {
    return exprs.some((e) => this.test(e, t));
  }

  nextIf(expr: string): Token | undefined {
    return this.test(expr) ? this.next() : undefined;
  }

  skipIf(expr: string): boolean {
    return this.nextIf(expr) !== undefined;
  }

  expect(expr: string): Token {
    if (!this.test(expr)) {
      const d = describeTokenExpr(expr);
      if (this.current.type === 'eof') throw new JinjaSyntaxError(`unexpected end of template, expected ${strRepr(d)}.`, at(this.current));
      throw new JinjaSyntaxError(`expected token ${strRepr(d)}, got ${strRepr(describeToken(this.current))}`, at(this.current));
    }
    return this.next();
  }
}

function at(t: { line: number; col: number }): At {
  return { line: t.line, col: t.col };
}

export class Parser {
  private readonly stream: TokenStream;
  private readonly tagStack: string[] = [];
  private readonly endTokenStack: string[][] = [];

  /** `state: 'variable'` lexes the source as the inside of `{{ }}` (a bare expression). */
  constructor(source: string, options: LexerOptions, state?: 'variable') {
    this.stream = new TokenStream(tokenize(source, options, state));
  }

  /** The current token's type (a method, so TypeScript does not narrow it across stream moves). */
  private type(): string {
    return this.stream.current.type;
  }

  private fail(msg: string, where: At = at(this.stream.current)): never {
    throw new JinjaSyntaxError(msg, where);
  }

  private failUtEof(name: string | null, endTokenStack: string[][], where: At): never {
    const expected = new Set<string>();
    for (const exprs of endTokenStack) for (const e of exprs) expected.add(describeTokenExpr(e));
    const top = endTokenStack[endTokenStack.length - 1];
    const currentlyLooking = top ? top.map((e) => strRepr(describeTokenExpr(e))).join(' or ') : null;
    const message = [name === null ? 'Unexpected end of template.' : `Encountered unknown tag ${strRepr(name)}.`];
    if (currentlyLooking) {
      if (name !== null && expected.has(name))
        message.push(`You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for ${currentlyLooking}.`);
      else message.push(`Jinja was looking for the following tags: ${currentlyLooking}.`);
    }
    if (this.tagStack.length)
      message.push(`The innermost block that needs to be closed is ${strRepr(this.tagStack[this.tagStack.length - 1]!)}.`);
    this.fail(message.join(' '), where);
  }

  private failEof(endTokens: string[] | null, where: At): never {
    const stack = [...this.endTokenStack];
    if (endTokens) stack.push(endTokens);
    this.failUtEof(null, stack, where);
  }

  private isTupleEnd(extraEndRules?: string[]): boolean {
    const t = this.stream.current.type;
    if (t === 'variable_end' || t === 'block_end' || t === 'rparen') return true;
    return extraEndRules ? this.stream.testAny(extraEndRules) : false;
  }

  parse(): TemplateNode {
    return { body: this.subparse(null) };
  }

  /** Parses a bare expression (a whole source that is one expression, for `evaluate`). */
  parseExpressionOnly(): Expr {
    const e = this.parseTuple();
    if (!this.stream.eos) this.fail(`unexpected ${strRepr(describeToken(this.stream.current))}`);
    return e;
  }

  private parseStatement(): Stmt | Stmt[] {
    const token = this.stream.current;
    if (token.type !== 'name') this.fail('tag name expected', at(token));
    const name = token.value as string;
    this.tagStack.push(name);
    let popTag = true;
    try {
      if (STATEMENT_KEYWORDS.has(name)) {
        switch (name) {
          case 'for':
            return this.parseFor();
          case 'if':
            return this.parseIf();
          case 'block':
            return this.parseBlock();
          case 'extends':
            return this.parseExtends();
          case 'print':
            return this.parsePrint();
          case 'macro':
            return this.parseMacro();
          case 'include':
            return this.parseInclude();
          case 'from':
            return this.parseFrom();
          case 'import':
            return this.parseImport();
          case 'set':
            return this.parseSet();
          case 'with':
            return this.parseWith();
          case 'autoescape':
            return this.parseAutoescape();
        }
      }
      if (name === 'call') return this.parseCallBlock();
      if (name === 'filter') return this.parseFilterBlock();
      this.tagStack.pop();
      popTag = false;
      return this.failUtEof(name, this.endTokenStack, at(token));
    } finally {
      if (popTag) this.tagStack.pop();
    }
  }

  private parseStatements(endTokens: string[], dropNeedle = false): Stmt[] {
    this.stream.skipIf('colon');
    this.stream.expect('block_end');
    const result = this.subparse(endTokens);
    if (this.stream.current.type === 'eof') this.failEof(endTokens, at(this.stream.current));
    if (dropNeedle) this.stream.next();
    return result;
  }

  private parseSet(): Stmt {
    const where = at(this.stream.next());
    const target = this.parseAssignTarget({ withNamespace: true });
    if (this.stream.skipIf('assign')) {
      const node = this.parseTuple();
      return { kind: 'Assign', target, node, line: where.line, col: where.col };
    }
    const filter = this.parseFilter(null);
    const body = this.parseStatements(['name:endset'], true);
    return { kind: 'AssignBlock', target, filter, body, line: where.line, col: where.col };
  }

  private parseFor(): Stmt {
    const where = at(this.stream.expect('name:for'));
    const target = this.parseAssignTarget({ extraEndRules: ['name:in'] });
    this.stream.expect('name:in');
    const iter = this.parseTuple({ withCondexpr: false, extraEndRules: ['name:recursive'] });
    let test: Expr | null = null;
    if (this.stream.skipIf('name:if')) test = this.parseExpression();
    const recursive = this.stream.skipIf('name:recursive');
    const body = this.parseStatements(['name:endfor', 'name:else']);
    let elseBody: Stmt[] = [];
    if (this.stream.next().value !== 'endfor') elseBody = this.parseStatements(['name:endfor'], true);
    return { kind: 'For', target, iter, body, else: elseBody, test, recursive, line: where.line, col: where.col };
  }

  private parseIf(): Stmt {
    const where = at(this.stream.expect('name:if'));
    const result: StmtOf<'If'> = {
      kind: 'If',
      test: null as unknown as Expr,
      body: [],
      elif: [],
      else: [],
      line: where.line,
      col: where.col,
    };
    let node: { test: Expr; body: Stmt[] } = result;
    for (;;) {
      node.test = this.parseTuple({ withCondexpr: false });
      node.body = this.parseStatements(['name:elif', 'name:else', 'name:endif']);
      const token = this.stream.next();
      if (this.stream.test('name:elif', token)) {
        node = { test: null as unknown as Expr, body: [] };
        result.elif.push(node);
        continue;
      }
      if (this.stream.test('name:else', token)) result.else = this.parseStatements(['name:endif'], true);
      break;
    }
    return result;
  }

  private parseWith(): Stmt {
    const where = at(this.stream.next());
    const targets: Expr[] = [];
    const values: Expr[] = [];
    while (this.stream.current.type !== 'block_end') {
      if (targets.length) this.stream.expect('comma');
      const target = this.parseAssignTarget();
      setCtx(target, 'param');
      targets.push(target);
      this.stream.expect('assign');
      values.push(this.parseExpression());
    }
    const body = this.parseStatements(['name:endwith'], true);
    return { kind: 'With', targets, values, body, line: where.line, col: where.col };
  }

  private parseAutoescape(): Stmt {
    const where = at(this.stream.next());
    const value = this.parseExpression();
    const body = this.parseStatements(['name:endautoescape'], true);
    return { kind: 'Autoescape', value, body, line: where.line, col: where.col };
  }

  private parseBlock(): Stmt {
    const where = at(this.stream.next());
    const name = this.stream.expect('name').value as string;
    const scoped = this.stream.skipIf('name:scoped');
    const required = this.stream.skipIf('name:required');
    if (this.stream.current.type === 'sub')
      this.fail('Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.');
    const body = this.parseStatements(['name:endblock'], true);
    if (required && !body.every((s) => s.kind === 'Output' && s.nodes.every((n) => n.kind === 'TemplateData' && /^\s+$/.test(n.data))))
      this.fail('Required blocks can only contain comments or whitespace');
    this.stream.skipIf(`name:${name}`);
    return { kind: 'Block', name, scoped, required, body, line: where.line, col: where.col };
  }

  private parseExtends(): Stmt {
    const where = at(this.stream.next());
    return { kind: 'Extends', template: this.parseExpression(), line: where.line, col: where.col };
  }

  private parseImportContext(dflt: boolean): boolean {
    if (this.stream.testAny(['name:with', 'name:without']) && this.stream.test('name:context', this.stream.look())) {
      const withContext = this.stream.next().value === 'with';
      this.stream.skip();
      return withContext;
    }
    return dflt;
  }

  private parseInclude(): Stmt {
    const where = at(this.stream.next());
    const template = this.parseExpression();
    let ignoreMissing = false;
    if (this.stream.test('name:ignore') && this.stream.test('name:missing', this.stream.look())) {
      ignoreMissing = true;
      this.stream.skip(2);
    }
    return { kind: 'Include', template, ignoreMissing, withContext: this.parseImportContext(true), line: where.line, col: where.col };
  }

  private parseImport(): Stmt {
    const where = at(this.stream.next());
    const template = this.parseExpression();
    this.stream.expect('name:as');
    const target = (this.parseAssignTarget({ nameOnly: true }) as ExprOf<'Name'>).name;
    return { kind: 'Import', template, target, withContext: this.parseImportContext(false), line: where.line, col: where.col };
  }

  private parseFrom(): Stmt {
    const where = at(this.stream.next());
    const template = this.parseExpression();
    this.stream.expect('name:import');
    const names: { name: string; alias: string; at: At }[] = [];
    let withContext: boolean | undefined;
    const parseContext = (): boolean => {
      const v = this.stream.current.value;
      if ((v === 'with' || v === 'without') && this.stream.test('name:context', this.stream.look())) {
        withContext = this.stream.next().value === 'with';
        this.stream.skip();
        return true;
      }
      return false;
    };
    for (;;) {
      if (names.length) this.stream.expect('comma');
      if (this.stream.current.type === 'name') {
        if (parseContext()) break;
        const target = this.parseAssignTarget({ nameOnly: true }) as ExprOf<'Name'>;
        if (target.name.startsWith('_')) this.fail('names starting with an underline can not be imported', at(target));
        if (this.stream.skipIf('name:as')) {
          const alias = this.parseAssignTarget({ nameOnly: true }) as ExprOf<'Name'>;
          names.push({ name: target.name, alias: alias.name, at: at(target) });
        } else names.push({ name: target.name, alias: target.name, at: at(target) });
        if (parseContext() || this.type() !== 'comma') break;
      } else this.stream.expect('name');
    }
    return { kind: 'FromImport', template, names, withContext: withContext ?? false, line: where.line, col: where.col };
  }

  private parseSignature(): { args: string[]; defaults: Expr[] } {
    const args: string[] = [];
    const defaults: Expr[] = [];
    this.stream.expect('lparen');
    while (this.stream.current.type !== 'rparen') {
      if (args.length) this.stream.expect('comma');
      const arg = this.parseAssignTarget({ nameOnly: true }) as ExprOf<'Name'>;
      if (this.stream.skipIf('assign')) defaults.push(this.parseExpression());
      else if (defaults.length) this.fail('non-default argument follows default argument');
      args.push(arg.name);
    }
    this.stream.expect('rparen');
    return { args, defaults };
  }

  private parseCallBlock(): Stmt {
    const where = at(this.stream.next());
    const sig = this.stream.current.type === 'lparen' ? this.parseSignature() : { args: [], defaults: [] };
    const call = this.parseExpression();
    if (call.kind !== 'Call') this.fail('expected call', where);
    const body = this.parseStatements(['name:endcall'], true);
    return { kind: 'CallBlock', call, ...sig, body, line: where.line, col: where.col };
  }

  private parseFilterBlock(): Stmt {
    const where = at(this.stream.next());
    const filter = this.parseFilter(null, true)!;
    const body = this.parseStatements(['name:endfilter'], true);
    return { kind: 'FilterBlock', filter, body, line: where.line, col: where.col };
  }

  private parseMacro(): Stmt {
    const where = at(this.stream.next());
    const name = (this.parseAssignTarget({ nameOnly: true }) as ExprOf<'Name'>).name;
    const sig = this.parseSignature();
    const body = this.parseStatements(['name:endmacro'], true);
    return { kind: 'Macro', name, ...sig, body, line: where.line, col: where.col };
  }

  private parsePrint(): Stmt {
    const where = at(this.stream.next());
    const nodes: Expr[] = [];
    while (this.stream.current.type !== 'block_end') {
      if (nodes.length) this.stream.expect('comma');
      nodes.push(this.parseExpression());
    }
    return { kind: 'Output', nodes, line: where.line, col: where.col };
  }

  private parseAssignTarget(
    opts: { withTuple?: boolean; nameOnly?: boolean; extraEndRules?: string[]; withNamespace?: boolean } = {},
  ): Expr {
    const { withTuple = true, nameOnly = false, extraEndRules, withNamespace = false } = opts;
    let target: Expr;
    if (withNamespace && this.stream.look().type === 'dot') {
      const token = this.stream.expect('name');
      this.stream.next();
      const attr = this.stream.expect('name');
      target = { kind: 'NSRef', name: token.value as string, attr: attr.value as string, line: token.line, col: token.col };
    } else if (nameOnly) {
      const token = this.stream.expect('name');
      target = { kind: 'Name', name: token.value as string, ctx: 'store', line: token.line, col: token.col };
    } else {
      target = withTuple ? this.parseTuple({ simplified: true, extraEndRules }) : this.parsePrimary();
      setCtx(target, 'store');
    }
    if (!canAssign(target)) this.fail(`can't assign to ${strRepr(nodeTypeName(target))}`, at(target));
    return target;
  }

  parseExpression(withCondexpr = true): Expr {
    return withCondexpr ? this.parseCondexpr() : this.parseOr();
  }

  private parseCondexpr(): Expr {
    let where = at(this.stream.current);
    let expr1 = this.parseOr();
    while (this.stream.skipIf('name:if')) {
      const expr2 = this.parseOr();
      const expr3 = this.stream.skipIf('name:else') ? this.parseCondexpr() : null;
      expr1 = { kind: 'CondExpr', test: expr2, expr1, expr2: expr3, line: where.line, col: where.col };
      where = at(this.stream.current);
    }
    return expr1;
  }

  private parseOr(): Expr {
    const where = at(this.stream.current);
    let left = this.parseAnd();
    while (this.stream.skipIf('name:or')) left = { kind: 'Or', left, right: this.parseAnd(), line: where.line, col: where.col };
    return left;
  }

  private parseAnd(): Expr {
    const where = at(this.stream.current);
    let left = this.parseNot();
    while (this.stream.skipIf('name:and')) left = { kind: 'And', left, right: this.parseNot(), line: where.line, col: where.col };
    return left;
  }

  private parseNot(): Expr {
    if (this.stream.test('name:not')) {
      const where = at(this.stream.next());
      return { kind: 'Not', node: this.parseNot(), line: where.line, col: where.col };
    }
    return this.parseCompare();
  }

  private parseCompare(): Expr {
    const where = at(this.stream.current);
    const expr = this.parseMath1();
    const ops: { op: CompareOp; expr: Expr }[] = [];
    for (;;) {
      const type = this.stream.current.type;
      if (COMPARE_OPERATORS.has(type)) {
        this.stream.next();
        ops.push({ op: type as CompareOp, expr: this.parseMath1() });
      } else if (this.stream.skipIf('name:in')) ops.push({ op: 'in', expr: this.parseMath1() });
      else if (this.stream.test('name:not') && this.stream.test('name:in', this.stream.look())) {
        this.stream.skip(2);
        ops.push({ op: 'notin', expr: this.parseMath1() });
      } else break;
    }
    return ops.length ? { kind: 'Compare', expr, ops, line: where.line, col: where.col } : expr;
  }

  private parseMath1(): Expr {
    const where = at(this.stream.current);
    let left = this.parseConcat();
    while (this.stream.current.type === 'add' || this.stream.current.type === 'sub') {
      const op = MATH[this.stream.next().type]!;
      left = { kind: 'BinOp', op, left, right: this.parseConcat(), line: where.line, col: where.col };
    }
    return left;
  }

  private parseConcat(): Expr {
    const where = at(this.stream.current);
    const args = [this.parseMath2()];
    while (this.stream.current.type === 'tilde') {
      this.stream.next();
      args.push(this.parseMath2());
    }
    return args.length === 1 ? args[0]! : { kind: 'Concat', nodes: args, line: where.line, col: where.col };
  }

  private parseMath2(): Expr {
    const where = at(this.stream.current);
    let left = this.parsePow();
    while (['mul', 'div', 'floordiv', 'mod'].includes(this.stream.current.type)) {
      const op = MATH[this.stream.next().type]!;
      left = { kind: 'BinOp', op, left, right: this.parsePow(), line: where.line, col: where.col };
    }
    return left;
  }

  private parsePow(): Expr {
    const where = at(this.stream.current);
    let left = this.parseUnary();
    while (this.stream.current.type === 'pow') {
      this.stream.next();
      left = { kind: 'BinOp', op: 'pow', left, right: this.parseUnary(), line: where.line, col: where.col };
    }
    return left;
  }

  private parseUnary(withFilter = true): Expr {
    const type = this.stream.current.type;
    const where = at(this.stream.current);
    let node: Expr;
    if (type === 'sub') {
      this.stream.next();
      node = { kind: 'Neg', node: this.parseUnary(false), line: where.line, col: where.col };
    } else if (type === 'add') {
      this.stream.next();
      node = { kind: 'Pos', node: this.parseUnary(false), line: where.line, col: where.col };
    } else node = this.parsePrimary();
    node = this.parsePostfix(node);
    if (withFilter) node = this.parseFilterExpr(node);
    return node;
  }

  private parsePrimary(): Expr {
    const token = this.stream.current;
    const where = at(token);
    if (token.type === 'name') {
      this.stream.next();
      const v = token.value as string;
      if (v === 'true' || v === 'false' || v === 'True' || v === 'False')
        return { kind: 'Const', value: v === 'true' || v === 'True', line: where.line, col: where.col };
      if (v === 'none' || v === 'None') return { kind: 'Const', value: null, line: where.line, col: where.col };
      return { kind: 'Name', name: v, ctx: 'load', line: where.line, col: where.col };
    }
    if (token.type === 'string') {
      this.stream.next();
      let s = token.value as string;
      while (this.stream.current.type === 'string') s += this.stream.next().value as string;
      return { kind: 'Const', value: s, line: where.line, col: where.col };
    }
    if (token.type === 'integer' || token.type === 'float') {
      this.stream.next();
      return { kind: 'Const', value: token.value, line: where.line, col: where.col };
    }
    if (token.type === 'lparen') {
      this.stream.next();
      const node = this.parseTuple({ explicitParentheses: true });
      this.stream.expect('rparen');
      return node;
    }
    if (token.type === 'lbracket') return this.parseList();
    if (token.type === 'lbrace') return this.parseDict();
    return this.fail(`unexpected ${strRepr(describeToken(token))}`, where);
  }

  private parseTuple(
    opts: { simplified?: boolean; withCondexpr?: boolean; extraEndRules?: string[]; explicitParentheses?: boolean } = {},
  ): Expr {
    const { simplified = false, withCondexpr = true, extraEndRules, explicitParentheses = false } = opts;
    const where = at(this.stream.current);
    const parse = simplified ? () => this.parsePrimary() : () => this.parseExpression(withCondexpr);
    const args: Expr[] = [];
    let isTuple = false;
    for (;;) {
      if (args.length) this.stream.expect('comma');
      if (this.isTupleEnd(extraEndRules)) break;
      args.push(parse());
      if (this.stream.current.type === 'comma') isTuple = true;
      else break;
    }
    if (!isTuple) {
      if (args.length) return args[0]!;
      if (!explicitParentheses) this.fail(`Expected an expression, got ${strRepr(describeToken(this.stream.current))}`);
    }
    return { kind: 'Tuple', items: args, ctx: 'load', line: where.line, col: where.col };
  }

  private parseList(): Expr {
    const token = this.stream.expect('lbracket');
    const items: Expr[] = [];
    while (this.stream.current.type !== 'rbracket') {
      if (items.length) this.stream.expect('comma');
      if (this.stream.current.type === 'rbracket') break;
      items.push(this.parseExpression());
    }
    this.stream.expect('rbracket');
    return { kind: 'List', items, line: token.line, col: token.col };
  }

  private parseDict(): Expr {
    const token = this.stream.expect('lbrace');
    const items: { key: Expr; value: Expr }[] = [];
    while (this.stream.current.type !== 'rbrace') {
      if (items.length) this.stream.expect('comma');
      if (this.stream.current.type === 'rbrace') break;
      const key = this.parseExpression();
      this.stream.expect('colon');
      items.push({ key, value: this.parseExpression() });
    }
    this.stream.expect('rbrace');
    return { kind: 'Dict', items, line: token.line, col: token.col };
  }

  private parsePostfix(node: Expr): Expr {
    for (;;) {
      const type = this.stream.current.type;
      if (type === 'dot' || type === 'lbracket') node = this.parseSubscript(node);
      else if (type === 'lparen') node = this.parseCall(node);
      else return node;
    }
  }

  private parseFilterExpr(node: Expr): Expr {
    for (;;) {
      const type = this.stream.current.type;
      if (type === 'pipe') node = this.parseFilter(node)!;
      else if (type === 'name' && this.stream.current.value === 'is') node = this.parseTest(node);
      else if (type === 'lparen') node = this.parseCall(node);
      else return node;
    }
  }

  private parseSubscript(node: Expr): Expr {
    const token = this.stream.next();
    const where = at(node);
    if (token.type === 'dot') {
      const attr = this.stream.current;
      this.stream.next();
      if (attr.type === 'name') return { kind: 'Getattr', node, attr: attr.value as string, line: where.line, col: where.col };
      if (attr.type !== 'integer') this.fail('expected name or number', at(attr));
      return {
        kind: 'Getitem',
        node,
        arg: { kind: 'Const', value: attr.value, line: attr.line, col: attr.col },
        line: where.line,
        col: where.col,
      };
    }
    if (token.type === 'lbracket') {
      const args: Expr[] = [];
      while (this.stream.current.type !== 'rbracket') {
        if (args.length) this.stream.expect('comma');
        args.push(this.parseSubscribed());
      }
      this.stream.expect('rbracket');
      const arg: Expr = args.length === 1 ? args[0]! : { kind: 'Tuple', items: args, ctx: 'load', line: token.line, col: token.col };
      return { kind: 'Getitem', node, arg, line: where.line, col: where.col };
    }
    return this.fail('expected subscript expression', at(token));
  }

  private parseSubscribed(): Expr {
    const where = at(this.stream.current);
    const args: (Expr | null)[] = [];
    if (this.stream.current.type === 'colon') {
      this.stream.next();
      args.push(null);
    } else {
      const node = this.parseExpression();
      if (this.stream.current.type !== 'colon') return node;
      this.stream.next();
      args.push(node);
    }
    if (this.type() === 'colon') args.push(null);
    else if (this.type() !== 'rbracket' && this.type() !== 'comma') args.push(this.parseExpression());
    else args.push(null);
    if (this.type() === 'colon') {
      this.stream.next();
      if (this.type() !== 'rbracket' && this.type() !== 'comma') args.push(this.parseExpression());
      else args.push(null);
    } else args.push(null);
    return { kind: 'Slice', start: args[0]!, stop: args[1]!, step: args[2]!, line: where.line, col: where.col };
  }

  private parseCallArgs(): CallArgs {
    const token = this.stream.expect('lparen');
    const args: Expr[] = [];
    const kwargs: Keyword[] = [];
    let dynArgs: Expr | null = null;
    let dynKwargs: Expr | null = null;
    let requireComma = false;
    const ensure = (ok: boolean) => {
      if (!ok) this.fail('invalid syntax for function call expression', at(token));
    };
    while (this.stream.current.type !== 'rparen') {
      if (requireComma) {
        this.stream.expect('comma');
        if (this.stream.current.type === 'rparen') break;
      }
      if (this.stream.current.type === 'mul') {
        ensure(dynArgs === null && dynKwargs === null);
        this.stream.next();
        dynArgs = this.parseExpression();
      } else if (this.stream.current.type === 'pow') {
        ensure(dynKwargs === null);
        this.stream.next();
        dynKwargs = this.parseExpression();
      } else if (this.stream.current.type === 'name' && this.stream.look().type === 'assign') {
        ensure(dynKwargs === null);
        const keyTok = this.stream.current;
        this.stream.skip(2);
        const value = this.parseExpression();
        kwargs.push({ key: keyTok.value as string, value, line: keyTok.line, col: keyTok.col });
      } else {
        ensure(dynArgs === null && dynKwargs === null && !kwargs.length);
        args.push(this.parseExpression());
      }
      requireComma = true;
    }
    this.stream.expect('rparen');
    return { args, kwargs, dynArgs, dynKwargs };
  }

  private parseCall(node: Expr): Expr {
    const where = at(this.stream.current);
    return { kind: 'Call', node, ...this.parseCallArgs(), line: where.line, col: where.col };
  }

  private parseFilter(node: Expr | null, startInline = false): Expr | null {
    while (this.stream.current.type === 'pipe' || startInline) {
      if (!startInline) this.stream.next();
      const token = this.stream.expect('name');
      let name = token.value as string;
      while (this.stream.current.type === 'dot') {
        this.stream.next();
        name += `.${this.stream.expect('name').value as string}`;
      }
      const args: CallArgs =
        this.stream.current.type === 'lparen' ? this.parseCallArgs() : { args: [], kwargs: [], dynArgs: null, dynKwargs: null };
      node = { kind: 'Filter', node, name, ...args, line: token.line, col: token.col };
      startInline = false;
    }
    return node;
  }

  private parseTest(node: Expr): Expr {
    const token = this.stream.next();
    let negated = false;
    if (this.stream.test('name:not')) {
      this.stream.next();
      negated = true;
    }
    const nameTok = this.stream.expect('name');
    let name = nameTok.value as string;
    while (this.stream.current.type === 'dot') {
      this.stream.next();
      name += `.${this.stream.expect('name').value as string}`;
    }
    let args: CallArgs = { args: [], kwargs: [], dynArgs: null, dynKwargs: null };
    const cur = this.stream.current;
    if (cur.type === 'lparen') args = this.parseCallArgs();
    else if (
      ['name', 'string', 'integer', 'float', 'lparen', 'lbracket', 'lbrace'].includes(cur.type) &&
      !this.stream.testAny(['name:else', 'name:or', 'name:and'])
    ) {
      if (this.stream.test('name:is')) this.fail('You cannot chain multiple tests with is');
      const arg = this.parsePostfix(this.parsePrimary());
      args = { args: [arg], kwargs: [], dynArgs: null, dynKwargs: null };
    }
    const test: Expr = { kind: 'Test', node, name, ...args, line: nameTok.line, col: nameTok.col };
    return negated ? { kind: 'Not', node: test, line: token.line, col: token.col } : test;
  }

  private subparse(endTokens: string[] | null): Stmt[] {
    const body: Stmt[] = [];
    let data: (Expr | TemplateData)[] = [];
    if (endTokens) this.endTokenStack.push(endTokens);
    const flush = () => {
      if (data.length) {
        body.push({ kind: 'Output', nodes: data, line: data[0]!.line, col: data[0]!.col });
        data = [];
      }
    };
    try {
      while (!this.stream.eos) {
        const token = this.stream.current;
        if (token.type === 'data') {
          if (token.value) data.push({ kind: 'TemplateData', data: token.value as string, line: token.line, col: token.col });
          this.stream.next();
        } else if (token.type === 'variable_begin') {
          this.stream.next();
          data.push(this.parseTuple({ withCondexpr: true }));
          this.stream.expect('variable_end');
        } else if (token.type === 'block_begin') {
          flush();
          this.stream.next();
          if (endTokens && this.stream.testAny(endTokens)) return body;
          const rv = this.parseStatement();
          if (Array.isArray(rv)) body.push(...rv);
          else body.push(rv);
          this.stream.expect('block_end');
        } else throw new Error('internal parsing error');
      }
      flush();
    } finally {
      if (endTokens) this.endTokenStack.pop();
    }
    return body;
  }
}

function setCtx(node: Expr, ctx: 'load' | 'store' | 'param'): void {
  if (node.kind === 'Name' || node.kind === 'Tuple') {
    node.ctx = ctx;
    if (node.kind === 'Tuple') for (const i of node.items) setCtx(i, ctx);
  }
}

function canAssign(node: Expr): boolean {
  if (node.kind === 'Name') return !['true', 'false', 'none', 'True', 'False', 'None'].includes(node.name);
  if (node.kind === 'NSRef') return true;
  if (node.kind === 'Tuple') return node.items.every(canAssign);
  return false;
}

function nodeTypeName(node: Expr): string {
  return node.kind.toLowerCase();
}
