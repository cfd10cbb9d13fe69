// Host uid/gid ranges for task user namespaces. Each task gets a range of its own: container uid 0
// is host uid `base`, uid N is `base + N`, and no two tasks on a host share a host uid, so a
// process escaping one task is an unprivileged stranger to the host and to every other task.
//
// Ranges are 65,536 ids (what a Linux image expects: 0..65535, nobody = 65534) carved from
// [0x70000000, 0x7FFE0000): above the ranges distributions hand out (Debian's subuids start at
// 100,000) and systemd-nspawn's container ranges (up to 0x6FFFFFFF), below systemd's "foreign" range
// (0x7FFE0000) and below 2^31, which some tools still treat as signed. That is 4,094 slots per host.

export interface IdRange {
  /** The host uid and gid that container uid/gid 0 maps to. */
  readonly base: number;
  readonly size: number;
}

export const ID_RANGE_SIZE = 65_536;
export const ID_RANGES_START = 0x7000_0000;
export const ID_RANGE_SLOTS = (0x7ffe_0000 - ID_RANGES_START) / ID_RANGE_SIZE;

export function idRangeOfSlot(slot: number): IdRange {
  return { base: ID_RANGES_START + slot * ID_RANGE_SIZE, size: ID_RANGE_SIZE };
}
