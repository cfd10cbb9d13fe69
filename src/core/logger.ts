// The one logger type every part receives. cli/ makes a pino logger and hands it down; each part
// asks for the methods it calls (`Pick<Logger, "error">`), so a test passes a plain object with
// those methods.
//
// Every call in Berth has one shape, pino's structured one: details first, then the message
// (`logger.error({ err, taskArn }, "task runner failed")`). That shape is spelled out here rather
// than picked from pino's overloaded LogFn: an overloaded type gives a test's
// `(details, message) => …` no parameter types. The check below keeps it pino's: if pino's
// logger stopped fitting, this file would not compile. Type-only, so core loads nothing of pino.
import type { BaseLogger } from "pino";

export type LogMethod = (details: object, message: string) => void;

export interface Logger {
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly error: LogMethod;
}

type PinoLoggerFits<T extends Logger> = T;
export type PinoLogger = PinoLoggerFits<Pick<BaseLogger, keyof Logger>>;
