// Host uid/gid ranges for task user namespaces. Each task gets a range of its own: container uid 0
// is host uid `base`, uid N is `base + N`, and no two tasks on a host share a host uid, so a
// process escaping one task is an unprivileged stranger to the host and to every other task.
//
// Ranges are 65,536 ids (what a Linux image expects: 0..65535, nobody = 65534) carved from
// [2^30, 2^31): above any uid a distribution hands out (Debian's subuid ranges start at 100,000)
// and below 2^31, which some tools still treat as signed. That is 16,384 slots per host.

export interface IdRange {
  /** The host uid and gid that container uid/gid 0 maps to. */
  readonly base: number;
  readonly size: number;
}

export const ID_RANGE_SIZE = 65_536;
export const ID_RANGES_START = 2 ** 30;
export const ID_RANGE_SLOTS = 2 ** 30 / ID_RANGE_SIZE;

export function idRangeOfSlot(slot: number): IdRange {
  return { base: ID_RANGES_START + slot * ID_RANGE_SIZE, size: ID_RANGE_SIZE };
}
