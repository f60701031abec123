/**
 * The syntax tree of a Jinja2 template (jinja2/nodes.py, the nodes the parser builds). Every node
 * has the line and column of the token it starts at.
 */

export interface At {
  line: number;
  col: number;
}

export interface Keyword extends At {
  key: string;
  value: Expr;
}

/** The arguments of a call, filter or test. */
export interface CallArgs {
  args: Expr[];
  kwargs: Keyword[];
  dynArgs: Expr | null;
  dynKwargs: Expr | null;
}

export type BinOpKind = 'add' | 'sub' | 'mul' | 'div' | 'floordiv' | 'mod' | 'pow';
export type CompareOp = 'eq' | 'ne' | 'lt' | 'lteq' | 'gt' | 'gteq' | 'in' | 'notin';

export type Expr =
  | ({ kind: 'Const'; value: unknown } & At)
  | ({ kind: 'Name'; name: string; ctx: 'load' | 'store' | 'param' } & At)
  | ({ kind: 'NSRef'; name: string; attr: string } & At)
  | ({ kind: 'Tuple'; items: Expr[]; ctx: 'load' | 'store' | 'param' } & At)
  | ({ kind: 'List'; items: Expr[] } & At)
  | ({ kind: 'Dict'; items: { key: Expr; value: Expr }[] } & At)
  | ({ kind: 'Getattr'; node: Expr; attr: string } & At)
  | ({ kind: 'Getitem'; node: Expr; arg: Expr } & At)
  | ({ kind: 'Slice'; start: Expr | null; stop: Expr | null; step: Expr | null } & At)
  | ({ kind: 'Call'; node: Expr } & CallArgs & At)
  | ({ kind: 'Filter'; node: Expr | null; name: string } & CallArgs & At)
  | ({ kind: 'Test'; node: Expr; name: string } & CallArgs & At)
  | ({ kind: 'CondExpr'; test: Expr; expr1: Expr; expr2: Expr | null } & At)
  | ({ kind: 'And' | 'Or'; left: Expr; right: Expr } & At)
  | ({ kind: 'Not' | 'Neg' | 'Pos'; node: Expr } & At)
  | ({ kind: 'BinOp'; op: BinOpKind; left: Expr; right: Expr } & At)
  | ({ kind: 'Concat'; nodes: Expr[] } & At)
  | ({ kind: 'Compare'; expr: Expr; ops: { op: CompareOp; expr: Expr }[] } & At);

export type ExprOf<K extends Expr['kind']> = Extract<Expr, { kind: K }>;

/** Template text between tags. */
export interface TemplateData extends At {
  kind: 'TemplateData';
  data: string;
}

export type Stmt =
  | ({ kind: 'Output'; nodes: (Expr | TemplateData)[] } & At)
  | ({ kind: 'If'; test: Expr; body: Stmt[]; elif: { test: Expr; body: Stmt[] }[]; else: Stmt[] } & At)
  | ({ kind: 'For'; target: Expr; iter: Expr; body: Stmt[]; else: Stmt[]; test: Expr | null; recursive: boolean } & At)
  | ({ kind: 'Assign'; target: Expr; node: Expr } & At)
  | ({ kind: 'AssignBlock'; target: Expr; filter: Expr | null; body: Stmt[] } & At)
  | ({ kind: 'Macro'; name: string; args: string[]; defaults: Expr[]; body: Stmt[] } & At)
  | ({ kind: 'CallBlock'; call: ExprOf<'Call'>; args: string[]; defaults: Expr[]; body: Stmt[] } & At)
  | ({ kind: 'FilterBlock'; filter: Expr; body: Stmt[] } & At)
  | ({ kind: 'With'; targets: Expr[]; values: Expr[]; body: Stmt[] } & At)
  | ({ kind: 'Block'; name: string; scoped: boolean; required: boolean; body: Stmt[] } & At)
  | ({ kind: 'Extends'; template: Expr } & At)
  | ({ kind: 'Include'; template: Expr; ignoreMissing: boolean; withContext: boolean } & At)
  | ({ kind: 'Import'; template: Expr; target: string; withContext: boolean } & At)
  | ({ kind: 'FromImport'; template: Expr; names: { name: string; alias: string; at: At }[]; withContext: boolean } & At)
  | ({ kind: 'Autoescape'; value: Expr; body: Stmt[] } & At);

export type StmtOf<K extends Stmt['kind']> = Extract<Stmt, { kind: K }>;

export interface TemplateNode {
  body: Stmt[];
}
