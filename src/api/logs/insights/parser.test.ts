// The parser: the commands and precedence of AWS's query syntax pages, where a syntax error is
// reported, and hostile inputs (deep nesting, unterminated text, 10,000 characters of anything).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseQuery } from "./parser.js";
import { QuerySyntaxError } from "./query-syntax-error.js";

test("queries from AWS's examples parse into their commands", () => {
  const queries = [
    "fields @timestamp, @message | sort @timestamp desc | limit 25",
    "filter @message like /Exception/ | stats count(*) as exceptionCount by bin(1h) | sort exceptionCount desc",
    "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 20",
    'parse @message "[*] *" as loggingType, loggingMessage | filter loggingType = "ERROR" | display loggingMessage',
    "stats avg(@duration), max(@duration), min(@duration) by bin(5m)",
    'filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisonedMemoryMB, min(@maxMemoryUsed / 1000 / 1000) as smallestMemoryRequestMB',
    "stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 15",
    'filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc | limit 20',
    "fields @timestamp, @message | filter @message =~ /(?i)timeout/ and not ispresent(retry) | dedup @logStream",
    "stats pct(latency, 99) as p99, count_distinct(userId) by `user agent`",
    "# a comment\nfields @message # trailing\n| limit 5",
  ];
  for (const query of queries) assert.doesNotThrow(() => parseQuery(query), query);
  assert.deepEqual(
    parseQuery("fields @timestamp, @message | sort @timestamp desc | limit 25").map((command) => command.kind),
    ["fields", "sort", "limit"],
  );
});

test("operators bind as documented: not over and over or, arithmetic over comparison, ^ right to left", () => {
  const [filter] = parseQuery("filter not a = 1 and b > 2 + 3 * 4 or c like 'x'");
  assert.equal(filter!.kind, "filter");
  const expr = (filter as { expr: unknown }).expr;
  assert.deepEqual(expr, {
    type: "binary",
    op: "or",
    left: {
      type: "binary",
      op: "and",
      left: { type: "unary", op: "not", operand: { type: "binary", op: "=", left: { type: "field", name: "a" }, right: { type: "literal", value: 1 } } },
      right: {
        type: "binary",
        op: ">",
        left: { type: "field", name: "b" },
        right: {
          type: "binary",
          op: "+",
          left: { type: "literal", value: 2 },
          right: { type: "binary", op: "*", left: { type: "literal", value: 3 }, right: { type: "literal", value: 4 } },
        },
      },
    },
    right: { type: "like", negated: false, operand: { type: "field", name: "c" }, pattern: { type: "literal", value: "x" } },
  });
  const [power] = parseQuery("fields 2 ^ 3 ^ 2 as p");
  assert.deepEqual((power as unknown as { items: { expr: unknown }[] }).items[0]!.expr, {
    type: "binary",
    op: "^",
    left: { type: "literal", value: 2 },
    right: { type: "binary", op: "^", left: { type: "literal", value: 3 }, right: { type: "literal", value: 2 } },
  });
});

test("column names: the alias, else the field, else the expression's text", () => {
  const [stats] = parseQuery("stats count(*), avg(latency) as mean by bin(5m), @logStream");
  assert.deepEqual(
    (stats as unknown as { items: { name: string }[]; by: { name: string }[] }).items.map((item) => item.name),
    ["count(*)", "mean"],
  );
  assert.deepEqual(
    (stats as unknown as { by: { name: string }[] }).by.map((item) => item.name),
    ["bin(5m)", "@logStream"],
  );
});

test("syntax errors say where, as line and position", () => {
  const cases: [string, RegExp][] = [
    ["fields @message | sort by", /at line 1 and position 23/],
    ["fields a,\n  b |\n  bogus", /mismatched input 'bogus'.* at line 3 and position 2/],
    ["filter a = 'unterminated", /unterminated string at line 1 and position 11/],
    ["filter a =~ /(unclosed", /unterminated regular expression/],
    ["stats avg(x) by", /unexpected end of query/],
    ["limit 0", /limit must be between 1 and 10000/],
    ["limit 10001", /limit must be between 1 and 10000/],
    ["parse @message '* *' as one", /2 wildcards but 1 field names/],
    ["fields count(*)", /only allowed in stats/],
    ["stats latency", /needs an aggregate function/],
    ["stats sum(count(*))", /cannot be nested/],
    ["filter a ! b", /unexpected symbol found !/],
    ["fields 5zz", /unexpected symbol found 5zz/],
    ["", /unexpected end of query/],
  ];
  for (const [query, message] of cases) {
    assert.throws(
      () => parseQuery(query),
      (error: unknown) => error instanceof QuerySyntaxError && message.test(error.message),
      query,
    );
  }
});

test("hostile input: deep nesting, long chains and odd characters end in a syntax error, not a crash", () => {
  const hostile = [
    `filter ${"(".repeat(5000)}a${")".repeat(5000)}`,
    `filter ${"not ".repeat(2500)}a`,
    `filter ${"-".repeat(9000)}1`,
    `fields ${Array.from({ length: 2000 }, () => "2").join(" ^ ")}`,
    `fields concat(${"concat(".repeat(3000)}a${")".repeat(3000)})`,
    "filter a = '\\",
    "filter `unclosed",
    "filter a = \u0000\u202e",
    "|".repeat(10_000),
  ];
  for (const query of hostile) assert.throws(() => parseQuery(query), QuerySyntaxError, query.slice(0, 40));
  // A long but flat query is fine.
  assert.equal(parseQuery(`filter ${Array.from({ length: 900 }, (_, i) => `a = ${i}`).join(" or ")}`).length, 1);
});

test("a MalformedQueryException carries AWS's queryCompileError location", () => {
  try {
    parseQuery("fields a | sort by");
    assert.fail("parsed");
  } catch (error) {
    const aws = (error as QuerySyntaxError).toAwsError();
    assert.equal(aws.code, "MalformedQueryException");
    assert.deepEqual(aws.extra, { queryCompileError: { location: { startCharOffset: 16, endCharOffset: 17 }, message: aws.message } });
  }
});
