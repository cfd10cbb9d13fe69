// A recursive-descent parser for the Logs Insights query language
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html). Operator
// precedence, lowest first: or, and, not, comparisons (= != < <= > >= =~ like in), + -, * / %,
// ^, unary minus. Nesting is bounded (MAX_DEPTH) so a hostile query cannot exhaust the stack.
import type { Command, Expr, NamedExpr, ParsePattern, SortKey } from "./ast.js";
import { AGGREGATE_FUNCTIONS, containsAggregate } from "./ast.js";
import type { Token } from "./lexer.js";
import { tokenize } from "./lexer.js";
import { QuerySyntaxError } from "./query-syntax-error.js";

const MAX_DEPTH = 64;
/** `limit`'s largest count, as StartQuery's limit (wording not confirmed for the error). */
export const MAX_LIMIT = 10_000;
const MAX_COMMANDS = 100;

const COMMANDS = new Set(["fields", "filter", "parse", "stats", "sort", "limit", "dedup", "display"]);

export function parseQuery(query: string): Command[] {
  return new Parser(query, tokenize(query)).query();
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  query(): Command[] {
    const commands: Command[] = [];
    if (this.peek().kind === "end") throw this.unexpected(this.peek());
    for (;;) {
      if (commands.length >= MAX_COMMANDS) throw this.error(this.peek(), `a query can have at most ${MAX_COMMANDS} commands`);
      commands.push(this.command());
      if (this.peek().kind === "end") break;
      if (this.peek().kind !== "pipe") throw this.unexpected(this.peek());
      this.index++;
    }
    if (commands.filter((command) => command.kind === "stats").length > 2) throw this.error(this.peek(), "a query can have at most two stats commands");
    return commands;
  }

  private command(): Command {
    const token = this.next();
    const name = token.kind === "identifier" ? token.text.toLowerCase() : "";
    if (!COMMANDS.has(name)) {
      // wording not confirmed: AWS's ANTLR parser says "mismatched input 'x' expecting {K_PARSE, …}"
      throw this.error(token, `mismatched input '${token.text}' expecting {K_PARSE, K_FIELDS, K_DISPLAY, K_FILTER, K_SORT, K_STATS, K_LIMIT, K_DEDUP}`);
    }
    switch (name) {
      case "fields":
        return { kind: "fields", items: this.namedList(false) };
      case "filter":
        return { kind: "filter", expr: this.expression() };
      case "parse":
        return this.parseCommand();
      case "stats":
        return this.statsCommand();
      case "sort":
        return { kind: "sort", keys: this.list(() => this.sortKey()) };
      case "limit":
        return { kind: "limit", count: this.limitCount() };
      case "dedup":
        return { kind: "dedup", fields: this.list(() => this.fieldName()) };
      default:
        return { kind: "display", fields: this.list(() => this.fieldName()) };
    }
  }

  private parseCommand(): Command {
    let source: Expr = { type: "field", name: "@message" };
    if (this.peek().kind === "identifier" || this.peek().kind === "field") source = { type: "field", name: this.fieldName() };
    const token = this.next();
    let pattern: ParsePattern;
    if (token.kind === "string") pattern = { kind: "glob", text: token.text };
    else if (token.kind === "regex") pattern = { kind: "regex", source: token.text };
    else throw this.unexpected(token);
    const names: string[] = [];
    if (pattern.kind === "glob" || this.isKeyword("as")) {
      this.expectKeyword("as");
      names.push(...this.list(() => this.fieldName()));
      if (pattern.kind === "glob") {
        const stars = pattern.text.split("*").length - 1;
        if (stars !== names.length) throw this.error(token, `the pattern has ${stars} wildcards but ${names.length} field names follow 'as'`); // wording not confirmed
      }
    }
    return { kind: "parse", source, pattern, names };
  }

  private statsCommand(): Command {
    const items = this.namedList(true);
    for (const item of items) {
      if (!containsAggregate(item.expr)) throw this.error(this.peek(), `stats needs an aggregate function in '${item.name}'`); // wording not confirmed
    }
    let by: NamedExpr[] = [];
    if (this.isKeyword("by")) {
      this.index++;
      by = this.namedList(false);
    }
    return { kind: "stats", items, by };
  }

  private sortKey(): SortKey {
    const expr = this.expression();
    let descending = false;
    if (this.isKeyword("desc")) {
      this.index++;
      descending = true;
    } else if (this.isKeyword("asc")) {
      this.index++;
    }
    return { expr, descending };
  }

  private limitCount(): number {
    const token = this.next();
    const count = Number(token.text);
    if (token.kind !== "number" || !Number.isInteger(count)) throw this.unexpected(token);
    if (count < 1 || count > MAX_LIMIT) throw this.error(token, `limit must be between 1 and ${MAX_LIMIT}`); // wording not confirmed
    return count;
  }

  private namedList(allowAggregates: boolean): NamedExpr[] {
    return this.list(() => {
      const start = this.peek().offset;
      const expr = this.expression();
      const end = this.tokens[this.index - 1]!;
      if (!allowAggregates && containsAggregate(expr)) throw this.error(this.tokens[this.index - 1]!, "aggregate functions are only allowed in stats"); // wording not confirmed
      let name = this.source.slice(start, end.offset + this.tokenLength(end)).trim();
      if (expr.type === "field") name = expr.name;
      if (this.isKeyword("as")) {
        this.index++;
        name = this.fieldName();
      }
      return { expr, name };
    });
  }

  private list<T>(item: () => T): T[] {
    const items = [item()];
    while (this.isOperator(",")) {
      this.index++;
      items.push(item());
    }
    return items;
  }

  private fieldName(): string {
    const token = this.next();
    if (token.kind === "field" || (token.kind === "identifier" && !COMMANDS.has(token.text.toLowerCase()))) return token.text;
    throw this.unexpected(token);
  }

  expression(): Expr {
    return this.deeper(() => this.or());
  }

  /** Every recursion of the grammar goes through here, so nesting is bounded. */
  private deeper<T>(parse: () => T): T {
    if (++this.depth > MAX_DEPTH) throw this.error(this.peek(), `the expression is nested more than ${MAX_DEPTH} levels deep`); // wording not confirmed
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    let left = this.and();
    while (this.isKeyword("or")) {
      this.index++;
      left = { type: "binary", op: "or", left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isKeyword("and")) {
      this.index++;
      left = { type: "binary", op: "and", left, right: this.not() };
    }
    return left;
  }

  private not(): Expr {
    if (this.isKeyword("not")) {
      this.index++;
      return { type: "unary", op: "not", operand: this.deeper(() => this.not()) };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const token = this.peek();
    if (token.kind === "operator" && ["=", "!=", "<", "<=", ">", ">=", "=~"].includes(token.text)) {
      this.index++;
      const op = token.text as "=" | "!=" | "<" | "<=" | ">" | ">=" | "=~";
      return { type: "binary", op, left, right: op === "=~" ? this.regexOrString() : this.additive() };
    }
    let negated = false;
    if (this.isKeyword("not") && (this.isKeyword("like", 1) || this.isKeyword("in", 1))) {
      this.index++;
      negated = true;
    }
    if (this.isKeyword("like")) {
      this.index++;
      return { type: "like", negated, operand: left, pattern: this.regexOrString() };
    }
    if (this.isKeyword("in")) {
      this.index++;
      this.expectOperator("[");
      const list = this.isOperator("]") ? [] : this.list(() => this.additive());
      this.expectOperator("]");
      return { type: "in", negated, operand: left, list };
    }
    if (negated) throw this.unexpected(this.peek());
    return left;
  }

  private regexOrString(): Expr {
    const token = this.next();
    if (token.kind === "regex") return { type: "regex", source: token.text };
    if (token.kind === "string") return { type: "literal", value: token.text };
    throw this.unexpected(token);
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOperator("+") || this.isOperator("-")) {
      const op = this.next().text as "+" | "-";
      left = { type: "binary", op, left, right: this.multiplicative() };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.power();
    while (this.isOperator("*") || this.isOperator("/") || this.isOperator("%")) {
      const op = this.next().text as "*" | "/" | "%";
      left = { type: "binary", op, left, right: this.power() };
    }
    return left;
  }

  private power(): Expr {
    const left = this.unary();
    if (this.isOperator("^")) {
      this.index++;
      return { type: "binary", op: "^", left, right: this.deeper(() => this.power()) };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOperator("-")) {
      this.index++;
      return { type: "unary", op: "-", operand: this.deeper(() => this.unary()) };
    }
    return this.primary();
  }

  private primary(): Expr {
    const token = this.next();
    switch (token.kind) {
      case "number":
        return { type: "literal", value: Number(token.text) };
      case "string":
        return { type: "literal", value: token.text };
      case "period":
        return { type: "period", ms: token.periodMs ?? 0, months: token.periodMonths ?? 0, text: token.text };
      case "regex":
        return { type: "regex", source: token.text };
      case "field":
        return { type: "field", name: token.text };
      case "identifier":
        if (this.isOperator("(")) return this.call(token);
        if (/^(true|false)$/i.test(token.text)) return { type: "literal", value: token.text.toLowerCase() === "true" };
        if (COMMANDS.has(token.text.toLowerCase()) || /^(and|or|not|like|in|by|as)$/i.test(token.text)) throw this.unexpected(token);
        return { type: "field", name: token.text };
      case "operator":
        if (token.text === "(") {
          const inner = this.expression();
          this.expectOperator(")");
          return inner;
        }
        throw this.unexpected(token);
      default:
        throw this.unexpected(token);
    }
  }

  private call(nameToken: Token): Expr {
    this.expectOperator("(");
    const name = nameToken.text.toLowerCase();
    if (this.isOperator("*")) {
      this.index++;
      this.expectOperator(")");
      if (name !== "count") throw this.unexpected(this.tokens[this.index - 2]!);
      return { type: "call", name, args: [], star: true };
    }
    const args = this.isOperator(")") ? [] : this.list(() => this.expression());
    this.expectOperator(")");
    if (AGGREGATE_FUNCTIONS.has(name) && args.some(containsAggregate)) throw this.error(nameToken, "aggregate functions cannot be nested"); // wording not confirmed
    return { type: "call", name, args, star: false };
  }

  private tokenLength(token: Token): number {
    if (token.kind === "string" || token.kind === "field") return this.quotedLength(token);
    if (token.kind === "regex") return this.quotedLength(token);
    return token.text.length;
  }

  private quotedLength(token: Token): number {
    // The raw text ends where the next token (or the end) starts; trailing spaces are trimmed later.
    const next = this.tokens[this.tokens.indexOf(token) + 1];
    return (next ? next.offset : this.source.length) - token.offset;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.index++;
    return token;
  }

  private isKeyword(word: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === "identifier" && token.text.toLowerCase() === word;
  }

  private isOperator(text: string): boolean {
    const token = this.peek();
    return token.kind === "operator" && token.text === text;
  }

  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) throw this.unexpected(this.peek());
    this.index++;
  }

  private expectOperator(text: string): void {
    if (!this.isOperator(text)) throw this.unexpected(this.peek());
    this.index++;
  }

  private unexpected(token: Token): QuerySyntaxError {
    return this.error(token, token.kind === "end" ? "unexpected end of query" : `unexpected symbol found ${token.text}`);
  }

  private error(token: Token, what: string): QuerySyntaxError {
    return QuerySyntaxError.at(this.source, token.offset, what, token.text.length);
  }
}
