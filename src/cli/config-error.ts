// The one error a bad flag or environment variable raises; commands print it with their usage.
export class ConfigError extends Error {}
