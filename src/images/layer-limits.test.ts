import { test } from "node:test";
import assert from "node:assert/strict";
import { assertImageSize, LayerByteCounter, LayerLimitError } from "./layer-limits.js";

const limits = {
  maxLayerBytes: 1000,
  maxImageBytes: 1500,
  maxUncompressedLayerBytes: 100_000,
  maxUncompressedImageBytes: 1_000_000,
  maxRatio: 10,
  ratioFloorBytes: 2000,
};

test("small, very compressible layers pass under the ratio floor", () => {
  const counter = new LayerByteCounter(limits, 100);
  counter.compressed(100);
  counter.uncompressed(2000);
  assert.equal(counter.uncompressedBytes, 2000);
});

test("past the floor, more than maxRatio times the compressed bytes read so far is a bomb", () => {
  const counter = new LayerByteCounter(limits, 1000);
  counter.compressed(300);
  counter.uncompressed(3000);
  assert.throws(
    () => counter.uncompressed(1),
    (error: Error) => error instanceof LayerLimitError && /more than 10 times its compressed size.*decompression bomb/.test(error.message),
  );
});

test("uncompressed bytes beyond the absolute limit are refused whatever the ratio", () => {
  const counter = new LayerByteCounter({ ...limits, maxRatio: 1e9 }, 1000);
  counter.compressed(1000);
  counter.uncompressed(100_000);
  assert.throws(() => counter.uncompressed(1), /decompresses to more than the host's limit/);
});

test("a blob longer than declared, or over the layer limit, is refused as it streams", () => {
  const declared = new LayerByteCounter(limits, 10);
  declared.compressed(10);
  assert.throws(() => declared.compressed(1), /longer than the 10 bytes its manifest declares/);
  const undeclared = new LayerByteCounter(limits, undefined);
  undeclared.compressed(1000);
  assert.throws(() => undeclared.compressed(1), /exceeds the host's limit/);
  assert.throws(() => new LayerByteCounter(limits, 1001), /layer size 1001 bytes exceeds/);
});

test("an image's declared sizes are summed against the image limit", () => {
  assertImageSize([1000, 500], limits);
  assert.throws(() => assertImageSize([1000, 501], limits), /image size 1501 bytes exceeds/);
  assert.throws(() => assertImageSize([-1], limits), /invalid size -1/);
  assert.throws(() => assertImageSize([Number.NaN], limits), LayerLimitError);
});

test("the layers of one pull share an uncompressed image limit", () => {
  const image = { uncompressedBytes: 0 };
  const small = { ...limits, maxUncompressedImageBytes: 5000, maxRatio: 1e9 };
  const first = new LayerByteCounter(small, undefined, image);
  first.compressed(10);
  first.uncompressed(3000);
  const second = new LayerByteCounter(small, undefined, image);
  second.compressed(10);
  second.uncompressed(2000);
  assert.throws(() => second.uncompressed(1), /image decompresses to more than the host's limit/);
});
