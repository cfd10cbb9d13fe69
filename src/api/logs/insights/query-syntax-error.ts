// A query that does not compile. StartQuery answers it with MalformedQueryException, whose
// queryCompileError member says where (AWS's QueryCompileError: location.startCharOffset,
// location.endCharOffset, message).
import { AwsError } from "../../../core/errors.js";

export class QuerySyntaxError extends Error {
  constructor(
    message: string,
    readonly startCharOffset: number,
    readonly endCharOffset: number,
  ) {
    super(message);
    this.name = "QuerySyntaxError";
  }

  /** An error at `offset`, its message ending with AWS's "at line L and position P" (1-based line, 0-based position). */
  static at(query: string, offset: number, what: string, length = 1): QuerySyntaxError {
    const before = query.slice(0, offset);
    const line = before.split("\n").length;
    const position = offset - (before.lastIndexOf("\n") + 1);
    // wording not confirmed: AWS's parser reports "unexpected symbol found X at line L and position P"
    return new QuerySyntaxError(`${what} at line ${line} and position ${position}`, offset, offset + Math.max(length, 1) - 1);
  }

  toAwsError(): AwsError {
    return new AwsError("MalformedQueryException", this.message, {
      extra: { queryCompileError: { location: { startCharOffset: this.startCharOffset, endCharOffset: this.endCharOffset }, message: this.message } },
    });
  }
}
