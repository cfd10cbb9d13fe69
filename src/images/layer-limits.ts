// Disk bounds on what one image may put on a host, counted while a layer streams in, so a hostile
// registry cannot fill the host's disk: the compressed bytes of a layer (at most what its
// descriptor declared, and at most maxLayerBytes), and the bytes it decompresses to (at most
// maxUncompressedLayerBytes, and, past a small floor, at most maxRatio times the compressed bytes
// read so far — a gzip or zstd bomb inflates ~1000:1 and is stopped within its first megabytes).
// The floor keeps small, very compressible layers (a few MiB of zeros or text) working.

export interface LayerLimits {
  /** Most compressed bytes of one layer. */
  readonly maxLayerBytes: number;
  /** Most compressed bytes of one image (the sum of its layers' declared sizes). */
  readonly maxImageBytes: number;
  /** Most bytes one layer may decompress to. */
  readonly maxUncompressedLayerBytes: number;
  /** Most bytes the layers one pull unpacks may decompress to together. */
  readonly maxUncompressedImageBytes: number;
  /** Most uncompressed bytes per compressed byte, once past ratioFloorBytes. */
  readonly maxRatio: number;
  /** Uncompressed bytes allowed whatever the ratio. */
  readonly ratioFloorBytes: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * Defaults sized on Fargate: a task's ephemeral storage is 20 GiB by default and 200 GiB at most,
 * and the image counts against it. Real layers compress 2–10:1; 100:1 is rare and well past a
 * 64 MiB floor rarer still.
 */
export const DEFAULT_LAYER_LIMITS: LayerLimits = Object.freeze({
  maxLayerBytes: 10 * GiB,
  maxImageBytes: 20 * GiB,
  maxUncompressedLayerBytes: 30 * GiB,
  maxUncompressedImageBytes: 30 * GiB,
  maxRatio: 100,
  ratioFloorBytes: 64 * MiB,
});

/** A layer or image over a limit: the pull is refused with this message. */
export class LayerLimitError extends Error {}

const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;

/** The uncompressed bytes of one pull's layers so far (shared by its layers' counters). */
export interface ImageByteBudget {
  uncompressedBytes: number;
}

/** Counts one layer's bytes as they stream; throws LayerLimitError at the first excess. */
export class LayerByteCounter {
  compressedBytes = 0;
  uncompressedBytes = 0;

  constructor(
    private readonly limits: LayerLimits,
    /** The descriptor's size: a blob longer than it declared is not the blob it named. */
    private readonly declaredBytes: number | undefined,
    /** The pull's running total, when the layer is one of an image's. */
    private readonly image?: ImageByteBudget,
  ) {
    if (declaredBytes !== undefined && declaredBytes > limits.maxLayerBytes) {
      throw new LayerLimitError(`layer size ${declaredBytes} bytes exceeds the host's limit of ${mib(limits.maxLayerBytes)}`);
    }
  }

  compressed(bytes: number): void {
    this.compressedBytes += bytes;
    if (this.declaredBytes !== undefined && this.compressedBytes > this.declaredBytes) {
      throw new LayerLimitError(`layer is longer than the ${this.declaredBytes} bytes its manifest declares`);
    }
    if (this.compressedBytes > this.limits.maxLayerBytes) throw new LayerLimitError(`layer exceeds the host's limit of ${mib(this.limits.maxLayerBytes)}`);
  }

  uncompressed(bytes: number): void {
    this.uncompressedBytes += bytes;
    if (this.image) {
      this.image.uncompressedBytes += bytes;
      if (this.image.uncompressedBytes > this.limits.maxUncompressedImageBytes) {
        throw new LayerLimitError(`image decompresses to more than the host's limit of ${mib(this.limits.maxUncompressedImageBytes)}`);
      }
    }
    if (this.uncompressedBytes > this.limits.maxUncompressedLayerBytes) {
      throw new LayerLimitError(`layer decompresses to more than the host's limit of ${mib(this.limits.maxUncompressedLayerBytes)}`);
    }
    if (this.uncompressedBytes > this.limits.ratioFloorBytes && this.uncompressedBytes > this.limits.maxRatio * Math.max(this.compressedBytes, 1)) {
      throw new LayerLimitError(
        `layer decompresses to more than ${this.limits.maxRatio} times its compressed size (${mib(this.uncompressedBytes)} from ${this.compressedBytes} bytes): refused as a decompression bomb`,
      );
    }
  }
}

/** Refuses an image whose layers' declared sizes together exceed maxImageBytes. */
export function assertImageSize(layerSizes: readonly number[], limits: LayerLimits): void {
  for (const size of layerSizes) {
    if (!Number.isSafeInteger(size) || size < 0) throw new LayerLimitError(`a layer declares the invalid size ${JSON.stringify(size)}`);
  }
  const total = layerSizes.reduce((sum, size) => sum + size, 0);
  if (total > limits.maxImageBytes) throw new LayerLimitError(`image size ${total} bytes exceeds the host's limit of ${mib(limits.maxImageBytes)}`);
}
